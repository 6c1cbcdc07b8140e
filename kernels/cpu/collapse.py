"""numba CPU kernel: weighted collapse of a volume along Z (SPEC A.2.1).

``out[y, x, c] = sum_z vol[z, y, x, c] * weights[z]``, accumulated in z order starting at 0.0,
in float32, exactly as :func:`stv_kernels.reference.collapse_weighted` does, so the two agree
bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from .._checks import check_out, check_volume, separate_input

#: Rows of ``out`` one thread accumulates together: about 128 KiB, so the block of running
#: sums stays in L2 while the slices stream through it in long contiguous runs.
BLOCK_BYTES = 128 * 1024


@njit(parallel=True, cache=True, nogil=True)
def _collapse_rows(vol, weights, out, rows_per_block):
    # vol (D, H, R) and out (H, R), with R = W * C: the formula treats (x, c) alike, so each
    # row is one flat run. Threads split blocks of rows; slices are added four at a time
    # with the same left-to-right float32 order as one at a time (((acc + a) + b) + c) + d,
    # so the result is bit-exact with the reference while the block is read/written 4x less.
    depth, height, run = vol.shape
    nblocks = (height + rows_per_block - 1) // rows_per_block
    for b in prange(nblocks):
        y0 = b * rows_per_block
        y1 = min(y0 + rows_per_block, height)
        for y in range(y0, y1):
            acc = out[y]
            for i in range(run):
                acc[i] = np.float32(0.0)
        z = 0
        while z + 4 <= depth:
            w0 = weights[z]
            w1 = weights[z + 1]
            w2 = weights[z + 2]
            w3 = weights[z + 3]
            for y in range(y0, y1):
                acc = out[y]
                r0 = vol[z, y]
                r1 = vol[z + 1, y]
                r2 = vol[z + 2, y]
                r3 = vol[z + 3, y]
                for i in range(run):
                    acc[i] = (((acc[i] + r0[i] * w0) + r1[i] * w1) + r2[i] * w2) + r3[i] * w3
            z += 4
        while z < depth:
            w = weights[z]
            for y in range(y0, y1):
                acc = out[y]
                row = vol[z, y]
                for i in range(run):
                    acc[i] += row[i] * w
            z += 1


def collapse_weighted(vol: np.ndarray, weights: np.ndarray, out: np.ndarray | None = None):
    """Collapse a (D, H, W, C) volume to one (H, W, C) picture with per-slice weights.

    Parameters
    ----------
    vol : ndarray
        (D, H, W, C) volume; float32 C-contiguous is used as is, anything else is copied once.
    weights : ndarray
        D weights, one per slice. Not normalised here; negative values are accepted.
    out : ndarray, optional
        Preallocated C-contiguous float32 (H, W, C) result.

    Returns
    -------
    ndarray
        ``out``: ``sum_z vol[z] * weights[z]`` accumulated in z order in float32.
    """
    vol = check_volume(vol)
    w = np.ascontiguousarray(weights, dtype=np.float32)
    if w.shape != (vol.shape[0],):
        raise ValueError(f"weights must have length {vol.shape[0]}, got shape {w.shape}")
    d, h, wd, c = vol.shape
    out = check_out(out, (h, wd, c))
    vol = separate_input(vol, out)
    # blocks small enough to fit L2, and enough of them to keep every thread busy
    rows_per_block = max(1, min(BLOCK_BYTES // max(1, wd * c * 4), h // (4 * get_num_threads())))
    _collapse_rows(vol.reshape(d, h, wd * c), w, out.reshape(h, wd * c), rows_per_block)
    return out
