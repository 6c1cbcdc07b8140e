"""numba.cuda kernel: weighted collapse of a volume along Z (SPEC A.2.1).

One thread per output value (y, x, c), grid-stride: ``acc = 0; acc = acc + v_z * w_z`` for z in
order, each product and sum rounded to float32 on its own (:func:`mul`, :func:`add`), the
reference's operations in the reference's order, so the result is bit-exact with
:func:`stv_kernels.reference.collapse_weighted`. Consecutive threads read consecutive values
of each slice, so every slice streams through in coalesced rows.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from .. import _checks
from . import launch
from ._device import F32, add, finish, mul, to_device

#: Numba signature of every kernel in this module (C-contiguous arrays), for PTX compile tests.
PTX_SIGNATURES = {"_collapse": "(float32[:, ::1], float32[::1], float32[::1])"}


@cuda.jit
def _collapse(vol, weights, out):
    # vol (D, N), weights (D,), out (N,)
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    depth, n = vol.shape
    for i in range(start, n, stride):
        acc = F32(0.0)
        for z in range(depth):
            acc = add(acc, mul(vol[z, i], weights[z]))
        out[i] = acc


def collapse_weighted(vol: np.ndarray, weights: np.ndarray, out: np.ndarray | None = None):
    """Collapse a (D, H, W, C) volume to one (H, W, C) picture with per-slice weights.

    Same contract and numbers, bit for bit, as
    :func:`stv_kernels.reference.collapse_weighted`: ``out[y, x, c] = sum_z vol[z, y, x, c] *
    weights[z]`` accumulated in z order in float32, not normalised.
    """
    vol = _checks.check_volume(vol)
    w = np.ascontiguousarray(weights, dtype=F32)
    if w.shape != (vol.shape[0],):
        raise ValueError(f"weights must have length {vol.shape[0]}, got shape {w.shape}")
    d, h, wd, c = vol.shape
    out = _checks.check_out(out, (h, wd, c))
    n = h * wd * c
    if n == 0:
        return out
    d_out = cuda.device_array(n, dtype=F32)
    blocks, threads = launch.grid(n)
    _collapse[blocks, threads](to_device(vol.reshape(d, n)), to_device(w), d_out)
    finish(d_out, out.reshape(n))  # a view of out: out itself is filled
    return out
