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
