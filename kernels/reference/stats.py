"""NumPy reference: per-slice statistics over all H*W*C values of each slice (SPEC A.2.8)."""

from __future__ import annotations

import numpy as np

from .._checks import check_volume
from ._quiet import quiet

F32 = np.float32


@quiet
def slice_statistics(vol: np.ndarray) -> dict[str, np.ndarray]:
    """Per-slice statistics over all H*W*C values of each slice (SPEC A.2.8, D1).

    Returns float32 arrays of length D: ``mean``, ``std`` (two-pass population std, used by
    ``profile()``), ``std_one_pass`` (``sqrt(max(E[v^2] - mean^2, 0))``, used by
    ``slice_profile()``), ``energy`` (mean of v^2) and ``abs_mean`` (mean of |v|, used by the
    spectral response). Sums accumulate in float64 on purpose: a million-value slice summed in
    float32 loses several digits, and the reference's sequential float32 order cannot be kept
    by a parallel reduction anyway. ``max(x, 0)`` follows the spec's NaN rule (NaN gives 0).
    """
    vol = check_volume(vol)
    d = vol.shape[0]
    n = vol.shape[1] * vol.shape[2] * vol.shape[3]
    res = {k: np.zeros(d, dtype=F32) for k in ("mean", "std", "std_one_pass", "energy", "abs_mean")}
    if n == 0:
        return res
    flat = vol.reshape(d, n).astype(np.float64)
    mean = flat.sum(axis=1) / n
    energy = (flat * flat).sum(axis=1) / n
    two = ((flat - mean[:, None]) ** 2).sum(axis=1) / n
    res["mean"][:] = mean
    res["energy"][:] = energy
    res["abs_mean"][:] = np.abs(flat).sum(axis=1) / n
    res["std"][:] = np.sqrt(np.fmax(two, 0.0))
    res["std_one_pass"][:] = np.sqrt(np.fmax(energy - mean * mean, 0.0))
    return res
