"""Shared pieces of the kernel tests: the bit-exact comparison and the hypothesis volumes.

The numba kernels must agree with the NumPy reference to the bit, on the same awkward inputs
(odd sizes, NaN/inf/-0.0 voxels, strided and float64 layouts), so every test_kernels_*.py
draws its volumes from here.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

F32 = np.float32


def assert_bit_exact(actual, expected):
    """Same NaN positions, and every other value identical to the bit (signed zeros too)."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype == F32
    nan = np.isnan(expected)
    np.testing.assert_array_equal(np.isnan(actual), nan)
    np.testing.assert_array_equal(actual[~nan].view(np.uint32), expected[~nan].view(np.uint32))


@st.composite
def volumes(draw, min_depth=1):
    """Small (D, H, W, C) volumes with odd sizes, NaN/inf voxels and awkward layouts."""
    d = draw(st.integers(min_depth, 6))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    c = draw(st.sampled_from([1, 3, 4]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    vol = (rng.standard_normal((d, h, w, c)) * 10).astype(F32)
    for special in draw(st.lists(st.sampled_from([np.nan, np.inf, -np.inf, -0.0]), max_size=3)):
        vol[tuple(rng.integers(0, n) for n in vol.shape)] = special
    layout = draw(st.sampled_from(["contiguous", "strided", "float64"]))
    if layout == "strided":  # a non-contiguous view holding the same values
        wide = np.zeros((d, h, 2 * w, c), dtype=F32)
        wide[:, :, ::2] = vol
        return wide[:, :, ::2]
    if layout == "float64":
        return vol.astype(np.float64)
    return vol
