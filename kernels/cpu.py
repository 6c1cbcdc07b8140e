"""The ``cpu`` backend: numba kernels with the signatures of :mod:`stv_kernels.reference`.

Each kernel family lives in its own module (collapse, interpolate, upscale, diffuse, stats);
this facade re-exports them, with the validation helpers of the reference (written once, used
by both backends). Importing it imports numba and loads the kernels, compiled on first use or
from the on-disk cache (``cache=True``, in ``kernels/__pycache__``).
"""

from __future__ import annotations

from .collapse import collapse_weighted
from .decode import decode_latent
from .diffuse import diffuse, diffuse_pass
from .interpolate import interpolate_z
from .pixel_collapse import collapse_pixels, quantise
from .reference import (
    INTERPOLATION_CODES,
    bilinear_axis,
    check_out,
    check_volume,
    interpolation_code,
)
from .stats import slice_statistics
from .upscale import upscale_bilinear
from .video_frame import count_nonfinite, motion_ema_step, motion_slice_step, ring_store

__all__ = [
    "INTERPOLATION_CODES",
    "bilinear_axis",
    "check_out",
    "check_volume",
    "collapse_pixels",
    "collapse_weighted",
    "count_nonfinite",
    "decode_latent",
    "diffuse",
    "diffuse_pass",
    "interpolate_z",
    "interpolation_code",
    "motion_ema_step",
    "motion_slice_step",
    "quantise",
    "ring_store",
    "slice_statistics",
    "upscale_bilinear",
]
