"""numba.cuda kernel: Jacobi passes of 6-neighbour diffusion without wrap (SPEC A.5).

One thread per value (z, y, x, c), grid-stride, every value read from the buffer as it was
before the pass. ``total`` starts at 0.0 and adds the neighbours that exist, in the order
x-1, x+1, y-1, y+1, z-1, z+1 (no wrap: missing ones are left out, not added as zeros);
``avg = total / count`` with ``count`` their number as a float32 (a correctly rounded
division); ``new = centre * keep + avg * rate`` with ``keep = 1 - rate`` computed once in
float32 on the host. A voxel with no neighbour (a 1x1x1 volume) keeps its value. Each sum and
product is rounded to float32 on its own (:func:`add`, :func:`mul`, never fused), the
reference's operations in the reference's order, so the result is bit-exact with
:func:`stv_kernels.reference.diffuse`. Channels diffuse independently (D1).

Several passes ping-pong between two device buffers: the volume stays on the device between
passes and is copied back once, at the end.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from .. import _checks
from . import launch
from ._device import F32, add, finish, mul, to_device

#: Numba signature of every kernel in this module (C-contiguous arrays), for PTX compile tests.
PTX_SIGNATURES = {
    "_diffuse_pass": "(float32[:, :, :, ::1], float32, float32, float32[:, :, :, ::1])",
}


@cuda.jit
def _diffuse_pass(src, keep, rate, dst):
    # src, dst (D, H, W, C); keep = 1 - rate, both float32
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    depth, height, width, channels = src.shape
    total_values = depth * height * width * channels
    for k in range(start, total_values, stride):
        r = k // channels
        c = k - r * channels
        q = r // width
        x = r - q * width
        z = q // height
        y = q - z * height
        total = F32(0.0)
        count = 0
        if x > 0:
            total = add(total, src[z, y, x - 1, c])
            count += 1
        if x + 1 < width:
            total = add(total, src[z, y, x + 1, c])
            count += 1
        if y > 0:
            total = add(total, src[z, y - 1, x, c])
            count += 1
        if y + 1 < height:
            total = add(total, src[z, y + 1, x, c])
            count += 1
        if z > 0:
            total = add(total, src[z - 1, y, x, c])
            count += 1
        if z + 1 < depth:
            total = add(total, src[z + 1, y, x, c])
            count += 1
        centre = src[z, y, x, c]
        if count == 0:
            dst[z, y, x, c] = centre
        else:
            avg = total / F32(count)
            dst[z, y, x, c] = add(mul(centre, keep), mul(avg, rate))


def diffuse_pass(vol: np.ndarray, rate: float, out: np.ndarray | None = None):
    """One Jacobi pass of 6-neighbour diffusion (SPEC A.5); see :func:`diffuse`."""
    return diffuse(vol, 1, rate, out)


def diffuse(vol: np.ndarray, iterations: int, rate: float, out: np.ndarray | None = None):
    """Apply ``iterations`` Jacobi passes of 6-neighbour diffusion (SPEC A.5).

    Same contract and numbers, bit for bit, as :func:`stv_kernels.reference.diffuse`:
    ``iterations`` >= 0 (0 copies the volume), ``rate`` finite in [0, 1] (already clamped by
    ZDiffuser), ``out`` (optional) a C-contiguous float32 array of the volume's shape, filled
    and returned; it may be ``vol`` itself.
    """
    vol = _checks.check_volume(vol)
    iterations, rate = _checks.check_diffusion(iterations, rate)
    out = _checks.check_out(out, vol.shape)
    if iterations == 0 or out.size == 0:
        out[...] = vol  # NumPy copies overlapping memory safely
        return out
    keep = F32(1.0) - rate
    # src is a fresh device copy of vol (check_volume returns a host array), made before
    # anything is written, so an out that is vol is harmless and src may be overwritten
    src = to_device(vol)
    dst = cuda.device_array(vol.shape, dtype=F32)
    blocks, threads = launch.grid(vol.size)
    for _ in range(iterations):
        _diffuse_pass[blocks, threads](src, keep, rate, dst)
        src, dst = dst, src
    return finish(src, out)
