"""Where voxels live: host memory (NumPy) or the memory of a GPU backend's device.

A volume normally lives on the host. With a backend whose kernels take device arrays (``cuda``,
:func:`stv_cli.backend.device_memory`), the pipeline uploads a stack once and keeps every stage
on the device; the model's public methods still hand back NumPy arrays unless the caller asks
for device arrays. This module is the one place that tells the two apart and moves data
between them, so the model's classes do not ask which backend is in force.
"""

from __future__ import annotations

import numpy as np

from ..backend import device_memory
from ..errors import InvalidDimensions, InvalidValue

F32 = np.float32


def on_device(array) -> bool:
    """Whether ``array`` is a device array (numba's, or any CUDA Array Interface object)."""
    if isinstance(array, np.ndarray):
        return False
    return hasattr(array, "copy_to_host") or hasattr(array, "__cuda_array_interface__")


def host(array) -> np.ndarray:
    """``array`` on the host: a NumPy array as it is, a device array copied back."""
    if not on_device(array):
        return array
    memory = device_memory()
    return memory.to_host(array) if memory is not None else array.copy_to_host()


def for_kernels(array):
    """``array`` as the backend in force can take it: a device array stays one when the backend
    keeps device memory, and comes back to the host for a host-only backend."""
    if on_device(array) and device_memory() is None:
        return host(array)
    return array


def _memory(what: str):
    memory = device_memory()
    if memory is None:
        from ..backend import get_backend

        raise InvalidValue(
            f"{what} needs a backend with device memory (a GPU); the backend in force is "
            f"{get_backend()!r}: use stv_cli.use_backend('cuda') or --device cuda"
        )
    return memory


def upload(array, out=None):
    """A host array copied to the device (into the device buffer ``out`` when given)."""
    return _memory("moving voxels to a GPU").to_device(array, out=out)


def upload_empty(shape: tuple[int, ...], dtype=F32):
    """A new uninitialised device array (a backend with device memory must be in force)."""
    return _memory("a buffer on a GPU").device_empty(shape, dtype)


def empty(shape: tuple[int, ...], like=None, dtype=F32):
    """A new uninitialised array of ``shape``, where ``like`` lives: on the device when
    ``like`` is a device array and the backend in force keeps device memory, else on the host."""
    if like is not None and on_device(like):
        memory = device_memory()
        if memory is not None:
            return memory.device_empty(shape, dtype)
    return np.empty(shape, dtype=dtype)


def copy(array):
    """An independent copy of ``array``, where it lives."""
    if on_device(array):
        memory = device_memory()
        if memory is not None:
            return memory.device_copy(array)
        return host(array)
    return array.copy()


def adopt_frame(array):
    """A device frame as the backend's device array (CUDA Array Interface objects become
    numba's without a copy), C-contiguous; its shape and dtype are the caller's to check."""
    array = _memory("a frame on a GPU").to_device(array)
    if not array.is_c_contiguous():
        raise InvalidValue("a frame on a GPU must be a C-contiguous device array")
    return array


def adopt_device(array, what: str = "voxels"):
    """A device volume array checked as the constructor checks host ones: float32, 3-D or 4-D
    (a 3-D one viewed as (D, H, W, 1)), C-contiguous, no dimension 0. Never copied."""
    memory = _memory("a volume on a GPU")
    array = memory.to_device(array)  # CUDA Array Interface objects become numba's, no copy
    shape = tuple(array.shape)
    if array.ndim == 3:
        array = array.reshape(*shape, 1)
        shape = (*shape, 1)
    if len(shape) != 4:
        raise InvalidDimensions(f"{what} must be a (D, H, W) or (D, H, W, C) array, got {shape}")
    if 0 in shape:
        raise InvalidDimensions(f"volume dimensions (D, H, W, C) must all be >= 1, got {shape}")
    if array.dtype != F32 or not array.is_c_contiguous():
        raise InvalidValue(
            f"{what} on a GPU must be a C-contiguous float32 device array, got {array.dtype}; "
            "convert it on the device first (a device array is never converted behind your back)"
        )
    return array
