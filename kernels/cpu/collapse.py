"""numba CPU kernel: weighted collapse of a volume along Z (SPEC A.2.1).

``out[y, x, c] = sum_z vol[z, y, x, c] * weights[z]``, accumulated in z order starting at 0.0,
in float32, exactly as :func:`stv_kernels.reference.collapse_weighted` does, so the two agree
bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from .._checks import band_shape, check_factor, check_out, check_volume, separate_input
from .upscale import TASKS_PER_THREAD, _blend_columns, blend_plan

#: Rows of ``out`` one thread accumulates together: about 128 KiB, so the block of running
#: sums stays in L2 while the slices stream through it in long contiguous runs.
BLOCK_BYTES = 128 * 1024


@njit(parallel=True, cache=True, nogil=True)
def _collapse_rows(vol, weights, out, rows_per_block, accumulate):
    # vol (D, H, R) and out (H, R), with R = W * C: the formula treats (x, c) alike, so each
    # row is one flat run. Threads split blocks of rows; slices are added four at a time
    # with the same left-to-right float32 order as one at a time (((acc + a) + b) + c) + d,
    # so the result is bit-exact with the reference while the block is read/written 4x less.
    depth, height, run = vol.shape
    nblocks = (height + rows_per_block - 1) // rows_per_block
    for b in prange(nblocks):
        y0 = b * rows_per_block
        y1 = min(y0 + rows_per_block, height)
        if not accumulate:
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


def collapse_weighted(
    vol: np.ndarray, weights: np.ndarray, out: np.ndarray | None = None, accumulate=False
):
    """Collapse a (D, H, W, C) volume to one (H, W, C) picture with per-slice weights.

    Parameters
    ----------
    vol : ndarray
        (D, H, W, C) volume; float32 C-contiguous is used as is, anything else is copied once.
    weights : ndarray
        D weights, one per slice. Not normalised here; negative values are accepted.
    out : ndarray, optional
        Preallocated C-contiguous float32 (H, W, C) result.
    accumulate : bool
        Continue the sums from ``out``'s values instead of 0 (a stack collapsed slab after
        slab into one ``out``: bit for bit the whole collapse).

    Returns
    -------
    ndarray
        ``out``: ``sum_z vol[z] * weights[z]`` accumulated in z order in float32.
    """
    if accumulate and out is None:
        raise ValueError("accumulate needs an out to add to")
    vol = check_volume(vol)
    w = np.ascontiguousarray(weights, dtype=np.float32)
    if w.shape != (vol.shape[0],):
        raise ValueError(f"weights must have length {vol.shape[0]}, got shape {w.shape}")
    d, h, wd, c = vol.shape
    out = check_out(out, (h, wd, c))
    vol = separate_input(vol, out)
    # blocks small enough to fit L2, and enough of them to keep every thread busy
    rows_per_block = max(1, min(BLOCK_BYTES // max(1, wd * c * 4), h // (4 * get_num_threads())))
    _collapse_rows(
        vol.reshape(d, h, wd * c), w, out.reshape(h, wd * c), rows_per_block, bool(accumulate)
    )
    return out


@njit(parallel=True, cache=True, nogil=True)
def _collapse_upscaled_rows(vol, y0, y1, ty, columns, weights, scratch, padded, out, accumulate):
    # vol (D, H, R) a band of source rows, out (H', R') the band's projection rows: for each
    # output value, acc = acc + up_z * w_z in z order, where up_z is the upscaled voxel,
    # computed as the upscale kernel computes it (the horizontal blends of the two source
    # rows, then top + (bottom - top) * fy) and never stored: the upscaled band is not held.
    # Each task owns a contiguous range of output rows and keeps the two source rows it
    # blended last (per z), as _upscale_rows does.
    channels, ix0, tx_flat, bounds, shifts, tx = columns
    depth = vol.shape[0]
    height_out, run_out = out.shape
    ntasks = scratch.shape[0]
    for task in prange(ntasks):
        begin = task * height_out // ntasks
        end = (task + 1) * height_out // ntasks
        if not accumulate:
            for oy in range(begin, end):
                acc = out[oy]
                for j in range(run_out):
                    acc[j] = np.float32(0.0)
        for z in range(depth):
            w = weights[z]
            key0 = -1
            key1 = -1
            oy = begin
            while oy < end:
                top_row = y0[oy]
                bottom_row = y1[oy]
                if key0 == top_row:
                    top_slot = 0
                elif key1 == top_row:
                    top_slot = 1
                else:
                    top_slot = 1 if key0 == bottom_row else 0
                    _blend_columns(
                        vol[z, top_row], padded[task], channels, ix0, tx_flat, bounds, shifts,
                        tx, scratch[task, top_slot],
                    )  # fmt: skip
                    if top_slot == 0:
                        key0 = top_row
                    else:
                        key1 = top_row
                if key0 == bottom_row:
                    bottom_slot = 0
                elif key1 == bottom_row:
                    bottom_slot = 1
                else:
                    bottom_slot = 1 - top_slot
                    _blend_columns(
                        vol[z, bottom_row], padded[task], channels, ix0, tx_flat, bounds,
                        shifts, tx, scratch[task, bottom_slot],
                    )  # fmt: skip
                    if bottom_slot == 0:
                        key0 = bottom_row
                    else:
                        key1 = bottom_row
                top = scratch[task, top_slot]
                bottom = scratch[task, bottom_slot]
                fy = ty[oy]
                acc = out[oy]
                if oy + 1 < end and y0[oy + 1] == top_row and y1[oy + 1] == bottom_row:
                    # two output rows between the same source rows: bottom - top once (the
                    # same float32 operations per value, half the loads)
                    fy_next = ty[oy + 1]
                    acc_next = out[oy + 1]
                    for j in range(run_out):
                        t = top[j]
                        diff = bottom[j] - t
                        acc[j] = acc[j] + (t + diff * fy) * w
                        acc_next[j] = acc_next[j] + (t + diff * fy_next) * w
                    oy += 2
                    continue
                for j in range(run_out):
                    acc[j] = acc[j] + (top[j] + (bottom[j] - top[j]) * fy) * w
                oy += 1


def collapse_upscaled(vol: np.ndarray, factor: int, weights, rows=None, out=None, accumulate=False):
    """``collapse_weighted(upscale_bilinear(vol, factor, rows=rows), weights)``, bit for bit,
    without making the upscaled volume.

    The projection of a tiled run: ``vol`` is a band of source rows (``rows`` as for
    :func:`stv_kernels.cpu.upscale_bilinear`), and each output value sums its upscaled voxels
    in z order in float32, computed with the upscale's own operations, as they are made.

    With ``accumulate`` the sums continue from ``out`` (a stack streamed in windows).

    Returns
    -------
    ndarray
        ``out`` (allocated when None): float32 (rows, W*f, C).
    """
    if accumulate and out is None:
        raise ValueError("accumulate needs an out to add to")
    vol = check_volume(vol)
    factor = check_factor(factor)
    w = np.ascontiguousarray(weights, dtype=np.float32)
    if w.shape != (vol.shape[0],):
        raise ValueError(f"weights must have length {vol.shape[0]}, got shape {w.shape}")
    d, h, wd, c = vol.shape
    ho, offset = band_shape(vol.shape, factor, rows)
    wo = wd * factor
    out = check_out(out, (ho, wo, c))
    vol = separate_input(vol, out)
    if factor == 1 or out.size == 0 or d == 0:
        return collapse_weighted(vol[:, offset : offset + ho], w, out=out, accumulate=accumulate)
    # at least `factor` output rows a task: its source rows are blended once for all of them
    ntasks = max(1, min(ho // factor, TASKS_PER_THREAD * get_num_threads()))
    y0, y1, ty, columns, scratch, padded = blend_plan(vol.shape, factor, rows, ntasks)
    _collapse_upscaled_rows(
        vol.reshape(d, h, wd * c),
        y0,
        y1,
        ty,
        columns,
        w,
        scratch,
        padded,
        out.reshape(ho, wo * c),
        bool(accumulate),
    )
    return out
