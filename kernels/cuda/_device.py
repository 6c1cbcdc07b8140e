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

F32 = np.float32

#: True when numba runs CUDA kernels in its simulator (``NUMBA_ENABLE_CUDASIM=1``): no GPU.
SIMULATED = bool(config.ENABLE_CUDASIM)

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


def to_device(array: np.ndarray):
    """``array`` on the device: device arrays pass through, host arrays are copied over."""
    if not isinstance(array, np.ndarray):  # a device array (the simulator has no is_cuda_array)
        return array
    return cuda.to_device(np.ascontiguousarray(array))


def finish(device_out, out: np.ndarray) -> np.ndarray:
    """Copy a kernel's device result into the host ``out`` and return ``out``."""
    device_out.copy_to_host(out)
    return out
