"""The decoder's shared float32 tanh (SPEC A.6, D7): correctly rounded, one source per target.

The CPU build (``numba.njit``) is checked against NumPy on a dense sample; the same source run
as plain Python on NumPy scalars and the CUDA device build (numba's simulator here, a GPU where
``NUMBA_ENABLE_CUDASIM=0``) must give the CPU build's float32 bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from stv_kernels._exact_math import SATURATE, TINY, make_tanh_f32, tanh_f32

try:  # a module global: the simulator swaps ``cuda`` in a kernel's globals for its fake one
    from numba import cuda
except ImportError:  # numba-cuda is optional
    cuda = None

F32 = np.float32
F64 = np.float64


@njit
def _cpu_tanh(xs, out):
    for i in range(xs.size):
        out[i] = tanh_f32(xs[i])
    return out


def cpu_tanh(xs):
    xs = np.ascontiguousarray(xs, dtype=F32)
    return _cpu_tanh(xs, np.empty_like(xs))


def ulp_distance(a, b):
    """|a - b| in float32 ulps (the bit patterns mapped to a monotonic integer line)."""

    def line(v):
        i = np.asarray(v, F32).view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)

    return np.abs(line(a) - line(b))


def dense_sample():
    """2.3e6 float32: uniform on [-10, 10], log-uniform magnitudes with both signs, and every
    float32 next to the thresholds (TINY, 1, the float32 saturation 9.0109, SATURATE)."""
    rng = np.random.default_rng(2024)
    uniform = rng.uniform(-10, 10, 1_000_000)
    magnitude = np.exp(rng.uniform(np.log(2.0**-14), np.log(10.0), 1_000_000))
    log_uniform = magnitude * rng.choice([-1.0, 1.0], magnitude.size)
    around = []
    for edge in (float(TINY), 1.0, 13 * np.log(2.0), float(SATURATE)):
        bits = np.array(edge, F32).view(np.int32) + np.arange(-20_000, 20_000, dtype=np.int32)
        around.append(bits.view(F32))
    xs = np.concatenate([uniform, log_uniform]).astype(F32)
    xs = np.concatenate([xs, *around])
    return np.concatenate([xs, -xs[-len(around) * 40_000 :]])


def correctly_rounded(xs):
    # float64 tanh (error < 1 float64 ulp) rounded once to float32: the correctly rounded
    # float32 except within ~2^-29 ulp of a rounding midpoint, which this sample never hits
    return np.tanh(xs.astype(F64)).astype(F32)


def test_within_one_ulp_of_numpy_float32_tanh():
    xs = dense_sample()
    distance = ulp_distance(cpu_tanh(xs), np.tanh(xs))
    assert distance.max() <= 1
    # and far from merely "within an ulp": NumPy's SIMD tanh is faithful, ours rounds correctly
    assert (distance == 0).mean() > 0.5


def test_correctly_rounded_on_a_dense_sample():
    xs = dense_sample()
    got = cpu_tanh(xs)
    want = correctly_rounded(xs)
    wrong = np.nonzero(got.view(np.uint32) != want.view(np.uint32))[0]
    assert wrong.size == 0, list(zip(xs[wrong[:5]], got[wrong[:5]], want[wrong[:5]], strict=True))


def test_special_values():
    tiny = np.array([1e-45, -1e-45, 1.2e-38, 1e-30, -3e-9, 2.0**-13, -(2.0**-12.5)], F32)
    np.testing.assert_array_equal(cpu_tanh(tiny).view(np.uint32), tiny.view(np.uint32))
    zeros = cpu_tanh(np.array([0.0, -0.0], F32))
    assert zeros.view(np.uint32).tolist() == [0, 0x80000000]  # the sign of zero is kept
    big = np.array([np.inf, 9.02, 9.5, 10.0, 88.0, 3.4e38], F32)
    np.testing.assert_array_equal(cpu_tanh(big), np.ones(big.size, F32))
    np.testing.assert_array_equal(cpu_tanh(-big), -np.ones(big.size, F32))
    assert cpu_tanh(np.array([9.0], F32))[0] == np.nextafter(F32(1), F32(0))  # not yet 1
    nan = np.array([np.nan, -np.nan], F32)
    assert np.isnan(cpu_tanh(nan)).all()


def test_odd_function():
    xs = np.abs(dense_sample()[::7])
    np.testing.assert_array_equal(cpu_tanh(-xs).view(np.uint32), (-cpu_tanh(xs)).view(np.uint32))


def edge_values():
    """A few hundred float32 with the edge cases: NaN, +-inf, +-0, subnormals, the thresholds."""
    rng = np.random.default_rng(7)
    edges = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 1e-30, 2.0**-12, 2.0**-13]
    edges += [9.0, 9.0109, 9.02, 9.5, 10.0, 3.4e38, 0.5, 1.0, 0.25, 0.549306]
    edges += np.nextafter(F32(TINY), F32([0, 1])).tolist()
    edges += np.nextafter(F32(SATURATE), F32([0, 10])).tolist()
    xs = np.concatenate(
        [
            np.array(edges, F32),
            rng.uniform(-10, 10, 150).astype(F32),
            (np.exp(rng.uniform(-10, 2.3, 100)) * rng.choice([-1, 1], 100)).astype(F32),
        ]
    )
    return np.concatenate([xs, -xs[1:20]])


def test_same_source_as_plain_python_on_numpy_scalars():
    # the source is target-neutral: run as Python on NumPy scalars (what the CUDA simulator
    # does), with plain operators, it gives the compiled CPU build's bits
    py_tanh = make_tanh_f32(lambda a, b: a * b, lambda a, b: a + b, lambda f: f)
    xs = edge_values()
    got = np.array([py_tanh(x) for x in xs], F32)
    np.testing.assert_array_equal(got.view(np.uint32), cpu_tanh(xs).view(np.uint32))


def test_cuda_device_build_equals_cpu_build_bit_for_bit():
    cuda_decode = pytest.importorskip("stv_kernels.cuda.decode", reason="numba-cuda is missing")
    device_tanh = cuda_decode.tanh_f32

    @cuda.jit
    def kernel(xs, out):
        i = cuda.grid(1)
        if i < xs.size:
            out[i] = device_tanh(xs[i])

    xs = edge_values()
    out = cuda.device_array(xs.size, dtype=F32)
    kernel[(xs.size + 31) // 32, 32](cuda.to_device(xs), out)
    got = out.copy_to_host()
    want = cpu_tanh(xs)
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    np.testing.assert_array_equal(got[~nan].view(np.uint32), want[~nan].view(np.uint32))
