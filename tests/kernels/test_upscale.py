"""upscale_bilinear: numba kernel against the NumPy reference (SPEC A.2.4, B.4)."""

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
@given(vol=volumes(), factor=st.integers(1, 4))
def test_cpu_matches_reference_bit_for_bit(vol, factor):
    assert_bit_exact(cpu.upscale_bilinear(vol, factor), reference.upscale_bilinear(vol, factor))


def test_many_rows_and_tasks_match_reference(rng):
    # more output rows than tasks, so every task walks several rows and reuses its slots
    vol = rng.standard_normal((3, 37, 11, 3)).astype(F32)
    for factor in (2, 3, 5):
        assert_bit_exact(cpu.upscale_bilinear(vol, factor), reference.upscale_bilinear(vol, factor))


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_wide_rows_by_two_match_reference(channels, rng):
    # factor 2 takes the gather-free path for C = 1, 3, 4 (runs of constant source shift) and
    # the gather table for C = 2; both must agree with the reference to the bit
    vol = rng.standard_normal((2, 5, 301, channels)).astype(F32)
    vol[0, 2, 300, 0], vol[1, 4, 0, -1] = np.inf, np.nan
    assert_bit_exact(cpu.upscale_bilinear(vol, 2), reference.upscale_bilinear(vol, 2))


@pytest.mark.parametrize("ops", BACKENDS)
def test_factor_one_is_an_unchanged_copy(ops, rng):
    vol = rng.standard_normal((2, 3, 4, 3)).astype(F32)
    vol[0, 0, 0, 0], vol[1, 2, 3, 2], vol[0, 1, 1, 1] = np.inf, np.nan, -0.0
    out = ops.upscale_bilinear(vol, 1)
    assert out is not vol
    np.testing.assert_array_equal(out.view(np.uint32), vol.view(np.uint32))


@pytest.mark.parametrize("ops", BACKENDS)
def test_spec_b4_row_by_two(ops):
    out = ops.upscale_bilinear(np.array([[[[1], [2], [3]]]], F32), 2)
    assert out.shape == (1, 2, 6, 1)
    for row in out[0, :, :, 0]:
        np.testing.assert_allclose(row, [1, 1.4, 1.8, 2.2, 2.6, 3], atol=1e-6)


@pytest.mark.parametrize("ops", BACKENDS)
def test_spec_b4_square_by_three(ops):
    out = ops.upscale_bilinear(np.array([[[[1], [2]], [[3], [4]]]], F32), 3)[0, :, :, 0]
    y, x = np.mgrid[0:6, 0:6]
    np.testing.assert_allclose(out, 1 + 0.2 * x + 0.4 * y, atol=1e-6)


@pytest.mark.parametrize("ops", BACKENDS)
def test_spec_b4_volume_by_two(ops):
    vol = np.array([[[0, 1], [2, 3]], [[4, 5], [6, 7]]], F32)[..., None]
    out = ops.upscale_bilinear(vol, 2)[..., 0]
    assert out.shape == (2, 4, 4)
    third = 1 / 3
    slice0 = [
        [0, third, 2 * third, 1],
        [2 * third, 1, 4 * third, 5 * third],
        [4 * third, 5 * third, 2, 7 * third],
        [2, 7 * third, 8 * third, 3],
    ]
    np.testing.assert_allclose(out[0], slice0, atol=1e-6)
    np.testing.assert_allclose(out[1], np.array(slice0) + 4, atol=1e-6)


@pytest.mark.parametrize("ops", BACKENDS)
def test_corners_are_the_input_corners_and_size_one_replicates(ops, rng):
    vol = rng.standard_normal((2, 1, 5, 3)).astype(F32)
    out = ops.upscale_bilinear(vol, 3)
    assert out.shape == (2, 3, 15, 3)
    np.testing.assert_array_equal(out[:, 0], out[:, 2])
    np.testing.assert_array_equal(out[:, 0, 0], vol[:, 0, 0])


@pytest.mark.parametrize("ops", BACKENDS)
def test_out_given_is_filled_and_returned(ops, rng):
    vol = rng.standard_normal((2, 3, 4, 1)).astype(F32)
    out = np.full((2, 6, 8, 1), np.nan, F32)
    assert ops.upscale_bilinear(vol, 2, out=out) is out
    assert_bit_exact(out, ops.upscale_bilinear(vol, 2))


@pytest.mark.parametrize("ops", BACKENDS)
@pytest.mark.parametrize("factor", [0, -1, 1.5, 2.0, True, "2"])
def test_bad_factor_is_rejected(ops, factor):
    with pytest.raises(ValueError, match="upscale factor must be an integer >= 1"):
        ops.upscale_bilinear(np.zeros((1, 2, 2, 1), F32), factor)


@pytest.mark.parametrize("ops", BACKENDS)
def test_wrong_out_shape_is_rejected(ops):
    with pytest.raises(ValueError, match=r"out must be .* shape \(1, 4, 4, 1\)"):
        ops.upscale_bilinear(np.zeros((1, 2, 2, 1), F32), 2, out=np.zeros((1, 4, 4, 3), F32))


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_paired_output_rows_match_reference(factor, monkeypatch, rng):
    # long rows write two output rows that share their source rows in one loop; force that
    # path on a small volume (and odd task boundaries) and compare to the bit
    from stv_kernels.cpu import upscale

    monkeypatch.setattr(upscale, "L1_ROW_BYTES", 0)
    vol = rng.standard_normal((3, 13, 9, 3)).astype(F32)
    vol[1, 5, 4, 2], vol[2, 0, 8, 0] = np.inf, np.nan
    assert_bit_exact(cpu.upscale_bilinear(vol, factor), reference.upscale_bilinear(vol, factor))


@pytest.mark.parametrize("shape", [(2, 0, 3, 1), (2, 3, 0, 3), (0, 2, 2, 1)])
def test_an_empty_volume_upscales_to_an_empty_volume_of_the_scaled_shape(shape):
    # SPEC A.2.4: H = 0 or W = 0 has nothing to resample (an unchanged clone, scaled shape)
    d, h, w, c = shape
    vol = np.zeros(shape, np.float32)
    for module in (reference, cpu):
        out = module.upscale_bilinear(vol, 3)
        assert out.shape == (d, 3 * h, 3 * w, c)
