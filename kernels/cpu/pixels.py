"""numba kernels for the picture end of ``stv video``: collapse a ring of pixels, quantise.

``collapse_pixels`` is the weighted collapse (SPEC A.2.1) of a frame ring held as 8/16-bit
pixels (:mod:`stv_kernels.cpu.video_frame`): ``sum_z p_z * (w_z / s)``, each weight divided once
by the pixel scale s instead of every pixel, which leaves the kernel no division and takes
half the time. Each term is within 2 ulp of the float volume's ``(p_z / s) * w_z``, so the
picture agrees with the collapse of the float volume to about 1e-7 per unit of weight (SPEC
asks 1e-6), not bit for bit. Into a uint8 ``out`` it quantises each row as it finishes (SPEC
Part G), so the float picture is never written. ``quantise`` is that quantisation of a
float picture on its own, in one pass. Both are serial and release the GIL, like the other
per-frame kernels; their NumPy twins are in :mod:`stv_kernels.reference.pixels`.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange, types
from numba.extending import overload

from .._checks import check_collapse_pixels, check_out, check_quantise, frame_rows
from ..pixel_scale import pixel_scale
from .collapse import BLOCK_BYTES

F32 = np.float32


def _accumulator(out, y, scratch):
    """Row y of a float32 ``out``, or the float32 scratch row when ``out`` holds 8-bit pixels."""
    raise NotImplementedError  # compiled only, through the overload below


@overload(_accumulator, inline="always")
def _accumulator_overload(out, y, scratch):
    if isinstance(out.dtype, types.Integer):
        return lambda out, y, scratch: scratch
    return lambda out, y, scratch: out[y]


def _settle(acc, out, y, top):
    """Quantise the accumulated row into ``out[y]`` when ``out`` holds pixels (else nothing)."""
    raise NotImplementedError  # compiled only, through the overload below


@overload(_settle, inline="always")
def _settle_overload(acc, out, y, top):
    if isinstance(out.dtype, types.Integer):

        def settle(acc, out, y, top):
            _quantise_row(acc, out[y], top)

        return settle
    return lambda acc, out, y, top: None


@njit(cache=True, nogil=True)
def _quantise_row(src, dst, top):
    # float32 -> integers: trunc(clamp(v*top + 0.5, 0, top)) with NaN -> 0, as two float32
    # operations (no fused multiply-add), SPEC Part G step 5.
    for i in range(src.size):
        v = src[i]
        if v != v:
            v = np.float32(0.0)
        v = v * top
        v = v + np.float32(0.5)
        v = min(max(v, np.float32(0.0)), top)
        dst[i] = v


@njit(cache=True, nogil=True)
def _collapse_pixel_rows(pixels, weights, out, scratch, top):
    # pixels (D, H, R) integers, out (H, R): out = sum_z float32(pixels[z]) * weights[z] (the
    # weights already divided by the pixel scale), in z order from 0.0, four slices at a time
    # as (((acc + a) + b) + c) + d: the order of stv_kernels.collapse one slice at a time.
    # A uint8 out gets each row quantised (SPEC Part G) from the float32 scratch row, so the
    # float picture is never written out. Serial (the video's compute thread; no pool to start).
    depth, height, run = pixels.shape
    for y in range(height):
        acc = _accumulator(out, y, scratch)
        for i in range(run):
            acc[i] = np.float32(0.0)
        z = 0
        while z + 4 <= depth:
            w0 = weights[z]
            w1 = weights[z + 1]
            w2 = weights[z + 2]
            w3 = weights[z + 3]
            r0 = pixels[z, y]
            r1 = pixels[z + 1, y]
            r2 = pixels[z + 2, y]
            r3 = pixels[z + 3, y]
            for i in range(run):
                a = (acc[i] + np.float32(r0[i]) * w0) + np.float32(r1[i]) * w1
                acc[i] = (a + np.float32(r2[i]) * w2) + np.float32(r3[i]) * w3
            z += 4
        while z < depth:
            w = weights[z]
            row = pixels[z, y]
            for i in range(run):
                acc[i] += np.float32(row[i]) * w
            z += 1
        _settle(acc, out, y, top)


@njit(cache=True, nogil=True)
def _quantise_rows(image, out, top):
    # image (H, R) float32 -> out (H, R) integers, row by row (_quantise_row)
    for y in range(image.shape[0]):
        _quantise_row(image[y], out[y], top)


def collapse_pixels(
    pixels: np.ndarray, weights: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """``collapse_weighted`` of the float32 volume ``pixels / s`` (s = 2**bits - 1), to ~1e-7.

    Computed as ``sum_z p_z * (w_z / s)`` in float32, in z order: exactly
    :func:`stv_kernels.reference.pixels.collapse_pixels`. Against the float volume's
    ``(p_z / s) * w_z`` each term differs by at most 2 ulp, so the picture differs by at most
    about ``2**-22 * sum|w|`` plus the sums' own rounding.

    Parameters
    ----------
    pixels : ndarray
        C-contiguous uint8 or uint16 (D, H, W, C) volume of pixels (a frame ring's window).
    weights : ndarray
        D float32 weights, one per slice, not normalised.
    out : ndarray, optional
        C-contiguous (H, W, C) that receives the picture: float32, or uint8 for the picture
        quantised as :func:`quantise` does (the float picture then exists a row at a time).

    Returns
    -------
    ndarray
        ``out``: ``sum_z pixels[z] * (weights[z] / s)`` accumulated in z order in float32.
    """
    w, out = check_collapse_pixels(pixels, weights, out)
    wd, c = pixels.shape[2], pixels.shape[3]
    scratch = np.empty(wd * c if out.dtype == np.uint8 else 1, dtype=F32)
    _collapse_pixel_rows(
        frame_rows(pixels, "pixels", pixels=True),
        np.divide(w, pixel_scale(pixels.dtype), dtype=F32),
        frame_rows(out, "out", pixels=True),
        scratch,
        pixel_scale(np.uint8),
    )
    return out


def quantise(image: np.ndarray, dtype=np.uint8, out: np.ndarray | None = None) -> np.ndarray:
    """float32 (H, W, C) in [0, 1] -> uint8 (or uint16) pixels, SPEC Part G step 5.

    ``trunc(clamp(v*top + 0.5, 0, top))`` in float32 with NaN -> 0 and +/-inf clamped (top =
    255 or 65535): what :func:`stv_kernels.reference.pixels.quantise` gives, in one pass.
    """
    image, dtype, out = check_quantise(image, dtype, out)
    if image.ndim < 2:  # the kernel walks rows: view any shape as (rows, last axis)
        image, rows_out = image.reshape(1, -1), out.reshape(1, -1)
    else:
        image, rows_out = image.reshape(-1, image.shape[-1]), out.reshape(-1, out.shape[-1])
    _quantise_rows(image, rows_out, pixel_scale(dtype))
    return out


@njit(parallel=True, cache=True, nogil=True)
def _collapse_scaled_rows(pixels, weights, scale, out, rows_per_block, accumulate):
    # pixels (D, H, R) integers, out (H, R): out = sum_z (float32(p) / scale) * weights[z], in
    # z order, each pixel divided (a correctly rounded float32 division, as pixel_values) as it
    # is read: the operations of collapse_weighted over pixel_values(pixels), bit for bit,
    # with the float volume never made. Threads split blocks of rows, as that kernel does.
    depth, height, run = pixels.shape
    nblocks = (height + rows_per_block - 1) // rows_per_block
    for b in prange(nblocks):
        y0 = b * rows_per_block
        y1 = min(y0 + rows_per_block, height)
        if not accumulate:
            for y in range(y0, y1):
                acc = out[y]
                for i in range(run):
                    acc[i] = np.float32(0.0)
        for z in range(depth):
            w = weights[z]
            for y in range(y0, y1):
                acc = out[y]
                row = pixels[z, y]
                for i in range(run):
                    acc[i] = acc[i] + (np.float32(row[i]) / scale) * w


def collapse_scaled(pixels: np.ndarray, weights, out: np.ndarray | None = None, accumulate=False):
    """``collapse_weighted(pixel_values(pixels), weights, out, accumulate)``, bit for bit.

    Each uint8/uint16 pixel is divided by its scale (255 or 65535) in float32 as it is read,
    as :func:`stv_kernels.pixel_scale.pixel_values` divides it, and summed in z order into
    float32 ``out`` (continuing from ``out`` with ``accumulate``): a stack of 8-bit slices
    streamed from disk is collapsed with a quarter of the memory traffic, the float volume
    never made. Parallel over blocks of rows.
    """
    w, _ = check_collapse_pixels(pixels, weights, None, allocate=False)
    if accumulate and out is None:
        raise ValueError("accumulate needs an out to add to")
    d, h, wd, c = pixels.shape
    out = check_out(out, (h, wd, c))
    rows_per_block = max(1, min(BLOCK_BYTES // max(1, wd * c * 4), h // (4 * get_num_threads())))
    _collapse_scaled_rows(
        frame_rows(pixels, "pixels", pixels=True),
        w,
        pixel_scale(pixels.dtype),
        out.reshape(h, wd * c),
        rows_per_block,
        bool(accumulate),
    )
    return out
