"""diffuse: numba kernel against the NumPy reference (SPEC A.5, B.5)."""

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
@given(vol=volumes(), iterations=st.integers(0, 3), rate=st.floats(0, 1, width=32))
def test_cpu_matches_reference_bit_for_bit(vol, iterations, rate):
    expected = reference.diffuse(vol, iterations, rate)
    assert_bit_exact(cpu.diffuse(vol, iterations, rate), expected)


@pytest.mark.parametrize(
    "shape", [(1, 1, 1, 1), (1, 1, 1, 3), (1, 1, 6, 1), (1, 6, 1, 3), (6, 1, 1, 1)]
)
def test_degenerate_shapes_match_reference(shape, rng):
    vol = rng.standard_normal(shape).astype(F32)
    for iterations in (1, 2):
        assert_bit_exact(cpu.diffuse(vol, iterations, 0.3), reference.diffuse(vol, iterations, 0.3))


def test_blocks_of_rows_match_reference(rng):
    # enough rows for several multi-row blocks and a partial last one
    vol = rng.standard_normal((4, 37, 6, 3)).astype(F32)
    assert_bit_exact(cpu.diffuse(vol, 2, 0.35), reference.diffuse(vol, 2, 0.35))


B5_VOLUME = np.array([[[10, 0], [0, 0]], [[0, 0], [0, 0]]], F32)[..., None]


@pytest.mark.parametrize("ops", BACKENDS)
@pytest.mark.parametrize(
    ("iterations", "rate", "expected"),
    [
        (1, 0.5, [5, 1.6666666, 1.6666666, 0, 1.6666666, 0, 0, 0]),
        (2, 0.5, [3.3333333, 1.6666666, 1.6666666, 0.5555555, 1.6666666, 0.5555555, 0.5555555, 0]),
        (1, 0.25, [7.5, 0.8333333, 0.8333333, 0, 0.8333333, 0, 0, 0]),  # ZDiffuser's NaN fallback
    ],
)
def test_spec_b5_vectors(ops, iterations, rate, expected):
    out = ops.diffuse(B5_VOLUME, iterations, rate)
    np.testing.assert_allclose(out.ravel(), expected, atol=1e-6)


@pytest.mark.parametrize("ops", BACKENDS)
def test_diffuse_pass_is_one_iteration(ops, rng):
    vol = rng.standard_normal((3, 4, 5, 3)).astype(F32)
    assert_bit_exact(ops.diffuse_pass(vol, 0.4), ops.diffuse(vol, 1, 0.4))


@pytest.mark.parametrize("ops", BACKENDS)
def test_rate_zero_is_identity_on_finite_volumes(ops, rng):
    vol = rng.standard_normal((3, 4, 5, 3)).astype(F32)
    np.testing.assert_array_equal(ops.diffuse(vol, 3, 0.0), vol)


@pytest.mark.parametrize("ops", BACKENDS)
def test_zero_iterations_copy_every_bit(ops, rng):
    vol = rng.standard_normal((2, 3, 4, 1)).astype(F32)
    vol[0, 0, 0, 0], vol[1, 1, 1, 0] = np.nan, -0.0
    out = ops.diffuse(vol, 0, 0.5)
    assert out is not vol
    np.testing.assert_array_equal(out.view(np.uint32), vol.view(np.uint32))


@pytest.mark.parametrize("ops", BACKENDS)
def test_single_voxel_is_unchanged(ops):
    vol = np.array([[[[3.5, -2.0, 7.0]]]], F32)
    np.testing.assert_array_equal(ops.diffuse(vol, 2, 0.9), vol)


@pytest.mark.parametrize("ops", BACKENDS)
@pytest.mark.parametrize("iterations", [1, 2, 3])
def test_in_place_and_given_out(ops, iterations, rng):
    vol = rng.standard_normal((3, 4, 5, 3)).astype(F32)
    expected = ops.diffuse(vol, iterations, 0.3)
    out = np.full_like(vol, np.nan)
    assert ops.diffuse(vol, iterations, 0.3, out=out) is out
    assert_bit_exact(out, expected)
    assert ops.diffuse(vol, iterations, 0.3, out=vol) is vol
    assert_bit_exact(vol, expected)


def test_constant_volume_stays_constant(rng):
    vol = np.full((4, 5, 6, 3), 2.5, F32)
    np.testing.assert_array_equal(cpu.diffuse(vol, 3, 0.7), vol)


@pytest.mark.parametrize("ops", BACKENDS)
@pytest.mark.parametrize(
    ("iterations", "rate", "message"),
    [
        (1, float("nan"), "rate must be finite and in \\[0, 1\\]"),
        (1, 1.5, "rate must be finite and in \\[0, 1\\]"),
        (1, -0.1, "rate must be finite"),
        (-1, 0.5, "iterations must be an integer >= 0"),
        (1.5, 0.5, "iterations must be an integer >= 0"),
    ],
)
def test_bad_parameters_are_rejected(ops, iterations, rate, message):
    with pytest.raises(ValueError, match=message):
        ops.diffuse(np.zeros((2, 2, 2, 1), F32), iterations, rate)


@pytest.mark.parametrize("ops", BACKENDS)
def test_wrong_out_shape_is_rejected(ops):
    with pytest.raises(ValueError, match="out must be"):
        ops.diffuse(np.zeros((2, 2, 2, 1), F32), 1, 0.5, out=np.zeros((2, 2, 2, 3), F32))
