"""CUDA kernel tests: numba's simulator, launch sizes patched small (several blocks and
grid-stride steps on tiny volumes), and the NumPy reference as the oracle."""

from __future__ import annotations

import pytest

cuda_backend = pytest.importorskip("stv_kernels.cuda", reason="numba-cuda is not installed")


@pytest.fixture(autouse=True)
def small_launch(monkeypatch):
    """4 threads per block and at most 3 blocks: every kernel takes several grid-stride steps."""
    from stv_kernels.cuda import launch

    monkeypatch.setattr(launch, "THREADS", 4)
    monkeypatch.setattr(launch, "MAX_BLOCKS", 3)
