"""Shared fixtures: every model test runs on every backend available here."""

from __future__ import annotations

import os

# CUDA kernels run in numba's simulator unless a real GPU run asks otherwise (the `gpu` tests
# are run with NUMBA_ENABLE_CUDASIM=0 on a machine with one); it must be set before numba.cuda
# is first imported. The simulated backend is never what `auto` picks.
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import stv_cli  # noqa: E402
from tests.tolerances import BACKENDS  # noqa: E402


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Run the test once per backend, with that backend in force."""
    with stv_cli.use_backend(request.param):
        yield request.param


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
