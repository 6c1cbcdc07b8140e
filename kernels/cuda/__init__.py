"""The ``cuda`` backend: numba.cuda kernels on an NVIDIA GPU, one module per kernel family.

Every function has the signature the kernel contract gives (:mod:`stv_kernels.contract`) and
the numbers of its twin in :mod:`stv_kernels.reference`: bit for bit for the collapse, Z
interpolation, upscale, diffusion, the video EMAs and the decoder (whose draws are integers and
whose float steps, ``tanh`` included, are written once for the CPU and the GPU,
:mod:`stv_kernels._exact_math`); to ~1e-7 relative for the float64 sums of the statistics and
energies. Functions take host (NumPy) or device arrays: the result lives where the input (or the
``out`` given) lives, so a volume on the device stays there from kernel to kernel; a host
volume is copied over and back per call. :mod:`.memory` is the backend's device memory
protocol (device and page-locked buffers, copies). Kernels use grid-stride loops; their launch
sizes are in :mod:`.launch`.

Needs numba-cuda (``pip install 'stv-cli[cuda]'``) and an NVIDIA driver and GPU, or numba's
CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, for tests: it runs the kernels as Python, slowly,
and ``auto`` never picks it).
"""

from __future__ import annotations

from numba import cuda

from ._device import SIMULATED
from .collapse import collapse_upscaled, collapse_weighted
from .decode import decode_latent
from .diffuse import diffuse, diffuse_pass
from .interpolate import interpolate_z
from .memory import (
    device_copy,
    device_empty,
    is_device_array,
    memory_info,
    pinned_empty,
    to_device,
    to_host,
)
from .pixels import collapse_pixels, collapse_scaled, quantise
from .stats import slice_statistics
from .upscale import upscale_bilinear
from .video_frame import count_nonfinite, motion_ema_step, motion_slice_step, ring_store

__all__ = [
    "collapse_pixels",
    "collapse_scaled",
    "collapse_upscaled",
    "collapse_weighted",
    "count_nonfinite",
    "decode_latent",
    "diffuse",
    "diffuse_pass",
    "interpolate_z",
    "motion_ema_step",
    "motion_slice_step",
    "quantise",
    "ring_store",
    "slice_statistics",
    "upscale_bilinear",
    "device_copy",
    "device_empty",
    "is_device_array",
    "memory_info",
    "pinned_empty",
    "to_device",
    "to_host",
    "availability",
    "facts",
    "simulated",
]


def simulated() -> bool:
    """Whether the kernels run in numba's CUDA simulator (no GPU; never picked by ``auto``)."""
    return SIMULATED


def availability() -> str | None:
    """Why this backend cannot run here (no driver, no device), or None when it can."""
    if SIMULATED:
        return None
    try:
        if cuda.is_available():
            return None
        cuda.detect()  # says why on a machine with a driver but no usable device
    except Exception as error:  # noqa: BLE001 - any driver failure is a reason, not a crash
        return f"CUDA is not usable here: {str(error).strip().splitlines()[0]}"
    return "CUDA is not usable here: no CUDA device found"


def facts() -> dict:
    """What ``stv info`` reports of the GPU: name, compute capability, memory, versions."""
    if SIMULATED:
        return {"gpu": "numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1), no GPU"}
    from numba.cuda.cudadrv import driver, runtime

    device = cuda.get_current_device()
    free, total = cuda.current_context().get_memory_info()
    return {
        "gpu": device.name.decode() if isinstance(device.name, bytes) else str(device.name),
        "compute_capability": ".".join(map(str, device.compute_capability)),
        "gpu_memory": f"{total / 2**30:.1f} GiB ({free / 2**30:.1f} GiB free)",
        "cuda_driver": ".".join(map(str, driver.get_version())),
        "cuda_runtime": ".".join(map(str, runtime.get_version())),
    }
