"""ZDiffuser: Jacobi smoothing over the 6-neighbourhood, across Z as well as XY (SPEC A.5)."""

from __future__ import annotations

import numpy as np

from ..backend import ops
from . import placement
from .floats import F32, clamp, finite_f32, integer_at_least
from .memory import check_memory, estimate_volume_bytes
from .volume import ZSpaceVolume

#: The rate used when the one given is not finite (SPEC A.5, A.16).
DEFAULT_DIFFUSION_RATE = 0.25


class ZDiffuser:
    """Diffuses a volume: each pass moves every voxel toward the mean of its neighbours.

    Parameters
    ----------
    iterations
        Number of passes (diffusion_iterations); 0 leaves the volume unchanged.
    rate
        Fraction of the neighbour average mixed in per pass: ``new = v (1 - rate) + avg rate``.
        Clamped to [0, 1]; NaN or +-inf fall back to 0.25 (no error, as in the reference).

    Raises
    ------
    InvalidValue
        If ``iterations`` is not an integer >= 0.
    """

    def __init__(self, iterations: int, rate: float) -> None:
        self._iterations = integer_at_least(iterations, "diffusion_iterations", 0)
        rate32 = finite_f32(rate)  # finite as a float32: 1e39 is inf and falls back too
        self._rate = F32(DEFAULT_DIFFUSION_RATE) if rate32 is None else clamp(rate32, 0.0, 1.0)

    @property
    def iterations(self) -> int:
        """Number of passes."""
        return self._iterations

    @property
    def rate(self) -> float:
        """The rate in force (after clamping/fallback)."""
        return float(self._rate)

    def diffuse(self, volume: ZSpaceVolume, out: np.ndarray | None = None) -> ZSpaceVolume:
        """Return a diffused copy of ``volume``.

        Neighbours are x-1, x+1, y-1, y+1, z-1, z+1 without wrap; missing ones are left out of
        the average. Every channel diffuses independently (D1). Allocates the output; the
        kernel may hold one more volume-sized buffer between passes. ``out`` (C-contiguous
        float32 of the volume's shape) receives the result instead, and the returned volume
        adopts it. ``iterations = 0`` returns a copy.

        Raises
        ------
        InvalidDimensions
            If output and scratch would exceed the memory limit
            (:func:`stv_cli.model.memory.check_memory`).
        """
        d, h, w, c = volume.shape
        if self._iterations == 0 or 0 in volume.shape:
            return volume.copy()
        check_memory(
            2 * estimate_volume_bytes(d, h, w, c), f"diffusion of a volume of shape {volume.shape}"
        )
        voxels = volume.stored_voxels  # a device volume is diffused on the device
        if out is None:
            out = placement.empty(volume.shape, like=voxels)
        ops().diffuse(voxels, self._iterations, self._rate, out=out)
        return ZSpaceVolume._wrap(out)

    def __repr__(self) -> str:
        return f"ZDiffuser(iterations={self.iterations}, rate={self.rate})"
