"""Tables computed once in NumPy and handed to every backend's kernels (private).

The float32 grid arithmetic of the bilinear upscale (SPEC A.2.4) is written here once, so the
NumPy reference and the compiled kernels resample from the very same indices and fractions.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32


def bilinear_axis(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and fractions of an align-corners resample of one axis (SPEC A.2.4).

    Returns ``(i0, i1, t)``: int64, int64, float32 arrays of length ``n_out``. Both backends use
    these tables, so the float32 grid arithmetic is written exactly once.
    """
    scale = F32(n_in - 1) / F32(n_out - 1) if n_out > 1 else F32(0.0)
    src = scale * np.arange(n_out, dtype=F32)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    t = (src - i0.astype(F32)).astype(F32)
    return i0, i1, t


def bilinear_rows(height: int, factor: int, rows, band_height: int):
    """The row tables of a band of an upscale: ``(y0, y1, ty, out_rows)``.

    ``rows`` is None (the band is the whole volume: ``band_height == height``) or
    ``(height, start, stop, first)``: output rows ``start..stop-1`` of the upscale by
    ``factor`` of a volume ``height`` rows tall, computed from a band holding its rows
    ``first..first+band_height-1``. The indices returned are the band's (``y - first``), the
    fractions those of the whole volume's table, so a band's output rows are bit for bit the
    whole upscale's. Raises ValueError when the band lacks a row they read.
    """
    if rows is None:
        y0, y1, ty = bilinear_axis(band_height, band_height * factor)
        return y0, y1, ty, band_height * factor
    try:
        full, start, stop, first = (int(v) for v in rows)
    except (TypeError, ValueError):
        raise ValueError(f"rows must be (height, start, stop, first), got {rows!r}") from None
    if not 0 <= start <= stop <= full * factor or full < 1:
        raise ValueError(
            f"rows {rows!r}: start and stop must lie in 0..{full * factor} (height {full} x "
            f"factor {factor}), start <= stop"
        )
    y0, y1, ty = bilinear_axis(full, full * factor)
    y0, y1, ty = y0[start:stop] - first, y1[start:stop] - first, ty[start:stop]
    if stop > start and (min(y0.min(), y1.min()) < 0 or max(y0.max(), y1.max()) >= band_height):
        raise ValueError(
            f"rows {rows!r}: output rows {start}..{stop - 1} read input rows "
            f"{int(y0.min()) + first}..{int(y1.max()) + first}, outside the band's rows "
            f"{first}..{first + band_height - 1}"
        )
    return y0, y1, ty, stop - start
