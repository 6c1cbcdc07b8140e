"""interpolate_z: numba kernel against the NumPy reference (SPEC A.2.3, D8, B.4)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stv_kernels import cpu, reference
from tests.kernels.strategies import assert_bit_exact, volumes

BACKENDS = [reference, cpu]
F32 = np.float32


METHODS = ["nearest", "linear", "cubic"]


@settings(max_examples=40, deadline=None)
@given(vol=volumes(min_depth=2), method=st.sampled_from(METHODS))
def test_cpu_matches_reference_bit_for_bit(vol, method):
    assert_bit_exact(cpu.interpolate_z(vol, method), reference.interpolate_z(vol, method))


def test_blocks_of_rows_match_reference(rng):
    # enough rows for several multi-row blocks and a partial last one
    vol = rng.standard_normal((5, 37, 6, 3)).astype(F32)
    for method in METHODS:
        assert_bit_exact(cpu.interpolate_z(vol, method), reference.interpolate_z(vol, method))


def column(values):
    """A D x 1 x 1 x 1 volume of the given slice values."""
    return np.array(values, F32).reshape(-1, 1, 1, 1)


@pytest.mark.parametrize("ops", BACKENDS)
@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("nearest", [0, 0, 1, 1, 4, 4, 9]),
        ("linear", [0, 0.5, 1, 2.5, 4, 6.5, 9]),
        ("cubic", [0, 0.3125, 1, 2.25, 4, 6.6875, 9]),
    ],
)
def test_spec_b4_one_by_one_slices(ops, method, expected):
    out = ops.interpolate_z(column([0, 1, 4, 9]), method)
    np.testing.assert_allclose(out.ravel(), expected, atol=1e-6)


@pytest.mark.parametrize("ops", BACKENDS)
def test_spec_b4_cubic_other_inputs(ops):
    np.testing.assert_allclose(
        ops.interpolate_z(column([1, 2, 0]), "cubic").ravel(), [1, 1.625, 2, 1.0625, 0], atol=1e-6
    )
    np.testing.assert_allclose(ops.interpolate_z(column([1, 3]), "cubic").ravel(), [1, 2, 3])


@pytest.mark.parametrize("ops", BACKENDS)
def test_spec_b4_cubic_volume(ops):
    vol = np.array([[[0, 1], [2, 3]], [[4, 5], [6, 7]], [[1, 1], [1, 1]]], F32)[..., None]
    expected = [0, 1, 2, 3, 2.1875, 3.25, 4.3125, 5.375, 4, 5, 6, 7, 2.75, 3.25, 3.75, 4.25]
    expected += [1, 1, 1, 1]
    np.testing.assert_allclose(ops.interpolate_z(vol, "cubic").ravel(), expected, atol=1e-6)


@pytest.mark.parametrize("ops", BACKENDS)
def test_spec_b4_linear_refines_geometry(ops):
    vol = np.array([[[0, 1], [2, 3]], [[4, 5], [6, 7]]], F32)[..., None]
    out = ops.interpolate_z(vol, "linear")
    assert out.shape == (3, 2, 2, 1)
    np.testing.assert_allclose(out.ravel(), [0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7], atol=1e-6)


@pytest.mark.parametrize("ops", BACKENDS)
@pytest.mark.parametrize("method", METHODS)
def test_channels_interpolate_independently(ops, method, rng):
    vol = rng.standard_normal((4, 3, 5, 3)).astype(F32)
    out = ops.interpolate_z(vol, method)
    for ch in range(3):
        single = ops.interpolate_z(np.ascontiguousarray(vol[..., ch : ch + 1]), method)
        assert_bit_exact(np.ascontiguousarray(out[..., ch : ch + 1]), single)


@pytest.mark.parametrize("ops", BACKENDS)
def test_out_given_is_filled_and_returned(ops, rng):
    vol = rng.standard_normal((3, 4, 5, 4)).astype(F32)
    out = np.full((5, 4, 5, 4), np.nan, F32)
    assert ops.interpolate_z(vol, "cubic", out=out) is out
    assert_bit_exact(out, ops.interpolate_z(vol, "cubic"))


@pytest.mark.parametrize("ops", BACKENDS)
def test_bad_calls_are_rejected(ops):
    vol = np.zeros((3, 2, 2, 1), F32)
    with pytest.raises(ValueError, match="out must be"):
        ops.interpolate_z(vol, "linear", out=np.zeros((6, 2, 2, 1), F32))
    with pytest.raises(ValueError, match="not one of nearest, linear, cubic"):
        ops.interpolate_z(vol, "spline")
    with pytest.raises(ValueError, match="depth >= 2, got 1"):
        ops.interpolate_z(vol[:1], "linear")


@pytest.mark.parametrize("ops", BACKENDS)
def test_empty_slices_keep_their_shape(ops):
    assert ops.interpolate_z(np.zeros((3, 0, 4, 1), F32), "cubic").shape == (5, 0, 4, 1)
