"""CUDA upscale_bilinear against the NumPy reference, bit for bit (SPEC A.2.4).

Runs in numba's CUDA simulator with 4 threads x 3 blocks (conftest), so every launch takes
several grid-stride steps; volumes stay tiny because the simulator runs each thread in Python.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from stv_kernels import reference
from stv_kernels.cuda import launch
from stv_kernels.cuda import upscale as module
from stv_kernels.cuda.upscale import upscale_bilinear
from tests.kernels.strategies import assert_bit_exact

F32 = np.float32

# the simulator computes NaN/inf voxels with NumPy scalars, which warn; a GPU does not
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def awkward(rng, shape):
    """A float32 volume with NaN, +-inf and -0.0 voxels."""
    vol = (rng.standard_normal(shape) * 10).astype(F32)
    vol.flat[[1, 7, 12, 20]] = [np.nan, np.inf, -np.inf, -0.0]
    return vol


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("factor", [2, 3])
def test_matches_reference_bit_for_bit(factor, channels, rng):
    vol = awkward(rng, (2, 3, 5, channels))
    out = upscale_bilinear(vol, factor)
    assert out.shape == (2, 3 * factor, 5 * factor, channels)
    assert_bit_exact(out, reference.upscale_bilinear(vol, factor))


def test_rounds_every_operation_like_the_reference():
    # values whose products and sums need rounding: a fused or regrouped blend differs
    vol = np.array([[0.1, 1.0 / 3.0, 7.0], [2.7182817, -1e-3, 123.456]], F32)[None, ..., None]
    expected = reference.upscale_bilinear(vol, 3)
    np.testing.assert_array_equal(upscale_bilinear(vol, 3), expected, strict=True)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_factor_one_is_an_unchanged_copy(channels, rng):
    vol = awkward(rng, (2, 3, 5, channels))
    out = upscale_bilinear(vol, 1)
    assert out is not vol
    assert out.tobytes() == vol.tobytes()  # inf stays inf (the formula would make NaN)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (1, 1, 4, 1), (2, 3, 1, 3), (1, 2, 2, 4)], ids=str)
def test_size_one_axes_replicate_and_corners_stay(shape, rng):
    vol = rng.standard_normal(shape).astype(F32)
    out = upscale_bilinear(vol, 2)
    assert_bit_exact(out, reference.upscale_bilinear(vol, 2))
    corners = [0, -1]
    assert_bit_exact(out[:, corners][:, :, corners], vol[:, corners][:, :, corners])


@pytest.mark.parametrize("shape", [(2, 0, 3, 1), (2, 3, 0, 1), (0, 3, 4, 1), (2, 3, 4, 0)])
def test_empty_volume_gives_an_empty_output_of_the_scaled_shape(shape):
    # nothing to compute; (the NumPy reference and the CPU twin raise a broadcast error here
    # when H or W is 0, from `out[...] = vol` with mismatched shapes)
    d, h, w, c = shape
    out = np.empty((d, 3 * h, 3 * w, c), F32)
    assert upscale_bilinear(np.zeros(shape, F32), 3, out=out) is out
    assert upscale_bilinear(np.zeros(shape, F32), 3).shape == out.shape


def test_strided_and_float64_inputs(rng):
    vol = awkward(rng, (2, 3, 4, 3))
    for view in (vol[:, ::-1], vol[..., ::2], vol.astype(np.float64)):
        assert_bit_exact(upscale_bilinear(view, 2), reference.upscale_bilinear(view, 2))


@pytest.mark.parametrize("factor", [1, 2])
def test_out_given_is_filled_and_returned(factor, rng):
    vol = awkward(rng, (2, 3, 4, 3))
    out = np.full((2, 3 * factor, 4 * factor, 3), np.nan, F32)
    assert upscale_bilinear(vol, factor, out=out) is out
    assert_bit_exact(out, reference.upscale_bilinear(vol, factor))


def test_result_does_not_depend_on_the_launch_shape(monkeypatch, rng):
    # one thread in one block walks every output value through the grid-stride loop
    monkeypatch.setattr(launch, "THREADS", 1)
    monkeypatch.setattr(launch, "MAX_BLOCKS", 1)
    vol = awkward(rng, (1, 3, 4, 3))
    assert_bit_exact(upscale_bilinear(vol, 2), reference.upscale_bilinear(vol, 2))


def reference_message(*args, **kwargs):
    with pytest.raises(ValueError) as info:
        reference.upscale_bilinear(*args, **kwargs)
    return re.escape(str(info.value))


@pytest.mark.parametrize(
    ("factor", "out"),
    [
        (0, None),
        (-2, None),
        (1.5, None),
        (True, None),
        (2, np.zeros((1, 2, 2, 1), F32)),
        (1, np.zeros((1, 2, 2, 1), np.float64)),
        (2, np.zeros((1, 4, 4, 1), F32)[:, ::-1]),
    ],
    ids=["zero", "negative", "float", "bool", "out-shape", "out-dtype", "out-strided"],
)
def test_bad_calls_raise_the_reference_message(factor, out):
    vol = np.zeros((1, 2, 2, 1), F32)
    with pytest.raises(ValueError, match=f"^{reference_message(vol, factor, out=out)}$"):
        upscale_bilinear(vol, factor, out=out)


def test_ptx_signatures_cover_every_kernel_of_the_module():
    kernels = {
        name
        for name, obj in vars(module).items()
        if getattr(getattr(obj, "py_func", None), "__module__", None) == module.__name__
    }
    assert kernels == set(module.PTX_SIGNATURES) == {"_upscale"}
