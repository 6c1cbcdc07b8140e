"""numba CPU kernel: align-corners bilinear upscale of every slice by an integer factor.

SPEC A.2.4: ``top = TL + (TR - TL) * tx``, ``bottom = BL + (BR - BL) * tx``,
``out = top + (bottom - top) * ty``, in float32 and in that order, with the source indices and
fractions of :func:`stv_kernels.reference.bilinear_axis` (computed once, in the wrapper, by the
same code the reference uses), so the result is bit-exact with the reference.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from .reference import bilinear_axis, check_factor, check_out, check_volume, separate_input

#: Independent tasks per thread: enough to even out uneven progress, few enough that the
#: per-task scratch rows stay small.
TASKS_PER_THREAD = 4


@njit(cache=True)
def _blend_columns(row, padded, ix0, tx, channels, dst):
    # Horizontal pass of one source row: dst[j] = L + (R - L) * tx[j]. The row is copied once
    # into `padded` with its last pixel repeated, so R always sits `channels` after L (also
    # where the spec clamps x1 = x0 = W-1) and one gather table suffices; unsigned indices
    # spare numba's negative-index fix-up. Measured about 1.5x faster than two int32 tables.
    n = row.size
    for i in range(n):
        padded[i] = row[i]
    for i in range(channels):
        padded[n + i] = row[n - channels + i]
    for j in range(dst.size):
        k = ix0[j]
        left = padded[k]
        dst[j] = left + (padded[k + channels] - left) * tx[j]


@njit(parallel=True, cache=True)
def _upscale_rows(vol, y0, y1, ty, ix0, tx, channels, scratch, padded, out):
    # vol (D, H, R), out (D, H', R'), R = W*C, R' = W'*C. The separable form is exact: `top`
    # is the horizontal blend of source row y0 and `bottom` that of row y1, whichever output
    # row asks for them. Each task walks a contiguous range of output rows and keeps the two
    # source rows it last blended in its own scratch slots, so every source row is blended
    # about once and the vertical blend is a plain vectorised loop over whole rows.
    depth, height, _ = vol.shape
    height_out = out.shape[1]
    run_out = out.shape[2]
    ntasks = scratch.shape[0]
    total = depth * height_out
    for task in prange(ntasks):
        begin = task * total // ntasks
        end = (task + 1) * total // ntasks
        # which source row (z * H + y) each of the two scratch slots holds; -1 = none
        key0 = -1
        key1 = -1
        for r in range(begin, end):
            z = r // height_out
            oy = r - z * height_out
            key_top = z * height + y0[oy]
            key_bottom = z * height + y1[oy]
            if key0 == key_top:
                top_slot = 0
            elif key1 == key_top:
                top_slot = 1
            else:
                top_slot = 1 if key0 == key_bottom else 0  # keep the bottom row if held
                _blend_columns(
                    vol[z, y0[oy]], padded[task], ix0, tx, channels, scratch[task, top_slot]
                )
                if top_slot == 0:
                    key0 = key_top
                else:
                    key1 = key_top
            if key0 == key_bottom:
                bottom_slot = 0
            elif key1 == key_bottom:
                bottom_slot = 1
            else:
                bottom_slot = 1 - top_slot
                _blend_columns(
                    vol[z, y1[oy]], padded[task], ix0, tx, channels, scratch[task, bottom_slot]
                )
                if bottom_slot == 0:
                    key0 = key_bottom
                else:
                    key1 = key_bottom
            top = scratch[task, top_slot]
            bottom = scratch[task, bottom_slot]
            fy = ty[oy]
            dst = out[z, oy]
            for j in range(run_out):
                dst[j] = top[j] + (bottom[j] - top[j]) * fy


def _flat_tables(x0, tx, channels):
    """Flat (x, c) gather table and fractions over a W*C row (uint32: small in cache)."""
    c = np.arange(channels, dtype=np.int64)
    ix0 = (x0[:, None] * channels + c).ravel().astype(np.uint32)
    return ix0, np.repeat(tx, channels)


def upscale_bilinear(vol: np.ndarray, factor: int, out: np.ndarray | None = None):
    """Resample every slice to (H*f, W*f) with corner-aligned bilinear interpolation.

    Parameters
    ----------
    vol : ndarray
        (D, H, W, C) volume; float32 C-contiguous is used as is, anything else is copied once.
    factor : int
        Integer scale f >= 1. ``f == 1`` copies the volume unchanged (also inf voxels).
    out : ndarray, optional
        Preallocated C-contiguous float32 (D, H*f, W*f, C) result.

    Returns
    -------
    ndarray
        ``out``. Slices are resampled independently; output corners are the input corners.
    """
    vol = check_volume(vol)
    factor = check_factor(factor)
    d, h, w, c = vol.shape
    ho, wo = h * factor, w * factor
    out = check_out(out, (d, ho, wo, c))
    vol = separate_input(vol, out)
    if factor == 1 or out.size == 0:
        out[...] = vol
        return out
    if (w + 1) * c >= 2**32:
        raise ValueError(f"a volume row of W*C = {w * c} values is too long (limit 2**32)")
    y0, y1, ty = bilinear_axis(h, ho)
    x0, _, tx = bilinear_axis(w, wo)  # x1 = min(x0 + 1, W - 1) is implied by the padding
    ix0, tx = _flat_tables(x0, tx, c)
    ntasks = min(d * ho, TASKS_PER_THREAD * get_num_threads())
    scratch = np.empty((ntasks, 2, wo * c), dtype=np.float32)
    padded = np.empty((ntasks, (w + 1) * c), dtype=np.float32)
    _upscale_rows(
        vol.reshape(d, h, w * c),
        y0,
        y1,
        ty,
        ix0,
        tx,
        np.uint32(c),
        scratch,
        padded,
        out.reshape(d, ho, wo * c),
    )
    return out
