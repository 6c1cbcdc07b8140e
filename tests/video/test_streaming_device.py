"""``stv video``'s per-frame model on a GPU (numba's simulator): one upload per frame.

With the ``cuda`` backend in force, :class:`StreamingProjection` copies each frame once to the
device; the pipeline's state and the frame ring stay there, and only the projection (and the
statistics' few numbers) come back. The projections and telemetry match the CPU's.
"""

from __future__ import annotations

import numpy as np
import pytest

from stv_cli import backend
from stv_cli.video.settings import StreamSettings
from stv_cli.video.sinks import METRICS, metric
from stv_cli.video.streaming import StreamingProjection
from tests.device_copies import count_copies

pytest.importorskip("numba_cuda", reason="numba-cuda is not installed")

SHAPE = (4, 5, 3)


@pytest.fixture(autouse=True)
def small_launch(monkeypatch):
    if backend.unavailable_reason("cuda") is not None:
        pytest.skip(f"cuda: {backend.unavailable_reason('cuda')}")
    from stv_kernels.cuda import launch, stats, video_frame

    monkeypatch.setattr(launch, "THREADS", 8)
    monkeypatch.setattr(launch, "MAX_BLOCKS", 4)
    monkeypatch.setattr(stats, "COLUMNS", 4)
    monkeypatch.setattr(video_frame, "COLUMNS", 4)  # partial sums, bounded on a GPU


def _frames(dtype, count=5):
    rng = np.random.default_rng(7)
    for _ in range(count):
        if dtype == np.uint8:
            yield rng.integers(0, 256, SHAPE, dtype=np.uint8)
        else:
            yield rng.random(SHAPE, dtype=np.float32)


def _run(device: str, stream: StreamSettings, dtype, out_dtype=None):
    projections, telemetry = [], []
    with backend.use_backend(device):
        model = StreamingProjection(stream)
        for index, frame in enumerate(_frames(dtype)):
            out = None if out_dtype is None else np.empty(SHAPE, out_dtype)
            projection, result, _ = model.push(frame, index / 30.0, out=out)
            projections.append(np.array(projection))
            telemetry.append(result.atlas)
    return projections, telemetry


@pytest.mark.parametrize(
    ("dtype", "out_dtype"), [(np.uint8, np.uint8), (np.uint8, None), (np.float32, None)]
)
def test_each_frame_is_uploaded_once_and_only_the_projection_comes_back(
    monkeypatch, dtype, out_dtype
):
    copies = count_copies(monkeypatch)
    stream = StreamSettings(depth=3)
    gpu, gpu_atlas = _run("cuda", stream, dtype, out_dtype)
    frame = int(np.prod(SHAPE))
    assert [n for n in copies.up if n >= frame] == [frame] * 5  # one upload per frame
    assert [n for n in copies.down if n >= frame] == [frame] * 5  # one projection per frame
    cpu, cpu_atlas = _run("cpu", stream, dtype, out_dtype)
    for got, want in zip(gpu, cpu, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 if out_dtype is None else 1)
    for got, want in zip(gpu_atlas, cpu_atlas, strict=True):
        for name in METRICS:
            assert metric(got, name) == pytest.approx(metric(want, name), rel=1e-6, abs=1e-7)


def test_refinement_on_the_device_matches_the_cpu(monkeypatch):
    stream = StreamSettings(depth=3, diffuse_iterations=1, super_resolution=("linear", 2))
    gpu, _ = _run("cuda", stream, np.float32)
    cpu, _ = _run("cpu", stream, np.float32)
    for got, want in zip(gpu, cpu, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
