"""numba CPU kernel: per-slice statistics over all H*W*C values of each slice (SPEC A.2.8).

Sums accumulate in float64 on purpose, as in :func:`stv_kernels.reference.slice_statistics`:
a million-value slice summed in float32 loses several digits, and a parallel reduction cannot
keep the reference's sequential float32 order anyway. Results therefore agree with the NumPy
reference to about 1e-7 relative (its pairwise float64 sums round differently), not bit for
bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .reference import check_volume

_KEYS = ("mean", "std", "std_one_pass", "energy", "abs_mean")


@njit(parallel=True, cache=True)
def _row_sums(rows, sums):
    # rows (D*H, R); sums (D*H, 3) of float64: sum v, sum v^2, sum |v| per row. Rows are the
    # parallel unit so a single slice still uses every thread.
    for r in prange(rows.shape[0]):
        row = rows[r]
        total = 0.0
        squares = 0.0
        absolute = 0.0
        for i in range(row.size):
            v = np.float64(row[i])
            total += v
            squares += v * v
            absolute += abs(v)
        sums[r, 0] = total
        sums[r, 1] = squares
        sums[r, 2] = absolute


@njit(parallel=True, cache=True)
def _row_deviations(rows, height, mean, deviations):
    # second pass of the two-pass variance: sum (v - mean_z)^2 per row, in float64
    for r in prange(rows.shape[0]):
        row = rows[r]
        m = mean[r // height]
        acc = 0.0
        for i in range(row.size):
            e = np.float64(row[i]) - m
            acc += e * e
        deviations[r] = acc


def slice_statistics(vol: np.ndarray) -> dict[str, np.ndarray]:
    """Per-slice mean, std (two-pass), std_one_pass, energy and abs_mean of a volume.

    Parameters
    ----------
    vol : ndarray
        (D, H, W, C) volume; float32 C-contiguous is used as is, anything else is copied once.

    Returns
    -------
    dict of str to ndarray
        float32 arrays of length D. ``std`` is ``sqrt(max(sum((v - mean)^2) / n, 0))``
        (``profile()``), ``std_one_pass`` is ``sqrt(max(energy - mean^2, 0))``
        (``slice_profile()``); ``max`` follows the spec's NaN rule (NaN gives 0), so a slice
        holding NaN has mean NaN and std 0. An empty slice gives zeros.
    """
    vol = check_volume(vol)
    d, h, w, c = vol.shape
    n = h * w * c
    res = {key: np.zeros(d, dtype=np.float32) for key in _KEYS}
    if n == 0 or d == 0:
        return res
    rows = vol.reshape(d * h, w * c)
    sums = np.empty((d * h, 3), dtype=np.float64)
    _row_sums(rows, sums)
    per_slice = sums.reshape(d, h, 3).sum(axis=1)
    mean = per_slice[:, 0] / n
    energy = per_slice[:, 1] / n
    deviations = np.empty(d * h, dtype=np.float64)
    _row_deviations(rows, h, mean, deviations)
    two_pass = deviations.reshape(d, h).sum(axis=1) / n
    res["mean"][:] = mean
    res["energy"][:] = energy
    res["abs_mean"][:] = per_slice[:, 2] / n
    res["std"][:] = np.sqrt(np.fmax(two_pass, 0.0))
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN, and NaN gives 0
        res["std_one_pass"][:] = np.sqrt(np.fmax(energy - mean * mean, 0.0))
    return res
