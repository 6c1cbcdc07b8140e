"""The CUDA weighted collapse against the NumPy reference: bit for bit (SPEC A.2.1)."""

from __future__ import annotations

import numpy as np
import pytest

from stv_kernels import reference
from stv_kernels.cuda import collapse

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _bits(a: np.ndarray) -> np.ndarray:
    """float32 bits with every NaN made one pattern (the GPU has its own canonical NaN)."""
    a = np.array(a, dtype=np.float32)
    nan = np.isnan(a)
    a[nan] = np.float32("nan")
    return a.view(np.uint32)


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("depth", [1, 2, 5])
def test_collapse_is_bit_exact_with_the_reference(depth, channels):
    rng = np.random.default_rng(depth * 10 + channels)
    vol = rng.standard_normal((depth, 3, 5, channels)).astype(np.float32)
    weights = rng.standard_normal(depth).astype(np.float32)  # negative ones too
    got = collapse.collapse_weighted(vol, weights)
    assert got.shape == (3, 5, channels) and got.dtype == np.float32
    np.testing.assert_array_equal(_bits(got), _bits(reference.collapse_weighted(vol, weights)))


def test_nan_and_inf_voxels_propagate_as_in_the_reference():
    vol = np.ones((3, 2, 3, 1), np.float32)
    vol[0, 0, 0, 0] = np.nan
    vol[1, 1, 2, 0] = np.inf
    vol[2, 1, 2, 0] = -np.inf
    weights = np.array([0.5, 0.25, 0.25], np.float32)
    got = collapse.collapse_weighted(vol, weights)
    want = reference.collapse_weighted(vol, weights)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(_bits(got), _bits(want))


def test_out_is_filled_and_returned_and_strided_input_is_accepted():
    rng = np.random.default_rng(5)
    vol = rng.random((4, 6, 5, 3), dtype=np.float32)[:, ::2]  # not contiguous
    weights = rng.random(4, dtype=np.float32)
    out = np.full((3, 5, 3), 7.0, np.float32)
    assert collapse.collapse_weighted(vol, weights, out=out) is out
    np.testing.assert_array_equal(out, reference.collapse_weighted(vol, weights))


def test_bad_arguments_are_refused_like_the_reference():
    vol = np.zeros((3, 2, 2, 1), np.float32)
    for call in (collapse.collapse_weighted, reference.collapse_weighted):
        with pytest.raises(ValueError, match="weights must have length 3"):
            call(vol, np.ones(2, np.float32))
        with pytest.raises(ValueError, match="out must be a writeable C-contiguous float32"):
            call(vol, np.ones(3, np.float32), out=np.zeros((2, 2, 1), np.float64))
        with pytest.raises(ValueError, match="4-D"):
            call(np.zeros((2, 2)), np.ones(2, np.float32))


@pytest.mark.parametrize("factor", [1, 2, 3])
def test_bands_and_their_projection_are_the_whole_volume_s_rows(factor):
    from stv_kernels.cuda import collapse_upscaled, memory, upscale_bilinear

    rng = np.random.default_rng(factor)
    vol = rng.standard_normal((3, 5, 4, 3)).astype(np.float32)
    vol[1, 2, 3, 0] = np.nan
    weights = rng.standard_normal(3).astype(np.float32)
    whole = reference.upscale_bilinear(vol, factor)
    projection = reference.collapse_weighted(whole, weights)
    start, stop = 2, 4 * factor - 1
    band = np.ascontiguousarray(vol[:, 0:5])
    rows = (5, start, stop, 0)
    np.testing.assert_array_equal(
        _bits(upscale_bilinear(band, factor, rows=rows)), _bits(whole[:, start:stop])
    )
    got = collapse_upscaled(memory.to_device(band), factor, weights, rows=rows)
    np.testing.assert_array_equal(_bits(memory.to_host(got)), _bits(projection[start:stop]))


def test_accumulate_continues_from_out_on_host_and_device():
    from stv_kernels.cuda import collapse_weighted, memory

    rng = np.random.default_rng(9)
    vol = rng.standard_normal((5, 3, 4, 2)).astype(np.float32)
    weights = rng.standard_normal(5).astype(np.float32)
    whole = reference.collapse_weighted(vol, weights)
    host = np.empty((3, 4, 2), np.float32)
    device = memory.device_empty((3, 4, 2))
    for out in (host, device):
        collapse_weighted(vol[:2], weights[:2], out=out)
        collapse_weighted(vol[2:], weights[2:], out=out, accumulate=True)
        np.testing.assert_array_equal(_bits(memory.to_host(out)), _bits(whole))
