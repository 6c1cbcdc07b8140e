"""numba kernel of the latent decoder (SPEC A.6, D7), parallel over rows of voxels.

Draw ``i`` of the stream is word ``i % 16`` of ChaCha12 block ``i // 16`` (see
:mod:`stv_kernels.chacha`), so every row of the output computes the blocks it needs itself and
the result does not depend on the number of threads: each voxel sees exactly the draws, in
exactly the order, of the sequential reference (:mod:`stv_kernels.reference.decode`).

"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from .._chacha_rounds import make_double_round
from .._checks import check_decode_args
from .._exact_math import tanh_f32
from ..chacha import CHACHA_CONSTANTS

F32 = np.float32
_C0, _C1, _C2, _C3 = (int(c) for c in CHACHA_CONSTANTS)
#: ChaCha blocks computed side by side: the loop over them vectorises (one block per SIMD lane).
LANES = 16
#: Most draws per run of voxels. A run needs at most 255 blocks, i.e. 16 groups of LANES.
_RUN_DRAWS = 4096 - 32
#: Tasks per thread: rows are split into this many contiguous ranges per thread.
_TASKS_PER_THREAD = 4


@njit(inline="always")
def _add32(a, b):
    # uint32 operands are promoted by numba; the cast wraps modulo 2^32
    return np.uint32(a + b)


_double_round = make_double_round(njit(inline="always"), _add32)


@njit(inline="always")
def _draw(word):
    # (x >> 9) * 2^-22 - 1: exact in float32, equal to the reference's bit-cast mapping
    return F32(word >> 9) * F32(2.384185791015625e-07) - F32(1.0)


@njit(inline="always")
def _chacha12_lanes(key, first_block, lane):
    """Blocks ``first_block + j`` (j < LANES) into ``lane``: word i of block j at i*LANES + j.

    The body is straight-line code per block (12 rounds unrolled by hand, state in
    registers) and the stores have constant strides, so LLVM vectorises the loop over blocks.
    """
    k0, k1, k2, k3, k4, k5, k6, k7 = key[0], key[1], key[2], key[3], key[4], key[5], key[6], key[7]
    zero = np.uint32(0)
    for j in range(LANES):
        block = first_block + j
        lo = np.uint32(block & 0xFFFFFFFF)
        hi = np.uint32(block >> 32)
        s = (np.uint32(_C0), np.uint32(_C1), np.uint32(_C2), np.uint32(_C3))
        s = s + (k0, k1, k2, k3, k4, k5, k6, k7, lo, hi, zero, zero)
        s = _double_round(s)
        s = _double_round(s)
        s = _double_round(s)
        s = _double_round(s)
        s = _double_round(s)
        s = _double_round(s)
        lane[0 * LANES + j] = np.uint32(s[0] + _C0)
        lane[1 * LANES + j] = np.uint32(s[1] + _C1)
        lane[2 * LANES + j] = np.uint32(s[2] + _C2)
        lane[3 * LANES + j] = np.uint32(s[3] + _C3)
        lane[4 * LANES + j] = np.uint32(s[4] + k0)
        lane[5 * LANES + j] = np.uint32(s[5] + k1)
        lane[6 * LANES + j] = np.uint32(s[6] + k2)
        lane[7 * LANES + j] = np.uint32(s[7] + k3)
        lane[8 * LANES + j] = np.uint32(s[8] + k4)
        lane[9 * LANES + j] = np.uint32(s[9] + k5)
        lane[10 * LANES + j] = np.uint32(s[10] + k6)
        lane[11 * LANES + j] = np.uint32(s[11] + k7)
        lane[12 * LANES + j] = np.uint32(s[12] + lo)
        lane[13 * LANES + j] = np.uint32(s[13] + hi)
        lane[14 * LANES + j] = s[14]
        lane[15 * LANES + j] = s[15]


@njit(cache=True)
def _decode_row(key, first_draw, latent, row, lane, draws, acc, dest):
    """Decode one row of voxels whose first draw is ``first_draw``.

    The row goes in runs of ``acc.size`` voxels. A run's draws are generated LANES blocks at a
    time and scattered into ``draws`` feature-major (``draws[k * run + v]``, via the ``dest``
    map of run-relative draw index -> slot), so the sums over k run vectorised across voxels
    while each voxel still adds its features in k order.
    """
    n_features = latent.size
    run = acc.size
    scale = F32(n_features)
    width = row.size
    for x0 in range(0, width, run):
        n_vox = min(run, width - x0)
        d0 = first_draw + x0 * n_features
        n_draws = n_vox * n_features
        b0 = d0 // 16
        offset = d0 - b0 * 16
        for group in range(b0, (d0 + n_draws + 15) // 16, LANES):
            _chacha12_lanes(key, group, lane)
            rel0 = (group - b0) * 16 - offset
            for j in range(LANES):
                for i in range(16):
                    q = rel0 + j * 16 + i
                    if 0 <= q < n_draws:
                        draws[dest[q]] = _draw(lane[i * LANES + j])
        for v in range(n_vox):
            acc[v] = F32(0.0)
        for k in range(n_features):
            phi = latent[k]
            feature = draws[k * run : (k + 1) * run]
            for v in range(n_vox):
                acc[v] = acc[v] + phi * feature[v]
        for v in range(n_vox):
            row[x0 + v] = tanh_f32(acc[v] / scale)


@njit(parallel=True, cache=True)
def _decode_rows(key, start_draw, latent, rows, lane, draws, acc, dest):
    n_rows, width = rows.shape
    n_tasks = draws.shape[0]
    row_draws = width * latent.size
    for task in prange(n_tasks):
        first = task * n_rows // n_tasks
        last = (task + 1) * n_rows // n_tasks
        for r in range(first, last):
            _decode_row(
                key,
                start_draw + r * row_draws,
                latent,
                rows[r],
                lane[task],
                draws[task],
                acc[task],
                dest,
            )


def decode_latent(key_words, start_draw, latent, depth, height, width, out=None):
    """Decode ``latent`` into a (D, H, W, 1) float32 volume with the stream at ``start_draw``.

    Same contract and same numbers as :func:`stv_kernels.reference.decode.decode_latent`
    (bitwise for the draws and sums; ``tanh`` is the correctly rounded
    :data:`stv_kernels._exact_math.tanh_f32`, which the CUDA kernel shares, so within an ulp of
    NumPy's). Parallel over rows; the result is identical for any number of threads.
    """
    key_words, start_draw, latent, out = check_decode_args(
        key_words, start_draw, latent, depth, height, width, out
    )
    n_features = latent.size
    rows = out.reshape(-1, out.shape[2])
    run = min(rows.shape[1], max(1, _RUN_DRAWS // n_features))
    n_tasks = max(1, min(rows.shape[0], numba.get_num_threads() * _TASKS_PER_THREAD))
    # scratch per task and the shared scatter map, allocated here, never inside the kernel
    q = np.arange(run * n_features, dtype=np.intp)
    dest = (q % n_features) * run + q // n_features
    lane = np.empty((n_tasks, 16 * LANES), dtype=np.uint32)
    draws = np.empty((n_tasks, run * n_features), dtype=F32)
    acc = np.empty((n_tasks, run), dtype=F32)
    _decode_rows(key_words, np.int64(start_draw), latent, rows, lane, draws, acc, dest)
    return out
