"""Refinement of voxel arrays: Z densification (SPEC A.2.3, D8) and XY upscaling (A.2.4).

:meth:`stv_cli.ZSpaceVolume.interpolate` and :meth:`~stv_cli.ZSpaceVolume.upscale` are thin
wrappers over the two functions here. Both check the memory guard before they allocate, then
run the kernel of the backend in force on a new output.
"""

from __future__ import annotations

from enum import Enum

import numpy as np

from ..backend import ops
from ..errors import InvalidValue
from . import placement
from .floats import integer_at_least
from .memory import check_memory, estimate_volume_bytes


class InterpolationMethod(str, Enum):
    """How :meth:`ZSpaceVolume.interpolate` synthesises the slice between two neighbours."""

    NEAREST = "nearest"
    LINEAR = "linear"
    CUBIC = "cubic"

    @classmethod
    def parse(cls, method: InterpolationMethod | str) -> InterpolationMethod:
        """Accept a member or its name (case-insensitive).

        Raises
        ------
        InvalidValue
            If ``method`` is not one of nearest, linear, cubic.
        """
        if isinstance(method, cls):
            return method
        try:
            return cls(str(method).lower())
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise InvalidValue(
                f"interpolation method must be one of {allowed}, got {method!r}"
            ) from None


def refined_depth(depth: int, passes: int) -> int:
    """Depth after ``passes`` interpolation passes: 2^k (D - 1) + 1 (D8); D <= 1 stays D."""
    return depth if depth <= 1 else (2**passes) * (depth - 1) + 1


def interpolate_voxels(
    voxels,
    method: InterpolationMethod | str,
    passes: int,
    out: np.ndarray | None = None,
) -> np.ndarray | None:
    """``passes`` densification passes of a (D, H, W, C) array; None when nothing changes.

    Returns None (the caller copies) for D <= 1, H = 0, W = 0 or ``passes = 0``; otherwise a
    new array of depth 2^k (D - 1) + 1. Each pass allocates its output, and the previous
    intermediate is freed as the next is made; the last pass writes into ``out`` when it is
    given (a C-contiguous float32 array of the final shape, e.g. a buffer reused across a
    batch). ``voxels`` may be a device array (:mod:`.placement`): the passes then stay on the
    device.

    Raises
    ------
    InvalidValue
        For an unknown method or a negative ``passes``.
    InvalidDimensions
        If an output would exceed the memory limit (checked before any work).
    """
    method = InterpolationMethod.parse(method)
    passes = integer_at_least(passes, "interpolation passes", 0)
    d, h, w, c = voxels.shape
    if d <= 1 or h == 0 or w == 0 or passes == 0:
        return None
    previous = 0
    for k in range(1, passes + 1):
        depth = refined_depth(d, k)
        nbytes = estimate_volume_bytes(depth, h, w, c)
        check_memory(nbytes + previous, f"interpolation output of shape {(depth, h, w, c)}")
        previous = nbytes
    src = voxels
    for k in range(passes):
        final = k == passes - 1
        dst = out if final and out is not None else None
        if dst is None:  # where the voxels live (a device volume stays on the device)
            dst = placement.empty((2 * src.shape[0] - 1, h, w, c), like=src)
        src = ops().interpolate_z(src, method.value, out=dst)
    return src


def upscale_voxels(voxels, factor: int, out=None):
    """Align-corners bilinear resample of every slice by ``factor``; None when nothing changes.

    Returns None (the caller copies) for ``factor = 1``, H = 0 or W = 0; otherwise a new
    (D, H*f, W*f, C) array, or ``out`` filled when it is given.

    Raises
    ------
    InvalidValue
        If ``factor`` (z_upscale_factor) is not an integer >= 1.
    InvalidDimensions
        If the output would exceed the memory limit.
    """
    factor = integer_at_least(factor, "z_upscale_factor", 1)
    d, h, w, c = voxels.shape
    if factor == 1 or h == 0 or w == 0:
        return None
    shape = (d, h * factor, w * factor, c)
    if out is None:
        check_memory(estimate_volume_bytes(*shape), f"upscale output of shape {shape}")
        out = placement.empty(shape, like=voxels)
    return ops().upscale_bilinear(voxels, factor, out=out)
