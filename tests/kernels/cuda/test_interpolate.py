"""CUDA interpolate_z against the NumPy reference, bit for bit (SPEC A.2.3, D8).

Runs in numba's CUDA simulator with 4 threads x 3 blocks (conftest), so every launch takes
several grid-stride steps; volumes stay tiny because the simulator runs each thread in Python.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from stv_kernels import reference
from stv_kernels.cuda import interpolate as module
from stv_kernels.cuda import launch
from stv_kernels.cuda.interpolate import interpolate_z
from tests.kernels.strategies import assert_bit_exact

F32 = np.float32
METHODS = ["nearest", "linear", "cubic"]

# the simulator computes NaN/inf voxels with NumPy scalars, which warn; a GPU does not
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def awkward(rng, shape):
    """A float32 volume with NaN, +-inf and -0.0 voxels."""
    vol = (rng.standard_normal(shape) * 10).astype(F32)
    vol.flat[[1, 7, 12, 20]] = [np.nan, np.inf, -np.inf, -0.0]
    return vol


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("method", METHODS)
def test_matches_reference_bit_for_bit(method, channels, rng):
    vol = awkward(rng, (3, 5, 7, channels))
    out = interpolate_z(vol, method)
    assert out.shape == (5, 5, 7, channels)
    assert_bit_exact(out, reference.interpolate_z(vol, method))


@pytest.mark.parametrize("depth", [2, 5])
def test_cubic_clamped_ends_and_interior(depth, rng):
    # depth 2: both ends clamped (p0 = p1 and p3 = p2); depth 5: interior midpoints read four
    # distinct slices
    vol = awkward(rng, (depth, 2, 3, 2))
    assert_bit_exact(interpolate_z(vol, "cubic"), reference.interpolate_z(vol, "cubic"))


def test_cubic_rounds_every_operation_like_the_reference():
    # values whose products and sums need rounding: a fused or reordered evaluation differs
    vol = np.array([0.1, 1.0 / 3.0, 2.7182817, -1e-3, 123.456], F32).reshape(5, 1, 1, 1)
    expected = reference.interpolate_z(vol, "cubic")
    np.testing.assert_array_equal(interpolate_z(vol, "cubic"), expected, strict=True)


@pytest.mark.parametrize("method", METHODS)
def test_overflow_and_subnormals_like_the_reference(method):
    # 0.5 * (p1 + p2) overflows to inf where 0.5*p1 + 0.5*p2 would not, and rounds subnormals
    # differently: the grouping of the spec shows at the ends of the float32 range
    big, tiny = np.finfo(F32).max, np.finfo(F32).smallest_subnormal
    vol = np.array([[big, -big, tiny, 3 * tiny], [big, -big, tiny, -tiny]], F32)
    vol = np.stack([vol, vol[::-1], vol]).reshape(3, 2, 4, 1)
    expected = reference.interpolate_z(vol, method)
    assert interpolate_z(vol, method).tobytes() == expected.tobytes()


@pytest.mark.parametrize("method", METHODS)
def test_strided_and_float64_inputs(method, rng):
    vol = awkward(rng, (3, 4, 5, 3))
    for view in (vol[:, ::-1], vol[..., ::2], vol.astype(np.float64)):
        assert_bit_exact(interpolate_z(view, method), reference.interpolate_z(view, method))


def test_out_given_is_filled_and_returned(rng):
    vol = awkward(rng, (3, 4, 5, 4))
    out = np.full((5, 4, 5, 4), np.nan, F32)
    assert interpolate_z(vol, "cubic", out=out) is out
    assert_bit_exact(out, reference.interpolate_z(vol, "cubic"))


def test_result_does_not_depend_on_the_launch_shape(monkeypatch, rng):
    # one thread in one block walks every output value through the grid-stride loop
    monkeypatch.setattr(launch, "THREADS", 1)
    monkeypatch.setattr(launch, "MAX_BLOCKS", 1)
    vol = awkward(rng, (3, 2, 3, 3))
    assert_bit_exact(interpolate_z(vol, "cubic"), reference.interpolate_z(vol, "cubic"))


def test_empty_slices_keep_their_shape():
    out = interpolate_z(np.zeros((3, 0, 4, 1), F32), "cubic")
    assert out.shape == (5, 0, 4, 1) and out.dtype == F32


def reference_message(*args, **kwargs):
    with pytest.raises(ValueError) as info:
        reference.interpolate_z(*args, **kwargs)
    return re.escape(str(info.value))


@pytest.mark.parametrize(
    ("vol", "method", "out"),
    [
        (np.zeros((3, 2, 2, 1), F32), "spline", None),
        (np.zeros((1, 2, 2, 1), F32), "linear", None),
        (np.zeros((3, 2, 2, 1), F32), "linear", np.zeros((6, 2, 2, 1), F32)),
        (np.zeros((3, 2, 2, 1), F32), "linear", np.zeros((5, 2, 2, 1), np.float64)),
        (np.zeros((3, 2, 2), F32), "linear", None),
    ],
    ids=["method", "depth-1", "out-shape", "out-dtype", "3-d"],
)
def test_bad_calls_raise_the_reference_message(vol, method, out):
    with pytest.raises(ValueError, match=f"^{reference_message(vol, method, out=out)}$"):
        interpolate_z(vol, method, out=out)


def test_ptx_signatures_cover_every_kernel_of_the_module():
    kernels = {
        name
        for name, obj in vars(module).items()
        if getattr(getattr(obj, "py_func", None), "__module__", None) == module.__name__
    }
    assert kernels == set(module.PTX_SIGNATURES) == {"_interpolate"}
