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

Several passes ping-pong between the output and one scratch buffer on the device: the volume
stays there between passes; a host volume is copied over once and back once.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from .. import _checks
from . import launch
from ._device import F32, add, finish, mul, output, separate, to_device, volume_input

#: Numba signature of every kernel in this module (C-contiguous arrays), for PTX compile tests.
PTX_SIGNATURES = {
    "_diffuse_pass": "(float32[:, :, :, ::1], float32, float32, float32[:, :, :, ::1])",
}


@cuda.jit(cache=True)
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


def diffuse(vol, iterations: int, rate: float, out=None):
    """Apply ``iterations`` Jacobi passes of 6-neighbour diffusion (SPEC A.5).

    Same contract and numbers, bit for bit, as :func:`stv_kernels.reference.diffuse`:
    ``iterations`` >= 0 (0 copies the volume), ``rate`` finite in [0, 1] (already clamped by
    ZDiffuser), ``out`` (optional) a C-contiguous float32 array of the volume's shape, filled
    and returned; it may be ``vol`` itself. ``vol`` and ``out`` may be host or device arrays
    (:mod:`.memory`): the result lives where ``out`` is, else where ``vol`` is.
    """
    vol, on_device = volume_input(vol)
    iterations, rate = _checks.check_diffusion(iterations, rate)
    d_out, result = output(out, vol.shape, on_device)
    if vol.size == 0:
        return result
    src = to_device(vol)  # a host volume: a fresh device copy; a device one: itself
    if on_device and iterations % 2 == 1:
        # with an odd count the first pass writes the final buffer: it must not be the input
        src = separate(src, d_out)
    if iterations == 0:
        if src is not d_out:
            d_out.copy_to_device(src)
        return finish(d_out, result)
    keep = F32(1.0) - rate
    # passes ping-pong between d_out and one scratch buffer, arranged so that the last pass
    # writes d_out; the input is read by the first pass only, so it is never overwritten
    # (an out that is vol, on the device, is written from the second pass on)
    scratch = cuda.device_array(vol.shape, dtype=F32)
    buffers = (d_out, scratch) if iterations % 2 == 1 else (scratch, d_out)
    blocks, threads = launch.grid(vol.size)
    for k in range(iterations):
        dst = buffers[k % 2]
        _diffuse_pass[blocks, threads](src, keep, rate, dst)
        src = dst
    return finish(d_out, result)
