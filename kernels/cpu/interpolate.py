"""numba CPU kernel: one densification pass along Z to 2D-1 slices (SPEC A.2.3, D8).

Even output slices copy the input; odd slice ``2z + 1`` is the midpoint of slices z and z+1:
nearest (slice z), linear (``0.5 * (p1 + p2)``) or Catmull-Rom at t = 0.5 with clamped ends.
The float32 operations are those of :func:`stv_kernels.reference.interpolate_z`, in the same
order, so the two agree bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from .._checks import check_out, check_volume, interpolation_code, separate_input


@njit(cache=True)
def _cubic_row(p0, p1, p2, p3, mid):
    t = np.float32(0.5)
    for i in range(mid.size):
        a0 = ((np.float32(-0.5) * p0[i] + np.float32(1.5) * p1[i]) - np.float32(1.5) * p2[i]) + (
            np.float32(0.5) * p3[i]
        )
        a1 = ((p0[i] - np.float32(2.5) * p1[i]) + np.float32(2.0) * p2[i]) - np.float32(0.5) * p3[i]
        a2 = np.float32(-0.5) * p0[i] + np.float32(0.5) * p2[i]
        mid[i] = ((a0 * t + a1) * t + a2) * t + p1[i]


#: Rows one task carries through all of z: about 512 KiB. The four slices a cubic midpoint
#: reads then sit in L3 rather than L2 from one z to the next, but memory is read and written
#: in longer runs, which matters more here: cubic, one thread, CPU time, 128 KiB -> 512 KiB:
#: 28 -> 22 ms at (32,1024,1024,1) and 77-90 -> 61-64 ms at (8,2048,2048,3); two threads,
#: wall-clock minimum: 46 -> 36 ms and 120 -> 91 ms. 1-4 MiB were no better at the large size.
BLOCK_BYTES = 512 * 1024


@njit(parallel=True, cache=True, nogil=True)
def _interpolate_rows(vol, code, out, rows_per_block):
    # vol (D, H, R), out (2D-1, H, R), R = W * C. Tasks split blocks of rows; z runs inside,
    # so every input row comes from memory once (the next z finds it in cache), and each
    # slice's block is read and written as one contiguous run (measured ~1.3x faster than one
    # row at a time through all z, which jumps between 3D streams).
    depth, height, run = vol.shape
    nblocks = (height + rows_per_block - 1) // rows_per_block
    for b in prange(nblocks):
        y0 = b * rows_per_block
        y1 = min(y0 + rows_per_block, height)
        for z in range(depth):
            for y in range(y0, y1):
                src = vol[z, y]
                dst = out[2 * z, y]
                for i in range(run):
                    dst[i] = src[i]
            if z + 1 == depth:
                continue
            for y in range(y0, y1):
                p1 = vol[z, y]
                p2 = vol[z + 1, y]
                mid = out[2 * z + 1, y]
                if code == 0:
                    for i in range(run):
                        mid[i] = p1[i]
                elif code == 1:
                    for i in range(run):
                        mid[i] = np.float32(0.5) * (p1[i] + p2[i])
                else:
                    p0 = vol[z - 1, y] if z > 0 else p1
                    p3 = vol[z + 2, y] if z + 2 < depth else p2
                    _cubic_row(p0, p1, p2, p3, mid)


def interpolate_z(vol: np.ndarray, method: str, out: np.ndarray | None = None):
    """Densify a volume along Z once: D slices become 2D-1 (SPEC A.2.3).

    Parameters
    ----------
    vol : ndarray
        (D, H, W, C) volume with D >= 2; float32 C-contiguous is used as is, anything else is
        copied once.
    method : {"nearest", "linear", "cubic"}
        How the new midpoint slices are made.
    out : ndarray, optional
        Preallocated C-contiguous float32 (2D-1, H, W, C) result.

    Returns
    -------
    ndarray
        ``out``; slice 2z is input slice z, slice 2z+1 the midpoint of slices z and z+1.
    """
    vol = check_volume(vol)
    code = interpolation_code(method)
    d, h, w, c = vol.shape
    if d < 2:
        raise ValueError(f"interpolate_z needs depth >= 2, got {d}")
    out = check_out(out, (2 * d - 1, h, w, c))
    vol = separate_input(vol, out)
    # blocks of about BLOCK_BYTES, and enough of them to keep every thread busy
    rows_per_block = max(1, min(BLOCK_BYTES // max(1, w * c * 4), h // (4 * get_num_threads())))
    _interpolate_rows(
        vol.reshape(d, h, w * c), code, out.reshape(2 * d - 1, h, w * c), rows_per_block
    )
    return out
