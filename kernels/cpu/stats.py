"""numba CPU kernel: per-slice statistics over all H*W*C values of each slice (SPEC A.2.8).

Sums accumulate in float64 on purpose, as in :func:`stv_kernels.reference.slice_statistics`:
a million-value slice summed in float32 loses several digits, and a parallel reduction cannot
keep the reference's sequential float32 order anyway. Results therefore agree with the NumPy
reference to about 1e-7 relative (its pairwise float64 sums round differently), not bit for
bit.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from .._checks import check_volume

_KEYS = ("mean", "std", "std_one_pass", "energy", "abs_mean")

#: Independent row ranges per thread.
TASKS_PER_THREAD = 4


@njit(cache=True)
def _flush(columns, partial, z):
    # add one task's column sums for slice z into its partial results and clear them
    for k in range(columns.shape[0]):
        acc = columns[k]
        total = 0.0
        for i in range(acc.size):
            total += acc[i]
            acc[i] = 0.0
        partial[z, k] += total


@njit(parallel=True, cache=True, nogil=True)
def _slice_sums(rows, height, mean, columns, partial):
    # rows (D*H, R). Task t walks its own contiguous range of rows and accumulates them
    # column-wise into columns[t] (float64, (k, R)): an element-wise add vectorises, where a
    # running scalar sum would be one long dependency chain (no reassociation without
    # fastmath). At each slice boundary the columns are summed into partial[t, z].
    # With `mean` empty: k = 0, 1, 2 sum v, v^2 and |v|; otherwise k = 0 sums (v - mean_z)^2.
    two_pass = mean.size > 0
    nrows, run = rows.shape
    ntasks = columns.shape[0]
    for t in prange(ntasks):
        begin = t * nrows // ntasks
        end = (t + 1) * nrows // ntasks
        cols = columns[t]
        part = partial[t]
        for k in range(cols.shape[0]):
            for i in range(run):
                cols[k, i] = 0.0
        for r in range(begin, end):
            z = r // height
            row = rows[r]
            if two_pass:
                m = mean[z]
                dev = cols[0]
                for i in range(run):
                    e = np.float64(row[i]) - m
                    dev[i] += e * e
            else:
                total = cols[0]
                squares = cols[1]
                absolute = cols[2]
                for i in range(run):
                    v = np.float64(row[i])
                    total[i] += v
                    squares[i] += v * v
                    absolute[i] += abs(v)
            if r + 1 == end or (r + 1) % height == 0:
                _flush(cols, part, z)


def _sums(rows, d, h, mean, k):
    """Per-slice float64 sums, (D, k), from the rows of a (D*H, R) view."""
    ntasks = max(1, min(d * h, TASKS_PER_THREAD * get_num_threads()))
    columns = np.empty((ntasks, k, rows.shape[1]), dtype=np.float64)
    partial = np.zeros((ntasks, d, k), dtype=np.float64)
    _slice_sums(rows, h, mean, columns, partial)
    return partial.sum(axis=0)


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
    sums = _sums(rows, d, h, np.empty(0, dtype=np.float64), 3)
    mean = sums[:, 0] / n
    energy = sums[:, 1] / n
    two_pass = _sums(rows, d, h, mean, 1)[:, 0] / n
    res["mean"][:] = mean
    res["energy"][:] = energy
    res["abs_mean"][:] = sums[:, 2] / n
    res["std"][:] = np.sqrt(np.fmax(two_pass, 0.0))
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN, and NaN gives 0
        res["std_one_pass"][:] = np.sqrt(np.fmax(energy - mean * mean, 0.0))
    return res
