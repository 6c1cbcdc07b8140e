"""CUDA decode_latent against the numba CPU kernel, bit for bit (SPEC A.6, D7).

Runs in numba's CUDA simulator with 4 threads x 3 blocks (conftest), so every launch takes
several grid-stride steps; volumes stay tiny because the simulator runs each thread in Python.
The two backends share the stream (integers), round every float32 product and sum alike and
share one correctly rounded tanh, so their voxels are identical to the bit; both stay within
the tolerance of the NumPy reference.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from stv_kernels import chacha
from stv_kernels.cpu import decode as cpu_decode
from stv_kernels.cuda import launch
from stv_kernels.cuda.decode import decode_latent
from stv_kernels.reference import decode as reference_decode
from tests.kernels.strategies import assert_bit_exact
from tests.tolerances import ATOL

F32 = np.float32

# the simulator computes non-finite sums with NumPy scalars, which warn; a GPU does not
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

#: (seed, start draw, (D, H, W), F)
CASES = [
    (0, 0, (2, 3, 5), 1),
    (1, 7, (2, 3, 5), 3),  # start in the middle of a block
    (2, 16 * 5 + 11, (2, 3, 5), 16),  # unaligned F = 16: every voxel straddles two blocks
    (3, 16, (1, 2, 3), 37),  # F > 16: three blocks per voxel, block aligned
    (4, 16 * (2**32 - 2) + 3, (1, 3, 5), 16),  # the block counter crosses 2^32 (word 13)
    (2**64 - 1, 2**62 - 64, (1, 2, 5), 3),  # the last draws of the allowed range
]


def latent_of(seed, n_features):
    return (np.random.default_rng(seed % 2**32).standard_normal(n_features) * 3).astype(F32)


@pytest.mark.parametrize(("seed", "start", "shape", "n_features"), CASES)
def test_equals_cpu_kernel_bit_for_bit(seed, start, shape, n_features):
    key = chacha.key_words_from_seed(seed)
    latent = latent_of(seed, n_features)
    got = decode_latent(key, start, latent, *shape)
    want = cpu_decode.decode_latent(key, start, latent, *shape)
    assert got.shape == (*shape, 1) and got.dtype == F32
    assert got.tobytes() == want.tobytes()
    # and within the tolerance of the NumPy reference (its np.tanh is not correctly rounded)
    reference = reference_decode.decode_latent(key, start, latent, *shape)
    np.testing.assert_allclose(got, reference, atol=ATOL, rtol=0)


@pytest.mark.parametrize(("threads", "max_blocks"), [(1, 1), (3, 2), (16, 4)])
def test_launch_size_does_not_change_a_bit(monkeypatch, threads, max_blocks):
    # one thread for everything, an odd grid, and more threads (2 x 16) than voxels (30)
    monkeypatch.setattr(launch, "THREADS", threads)
    monkeypatch.setattr(launch, "MAX_BLOCKS", max_blocks)
    key = chacha.key_words_from_seed(99)
    latent = latent_of(99, 5)
    got = decode_latent(key, 13, latent, 2, 3, 5)
    assert got.tobytes() == cpu_decode.decode_latent(key, 13, latent, 2, 3, 5).tobytes()


def test_voxel_u_uses_draws_from_start_plus_u_times_f():
    key = chacha.key_words_from_seed(11)
    latent = np.array([0.3, -0.7, 1.1], F32)
    volume = decode_latent(key, 10, latent, 1, 2, 3).ravel()
    for u in range(volume.size):
        single = decode_latent(key, 10 + 3 * u, latent, 1, 1, 1)
        assert single.tobytes() == volume[u : u + 1].tobytes()


def test_one_feature_by_hand():
    # F = 1, latent [1]: voxel u = tanh(U_u), the correctly rounded tanh of the draw
    key = chacha.key_words_from_seed(5)
    draws = chacha.words_to_uniform(chacha.stream_words(key, 3, 6))
    out = decode_latent(key, 3, np.array([1.0], F32), 1, 2, 3)
    expected = np.tanh(draws.astype(np.float64)).astype(F32)
    np.testing.assert_array_equal(out.ravel().view(np.uint32), expected.view(np.uint32))


def test_non_finite_and_huge_latents_like_the_cpu_kernel():
    # overflow to +-inf saturates to +-1, inf - inf and NaN give NaN, on both backends
    key = chacha.key_words_from_seed(21)
    for latent in ([3e38, 3e38, 3e38], [np.inf, -np.inf], [1.0, np.nan, 2.0], [-1e30]):
        latent = np.array(latent, F32)
        got = decode_latent(key, 0, latent, 1, 2, 3)
        assert_bit_exact(got, cpu_decode.decode_latent(key, 0, latent, 1, 2, 3))


def test_out_argument_is_filled_and_returned():
    key = chacha.key_words_from_seed(1)
    latent = np.ones(4, F32)
    out = np.full((2, 2, 2, 1), np.nan, F32)
    assert decode_latent(key, 0, latent, 2, 2, 2, out=out) is out
    assert out.tobytes() == cpu_decode.decode_latent(key, 0, latent, 2, 2, 2).tobytes()


BAD_ARGUMENTS = [
    ("latent", (0, np.ones((2, 3), F32), 1, 1, 1), {}),
    ("latent", (0, np.ones(0, F32), 1, 1, 1), {}),
    ("depth, height and width", (0, np.ones(3, F32), 0, 1, 1), {}),
    ("start_draw", (-1, np.ones(3, F32), 1, 1, 1), {}),
    ("start_draw", (2**62, np.ones(3, F32), 1, 1, 1), {}),
    ("out", (0, np.ones(3, F32), 1, 1, 2), {"out": np.empty((1, 1, 3, 1), F32)}),
    ("out", (0, np.ones(3, F32), 1, 1, 2), {"out": np.empty((1, 1, 2, 1), np.float64)}),
]


@pytest.mark.parametrize(("what", "args", "kwargs"), BAD_ARGUMENTS)
def test_bad_arguments_are_rejected_like_the_cpu_kernel(what, args, kwargs):
    key = chacha.key_words_from_seed(1)
    with pytest.raises(ValueError, match=what) as cpu_error:
        cpu_decode.decode_latent(key, *args, **kwargs)
    with pytest.raises(ValueError, match=re.escape(str(cpu_error.value))):
        decode_latent(key, *args, **kwargs)


def test_short_key_is_rejected_like_the_cpu_kernel():
    key = chacha.key_words_from_seed(1)[:4]
    with pytest.raises(ValueError, match="key_words") as cpu_error:
        cpu_decode.decode_latent(key, 0, np.ones(3, F32), 1, 1, 1)
    with pytest.raises(ValueError, match=re.escape(str(cpu_error.value))):
        decode_latent(key, 0, np.ones(3, F32), 1, 1, 1)
