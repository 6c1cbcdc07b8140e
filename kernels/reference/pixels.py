"""NumPy reference of the picture end of ``stv video``: collapse a ring of pixels, quantise.

``collapse_pixels``: the weighted collapse (SPEC A.2.1) of a ring of integer pixels, which
stand for the float32 values ``pixels / (2**bits - 1)`` (:mod:`stv_kernels.pixel_scale`), as
``sum_z p_z * (w_z / s)``: each weight divided once by the scale s, not each pixel (within
~1e-7 of collapsing the values). ``quantise``: float32 -> 8- or 16-bit pixels (SPEC Part G).
"""

from __future__ import annotations

import numpy as np

from .._checks import check_collapse_pixels, check_out, check_quantise
from ..pixel_scale import pixel_scale, pixel_values
from ._quiet import quiet
from .collapse import collapse_weighted

F32 = np.float32


def collapse_pixels(
    pixels: np.ndarray, weights: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """``sum_z pixels[z] * (weights[z] / s)`` in z order in float32 (SPEC A.2.1), s = 255 or
    65535: the collapse of the values ``pixels / s`` with the division moved to the weights.

    A uint8 ``out`` receives that picture quantised by :func:`quantise`.
    """
    weights, out = check_collapse_pixels(pixels, weights, out)
    weights = np.divide(weights, pixel_scale(pixels.dtype), dtype=F32)
    levels = pixels.astype(F32)  # exact: integers below 2**24
    if out.dtype == np.uint8:
        return quantise(collapse_weighted(levels, weights), np.uint8, out=out)
    return collapse_weighted(levels, weights, out=out)


def quantise(image: np.ndarray, dtype=np.uint8, out: np.ndarray | None = None) -> np.ndarray:
    """float32 -> pixels: ``trunc(clamp(v*top + 0.5, 0, top))`` in float32, NaN -> 0 first.

    top is 255 (uint8) or 65535 (uint16); two float32 operations, not a fused v*top+0.5, as
    torchvision's save_image does them (SPEC Part G step 5).
    """
    image, dtype, out = check_quantise(image, dtype, out)
    top = pixel_scale(dtype)
    flat_in, flat_out = image.reshape(-1), out.reshape(-1)
    # a block of values at a time: the float32 temporaries stay at 4 MiB, not the picture's
    # size (a grid of a large volume is gigabytes); the arithmetic is the same per value
    for start in range(0, flat_in.size, _BLOCK):
        v = flat_in[start : start + _BLOCK].copy()
        v[np.isnan(v)] = F32(0.0)
        np.multiply(v, top, out=v)
        np.add(v, F32(0.5), out=v)
        np.clip(v, F32(0.0), top, out=v)
        np.copyto(flat_out[start : start + _BLOCK], v, casting="unsafe")
    return out


#: Values quantised at once.
_BLOCK = 2**20


@quiet
def collapse_scaled(pixels: np.ndarray, weights, out: np.ndarray | None = None, accumulate=False):
    """``collapse_weighted(pixel_values(pixels), weights, out, accumulate)``, bit for bit: each
    pixel divided by its scale in float32 as it is read, the float volume never made (a stack
    of 8/16-bit slices streamed from disk)."""
    w, _ = check_collapse_pixels(pixels, weights, None, allocate=False)
    if accumulate and out is None:
        raise ValueError("accumulate needs an out to add to")
    d, h, wd, c = pixels.shape
    out = check_out(out, (h, wd, c))
    if not accumulate:
        out[...] = 0
    for z in range(d):  # one float slice at a time: the same sums as the whole volume's
        collapse_weighted(pixel_values(pixels[z : z + 1]), w[z : z + 1], out=out, accumulate=True)
    return out
