"""numba.cuda kernels for the picture end of ``stv video``: collapse a ring of pixels, quantise.

``_collapse_pixels``: the weighted collapse (SPEC A.2.1) of a ring of integer pixels, which
stand for the float32 values ``p / s`` (s = 255 or 65535, :mod:`stv_kernels.pixel_scale`). One
thread per output value (y, x, c), grid-stride: ``acc = 0; acc = acc + float32(p_z) * w_z`` in
z order, each product and sum rounded to float32 on its own (:func:`mul`, :func:`add`), with the
weights divided by s once on the host (``w_z / s``, NumPy's float32 division) exactly as the
reference does: bit-exact with :func:`stv_kernels.reference.collapse_pixels`. Into a uint8
``out`` the kernel quantises each value as it finishes (SPEC Part G), so the float picture is
never written; bit-exact with the reference's collapse then :func:`quantise`.

``_quantise``: float32 -> uint8/uint16 pixels, one thread per value, grid-stride:
``trunc(clamp(v*top + 0.5, 0, top))`` with NaN -> 0 first and +/-inf clamped, top = 255 or
65535, the multiply and the add rounded to float32 one at a time (never a fused multiply-add):
bit-exact with :func:`stv_kernels.reference.quantise` (SPEC Part G step 5). Any shape: the
image is walked as one flat run of values.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from .. import _checks
from ..pixel_scale import pixel_scale
from . import launch
from ._device import F32, add, finish, is_device_array, mul, output, to_device
from .memory import to_host

#: A signature per kernel (several where it runs on several dtypes), for compiling them to
#: PTX without a GPU (``cuda.compile_ptx``).
PTX_SIGNATURES = {
    "_collapse_scaled": [
        "(uint8[:, ::1], float32[::1], float32, float32[::1], boolean)",
        "(uint16[:, ::1], float32[::1], float32, float32[::1], boolean)",
    ],
    "_collapse_pixels": [
        "(uint8[:, ::1], float32[::1], float32[::1])",
        "(uint16[:, ::1], float32[::1], float32[::1])",
    ],
    "_collapse_quantise": [
        "(uint8[:, ::1], float32[::1], uint8[::1], float32)",
        "(uint16[:, ::1], float32[::1], uint8[::1], float32)",
    ],
    "_quantise": [
        "(float32[::1], uint8[::1], float32)",
        "(float32[::1], uint16[::1], float32)",
    ],
}


@cuda.jit(device=True, inline=True)
def _level(v, top):
    # trunc(clamp(v*top + 0.5, 0, top)) before the truncation: NaN -> 0, then two float32
    # operations (not fused), then the clamp (+inf -> top, -inf -> 0)
    if v != v:
        v = F32(0.0)
    v = mul(v, top)
    v = add(v, F32(0.5))
    if v < F32(0.0):
        v = F32(0.0)
    if v > top:
        v = top
    return v


@cuda.jit(device=True, inline=True)
def _collapse_value(pixels, weights, i):
    # sum_z float32(pixels[z, i]) * weights[z] in z order from 0.0, each operation rounded
    acc = F32(0.0)
    for z in range(pixels.shape[0]):
        acc = add(acc, mul(F32(pixels[z, i]), weights[z]))
    return acc


@cuda.jit(cache=True)
def _collapse_pixels(pixels, weights, out):
    # pixels (D, N) integers, weights (D,) already divided by the pixel scale, out (N,) float32
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for i in range(start, out.shape[0], stride):
        out[i] = _collapse_value(pixels, weights, i)


@cuda.jit(cache=True)
def _collapse_quantise(pixels, weights, out, top):
    # as _collapse_pixels, each value quantised into out (N,) uint8 (top = 255)
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for i in range(start, out.shape[0], stride):
        out[i] = _level(_collapse_value(pixels, weights, i), top)


@cuda.jit(cache=True)
def _quantise(image, out, top):
    # image (N,) float32 -> out (N,) integers
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for i in range(start, image.shape[0], stride):
        out[i] = _level(image[i], top)


def collapse_pixels(pixels, weights, out=None):
    """``sum_z pixels[z] * (weights[z] / s)`` in z order in float32 (SPEC A.2.1), s = 255 or
    65535: bit for bit :func:`stv_kernels.reference.collapse_pixels`.

    Parameters
    ----------
    pixels : ndarray or device array
        C-contiguous uint8 or uint16 (D, H, W, C) volume of pixels (a frame ring's window).
    weights : ndarray
        D float32 weights, one per slice, not normalised.
    out : ndarray or device array, optional
        C-contiguous (H, W, C) that receives the picture: float32, or uint8 for the picture
        quantised as :func:`quantise` does.

    Returns
    -------
    ndarray or device array
        ``out``; when None a new float32 picture where ``pixels`` lives (:mod:`.memory`).
    """
    on_device = is_device_array(pixels)
    w, out = _checks.check_collapse_pixels(pixels, to_host(weights), out, allocate=False)
    d, h, wd, c = pixels.shape
    d_out, result = output(out, (h, wd, c), on_device, dtypes=(F32, np.uint8))
    n = h * wd * c
    if n == 0:
        return result
    w = np.divide(w, pixel_scale(pixels.dtype), dtype=F32)  # once, as the reference does
    blocks, threads = launch.grid(n)
    flat_out = d_out.reshape(n)
    if d == 0:  # nothing to sum: the empty sum, 0.0 (quantised: 0)
        zeros = np.zeros(n, dtype=d_out.dtype)
        flat_out.copy_to_device(zeros)
        return finish(d_out, result)
    d_pixels = to_device(pixels).reshape(d, n)
    if d_out.dtype == np.uint8:
        _collapse_quantise[blocks, threads](d_pixels, to_device(w), flat_out, pixel_scale(np.uint8))
    else:
        _collapse_pixels[blocks, threads](d_pixels, to_device(w), flat_out)
    return finish(d_out, result)


def quantise(image, dtype=np.uint8, out=None):
    """float32 image of any shape -> uint8 (or uint16) pixels, SPEC Part G step 5.

    ``trunc(clamp(v*top + 0.5, 0, top))`` in float32 with NaN -> 0 and +/-inf clamped (top =
    255 or 65535): bit for bit :func:`stv_kernels.reference.quantise`. Returns ``out``
    (allocated when None, where ``image`` lives: ``image`` and ``out`` may be host or device
    arrays, :mod:`.memory`).
    """
    on_device = is_device_array(image)
    image, dtype, out = _checks.check_quantise(image, dtype, out, allocate=False)
    d_out, result = output(out, image.shape, on_device, dtype=dtype, dtypes=(dtype,))
    n = int(np.prod(image.shape))
    if n == 0:
        return result
    blocks, threads = launch.grid(n)
    _quantise[blocks, threads](to_device(image).reshape(n), d_out.reshape(n), pixel_scale(dtype))
    return finish(d_out, result)


@cuda.jit(cache=True)
def _collapse_scaled(pixels, weights, scale, out, accumulate):
    # pixels (D, N) integers, out (N,): acc = acc + (float32(p) / scale) * w_z in z order
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    depth, n = pixels.shape
    for i in range(start, n, stride):
        acc = out[i] if accumulate else F32(0.0)
        for z in range(depth):
            acc = add(acc, mul(F32(pixels[z, i]) / scale, weights[z]))
        out[i] = acc


def collapse_scaled(pixels, weights, out=None, accumulate=False):
    """``collapse_weighted(pixel_values(pixels), weights, out, accumulate)``, bit for bit,
    the float volume never made (host or device arrays, as every kernel here)."""
    on_device = is_device_array(pixels)
    w, _ = _checks.check_collapse_pixels(pixels, to_host(weights), None, allocate=False)
    if accumulate and out is None:
        raise ValueError("accumulate needs an out to add to")
    d, h, wd, c = pixels.shape
    d_out, result = output(out, (h, wd, c), on_device)
    n = h * wd * c
    if n == 0:
        return result
    if accumulate and result is not d_out:
        d_out.copy_to_device(np.ascontiguousarray(result))
    blocks, threads = launch.grid(n)
    _collapse_scaled[blocks, threads](
        to_device(pixels).reshape(d, n), to_device(w), pixel_scale(pixels.dtype),
        d_out.reshape(n), bool(accumulate),
    )  # fmt: skip
    return finish(d_out, result)
