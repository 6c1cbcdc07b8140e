"""numba.cuda kernel of the latent decoder (SPEC A.6, D7), one thread per voxel, grid-stride.

Draw ``i`` of the stream is word ``i % 16`` of ChaCha12 block ``i // 16`` (see
:mod:`stv_kernels.chacha`), so each thread computes the blocks its voxel needs itself: voxel
``u`` reads draws ``start + u*F + k`` for k in order, and the 16 words of the block that holds
the current draw stay in registers (a tuple) while consecutive draws fall in the same block.
The sum ``acc = acc + latent[k] * draw`` rounds the product and the sum to float32 on their own
(:func:`mul`, :func:`add`, never fused), exactly as the numba CPU kernel does, and the voxel is
``tanh_f32(acc / F)`` with the shared, correctly rounded
:func:`stv_kernels._exact_math.make_tanh_f32` built on ``dmul``/``dadd``. The result is
therefore bit for bit the CPU backend's, for any seed, shape and launch size.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from .._chacha_rounds import make_double_round
from .._checks import check_decode_args
from .._exact_math import make_tanh_f32
from ..chacha import CHACHA_CONSTANTS
from . import launch
from ._device import F32, add, dadd, dmul, finish, is_device_array, mul, to_device

_C0, _C1, _C2, _C3 = (int(c) for c in CHACHA_CONSTANTS)
_MASK32 = np.uint64(0xFFFFFFFF)

#: Numba signature of every kernel in this module (C-contiguous arrays), for PTX compile tests.
#: _decode's arguments: key words, start draw, latent, flat output (D*H*W,).
PTX_SIGNATURES = {"_decode": ["(uint32[::1], int64, float32[::1], float32[::1])"]}

#: The shared float32 tanh (SPEC A.6), compiled for the device on never-fused float64 ops.
tanh_f32 = make_tanh_f32(dmul, dadd, cuda.jit(device=True, inline="always"))


@cuda.jit(device=True, inline="always")
def _add32(a, b):
    # a + b mod 2^32; widened to uint64 first so that the simulator's NumPy uint32 scalars do
    # not warn on overflow (on a GPU this is one 32-bit add)
    return np.uint32((np.uint64(a) + np.uint64(b)) & _MASK32)


_double_round = make_double_round(cuda.jit(device=True, inline="always"), _add32)


@cuda.jit(device=True, inline="always")
def _block(key, block):
    """The 16 words of ChaCha12 block ``block`` (int64 counter) under ``key`` (8-tuple)."""
    k0, k1, k2, k3, k4, k5, k6, k7 = key
    lo = np.uint32(block & 0xFFFFFFFF)
    hi = np.uint32(block >> 32)
    zero = np.uint32(0)
    c0, c1, c2, c3 = np.uint32(_C0), np.uint32(_C1), np.uint32(_C2), np.uint32(_C3)
    s = (c0, c1, c2, c3, k0, k1, k2, k3, k4, k5, k6, k7, lo, hi, zero, zero)
    for _ in range(6):  # 12 rounds; a loop, not six copies: numba inlines the rounds once
        s = _double_round(s)
    return (
        _add32(s[0], c0),
        _add32(s[1], c1),
        _add32(s[2], c2),
        _add32(s[3], c3),
        _add32(s[4], k0),
        _add32(s[5], k1),
        _add32(s[6], k2),
        _add32(s[7], k3),
        _add32(s[8], k4),
        _add32(s[9], k5),
        _add32(s[10], k6),
        _add32(s[11], k7),
        _add32(s[12], lo),
        _add32(s[13], hi),
        s[14],
        s[15],
    )


@cuda.jit(device=True, inline="always")
def _draw(word):
    # (x >> 9) * 2^-22 - 1: exact in float32, equal to the reference's bit-cast mapping
    return add(mul(F32(word >> 9), F32(2.384185791015625e-07)), F32(-1.0))


@cuda.jit(cache=True)
def _decode(key_words, start_draw, latent, out):
    # key_words (8,), latent (F,), out (D*H*W,): voxel u from draws start + u*F + k
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    n_features = latent.size
    scale = F32(n_features)
    key = (
        key_words[0],
        key_words[1],
        key_words[2],
        key_words[3],
        key_words[4],
        key_words[5],
        key_words[6],
        key_words[7],
    )
    for u in range(start, out.size, stride):
        first = start_draw + np.int64(u) * n_features
        acc = F32(0.0)
        k = 0
        while k < n_features:
            # the block holding draw first + k (draws are >= 0: >> 4 and & 15 are // 16 and
            # % 16), its words in registers while the voxel's next draws come from it
            draw = first + k
            words = _block(key, draw >> 4)
            offset = draw & 15
            for i in range(offset, min(16, offset + (n_features - k))):
                acc = add(acc, mul(latent[k], _draw(words[i])))
                k += 1
        out[u] = tanh_f32(acc / scale)


def decode_latent(key_words, start_draw, latent, depth, height, width, out=None):
    """Decode ``latent`` into a (D, H, W, 1) float32 volume with the stream at ``start_draw``.

    Same contract as :func:`stv_kernels.reference.decode.decode_latent` (SPEC A.6, D7) and the
    same numbers, bit for bit, as :func:`stv_kernels.cpu.decode.decode_latent`, for any launch
    size.

    Parameters
    ----------
    key_words : array_like of 8 uint32
        The ChaCha key (see :func:`stv_kernels.chacha.key_words_from_seed`).
    start_draw : int
        Stream position (in draws) of the first draw of voxel 0, in [0, 2**62).
    latent : array_like, shape (F,)
        The latent features, F >= 1.
    depth, height, width : int
        Size of the output volume.
    out : ndarray or device array, optional
        C-contiguous float32 (D, H, W, 1) array to write into: a device array (:mod:`.memory`)
        keeps the volume on the device, where the next kernels can take it without a copy.

    Returns
    -------
    ndarray or device array
        ``out``, filled (a new host array when None). The stream advances by ``D * H * W * F``
        draws.
    """
    key_words, start_draw, latent, out = check_decode_args(
        key_words, start_draw, latent, depth, height, width, out
    )
    d_out = out if is_device_array(out) else cuda.device_array(out.shape, dtype=F32)
    n = d_out.size
    blocks, threads = launch.grid(n)
    _decode[blocks, threads](
        to_device(key_words), np.int64(start_draw), to_device(latent), d_out.reshape(n)
    )
    return finish(d_out, out)
