"""NumPy reference: weighted collapse of a volume along Z (SPEC A.2.1)."""

from __future__ import annotations

import numpy as np

from .._checks import check_out, check_volume, separate_input
from ._quiet import quiet

F32 = np.float32


@quiet
def collapse_weighted(
    vol: np.ndarray, weights: np.ndarray, out: np.ndarray | None = None, accumulate=False
):
    """out[y, x, c] = sum_z vol[z, y, x, c] * weights[z], accumulated in z order (SPEC A.2.1).

    With ``accumulate`` the sum continues from ``out``'s values instead of 0: collapsing a
    volume slab after slab into one ``out`` is then bit for bit collapsing it whole (a stack
    streamed in Z).
    """
    vol = check_volume(vol)
    w = np.ascontiguousarray(weights, dtype=F32)
    if w.shape != (vol.shape[0],):
        raise ValueError(f"weights must have length {vol.shape[0]}, got shape {w.shape}")
    if accumulate and out is None:
        raise ValueError("accumulate needs an out to add to")
    out = check_out(out, vol.shape[1:])
    vol = separate_input(vol, out)
    if not accumulate:
        out[...] = 0
    for z in range(vol.shape[0]):
        out += vol[z] * w[z]
    return out


@quiet
def collapse_upscaled(vol: np.ndarray, factor: int, weights, rows=None, out=None, accumulate=False):
    """:func:`collapse_weighted` of :func:`upscale_bilinear` (``rows`` as there), bit for bit,
    without the caller holding the upscaled volume (a tiled run's band); ``accumulate``
    continues the sums from ``out`` (a stack streamed in windows of slices)."""
    from .upscale import upscale_bilinear

    vol = check_volume(vol)
    w = np.ascontiguousarray(weights, dtype=F32)
    if w.shape != (vol.shape[0],):
        raise ValueError(f"weights must have length {vol.shape[0]}, got shape {w.shape}")
    upscaled = upscale_bilinear(vol, factor, rows=rows)
    return collapse_weighted(upscaled, w, out=out, accumulate=accumulate)
