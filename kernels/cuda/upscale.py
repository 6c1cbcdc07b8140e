"""numba.cuda kernel: align-corners bilinear upscale of every slice by an integer factor.

SPEC A.2.4. The source indices and fractions of both axes (y0, y1, ty and x0, x1, tx) are the
tables of :func:`stv_kernels._tables.bilinear_axis`, computed once on the host by the very code
the reference uses, and handed to the kernel. One thread per output value (z, y', x', c),
grid-stride; with TL = S[y0, x0], TR = S[y0, x1], BL = S[y1, x0], BR = S[y1, x1] it computes::

    top = TL + (TR - TL) * tx
    bottom = BL + (BR - BL) * tx
    out = top + (bottom - top) * ty

each difference, product and sum rounded to float32 on its own (:func:`sub`, :func:`mul`,
:func:`add`, never fused), in that order, so the result is bit-exact with
:func:`stv_kernels.reference.upscale_bilinear`. ``factor == 1`` copies the volume unchanged
on the host, inf voxels included, as the spec's unchanged clone; an empty volume gives an
empty output of the scaled shape.
Consecutive threads write consecutive values of an output row (coalesced stores).
"""

from __future__ import annotations

from numba import cuda

from .. import _checks, _tables
from . import launch
from ._device import add, finish, mul, output, separate, sub, to_device, volume_input

#: Numba signature of every kernel in this module (C-contiguous arrays), for PTX compile tests.
PTX_SIGNATURES = {
    "_upscale": (
        "(float32[:, :, :, ::1], int64[::1], int64[::1], float32[::1], "
        "int64[::1], int64[::1], float32[::1], float32[:, :, :, ::1])"
    )
}


@cuda.jit(cache=True)
def _upscale(vol, y0, y1, ty, x0, x1, tx, out):
    # vol (D, H, W, C), y tables (H',), x tables (W',), out (D, H', W', C)
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    depth, height_out, width_out, channels = out.shape
    total = depth * height_out * width_out * channels
    for k in range(start, total, stride):
        r = k // channels
        c = k - r * channels
        q = r // width_out
        ox = r - q * width_out
        z = q // height_out
        oy = q - z * height_out
        ya = y0[oy]
        yb = y1[oy]
        xa = x0[ox]
        xb = x1[ox]
        fx = tx[ox]
        tl = vol[z, ya, xa, c]
        tr = vol[z, ya, xb, c]
        bl = vol[z, yb, xa, c]
        br = vol[z, yb, xb, c]
        top = add(tl, mul(sub(tr, tl), fx))
        bottom = add(bl, mul(sub(br, bl), fx))
        out[z, oy, ox, c] = add(top, mul(sub(bottom, top), ty[oy]))


def upscale_bilinear(vol, factor: int, out=None, rows=None):
    """Resample every slice of a (D, H, W, C) volume to (H*f, W*f), corner-aligned bilinear.

    Same contract and numbers, bit for bit, as
    :func:`stv_kernels.reference.upscale_bilinear`: ``factor`` is an integer >= 1, ``f == 1``
    copies the volume unchanged (inf voxels too), ``out`` (optional) is a C-contiguous float32
    (D, H*f, W*f, C) array, filled and returned. Slices are resampled independently. ``vol``
    and ``out`` may be host or device arrays (:mod:`.memory`): the result lives where ``out``
    is, else where ``vol`` is. ``rows`` = ``(height, start, stop, first)``: only output rows
    ``start..stop-1`` of the upscale of a volume ``height`` rows tall, of which ``vol`` is
    the band of rows ``first..`` (a tiled run).
    """
    vol, on_device = volume_input(vol)
    factor = _checks.check_factor(factor)
    d, h, w, c = vol.shape
    ho, offset = _checks.band_shape(tuple(vol.shape), factor, rows)
    wo = w * factor
    d_out, result = output(out, (d, ho, wo, c), on_device)
    if d * ho * wo * c == 0:  # H, W, D or C is 0: nothing to compute (SPEC A.2.4)
        return result
    src = to_device(vol)
    if on_device:
        src = separate(src, d_out)
    if factor == 1:
        # SPEC A.2.4: f = 1 is an unchanged clone; the formula would turn inf voxels into NaN
        # ((inf - inf) * 0), so it is not run at all
        d_out.copy_to_device(src if rows is None else _contiguous_rows(src, offset, ho))
        return finish(d_out, result)
    y0, y1, ty, _ = _tables.bilinear_rows(h, factor, rows, h)
    x0, x1, tx = _tables.bilinear_axis(w, wo)
    blocks, threads = launch.grid(d * ho * wo * c)
    _upscale[blocks, threads](
        src,
        to_device(y0),
        to_device(y1),
        to_device(ty),
        to_device(x0),
        to_device(x1),
        to_device(tx),
        d_out,
    )
    return finish(d_out, result)


def _contiguous_rows(src, offset: int, count: int):
    """Rows ``offset..offset+count-1`` of every slice of a device volume, as a new contiguous
    device array (a band's rows: a strided view cannot be copied in one go)."""
    d, _, w, c = src.shape
    dst = cuda.device_array((d, count, w, c), dtype=src.dtype)
    for z in range(d):
        dst[z].copy_to_device(src[z, offset : offset + count])
    return dst
