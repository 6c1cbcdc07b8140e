"""``--device cuda`` end to end, in numba's CUDA simulator: the same pictures as ``--device cpu``.

The simulator runs every GPU thread as Python, so the inputs are tiny and the launch sizes
small (several blocks and grid-stride steps still run).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from stv_cli import backend
from tests.cli.helpers import make_stack, read_png, run

pytest.importorskip("numba_cuda", reason="numba-cuda is not installed")


@pytest.fixture(autouse=True)
def simulated_cuda(monkeypatch):
    if backend.unavailable_reason("cuda") is not None:
        pytest.skip(f"cuda: {backend.unavailable_reason('cuda')}")
    from stv_kernels.cuda import launch

    monkeypatch.setattr(launch, "THREADS", 8)
    monkeypatch.setattr(launch, "MAX_BLOCKS", 4)


def test_auto_never_picks_the_simulator():
    assert backend.is_available("cuda")
    assert backend.get_backend() != "cuda"


def test_project_on_cuda_writes_the_cpu_picture(tmp_path):
    stack = make_stack(tmp_path / "stack", depth=3, height=5, width=6, channels=3)
    refine = ["--interpolate", "cubic", "--upscale", "2", "--diffuse-iterations", "1"]
    pictures = {}
    for device in ("cpu", "cuda"):
        out = tmp_path / device
        result = run("project", stack, "-o", f"{out}/", "--device", device, *refine, "--grid")
        assert result.exit_code == 0, result.output
        pictures[device] = read_png(out / "stack.png"), read_png(out / "stack_grid.png")
    for cpu_png, cuda_png in zip(pictures["cpu"], pictures["cuda"], strict=True):
        np.testing.assert_array_equal(cuda_png, cpu_png)


def test_decode_on_cuda_is_the_cpu_decode(tmp_path):
    latents = tmp_path / "lat.npy"
    np.save(latents, np.random.default_rng(2).standard_normal((2, 5)).astype(np.float32))
    size = ["--depth", "2", "--height", "4", "--width", "5", "--seed", "9"]
    for device in ("cpu", "cuda"):
        result = run("decode", latents, "-o", f"{tmp_path / device}/", "--device", device, *size)
        assert result.exit_code == 0, result.output
    for k in range(2):
        np.testing.assert_array_equal(
            read_png(tmp_path / "cuda" / f"lat_00{k}.png"),
            read_png(tmp_path / "cpu" / f"lat_00{k}.png"),
        )


def test_video_on_cuda_writes_the_cpu_telemetry(tmp_path):
    from stv_cli.io import pattern_clip

    clip = tmp_path / "clip.mp4"
    pattern_clip.write_pattern_clip(clip, frames=4, height=6, width=8)
    rows = {}
    for device in ("cpu", "cuda"):
        telemetry = tmp_path / f"{device}.json"
        result = run(
            "video", clip, "-o", f"{tmp_path / device}/", "--device", device,
            "--depth", "2", "--telemetry", telemetry,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        rows[device] = json.loads(telemetry.read_text())["frames"]
    assert len(rows["cuda"]) == 4
    for cpu_row, cuda_row in zip(rows["cpu"], rows["cuda"], strict=True):
        assert cuda_row.keys() == cpu_row.keys()
        for key in cpu_row:
            assert cuda_row[key] == pytest.approx(cpu_row[key], rel=1e-6, abs=1e-7), key


def test_info_names_the_simulated_gpu():
    result = run("info", "--json")
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout)
    assert facts["backends"]["cuda"] is True
    assert "simulator" in facts["gpu"]
