"""A volume stays on the GPU from load (or decode) to collapse: counted copies, in the simulator.

With the ``cuda`` backend in force ``stv project`` uploads each stack once, refines it in the
workspace's device buffers and brings back only the picture (and the outputs asked for);
``stv decode`` decodes straight into a device buffer. These tests count every copy between
host and device (numba's simulator keeps device arrays as ``FakeCUDAArray``) and ask that no
copy of the size of a volume crosses other than the one upload.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stv_cli import backend
from stv_cli.context import RunContext
from stv_cli.pipeline.decode import run_decode_input
from stv_cli.pipeline.project import run_project_input
from stv_cli.pipeline.settings import (
    DecodeSettings,
    OutputSettings,
    ProjectionSettings,
    ProjectSettings,
    RefineSettings,
)
from stv_cli.pipeline.workspace import Workspace
from tests.device_copies import Copies, count_copies

pytest.importorskip("numba_cuda", reason="numba-cuda is not installed")

SHAPE = (3, 4, 5, 3)  # the stack
REFINE = RefineSettings(diffuse_iterations=1, interpolate="cubic", upscale=2)
CUDA = RunContext(backend="cuda", threads=1)
CPU = RunContext(backend="cpu", threads=1)


@pytest.fixture(autouse=True)
def small_launch(monkeypatch):
    if backend.unavailable_reason("cuda") is not None:
        pytest.skip(f"cuda: {backend.unavailable_reason('cuda')}")
    from stv_kernels.cuda import launch, stats

    monkeypatch.setattr(launch, "THREADS", 8)
    monkeypatch.setattr(launch, "MAX_BLOCKS", 4)
    # the statistics' partial sums (bounded: 2048 a slice) would look volume-sized here
    monkeypatch.setattr(stats, "COLUMNS", 4)


@pytest.fixture
def copies(monkeypatch) -> Copies:
    return count_copies(monkeypatch)


def _stack(path: Path, seed=0) -> Path:
    np.save(path, np.random.default_rng(seed).random(SHAPE, dtype=np.float32))
    return path


def _settings(out: Path, **extras) -> ProjectSettings:
    return ProjectSettings(
        output=OutputSettings(out=out, bit_depth=16, **extras),
        refine=REFINE,
        projection=ProjectionSettings(resonance="generate"),
    )


def _read(path: Path) -> np.ndarray:
    from tests.cli.helpers import read_png

    return read_png(path)


def test_project_uploads_the_stack_once_and_brings_back_only_the_picture(tmp_path, copies):
    stack = _stack(tmp_path / "s.npy")
    volume_size = int(np.prod(SHAPE))
    picture_size = SHAPE[1] * 2 * SHAPE[2] * 2 * SHAPE[3]
    run_project_input(stack, _settings(tmp_path / "gpu"), Workspace(), CUDA)
    big_up = [n for n in copies.up if n >= volume_size]
    big_down = [n for n in copies.down if n >= picture_size]
    assert big_up == [volume_size]  # the stack, once
    assert big_down == [picture_size]  # the picture, once; no refined volume came back
    run_project_input(stack, _settings(tmp_path / "cpu"), Workspace(), CPU)
    np.testing.assert_array_equal(_read(tmp_path / "gpu/s.png"), _read(tmp_path / "cpu/s.png"))


def test_outputs_asked_for_come_back_and_match_the_cpu(tmp_path, copies):
    stack = _stack(tmp_path / "s.npy", seed=1)
    extras = {"grid": True, "telemetry": True, "save_volume": True, "weights": True}
    run_project_input(stack, _settings(tmp_path / "gpu", **extras), Workspace(), CUDA)
    refined = (2 * SHAPE[0] - 1) * SHAPE[1] * 2 * SHAPE[2] * 2 * SHAPE[3]
    assert refined in copies.down  # the refined volume came back for the grid and the .npy
    run_project_input(stack, _settings(tmp_path / "cpu", **extras), Workspace(), CPU)
    np.testing.assert_array_equal(
        np.load(tmp_path / "gpu/s_volume.npy"), np.load(tmp_path / "cpu/s_volume.npy")
    )
    for name in ("s.png", "s_grid.png"):
        np.testing.assert_array_equal(
            _read(tmp_path / "gpu" / name), _read(tmp_path / "cpu" / name)
        )
    import json

    gpu = json.loads((tmp_path / "gpu/s_telemetry.json").read_text())
    cpu = json.loads((tmp_path / "cpu/s_telemetry.json").read_text())
    _assert_close(gpu, cpu)  # the statistics' float64 sums: ~1e-7 relative (semantics)


def test_device_buffers_are_reused_across_a_batch(tmp_path):
    workspace = Workspace()
    for k in range(2):
        stack = _stack(tmp_path / f"s{k}.npy", seed=k)
        run_project_input(stack, _settings(tmp_path / "out"), workspace, CUDA)
        buffers = dict(workspace._local.buffers)
        if k == 0:
            first = buffers
    assert {key: id(a) for key, a in buffers.items()} == {key: id(a) for key, a in first.items()}
    places = {place for _, place in buffers}
    assert places == {"pinned", "device"}  # staging and picture pinned, every stage on the device


def test_decode_writes_into_a_device_buffer(tmp_path, copies):
    latents = tmp_path / "lat.npy"
    np.save(latents, np.random.default_rng(4).standard_normal((2, 3)).astype(np.float32))
    settings = {
        "depth": 3,
        "height": 4,
        "width": 5,
        "seed": 7,
        "refine": REFINE,
    }
    out = OutputSettings(out=tmp_path / "gpu", bit_depth=16)
    run_decode_input(latents, DecodeSettings(output=out, **settings), Workspace(), CUDA)
    decoded = 3 * 4 * 5
    assert not [n for n in copies.up if n >= decoded]  # nothing volume-sized went up
    assert not [n for n in copies.down if n > 4 * 2 * 5 * 2]  # only the pictures came down
    out = OutputSettings(out=tmp_path / "cpu", bit_depth=16)
    run_decode_input(latents, DecodeSettings(output=out, **settings), Workspace(), CPU)
    for name in ("lat_000.png", "lat_001.png"):
        np.testing.assert_array_equal(
            _read(tmp_path / "gpu" / name), _read(tmp_path / "cpu" / name)
        )


def _assert_close(got, want, where="telemetry") -> None:
    if isinstance(want, dict):
        assert got.keys() == want.keys(), where
        for key in want:
            _assert_close(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for k, (g, w) in enumerate(zip(got, want, strict=True)):
            _assert_close(g, w, f"{where}[{k}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-6, abs=1e-7), where
    else:
        assert got == want, where


def test_a_refinement_larger_than_the_gpu_is_refused_before_loading(tmp_path, monkeypatch):
    import stv_kernels.cuda as cuda_backend
    from stv_cli.errors import InvalidDimensions

    monkeypatch.setattr(cuda_backend, "memory_info", lambda: (4096, 4096))
    stack = _stack(tmp_path / "s.npy")
    with pytest.raises(InvalidDimensions, match="on the GPU needs an estimated .* device memory"):
        run_project_input(stack, _settings(tmp_path / "gpu"), Workspace(), CUDA)
    assert not (tmp_path / "gpu").exists() or not any((tmp_path / "gpu").iterdir())
