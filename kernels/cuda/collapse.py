"""numba.cuda kernel: weighted collapse of a volume along Z (SPEC A.2.1).

One thread per output value (y, x, c), grid-stride: ``acc = 0; acc = acc + v_z * w_z`` for z in
order, each product and sum rounded to float32 on its own (:func:`mul`, :func:`add`), the
reference's operations in the reference's order, so the result is bit-exact with
:func:`stv_kernels.reference.collapse_weighted`. Consecutive threads read consecutive values
of each slice, so every slice streams through in coalesced rows.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from .. import _checks, _tables
from . import launch
from ._device import F32, add, finish, mul, output, separate, sub, to_device, volume_input
from .memory import to_host

#: Numba signature of every kernel in this module (C-contiguous arrays), for PTX compile tests.
PTX_SIGNATURES = {
    "_collapse": "(float32[:, ::1], float32[::1], float32[::1], boolean)",
    "_collapse_upscaled": (
        "(float32[:, :, :, ::1], int64[::1], int64[::1], float32[::1], int64[::1], int64[::1], "
        "float32[::1], float32[::1], float32[:, :, ::1], boolean)"
    ),
}


@cuda.jit(cache=True)
def _collapse(vol, weights, out, accumulate):
    # vol (D, N), weights (D,), out (N,); with accumulate the sums start from out
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    depth, n = vol.shape
    for i in range(start, n, stride):
        acc = out[i] if accumulate else F32(0.0)
        for z in range(depth):
            acc = add(acc, mul(vol[z, i], weights[z]))
        out[i] = acc


def collapse_weighted(vol, weights, out=None, accumulate=False):
    """Collapse a (D, H, W, C) volume to one (H, W, C) picture with per-slice weights.

    Same contract and numbers, bit for bit, as
    :func:`stv_kernels.reference.collapse_weighted`: ``out[y, x, c] = sum_z vol[z, y, x, c] *
    weights[z]`` accumulated in z order in float32, not normalised. ``vol`` and ``out`` may be
    host or device arrays (:mod:`.memory`): the picture lives where ``out`` is, else where
    ``vol`` is.
    """
    vol, on_device = volume_input(vol)
    w = np.ascontiguousarray(to_host(weights), dtype=F32)
    if w.shape != (vol.shape[0],):
        raise ValueError(f"weights must have length {vol.shape[0]}, got shape {w.shape}")
    d, h, wd, c = vol.shape
    d_out, result = output(out, (h, wd, c), on_device)
    n = h * wd * c
    if n == 0:
        return result
    src = to_device(vol)
    if on_device:
        src = separate(src, d_out)
    if accumulate and result is not d_out:
        d_out.copy_to_device(np.ascontiguousarray(result))  # the sums so far, from the host out
    blocks, threads = launch.grid(n)
    _collapse[blocks, threads](src.reshape(d, n), to_device(w), d_out.reshape(n), bool(accumulate))
    return finish(d_out, result)


@cuda.jit(cache=True)
def _collapse_upscaled(vol, y0, y1, ty, x0, x1, tx, weights, out, accumulate):
    # vol (D, H, W, C) a band, out (H', W', C): out = sum_z up_z * w_z in z order, up_z the
    # upscaled voxel computed as _upscale computes it and never stored
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    depth = vol.shape[0]
    height_out, width_out, channels = out.shape
    n = height_out * width_out * channels
    for i in range(start, n, stride):
        c = i % channels
        ox = (i // channels) % width_out
        oy = i // (channels * width_out)
        ya = y0[oy]
        yb = y1[oy]
        fy = ty[oy]
        xa = x0[ox]
        xb = x1[ox]
        fx = tx[ox]
        acc = out[oy, ox, c] if accumulate else F32(0.0)
        for z in range(depth):
            tl = vol[z, ya, xa, c]
            tr = vol[z, ya, xb, c]
            bl = vol[z, yb, xa, c]
            br = vol[z, yb, xb, c]
            top = add(tl, mul(sub(tr, tl), fx))
            bottom = add(bl, mul(sub(br, bl), fx))
            acc = add(acc, mul(add(top, mul(sub(bottom, top), fy)), weights[z]))
        out[oy, ox, c] = acc


def collapse_upscaled(vol, factor: int, weights, rows=None, out=None, accumulate=False):
    """``collapse_weighted(upscale_bilinear(vol, factor, rows=rows), weights)``, bit for bit,
    without making the upscaled volume (a tiled run's band; ``rows`` as for
    :func:`stv_kernels.cuda.upscale_bilinear`). Host or device arrays, as every kernel here.
    ``accumulate`` continues the sums from ``out``.
    """
    if accumulate and out is None:
        raise ValueError("accumulate needs an out to add to")
    vol, on_device = volume_input(vol)
    factor = _checks.check_factor(factor)
    w = np.ascontiguousarray(to_host(weights), dtype=F32)
    if w.shape != (vol.shape[0],):
        raise ValueError(f"weights must have length {vol.shape[0]}, got shape {w.shape}")
    d, h, wd, c = vol.shape
    ho, offset = _checks.band_shape(tuple(vol.shape), factor, rows)
    if factor == 1 or d == 0:
        from .upscale import upscale_bilinear

        band = upscale_bilinear(vol, 1, rows=rows) if rows is not None else vol
        return collapse_weighted(band, w, out=out, accumulate=accumulate)
    wo = wd * factor
    d_out, result = output(out, (ho, wo, c), on_device)
    if ho * wo * c == 0:
        return result
    y0, y1, ty, _ = _tables.bilinear_rows(h, factor, rows, h)
    x0, x1, tx = _tables.bilinear_axis(wd, wo)
    blocks, threads = launch.grid(ho * wo * c)
    src = to_device(vol)
    if on_device:
        src = separate(src, d_out)
    if accumulate and result is not d_out:
        d_out.copy_to_device(np.ascontiguousarray(result))  # the sums so far, from the host
    _collapse_upscaled[blocks, threads](
        src, *(to_device(np.ascontiguousarray(a)) for a in (y0, y1, ty, x0, x1, tx)),
        to_device(w), d_out, bool(accumulate),
    )  # fmt: skip
    return finish(d_out, result)
