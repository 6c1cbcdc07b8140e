"""NumPy reference: align-corners bilinear upscale of every slice (SPEC A.2.4)."""

from __future__ import annotations

import numpy as np

from .._checks import band_shape, check_factor, check_out, check_volume, separate_input
from .._tables import bilinear_axis, bilinear_rows
from ._quiet import quiet

F32 = np.float32


@quiet
def upscale_bilinear(vol: np.ndarray, factor: int, out: np.ndarray | None = None, rows=None):
    """Align-corners bilinear resample of every slice by an integer factor (SPEC A.2.4).

    ``factor == 1`` copies the volume (an unchanged clone, as the spec says), also for inf.
    ``rows`` = ``(height, start, stop, first)``: only output rows ``start..stop-1`` of the
    upscale of a volume ``height`` rows tall, of which ``vol`` holds rows ``first..`` (a band
    of a tiled run), bit for bit those rows of the whole upscale.
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
        # SPEC A.2.4: f = 1 is an unchanged clone; the formula would turn inf voxels into NaN
        # ((inf - inf) * 0), so it is not run at all.
        out[...] = vol[:, offset : offset + ho]
        return out
    y0, y1, ty, _ = bilinear_rows(h, factor, rows, h)
    x0, x1, tx = bilinear_axis(w, wo)
    tx = tx[None, :, None]
    ty = ty[:, None, None]
    for z in range(d):
        s = vol[z]
        tl, tr = s[y0][:, x0], s[y0][:, x1]
        bl, br = s[y1][:, x0], s[y1][:, x1]
        top = tl + (tr - tl) * tx
        bottom = bl + (br - bl) * tx
        out[z] = top + (bottom - top) * ty
    return out
