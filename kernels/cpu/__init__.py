"""The ``cpu`` backend: numba ``@njit(parallel=True)`` kernels, one module per kernel family.

Every function has the signature the kernel contract gives (:mod:`stv_kernels.contract`) and
the numbers of its twin in :mod:`stv_kernels.reference`. Importing this package imports numba
and loads the kernels, compiled on first use or read from numba's on-disk cache
(``cache=True``, in each module's ``__pycache__``).
"""

from __future__ import annotations

from pathlib import Path

import numba

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
    "facts",
    "max_threads",
    "set_threads",
]


def max_threads() -> int:
    """The most threads numba may use here (``NUMBA_NUM_THREADS``, usually the cores)."""
    return numba.config.NUMBA_NUM_THREADS


def set_threads(threads: int) -> int:
    """Set numba's thread count for the calling thread (numba keeps it per thread); return the
    previous count."""
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    return previous


def facts() -> dict:
    """What ``stv info`` reports of this backend: numba's version, threads and kernel cache."""
    cache = numba.config.CACHE_DIR or str(Path(__file__).resolve().parent / "__pycache__")
    return {
        "numba": numba.__version__,
        "threads": numba.config.NUMBA_NUM_THREADS,
        "threading_layer": numba.config.THREADING_LAYER,
        "numba_cache": cache,
    }


def availability() -> str | None:
    """Why this backend cannot run here, or None. Importing it imported numba, so: None."""
    return None
