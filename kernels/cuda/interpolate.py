"""numba.cuda kernel: one densification pass along Z to 2D-1 slices (SPEC A.2.3, D8).

One thread per output value (z', i), grid-stride, i running over the H*W*C values of a slice.
Even output slice ``2z`` copies input slice z; odd slice ``2z + 1`` is the midpoint of slices
z and z+1: nearest (slice z), linear (``0.5 * (p1 + p2)``) or Catmull-Rom at t = 0.5 with
clamped ends (p0 = p1 at z = 0, p3 = p2 when z + 2 >= D), evaluated in the spec's grouping::

    a0 = ((-0.5*p0 + 1.5*p1) - 1.5*p2) + 0.5*p3
    a1 = ((p0 - 2.5*p1) + 2*p2) - 0.5*p3
    a2 = -0.5*p0 + 0.5*p2
    mid = ((a0*t + a1)*t + a2)*t + p1

Every product, sum and difference is rounded to float32 on its own (:func:`mul`, :func:`add`,
:func:`sub`), the reference's operations in the reference's order, so the result is bit-exact
with :func:`stv_kernels.reference.interpolate_z`. Consecutive threads read consecutive values of
each slice, so slices stream through in coalesced rows.
"""

from __future__ import annotations

from numba import cuda

from .. import _checks
from . import launch
from ._device import F32, add, finish, mul, output, separate, sub, to_device, volume_input

#: Numba signature of every kernel in this module (C-contiguous arrays), for PTX compile tests.
PTX_SIGNATURES = {"_interpolate": "(float32[:, ::1], int64, float32[:, ::1])"}


@cuda.jit(cache=True)
def _interpolate(vol, code, out):
    # vol (D, N), code 0 nearest / 1 linear / 2 cubic, out (2D-1, N)
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    depth, n = vol.shape
    total = out.shape[0] * n
    t = F32(0.5)
    for k in range(start, total, stride):
        zo = k // n
        i = k - zo * n
        z = zo // 2
        p1 = vol[z, i]
        if zo - 2 * z == 0:
            out[zo, i] = p1
            continue
        p2 = vol[z + 1, i]
        if code == 0:
            mid = p1
        elif code == 1:
            mid = mul(F32(0.5), add(p1, p2))
        else:
            p0 = vol[z - 1, i] if z > 0 else p1
            p3 = vol[z + 2, i] if z + 2 < depth else p2
            a0 = add(
                sub(add(mul(F32(-0.5), p0), mul(F32(1.5), p1)), mul(F32(1.5), p2)),
                mul(F32(0.5), p3),
            )
            a1 = sub(
                add(sub(p0, mul(F32(2.5), p1)), mul(F32(2.0), p2)),
                mul(F32(0.5), p3),
            )
            a2 = add(mul(F32(-0.5), p0), mul(F32(0.5), p2))
            mid = add(mul(add(mul(add(mul(a0, t), a1), t), a2), t), p1)
        out[zo, i] = mid


def interpolate_z(vol, method: str, out=None):
    """Densify a (D, H, W, C) volume along Z once: D slices become 2D-1 (SPEC A.2.3).

    Same contract and numbers, bit for bit, as :func:`stv_kernels.reference.interpolate_z`:
    ``method`` is "nearest", "linear" or "cubic", D must be >= 2, ``out`` (optional) is a
    C-contiguous float32 (2D-1, H, W, C) array, filled and returned. Output slice 2z is input
    slice z, slice 2z+1 the midpoint of slices z and z+1. ``vol`` and ``out`` may be host or
    device arrays (:mod:`.memory`): the result lives where ``out`` is, else where ``vol`` is.
    """
    vol, on_device = volume_input(vol)
    code = _checks.interpolation_code(method)
    d, h, w, c = vol.shape
    if d < 2:
        raise ValueError(f"interpolate_z needs depth >= 2, got {d}")
    d_out, result = output(out, (2 * d - 1, h, w, c), on_device)
    n = h * w * c
    if n == 0:
        return result
    # a host input is copied to the device before anything is written, and a device input
    # that shares memory with out is copied first, so overlapping arguments are harmless
    src = to_device(vol)
    if on_device:
        src = separate(src, d_out)
    blocks, threads = launch.grid((2 * d - 1) * n)
    _interpolate[blocks, threads](src.reshape(d, n), code, d_out.reshape(2 * d - 1, n))
    return finish(d_out, result)
