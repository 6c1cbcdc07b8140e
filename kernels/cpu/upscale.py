"""numba CPU kernel: align-corners bilinear upscale of every slice by an integer factor.

SPEC A.2.4: ``top = TL + (TR - TL) * tx``, ``bottom = BL + (BR - BL) * tx``,
``out = top + (bottom - top) * ty``, in float32 and in that order, with the source indices and
fractions of :func:`stv_kernels.reference.bilinear_axis` (computed once, in the wrapper, by the
same code the reference uses), so the result is bit-exact with the reference.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from .._checks import band_shape, check_factor, check_out, check_volume, separate_input
from .._tables import bilinear_axis, bilinear_rows

#: Longest output row (bytes) for which the top and bottom scratch rows of the vertical blend
#: stay in a 32 KiB L1 cache; longer rows take the paired-row loop (measured on a 1.5 GiB
#: output: pairs 94-98 ms vs single rows 122-131 ms at 16-48 KiB rows, single rows as fast as
#: a plain fill (69 ms) at 8 KiB and pairs slower there (99-109 ms)).
L1_ROW_BYTES = 8 * 1024

#: Independent tasks per thread: enough to even out uneven progress, few enough that the
#: per-task scratch rows stay small.
TASKS_PER_THREAD = 4


@njit(cache=True)
def _double_grey(left0, left1, tx, dst, n):
    # factor 2, C = 1: output pixels 2k and 2k+1 read source pixels k + s0 and k + s1, each
    # from its own shifted view, so loads are contiguous and the stores a stride-2 pair that
    # vectorises (no gather)
    for k in range(n):
        a = left0[k]
        dst[2 * k] = a + (left0[k + 1] - a) * tx[2 * k]
        b = left1[k]
        dst[2 * k + 1] = b + (left1[k + 1] - b) * tx[2 * k + 1]


@njit(cache=True)
def _double_rgb(left0, left1, tx, dst, n):
    # factor 2, C = 3: as _double_grey with the channels written out by hand (a `for c in
    # range(3)` loop here ran 2x slower)
    for k in range(n):
        t0 = tx[2 * k]
        t1 = tx[2 * k + 1]
        i = 3 * k
        o = 6 * k
        a = left0[i]
        dst[o] = a + (left0[i + 3] - a) * t0
        a = left0[i + 1]
        dst[o + 1] = a + (left0[i + 4] - a) * t0
        a = left0[i + 2]
        dst[o + 2] = a + (left0[i + 5] - a) * t0
        b = left1[i]
        dst[o + 3] = b + (left1[i + 3] - b) * t1
        b = left1[i + 1]
        dst[o + 4] = b + (left1[i + 4] - b) * t1
        b = left1[i + 2]
        dst[o + 5] = b + (left1[i + 5] - b) * t1


@njit(cache=True)
def _double_rgba(left0, left1, tx, dst, n):
    # factor 2, C = 4: as _double_rgb
    for k in range(n):
        t0 = tx[2 * k]
        t1 = tx[2 * k + 1]
        i = 4 * k
        o = 8 * k
        a = left0[i]
        dst[o] = a + (left0[i + 4] - a) * t0
        a = left0[i + 1]
        dst[o + 1] = a + (left0[i + 5] - a) * t0
        a = left0[i + 2]
        dst[o + 2] = a + (left0[i + 6] - a) * t0
        a = left0[i + 3]
        dst[o + 3] = a + (left0[i + 7] - a) * t0
        b = left1[i]
        dst[o + 4] = b + (left1[i + 4] - b) * t1
        b = left1[i + 1]
        dst[o + 5] = b + (left1[i + 5] - b) * t1
        b = left1[i + 2]
        dst[o + 6] = b + (left1[i + 6] - b) * t1
        b = left1[i + 3]
        dst[o + 7] = b + (left1[i + 7] - b) * t1


@njit(cache=True)
def _blend_columns(row, padded, channels, ix0, tx_flat, bounds, shifts, tx, dst):
    # Horizontal pass of one source row: dst[j] = L + (R - L) * tx. The row is copied once
    # into `padded` with its last pixel repeated, so R always sits one pixel after L (also
    # where the spec clamps x1 = x0 = W-1). With `bounds` empty, L is gathered through the
    # flat table ix0 (unsigned: no negative-index fix-up); otherwise (factor 2, C = 1, 3, 4)
    # runs of pixels whose source shift is constant are blended without a table.
    n = row.size
    for i in range(n):
        padded[i] = row[i]
    for i in range(channels):
        padded[n + i] = row[n - channels + i]
    if bounds.size == 0:
        for j in range(dst.size):
            k = ix0[j]
            left = padded[k]
            dst[j] = left + (padded[k + channels] - left) * tx_flat[j]
        return
    for s in range(bounds.size - 1):
        k0 = bounds[s]
        count = bounds[s + 1] - k0
        left0 = padded[(k0 + shifts[s, 0]) * channels :]
        left1 = padded[(k0 + shifts[s, 1]) * channels :]
        if channels == 1:
            _double_grey(left0, left1, tx[2 * k0 :], dst[2 * k0 :], count)
        elif channels == 3:
            _double_rgb(left0, left1, tx[2 * k0 :], dst[6 * k0 :], count)
        else:
            _double_rgba(left0, left1, tx[2 * k0 :], dst[8 * k0 :], count)


@njit(parallel=True, cache=True, nogil=True)
def _upscale_rows(vol, y0, y1, ty, columns, scratch, padded, out, pair_rows):
    # vol (D, H, R), out (D, H', R'), R = W*C, R' = W'*C. The separable form is exact: `top`
    # is the horizontal blend of source row y0 and `bottom` that of row y1, whichever output
    # row asks for them. Each task walks a contiguous range of output rows and keeps the two
    # source rows it last blended in its own scratch slots, so every source row is blended
    # about once and the vertical blend is a plain vectorised loop over whole rows.
    # With pair_rows (rows too long for two to stay in L1), two consecutive output rows that
    # blend the same pair of source rows are written in one loop that loads top/bottom and
    # computes bottom - top once: the same float32 operations, half the L2 reads.
    channels, ix0, tx_flat, bounds, shifts, tx = columns
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
        r = begin
        while r < end:
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
                    vol[z, y0[oy]],
                    padded[task],
                    channels,
                    ix0,
                    tx_flat,
                    bounds,
                    shifts,
                    tx,
                    scratch[task, top_slot],
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
                    vol[z, y1[oy]],
                    padded[task],
                    channels,
                    ix0,
                    tx_flat,
                    bounds,
                    shifts,
                    tx,
                    scratch[task, bottom_slot],
                )
                if bottom_slot == 0:
                    key0 = key_bottom
                else:
                    key1 = key_bottom
            top = scratch[task, top_slot]
            bottom = scratch[task, bottom_slot]
            fy = ty[oy]
            dst = out[z, oy]
            if (
                pair_rows
                and r + 1 < end
                and oy + 1 < height_out
                and y0[oy + 1] == y0[oy]
                and y1[oy + 1] == y1[oy]
            ):
                fy_next = ty[oy + 1]
                dst_next = out[z, oy + 1]
                for j in range(run_out):
                    t = top[j]
                    diff = bottom[j] - t
                    dst[j] = t + diff * fy
                    dst_next[j] = t + diff * fy_next
                r += 2
                continue
            for j in range(run_out):
                dst[j] = top[j] + (bottom[j] - top[j]) * fy
            r += 1


def _column_plan(w, wo, channels):
    """Tables of the horizontal pass: (C, ix0, tx_flat, bounds, shifts, tx), see _blend_columns.

    Factor 2 with C = 1, 3 or 4 gets runs of constant source shift (a handful per row, found from
    the exact x0 table); any other case gets a flat uint32 gather table over the W*C row.
    """
    x0, _, tx = bilinear_axis(w, wo)  # x1 = min(x0 + 1, W - 1) is implied by the padding
    none_i = np.empty(0, dtype=np.uint32)
    if wo == 2 * w and channels in (1, 3, 4):
        shift = x0.reshape(w, 2) - np.arange(w)[:, None]
        changes = np.flatnonzero(np.any(shift[1:] != shift[:-1], axis=1)) + 1
        bounds = np.concatenate(([0], changes, [w])).astype(np.int64)
        return (np.uint32(channels), none_i, tx[:0], bounds, shift[bounds[:-1]].copy(), tx)
    c = np.arange(channels, dtype=np.int64)
    ix0 = (x0[:, None] * channels + c).ravel().astype(np.uint32)
    bounds = np.empty(0, dtype=np.int64)
    return (
        np.uint32(channels),
        ix0,
        np.repeat(tx, channels),
        bounds,
        np.empty((0, 2), np.int64),
        tx,
    )


def blend_plan(shape, factor: int, rows, ntasks: int):
    """What the row kernels of an upscale by ``factor`` share: the row tables of the band
    (``rows``), the column plan, and per task two scratch rows and a padded source row.

    Raises ValueError for a row of 2**32 values or more (the tables index it in uint32).
    """
    _, h, w, c = shape
    if (w + 1) * c >= 2**32:
        raise ValueError(f"a volume row of W*C = {w * c} values is too long (limit 2**32)")
    wo = w * factor
    y0, y1, ty, _ = bilinear_rows(h, factor, rows, h)
    columns = _column_plan(w, wo, c)
    scratch = np.empty((ntasks, 2, wo * c), dtype=np.float32)
    padded = np.empty((ntasks, (w + 1) * c), dtype=np.float32)
    return y0, y1, ty, columns, scratch, padded


def upscale_bilinear(vol: np.ndarray, factor: int, out: np.ndarray | None = None, rows=None):
    """Resample every slice to (H*f, W*f) with corner-aligned bilinear interpolation.

    Parameters
    ----------
    vol : ndarray
        (D, H, W, C) volume; float32 C-contiguous is used as is, anything else is copied once.
    factor : int
        Integer scale f >= 1. ``f == 1`` copies the volume unchanged (also inf voxels).
    out : ndarray, optional
        Preallocated C-contiguous float32 (D, H*f, W*f, C) result.
    rows : tuple, optional
        ``(height, start, stop, first)``: only output rows ``start..stop-1`` of the upscale of
        a volume ``height`` rows tall, of which ``vol`` is the band of rows ``first..`` (a
        tiled run); bit for bit those rows of the whole upscale.

    Returns
    -------
    ndarray
        ``out``. Slices are resampled independently; output corners are the input corners.
    """
    vol = check_volume(vol)
    factor = check_factor(factor)
    d, h, w, c = vol.shape
    ho, offset = band_shape(vol.shape, factor, rows)
    wo = w * factor
    out = check_out(out, (d, ho, wo, c))
    vol = separate_input(vol, out)
    if out.size == 0:  # H, W, D or C is 0: nothing to compute (and nothing to copy)
        return out
    if factor == 1:
        out[...] = vol[:, offset : offset + ho]
        return out
    y0, y1, ty, columns, scratch, padded = blend_plan(
        vol.shape, factor, rows, min(d * ho, TASKS_PER_THREAD * get_num_threads())
    )
    _upscale_rows(
        vol.reshape(d, h, w * c),
        y0,
        y1,
        ty,
        columns,
        scratch,
        padded,
        out.reshape(d, ho, wo * c),
        wo * c * 4 > L1_ROW_BYTES,
    )
    return out
