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

from . import launch
from ._device import F32, add, finish, mul, output, separate, to_device, volume_input
from .memory import to_host

#: Numba signature of every kernel in this module (C-contiguous arrays), for PTX compile tests.
PTX_SIGNATURES = {"_collapse": "(float32[:, ::1], float32[::1], float32[::1])"}


@cuda.jit(cache=True)
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


def collapse_weighted(vol, weights, out=None):
    """Collapse a (D, H, W, C) volume to one (H, W, C) picture with per-slice weights.

    Same contract and numbers, bit for bit, as
    :func:`stv_kernels.reference.collapse_weighted`: ``out[y, x, c] = sum_z vol[z, y, x, c] *
    weights[z]`` accumulated in z order in float32, not normalised. ``vol`` and ``out`` may be
    host or device arrays (:mod:`.memory`): the picture lives where ``out`` is, else where
    ``vol`` is.
    """
    vol, on_device = volume_input(vol)
    w = np.ascontiguousarray(to_host(weights), dtype=F32)
    if w.shape != (vol.shape[0],):
        raise ValueError(f"weights must have length {vol.shape[0]}, got shape {w.shape}")
    d, h, wd, c = vol.shape
    d_out, result = output(out, (h, wd, c), on_device)
    n = h * wd * c
    if n == 0:
        return result
    src = to_device(vol)
    if on_device:
        src = separate(src, d_out)
    blocks, threads = launch.grid(n)
    _collapse[blocks, threads](src.reshape(d, n), to_device(w), d_out.reshape(n))
    return finish(d_out, result)
