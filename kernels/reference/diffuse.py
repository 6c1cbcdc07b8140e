"""NumPy reference: Jacobi passes of 6-neighbour diffusion without wrap (SPEC A.5)."""

from __future__ import annotations

import numpy as np

from .._checks import check_diffusion, check_out, check_volume
from ._quiet import quiet

F32 = np.float32


@quiet
def diffuse_pass(vol: np.ndarray, rate: float, out: np.ndarray | None = None):
    """One Jacobi pass of 6-neighbour diffusion without wrap (SPEC A.5)."""
    vol = check_volume(vol)
    _, rate = check_diffusion(1, rate)
    out = check_out(out, vol.shape)
    total = np.zeros_like(vol)
    count = np.zeros(vol.shape[:3] + (1,), dtype=F32)
    # neighbours in the order x-1, x+1, y-1, y+1, z-1, z+1 (the sum's order is part of the spec)
    for axis in (2, 1, 0):
        for lower in (True, False):
            dst = [slice(None)] * 4
            src = [slice(None)] * 4
            if lower:
                dst[axis], src[axis] = slice(1, None), slice(None, -1)
            else:
                dst[axis], src[axis] = slice(None, -1), slice(1, None)
            total[tuple(dst)] += vol[tuple(src)]
            count[tuple(dst)] += F32(1.0)
    has = np.broadcast_to(count > 0, vol.shape)
    avg = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    out[...] = np.where(has, vol * (F32(1.0) - rate) + avg * rate, vol)
    return out


def diffuse(vol: np.ndarray, iterations: int, rate: float, out: np.ndarray | None = None):
    """``iterations`` Jacobi passes at ``rate``; ``iterations == 0`` copies (SPEC A.5).

    ``rate`` must already be clamped to [0, 1] (ZDiffuser does that); ``out`` may be ``vol``.
    """
    vol = check_volume(vol)
    iterations, rate = check_diffusion(iterations, rate)
    out = check_out(out, vol.shape)
    if iterations == 0:
        out[...] = vol
        return out
    src = vol
    for _ in range(iterations):
        src = diffuse_pass(src, rate)
    out[...] = src
    return out
