"""CUDA diffuse / diffuse_pass against the NumPy reference, bit for bit (SPEC A.5).

Runs in numba's CUDA simulator with 4 threads x 3 blocks (conftest), so every launch takes
several grid-stride steps; volumes stay tiny because the simulator runs each thread in Python.
"""

from __future__ import annotations

import importlib
import re

import numpy as np
import pytest

from stv_kernels import reference
from stv_kernels.cuda import launch
from stv_kernels.cuda.diffuse import diffuse, diffuse_pass
from tests.kernels.strategies import assert_bit_exact

# the package's attribute ``diffuse`` is the kernel; the family module is reached by name
module = importlib.import_module("stv_kernels.cuda.diffuse")

F32 = np.float32

# the simulator computes NaN/inf voxels with NumPy scalars, which warn; a GPU does not
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def awkward(rng, shape):
    """A float32 volume with NaN, +-inf and -0.0 voxels."""
    vol = (rng.standard_normal(shape) * 10).astype(F32)
    vol.flat[[1, 7, 12, 20]] = [np.nan, np.inf, -np.inf, -0.0]
    return vol


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("iterations", [1, 3])
def test_matches_reference_bit_for_bit(iterations, channels, rng):
    vol = awkward(rng, (3, 5, 7, channels))
    assert_bit_exact(diffuse(vol, iterations, 0.3), reference.diffuse(vol, iterations, 0.3))


@pytest.mark.parametrize("rate", [0.0, 0.1, 1.0 / 3.0, 1.0])
def test_rounds_every_operation_like_the_reference(rate, rng):
    # finite values only, compared with strict bit equality: signed zeros, the sum's order
    # and the separate roundings of centre*keep + avg*rate all show
    vol = rng.standard_normal((3, 4, 5, 1)).astype(F32)
    vol[1, 1, 1, 0] = -0.0
    expected = reference.diffuse(vol, 2, rate)
    np.testing.assert_array_equal(diffuse(vol, 2, rate), expected, strict=True)
    assert diffuse(vol, 2, rate).tobytes() == expected.tobytes()


def test_sum_starts_at_positive_zero():
    # all -0.0: the reference's sum starts at +0.0, so -0.0*keep + (+0.0/n)*rate gives +0.0;
    # a sum started at the first neighbour (or at -0.0) would keep -0.0
    vol = np.full((2, 2, 3, 1), -0.0, F32)
    expected = reference.diffuse(vol, 1, 0.5)
    assert diffuse(vol, 1, 0.5).tobytes() == expected.tobytes()
    assert not np.signbit(expected).any()


def test_zero_iterations_copy_every_bit(rng):
    vol = awkward(rng, (3, 5, 7, 1))
    out = diffuse(vol, 0, 0.5)
    assert out is not vol
    assert out.tobytes() == vol.tobytes()


@pytest.mark.parametrize(
    "shape", [(1, 1, 1, 1), (1, 1, 1, 3), (1, 1, 6, 1), (1, 6, 1, 3), (6, 1, 1, 1)], ids=str
)
def test_degenerate_shapes(shape, rng):
    vol = rng.standard_normal(shape).astype(F32)
    for iterations in (1, 2):
        assert_bit_exact(diffuse(vol, iterations, 0.3), reference.diffuse(vol, iterations, 0.3))


def test_single_voxel_is_unchanged():
    vol = np.array([[[[3.5, -2.0, np.inf]]]], F32)
    assert diffuse(vol, 2, 0.9).tobytes() == vol.tobytes()


def test_empty_volume_keeps_its_shape():
    out = diffuse(np.zeros((2, 0, 3, 1), F32), 2, 0.5)
    assert out.shape == (2, 0, 3, 1) and out.dtype == F32


def test_diffuse_pass_is_one_reference_pass(rng):
    vol = awkward(rng, (3, 4, 5, 3))
    out = np.full_like(vol, np.nan)
    assert diffuse_pass(vol, 0.4, out=out) is out
    assert_bit_exact(out, reference.diffuse_pass(vol, 0.4))


def test_strided_and_float64_inputs(rng):
    vol = awkward(rng, (3, 4, 5, 3))
    for view in (vol[:, ::-1], vol[..., ::2], vol.astype(np.float64)):
        assert_bit_exact(diffuse(view, 2, 0.3), reference.diffuse(view, 2, 0.3))


@pytest.mark.parametrize("iterations", [0, 1, 2, 3])
def test_in_place_and_given_out(iterations, rng):
    vol = awkward(rng, (3, 4, 5, 3))
    expected = reference.diffuse(vol, iterations, 0.3)
    out = np.full_like(vol, np.nan)
    assert diffuse(vol, iterations, 0.3, out=out) is out
    assert_bit_exact(out, expected)
    assert diffuse(vol, iterations, 0.3, out=vol) is vol
    assert_bit_exact(vol, expected)


def test_passes_stay_on_the_device(monkeypatch, rng):
    # three passes: one copy to the device, one copy back, the passes in between on device
    calls = {"to_device": 0, "finish": 0}

    def counted(name, function):
        def wrapper(*args):
            calls[name] += 1
            return function(*args)

        return wrapper

    monkeypatch.setattr(module, "to_device", counted("to_device", module.to_device))
    monkeypatch.setattr(module, "finish", counted("finish", module.finish))
    vol = rng.standard_normal((2, 3, 3, 1)).astype(F32)
    assert_bit_exact(diffuse(vol, 3, 0.3), reference.diffuse(vol, 3, 0.3))
    assert calls == {"to_device": 1, "finish": 1}


def test_result_does_not_depend_on_the_launch_shape(monkeypatch, rng):
    # one thread in one block walks every value through the grid-stride loop
    monkeypatch.setattr(launch, "THREADS", 1)
    monkeypatch.setattr(launch, "MAX_BLOCKS", 1)
    vol = awkward(rng, (2, 3, 4, 3))
    assert_bit_exact(diffuse(vol, 2, 0.3), reference.diffuse(vol, 2, 0.3))


def reference_message(function, *args, **kwargs):
    with pytest.raises(ValueError) as info:
        function(*args, **kwargs)
    return re.escape(str(info.value))


@pytest.mark.parametrize(
    ("iterations", "rate", "out"),
    [
        (1, float("nan"), None),
        (1, 1.5, None),
        (1, -0.1, None),
        (1, float("inf"), None),
        (-1, 0.5, None),
        (1.5, 0.5, None),
        (True, 0.5, None),
        (1, 0.5, np.zeros((2, 2, 2, 3), F32)),
        (0, 0.5, np.zeros((2, 2, 2, 1), np.float64)),
    ],
    ids=["nan", "above-1", "below-0", "inf", "negative", "float", "bool", "out-shape", "dtype"],
)
def test_bad_calls_raise_the_reference_message(iterations, rate, out):
    vol = np.zeros((2, 2, 2, 1), F32)
    message = reference_message(reference.diffuse, vol, iterations, rate, out=out)
    with pytest.raises(ValueError, match=f"^{message}$"):
        diffuse(vol, iterations, rate, out=out)


@pytest.mark.parametrize("rate", [float("nan"), 2.0])
def test_diffuse_pass_rejects_a_bad_rate_like_the_reference(rate):
    vol = np.zeros((2, 2, 2, 1), F32)
    message = reference_message(reference.diffuse_pass, vol, rate)
    with pytest.raises(ValueError, match=f"^{message}$"):
        diffuse_pass(vol, rate)


def test_ptx_signatures_cover_every_kernel_of_the_module():
    kernels = {
        name
        for name, obj in vars(module).items()
        if getattr(getattr(obj, "py_func", None), "__module__", None) == module.__name__
    }
    assert kernels == set(module.PTX_SIGNATURES) == {"_diffuse_pass"}
