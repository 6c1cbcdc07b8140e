"""numba.cuda kernels: per-slice statistics over all H*W*C values of each slice (SPEC A.2.8).

Each slice z of n = H*W*C values is cut into ``c = min(COLUMNS, n)`` interleaved columns:
column j sums the values j, j + c, j + 2c, ... of the slice in that order, in float64, into its
own partial (``_slice_sums``: sum v, sum v^2, sum |v|; ``_deviation_sums``: sum (v - mean_z)^2,
the second pass of the two-pass std). One thread per (z, j) item, grid-stride; consecutive
threads read consecutive values of a slice, so the reads coalesce. The host then sums each
slice's c partials (NumPy, pairwise, a fixed order) and derives mean, std, std_one_pass, energy
and abs_mean exactly as :func:`stv_kernels.cpu.slice_statistics` does.

No atomics: which values a partial holds and the order they are added in depend on n and
``COLUMNS`` alone, not on the launch shape or the scheduling, so the same volume always gives
the same statistics, bit for bit (the float64 adds and multiplies go through ``dadd``/``dmul``,
never contracted, so a GPU and the simulator agree too). The sums accumulate in float64 on
purpose, as in :func:`stv_kernels.reference.slice_statistics`, but in another order than NumPy's
pairwise sums: the results agree with the reference to about 1e-7 relative (the float32
rounding of float64 values that differ by ~1e-16), not bit for bit. NaN and inf follow the spec:
a slice holding NaN has mean NaN and std 0 (``max(NaN, 0)`` gives 0).
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from . import launch
from ._device import dadd, dmul, to_device, volume_input

F64 = np.float64

_KEYS = ("mean", "std", "std_one_pass", "energy", "abs_mean")

#: Partial sums (columns) per slice; read at call time (tests patch it small so that every
#: column sums several values). 2048 columns keep a slice's partials at 48 KiB.
COLUMNS = 2048

#: A signature per kernel, for compiling them to PTX without a GPU (``cuda.compile_ptx``).
PTX_SIGNATURES = {
    "_slice_sums": ["(float32[:, ::1], float64[:, :, ::1])"],
    "_deviation_sums": ["(float32[:, ::1], float64[::1], float64[:, ::1])"],
}


@cuda.jit(cache=True)
def _slice_sums(flat, partial):
    # flat (D, N); partial (D, 3, C): item (z, j) sums v, v^2 and |v| over the values
    # j, j + C, j + 2C, ... of slice z, in that order, in float64.
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    depth, n = flat.shape
    columns = partial.shape[2]
    for item in range(start, depth * columns, stride):
        z = item // columns
        j = item - z * columns
        total = F64(0.0)
        squares = F64(0.0)
        absolute = F64(0.0)
        for i in range(j, n, columns):
            v = F64(flat[z, i])
            total = dadd(total, v)
            squares = dadd(squares, dmul(v, v))
            absolute = dadd(absolute, abs(v))
        partial[z, 0, j] = total
        partial[z, 1, j] = squares
        partial[z, 2, j] = absolute


@cuda.jit(cache=True)
def _deviation_sums(flat, mean, partial):
    # flat (D, N), mean (D,) float64; partial (D, C): item (z, j) sums (v - mean_z)^2 over the
    # values j, j + C, ... of slice z, in that order, in float64 (the two-pass std).
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    depth, n = flat.shape
    columns = partial.shape[1]
    for item in range(start, depth * columns, stride):
        z = item // columns
        j = item - z * columns
        m = mean[z]
        total = F64(0.0)
        for i in range(j, n, columns):
            e = dadd(F64(flat[z, i]), -m)
            total = dadd(total, dmul(e, e))
        partial[z, j] = total


def slice_statistics(vol: np.ndarray) -> dict[str, np.ndarray]:
    """Per-slice mean, std (two-pass), std_one_pass, energy and abs_mean of a volume.

    Same contract as :func:`stv_kernels.cpu.slice_statistics` (SPEC A.2.8): a (D, H, W, C)
    volume (float32 C-contiguous is used as is, anything else is copied once); float32 arrays
    of length D; ``std`` is ``sqrt(max(sum((v - mean)^2) / n, 0))``, ``std_one_pass``
    ``sqrt(max(energy - mean^2, 0))``, NaN gives 0 in ``max``; an empty slice gives zeros.
    Sums in float64: within ~1e-7 relative of the reference. ``vol`` may be a host or a device
    array (:mod:`.memory`); the statistics always come back as host arrays.
    """
    vol, _ = volume_input(vol)
    d, h, w, c = vol.shape
    n = h * w * c
    res = {key: np.zeros(d, dtype=np.float32) for key in _KEYS}
    if n == 0 or d == 0:
        return res
    columns = max(1, min(int(COLUMNS), n))
    flat = to_device(vol.reshape(d, n))
    partial = cuda.device_array((d, 3, columns), dtype=F64)
    blocks, threads = launch.grid(d * columns)
    _slice_sums[blocks, threads](flat, partial)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN, and NaN gives 0
        sums = partial.copy_to_host().sum(axis=2)
        mean = sums[:, 0] / n
        energy = sums[:, 1] / n
        deviations = cuda.device_array((d, columns), dtype=F64)
        _deviation_sums[blocks, threads](flat, to_device(mean), deviations)
        two_pass = deviations.copy_to_host().sum(axis=1) / n
        res["mean"][:] = mean
        res["energy"][:] = energy
        res["abs_mean"][:] = sums[:, 2] / n
        res["std"][:] = np.sqrt(np.fmax(two_pass, 0.0))
        res["std_one_pass"][:] = np.sqrt(np.fmax(energy - mean * mean, 0.0))
    return res
