"""Device memory of the ``cuda`` backend: what lets a volume stay on the GPU between kernels.

Every kernel of this backend takes host (NumPy) or device arrays, and its result lives where
its input lives: a host volume in, a host array out (copied over and back, one round trip per
call); a device volume in, a device array out, with nothing copied. An ``out`` given by the
caller decides instead: a host ``out`` gets the result copied into it, a device ``out`` is
written in place. Small results (the slice statistics, the video energies, counts) always come
back to the host.

The functions here are the backend's memory protocol (:data:`stv_kernels.contract.MEMORY`),
which ``stv_cli`` uses to upload a stack once, keep device buffers across the inputs of a
batch and stage copies through page-locked host memory:

- :func:`is_device_array` tells device arrays from host ones;
- :func:`device_empty`, :func:`pinned_empty` allocate device and page-locked host memory;
- :func:`to_device`, :func:`to_host`, :func:`device_copy` copy between them;
- :func:`memory_info` gives the device's free and total bytes.

Device arrays are numba's ``DeviceNDArray``; any object with the CUDA Array Interface (CuPy,
PyTorch tensors on the GPU) is accepted as input without a copy. In numba's simulator they are
its ``FakeCUDAArray`` and "page-locked" memory is ordinary memory.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from . import _device
from ._device import SIMULATED, as_device

__all__ = [
    "device_copy",
    "device_empty",
    "is_device_array",
    "memory_info",
    "pinned_empty",
    "to_device",
    "to_host",
]


def is_device_array(array) -> bool:
    """Whether ``array`` lives on the device (a numba device array, or on a GPU any object with
    the CUDA Array Interface); NumPy arrays, page-locked ones included, live on the host."""
    return _device.is_device_array(array)


def device_empty(shape, dtype=np.float32):
    """An uninitialised C-contiguous device array of ``shape`` and ``dtype``."""
    return cuda.device_array(tuple(int(s) for s in shape), dtype=np.dtype(dtype))


def pinned_empty(shape, dtype=np.float32) -> np.ndarray:
    """An uninitialised NumPy array in page-locked host memory.

    Copies between page-locked memory and the device run at the bus's full speed (DMA, no
    intermediate copy by the driver); ordinary pageable memory is staged through a driver
    buffer first. Page-locked memory is a scarce resource: keep such buffers and reuse them.
    """
    return cuda.pinned_array(tuple(int(s) for s in shape), dtype=np.dtype(dtype))


def to_device(array, out=None):
    """``array`` on the device: a device array as it is, a host array copied over.

    With ``out`` (a device array of the same shape and dtype) the host array is copied into
    it and ``out`` is returned, so a batch can reuse one device buffer.
    """
    if is_device_array(array):
        device = as_device(array)
        if out is None:
            return device
        out.copy_to_device(device)
        return out
    host = np.ascontiguousarray(array)
    if out is None:
        return cuda.to_device(host)
    out.copy_to_device(host)
    return out


def to_host(array, out: np.ndarray | None = None) -> np.ndarray:
    """``array`` as a host NumPy array: a device array copied back (into ``out`` when given),
    a host array as it is."""
    if not is_device_array(array):
        if out is None:
            return np.asarray(array)
        out[...] = array
        return out
    device = as_device(array)
    if out is None:
        return device.copy_to_host()
    device.copy_to_host(out)
    return out


def device_copy(array, out=None):
    """A copy of the device ``array`` on the device (into ``out`` when given)."""
    device = as_device(array)
    if out is None:
        out = cuda.device_array(device.shape, dtype=device.dtype)
    out.copy_to_device(device)
    return out


def memory_info() -> tuple[int, int]:
    """``(free, total)`` bytes of the current device (the simulator reports the host's)."""
    if SIMULATED:
        import os

        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return total, total
    free, total = cuda.current_context().get_memory_info()
    return int(free), int(total)
