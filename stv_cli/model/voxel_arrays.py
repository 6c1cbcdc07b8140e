"""Checks and builders of the arrays a volume holds: C-contiguous float32 (D, H, W, C).

The constructors of :class:`stv_cli.ZSpaceVolume` (SPEC A.2, D1) call these: adopt an array,
reshape a flat depth-major buffer, stack slices, or allocate zeros. Each raises the project's
errors naming the input, the value and what is allowed (D3), and checks the memory guard before
it allocates a new volume.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stv_kernels.pixel_scale import PIXEL_DTYPES, pixel_values

from ..errors import DataLength, EmptyInput, InvalidDimensions, ShapeMismatch
from .floats import F32
from .memory import check_memory, estimate_volume_bytes


def adopt_voxels(voxels, copy: bool) -> np.ndarray:
    """A (D, H, W) or (D, H, W, C) array as C-contiguous float32 (D, H, W, C).

    Without ``copy`` an array that is already C-contiguous float32 is shared (a 3-D one as a
    (D, H, W, 1) view); anything else is converted with exactly one copy.

    Raises
    ------
    InvalidDimensions
        If the array is not 3-D or 4-D, or any of D, H, W, C is 0.
    """
    array = np.asarray(voxels)
    if array.ndim == 3:
        array = array[..., np.newaxis]
    if array.ndim != 4:
        raise InvalidDimensions(
            f"voxels must be a (D, H, W) or (D, H, W, C) array, got shape {array.shape}"
        )
    if 0 in array.shape:
        raise InvalidDimensions(
            f"volume dimensions (D, H, W, C) must all be >= 1, got {array.shape}"
        )
    if copy:
        return np.array(array, dtype=F32, order="C", copy=True)
    return np.ascontiguousarray(array, dtype=F32)


def zeros_voxels(dims: tuple) -> np.ndarray:
    """A new zero (D, H, W, C) array.

    Raises
    ------
    InvalidDimensions
        If a dimension is not an integer >= 1, or the volume exceeds the memory limit.
    """
    if any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in dims):
        raise InvalidDimensions(f"volume dimensions (D, H, W, C) must be integers >= 1, got {dims}")
    check_memory(estimate_volume_bytes(*dims), f"zero volume of shape {dims}")
    return np.zeros(tuple(int(d) for d in dims), dtype=F32)


def reshape_buffer(buffer, shape: Sequence[int]) -> np.ndarray:
    """A flat depth-major buffer reshaped to ``shape`` (D, H, W[, C]); not yet float32.

    Raises
    ------
    InvalidDimensions
        If ``shape`` has not 3 or 4 entries or one is < 1.
    DataLength
        If the buffer's length is not the product of ``shape``.
    """
    dims = tuple(int(d) for d in shape)
    if len(dims) not in (3, 4) or min(dims) < 1:
        raise InvalidDimensions(f"shape must be (D, H, W[, C]), all >= 1, got {dims}")
    flat = np.asarray(buffer).reshape(-1)
    needed = int(np.prod(dims))
    if flat.size != needed:
        raise DataLength(f"voxel buffer of shape {dims} needs {needed} values, got {flat.size}")
    return flat.reshape(dims)


def stack_slices(slices: Sequence[np.ndarray]) -> np.ndarray:
    """Stack (H, W) or (H, W, C) slices into one new float32 (D, H, W, C) array.

    Integer pixels are scaled as the image readers scale them: uint8 by 1/255 and uint16 by
    1/65535 (:mod:`stv_kernels.pixel_scale`), so slices read with Pillow give the volume
    ``stv project`` builds from the same files; every other type (floats, bool, other integers)
    is converted unchanged. H or W = 0 is not rejected (SPEC A.2).

    Raises
    ------
    EmptyInput
        If ``slices`` is empty (z_space_volume_slices).
    InvalidDimensions
        If a slice is not 2-D or 3-D, has 0 channels, or the volume exceeds the memory limit.
    ShapeMismatch
        If a slice's shape differs from slice 0's (naming the index and both shapes).
    """
    slices = list(slices)
    if not slices:
        raise EmptyInput("z_space_volume_slices must contain at least one slice, got 0")
    arrays = []
    for i, s in enumerate(slices):
        a = np.asarray(s)
        if a.ndim == 2:
            a = a[..., np.newaxis]
        if a.ndim != 3 or a.shape[2] == 0:
            raise InvalidDimensions(
                f"slice {i} must be an (H, W) or (H, W, C) array with C >= 1, "
                f"got shape {np.shape(s)}"
            )
        if arrays and a.shape != arrays[0].shape:
            raise ShapeMismatch(
                f"slice {i} has shape {np.shape(s)} but slice 0 has shape "
                f"{np.shape(slices[0])}; all slices must have the same shape"
            )
        arrays.append(a)
    h, w, c = arrays[0].shape
    d = len(arrays)
    check_memory(estimate_volume_bytes(d, h, w, c), f"volume of {d} slices of {h}x{w}x{c}")
    out = np.empty((d, h, w, c), dtype=F32)
    for z, a in enumerate(arrays):
        if a.dtype in PIXEL_DTYPES:
            pixel_values(a, out=out[z])
        else:
            out[z] = a
    return out


class StackShape:
    """D, H, W and C of a (D, H, W, C) stack, for classes that define ``shape``."""

    shape: tuple[int, int, int, int]

    @property
    def depth(self) -> int:
        """Number of slices D."""
        return self.shape[0]

    @property
    def height(self) -> int:
        """Rows per slice H."""
        return self.shape[1]

    @property
    def width(self) -> int:
        """Columns per slice W."""
        return self.shape[2]

    @property
    def channels(self) -> int:
        """Channels per voxel C (1 grey, 3 RGB, 4 RGBA)."""
        return self.shape[3]
