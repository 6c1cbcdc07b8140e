"""collapse_weighted: numba kernel against the NumPy reference (SPEC A.2.1, B.2)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stv_kernels import cpu, reference
from tests.kernels.strategies import assert_bit_exact, volumes

BACKENDS = [reference, cpu]
F32 = np.float32


@settings(max_examples=40, deadline=None)
@given(vol=volumes(), seed=st.integers(0, 2**32 - 1))
def test_cpu_matches_reference_bit_for_bit(vol, seed):
    weights = np.random.default_rng(seed).uniform(-1, 2, vol.shape[0]).astype(F32)
    assert_bit_exact(cpu.collapse_weighted(vol, weights), reference.collapse_weighted(vol, weights))


def test_depth_large_enough_for_every_unrolled_branch(rng):
    # depths 1..13 cover the four-at-a-time loop, its remainder, and blocks of several rows
    for d in range(1, 14):
        vol = rng.standard_normal((d, 33, 5, 3)).astype(F32)
        w = rng.standard_normal(d).astype(F32)
        assert_bit_exact(cpu.collapse_weighted(vol, w), reference.collapse_weighted(vol, w))


@pytest.mark.parametrize("ops", BACKENDS)
def test_spec_b2_manual_weighting(ops):
    vol = np.array([[[1, 2], [3, 4]], [[2, 3], [4, 5]], [[3, 4], [5, 6]]], F32)[..., None]
    out = ops.collapse_weighted(vol, np.full(3, 1 / 3, F32))
    np.testing.assert_allclose(out[..., 0], [[2, 3], [4, 5]], atol=1e-6)


@pytest.mark.parametrize("ops", BACKENDS)
def test_out_given_is_filled_and_returned(ops, rng):
    vol = rng.standard_normal((4, 5, 6, 3)).astype(F32)
    w = rng.standard_normal(4).astype(F32)
    out = np.full((5, 6, 3), 99.0, F32)
    assert ops.collapse_weighted(vol, w, out=out) is out
    assert_bit_exact(out, ops.collapse_weighted(vol, w))


@pytest.mark.parametrize("ops", BACKENDS)
def test_out_overlapping_the_input_is_safe(ops, rng):
    vol = rng.standard_normal((3, 4, 5, 1)).astype(F32)
    w = rng.standard_normal(3).astype(F32)
    expected = ops.collapse_weighted(vol.copy(), w)
    assert_bit_exact(ops.collapse_weighted(vol, w, out=vol[0]), expected)


@pytest.mark.parametrize("ops", BACKENDS)
@pytest.mark.parametrize(
    "out",
    [np.zeros((5, 6, 1), F32), np.zeros((5, 6, 3), np.float64), np.zeros((6, 5, 3), F32).T],
)
def test_wrong_out_is_rejected(ops, out):
    vol = np.zeros((2, 5, 6, 3), F32)
    with pytest.raises(ValueError, match="out must be"):
        ops.collapse_weighted(vol, np.ones(2, F32), out=out)


@pytest.mark.parametrize("ops", BACKENDS)
def test_wrong_weight_count_and_shape_are_rejected(ops):
    with pytest.raises(ValueError, match="weights must have length 2"):
        ops.collapse_weighted(np.zeros((2, 3, 3, 1), F32), np.ones(3, F32))
    with pytest.raises(ValueError, match="4-D"):
        ops.collapse_weighted(np.zeros((2, 3, 3), F32), np.ones(2, F32))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(-4, 4))
def test_collapse_is_linear(seed, scale):
    rng = np.random.default_rng(seed)
    v1, v2 = rng.standard_normal((2, 5, 4, 3, 3)).astype(F32)
    w = rng.uniform(-1, 1, 5).astype(F32)
    a = F32(scale)
    lhs = cpu.collapse_weighted(a * v1 + v2, w)
    rhs = a * cpu.collapse_weighted(v1, w) + cpu.collapse_weighted(v2, w)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("ops", BACKENDS)
def test_empty_depth_gives_zeros(ops):
    out = ops.collapse_weighted(np.zeros((0, 2, 3, 1), F32), np.zeros(0, F32))
    np.testing.assert_array_equal(out, np.zeros((2, 3, 1), F32))


@pytest.mark.parametrize("ops", [reference, cpu])
def test_slab_after_slab_with_accumulate_is_the_whole_collapse(ops, rng):
    vol = rng.standard_normal((11, 9, 7, 3)).astype(np.float32)
    vol[3, 1, 1, 0], vol[8, 2, 2, 2] = np.nan, -np.inf
    weights = rng.standard_normal(11).astype(np.float32)
    whole = ops.collapse_weighted(vol, weights)
    out = np.full((9, 7, 3), 123.0, np.float32)
    for start, stop in ((0, 1), (1, 5), (5, 6), (6, 11)):
        ops.collapse_weighted(vol[start:stop], weights[start:stop], out=out, accumulate=start > 0)
    np.testing.assert_array_equal(out.view(np.uint32), whole.view(np.uint32))
    with pytest.raises(ValueError, match="accumulate needs an out"):
        ops.collapse_weighted(vol, weights, accumulate=True)


@pytest.mark.parametrize("ops", [reference, cpu])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_collapse_scaled_is_the_collapse_of_the_pixel_values(ops, dtype, rng):
    from stv_kernels.pixel_scale import pixel_values

    pixels = rng.integers(0, np.iinfo(dtype).max + 1, (9, 13, 7, 3), dtype=dtype)
    weights = rng.standard_normal(9).astype(np.float32)
    whole = reference.collapse_weighted(pixel_values(pixels), weights)
    np.testing.assert_array_equal(ops.collapse_scaled(pixels, weights), whole)
    out = np.empty((13, 7, 3), np.float32)
    ops.collapse_scaled(pixels[:4], weights[:4], out=out)
    ops.collapse_scaled(pixels[4:], weights[4:], out=out, accumulate=True)
    np.testing.assert_array_equal(out, whole)
