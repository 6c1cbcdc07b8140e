"""The tiling plan of a refine-and-collapse: which bands of rows, which halos, which passes.

A projection pixel depends on a small neighbourhood of the input: the bilinear upscale reads
two source rows (its row tables), k diffusion passes reach k voxels further in X, Y and Z,
the Z interpolation works along each (y, x) column alone. So the chain can run band by band:
a band of *output* rows ``start..stop-1`` needs source rows ``first..last-1`` (what its
upscale reads), and those need the diffusion of rows ``first - k .. last - 1 + k`` (clipped to
the volume): after k passes, the rows k or more away from a band's cut edge are exactly the
whole volume's, because an error at the cut travels one row per pass. Bands span the whole
width and depth, so only rows need halos.

This module only plans (pure arithmetic, no kernels), so every backend can run the same plan
with its own kernels (:mod:`stv_cli.model.tiled` runs it through ``backend.ops()``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stv_kernels._tables import bilinear_axis

from .memory import estimate_volume_bytes
from .refine import refined_depth

#: Working set a band aims at: its diffused, interpolated and projected rows together. Small
#: enough to stay in the last-level cache of a shared machine, large enough that the per-call
#: overhead of the kernels (tens of microseconds) is noise.
BAND_BYTES = 32 * 2**20


@dataclass(frozen=True)
class Band:
    """One band of a tiled run: projection rows ``start..stop-1``, the source rows they read
    (``first..last-1``) and the rows diffused for them (``halo_first..halo_last-1``)."""

    start: int
    stop: int
    first: int
    last: int
    halo_first: int
    halo_last: int


@dataclass(frozen=True)
class TilePlan:
    """How a (D, H, W, C) volume is refined and collapsed band by band.

    ``statistics``: the weights or the outputs need the refined volume's per-slice statistics
    (``--resonance generate``, telemetry), so a first pass over the bands takes them before
    the pass that collapses.
    """

    shape: tuple[int, int, int, int]
    diffuse_iterations: int
    interpolate_passes: int
    upscale: int
    bands: tuple[Band, ...]
    statistics: bool

    @property
    def refined_shape(self) -> tuple[int, int, int, int]:
        d, h, w, c = self.shape
        return (refined_depth(d, self.interpolate_passes), h * self.upscale, w * self.upscale, c)

    def band_bytes(self) -> int:
        """The most memory one band holds at once (its working set), in bytes."""
        return max((_band_bytes(self, band) for band in self.bands), default=0)

    def rows(self, band: Band) -> tuple[int, int, int, int]:
        """The ``rows`` argument of the band kernels: ``(H, start, stop, first)``."""
        return (self.shape[1], band.start, band.stop, band.first)


def _band_bytes(plan: TilePlan, band: Band) -> int:
    d, _, w, c = plan.shape
    depth = plan.refined_shape[0]
    halo = band.halo_last - band.halo_first
    rows = band.last - band.first
    diffused = 2 * estimate_volume_bytes(d, halo, w, c) if plan.diffuse_iterations else 0
    interpolated = estimate_volume_bytes(depth, rows, w, c) * (2 if plan.interpolate_passes else 1)
    projected = estimate_volume_bytes(1, band.stop - band.start, w * plan.upscale, c)
    upscaled = 0
    if plan.statistics:  # the statistics pass holds the band's upscaled voxels
        upscaled = estimate_volume_bytes(depth, band.stop - band.start, w * plan.upscale, c)
    return diffused + interpolated + projected + upscaled


def plan_tiles(
    shape: tuple[int, ...],
    diffuse_iterations: int = 0,
    interpolate_passes: int = 0,
    upscale: int = 1,
    statistics: bool = False,
    band_bytes: int | None = None,
) -> TilePlan:
    """Cut the projection of ``shape`` (D, H, W, C) into bands of about ``band_bytes`` each
    (default :data:`BAND_BYTES`, read at call time).

    ``interpolate_passes`` counts only passes that run (0 for D <= 1 or no interpolation).
    """
    d, h, w, c = (int(v) for v in shape)
    f, k = int(upscale), int(diffuse_iterations)
    depth = refined_depth(d, interpolate_passes)
    height_out = h * f
    # what one output row costs: its source rows (1/f of one, plus the halo shared by the band),
    # interpolated, and the projected row itself
    per_source_row = estimate_volume_bytes(depth, 1, w, c) * (2 if interpolate_passes else 1)
    per_source_row += 2 * estimate_volume_bytes(d, 1, w, c) if k else 0
    per_output_row = estimate_volume_bytes(1, 1, w * f, c)
    if statistics:
        per_output_row += estimate_volume_bytes(depth, 1, w * f, c)
    per_row = per_output_row + per_source_row / f
    budget = BAND_BYTES if band_bytes is None else band_bytes
    rows_per_band = max(1, int(budget // max(per_row, 1)))
    y0, y1, _ = bilinear_axis(h, height_out) if f > 1 else (np.arange(h), np.arange(h), None)
    bands = []
    for start in range(0, height_out, rows_per_band):
        stop = min(start + rows_per_band, height_out)
        first, last = int(y0[start]), int(y1[stop - 1]) + 1
        bands.append(Band(start, stop, first, last, max(0, first - k), min(h, last + k)))
    return TilePlan((d, h, w, c), k, int(interpolate_passes), f, tuple(bands), bool(statistics))
