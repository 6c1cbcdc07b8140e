"""Shared fixtures: every model test runs on every backend available here."""

from __future__ import annotations

import numpy as np
import pytest

import stv_cli
from tests.tolerances import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Run the test once per backend, with that backend in force."""
    with stv_cli.use_backend(request.param):
        yield request.param


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
