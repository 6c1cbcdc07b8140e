"""The video steps' energies from their float64 sums, written once for every compiled backend.

The ``motion_ema_step``/``motion_slice_step`` kernels return five float64 sums over a frame of
``n`` values: |V0|, |V1|, |E0|, |E1| and |m| (with the motion slice alone, |frame values| in
place of |V0| and 0 for |E0|). These turn them into what the reference returns, empty frames
included (its mean |v| of nothing is 0, its mean of nothing NaN).
"""

from __future__ import annotations

import numpy as np

F32 = np.float32


def ema_energies(sums: np.ndarray, n: int) -> np.ndarray:
    """float32 (4,): mean |V0|, mean |V1|, mean |E| over both slices, mean |m|; zeros if n = 0."""
    out = np.zeros(4, dtype=F32)
    if n:
        out[0] = sums[0] / n
        out[1] = sums[1] / n
        out[2] = (sums[2] + sums[3]) / (2 * n)
        out[3] = sums[4] / n
    return out


def slice_means(sums: np.ndarray, n: int) -> np.ndarray:
    """float64 (4,): mean |frame|, mean |V1|, mean |E1|, mean |m|; NaN if n = 0."""
    if not n:
        return np.full(4, np.nan)
    return np.array([sums[0], sums[1], sums[3], sums[4]]) / n
