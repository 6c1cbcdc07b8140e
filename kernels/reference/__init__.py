"""The ``numpy`` backend: a NumPy reference of every kernel, written for clarity, not speed.

It is the oracle every other backend is tested against, and a backend of its own (``--device
numpy``). One module per kernel family, each function with the signature the kernel contract
(:mod:`stv_kernels.contract`) gives. Arithmetic is float32 in the order the semantics give
(docs/semantics.md, Part A), so the compiled kernels can match it bit for bit where the
semantics say they can; per-slice statistics and the video energies accumulate in float64 on
purpose (see :func:`slice_statistics`). Imports NumPy only.
"""

from __future__ import annotations

from .collapse import collapse_upscaled, collapse_weighted
from .decode import decode_latent
from .diffuse import diffuse, diffuse_pass
from .interpolate import interpolate_z
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
]


def availability() -> str | None:
    """Why this backend cannot run here, or None: NumPy is all it needs, so always None."""
    return None
