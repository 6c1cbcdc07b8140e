"""What every CUDA kernel module shares: numba.cuda, the simulator switch, exact float ops.

NVVM contracts ``a * b + c`` into a fused multiply-add even without fastmath, which rounds once
where the reference rounds twice. Where the order of float32 operations is part of the
semantics (collapse, interpolation, upscale, diffusion, the video EMAs), the kernels multiply
and add through :func:`mul` and :func:`add`: libdevice's ``__nv_fmul_rn`` / ``__nv_fadd_rn``
on a GPU, which are never contracted; plain operators in numba's CUDA simulator (which runs the
kernels as Python and has no libdevice), where nothing is contracted either. ``dmul``/``dadd``
are the float64 twins.
"""

from __future__ import annotations

import numpy as np
from numba import cuda
from numba.cuda.core import config

from .. import _checks

F32 = np.float32

#: True when numba runs CUDA kernels in its simulator (``NUMBA_ENABLE_CUDASIM=1``): no GPU.
SIMULATED = bool(config.ENABLE_CUDASIM)

if SIMULATED:
    from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray
else:
    from numba.cuda.cudadrv.devicearray import DeviceNDArray

if SIMULATED:

    @cuda.jit(device=True, inline=True)
    def mul(a, b):
        return a * b

    @cuda.jit(device=True, inline=True)
    def add(a, b):
        return a + b

    @cuda.jit(device=True, inline=True)
    def dmul(a, b):
        return a * b

    @cuda.jit(device=True, inline=True)
    def dadd(a, b):
        return a + b

else:
    from numba.cuda import libdevice

    @cuda.jit(device=True, inline=True)
    def mul(a, b):
        return libdevice.fmul_rn(a, b)

    @cuda.jit(device=True, inline=True)
    def add(a, b):
        return libdevice.fadd_rn(a, b)

    @cuda.jit(device=True, inline=True)
    def dmul(a, b):
        return libdevice.dmul_rn(a, b)

    @cuda.jit(device=True, inline=True)
    def dadd(a, b):
        return libdevice.dadd_rn(a, b)


@cuda.jit(device=True, inline=True)
def sub(a, b):
    # a - b is a + (-b): negation is exact, so this is the one rounding of the subtraction
    return add(a, -b)


def is_device_array(array) -> bool:
    """Whether ``array`` lives on the device: numba's device arrays, and on a GPU anything with
    the CUDA Array Interface (CuPy arrays, PyTorch CUDA tensors)."""
    if isinstance(array, np.ndarray):
        return False
    if SIMULATED:
        return isinstance(array, FakeCUDAArray)
    return cuda.is_cuda_array(array)


def as_device(array):
    """A device array as numba's device array (zero-copy for CUDA Array Interface objects)."""
    if SIMULATED or isinstance(array, DeviceNDArray):
        return array
    return cuda.as_cuda_array(array)


def to_device(array: np.ndarray):
    """``array`` on the device: device arrays pass through, host arrays are copied over."""
    if is_device_array(array):
        return as_device(array)
    return cuda.to_device(np.ascontiguousarray(array))


def device_input(array, name: str, ndim: int | None, dtypes: tuple = (F32,)):
    """A device argument checked as the host checks check theirs: ``ndim`` dimensions, one of
    ``dtypes``, C-contiguous (a device array is never converted: that would be a hidden copy)."""
    array = as_device(array)
    kinds = " or ".join(str(np.dtype(t)) for t in dtypes)
    if (
        (ndim is not None and array.ndim != ndim)
        or array.dtype not in tuple(np.dtype(t) for t in dtypes)
        or not array.is_c_contiguous()
    ):
        dims = "" if ndim is None else f"{ndim}-D "
        raise ValueError(
            f"{name} must be a C-contiguous {kinds} {dims}device array, got {array.dtype} "
            f"{tuple(array.shape)}"
        )
    return array


def output(out, shape: tuple[int, ...], on_device: bool, dtype=F32, dtypes: tuple = (F32,)):
    """Where a kernel writes and what its caller gets back: ``(device_out, result)``.

    The result lives where ``out`` lives when it is given (a device ``out`` is written in place;
    a host ``out`` receives a copy), else where the input lives (``on_device``). Host ``out``
    arrays are checked by the caller's host rules before this; ``dtypes`` are those a device
    ``out`` may have (``dtype`` is what is allocated when ``out`` is None).
    """
    shape = tuple(int(s) for s in shape)
    if out is None:
        device_out = cuda.device_array(shape, dtype=dtype)
        return device_out, (device_out if on_device else np.empty(shape, dtype=dtype))
    if is_device_array(out):
        out = device_input(out, "out", len(shape), dtypes)
        if tuple(out.shape) != shape:
            raise ValueError(f"out must have shape {shape}, got {tuple(out.shape)}")
        return out, out
    if dtypes == (F32,):
        out = _checks.check_out(out, shape)
    return cuda.device_array(shape, dtype=out.dtype), out


def separate(device_in, device_out):
    """``device_in``, or a device copy of it when it may share memory with ``device_out``
    (every kernel reads voxels while it writes others: an overlapping out would corrupt it)."""
    if device_in is not device_out and not may_overlap(device_in, device_out):
        return device_in
    copy = cuda.device_array(device_in.shape, dtype=device_in.dtype)
    copy.copy_to_device(device_in)
    return copy


def finish(device_out, result):
    """Copy a kernel's device result into the host ``result`` (nothing when it is the device
    array itself) and return ``result``."""
    if result is not device_out:
        device_out.copy_to_host(result)
    return result


def may_overlap(a, b) -> bool:
    """Whether two device arrays may share memory (their allocations' extents intersect)."""
    if SIMULATED:
        return np.may_share_memory(np.asarray(a._ary), np.asarray(b._ary))
    from numba.cuda.cudadrv.driver import device_extents

    a_start, a_end = device_extents(as_device(a))
    b_start, b_end = device_extents(as_device(b))
    return a_start < b_end and b_start < a_end


def volume_input(vol, name: str = "volume"):
    """``(volume, on_device)``: a device volume checked (C-contiguous float32, 4-D), or a host
    one checked and converted as every backend does (:func:`stv_kernels._checks.check_volume`)."""
    if is_device_array(vol):
        return device_input(vol, name, 4), True
    return _checks.check_volume(vol, name), False
