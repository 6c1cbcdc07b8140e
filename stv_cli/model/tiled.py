"""Refine and collapse a volume band by band, never holding the refined volume.

:class:`TiledChain` runs a :class:`~stv_cli.model.tiles.TilePlan` with the kernels of the
backend in force: per band, diffuse the band's rows with their halo, keep the rows the band
reads, interpolate them along Z, then ``collapse_upscaled`` makes the band's projection rows,
upscaling each voxel as it sums it. Each voxel goes through the operations of the
materialised chain (:func:`stv_cli.pipeline.stages.refine` then the collapse) in the same
order, so the picture is bit for bit the materialised one.

Where the weights or the outputs need the refined volume's per-slice statistics
(``--resonance generate``, telemetry), :meth:`TiledChain.statistics` takes them in a first
pass (a second for the two-pass std): each band's upscaled rows are made, summed per slice in
float64 and dropped. The sums add the bands in another order than the whole-volume kernel, so
the statistics agree with the materialised ones to ~1e-7 relative (float64 sums rounded to
float32), not bit for bit; a picture whose weights come from them agrees to 1e-6.
"""

from __future__ import annotations

import numpy as np

from ..backend import ops
from .floats import F32
from .resonance import resonance_weights
from .telemetry import ZSliceProfile
from .tiles import Band, TilePlan

F64 = np.float64


class RefinedShape:
    """What the weights need of the refined volume when it is never made: its shape."""

    def __init__(self, shape: tuple[int, int, int, int]) -> None:
        self.shape = tuple(int(v) for v in shape)

    depth = property(lambda self: self.shape[0])
    height = property(lambda self: self.shape[1])
    width = property(lambda self: self.shape[2])
    channels = property(lambda self: self.shape[3])

    def resonance_weights(self, resonance) -> np.ndarray:
        """:meth:`ZSpaceVolume.resonance_weights` (it depends on the depth alone)."""
        return resonance_weights(resonance, self.depth)


class TiledChain:
    """The refine-and-collapse of ``voxels`` (a host (D, H, W, C) float32 array) by ``plan``.

    ``rate`` is the diffuser's rate (clamped, as :class:`~stv_cli.ZDiffuser` holds it) and
    ``method`` the interpolation method's name.
    """

    def __init__(self, voxels: np.ndarray, plan: TilePlan, rate, method: str | None) -> None:
        if tuple(voxels.shape) != plan.shape:
            raise ValueError(f"the plan is for shape {plan.shape}, the volume is {voxels.shape}")
        self.voxels, self.plan = voxels, plan
        self.rate = F32(rate)
        self.method = method
        self._buffers: dict[str, np.ndarray] = {}

    @property
    def refined(self) -> RefinedShape:
        return RefinedShape(self.plan.refined_shape)

    def _buffer(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A C-contiguous float32 array of ``shape`` in the chain's buffer ``name``, reused from
        band to band (grown when a band needs more): fresh pages each band would cost a page
        fault per 4 KiB, which made the bands twice as slow."""
        size = int(np.prod(shape))
        flat = self._buffers.get(name)
        if flat is None or flat.size < size:
            flat = self._buffers[name] = np.empty(size, dtype=F32)
        return flat[:size].reshape(shape)

    def band(self, band: Band) -> np.ndarray:
        """The band's source rows diffused and interpolated (not yet upscaled)."""
        kernels, plan = ops(), self.plan
        d, _, w, c = plan.shape
        if plan.diffuse_iterations:
            halo = self._buffer("halo", (d, band.halo_last - band.halo_first, w, c))
            np.copyto(halo, self.voxels[:, band.halo_first : band.halo_last])
            diffused = self._buffer("diffused", halo.shape)
            kernels.diffuse(halo, plan.diffuse_iterations, self.rate, out=diffused)
            offset = band.first - band.halo_first
            rows = diffused[:, offset : offset + band.last - band.first]
        else:
            rows = self.voxels[:, band.first : band.last]
        source = self._buffer("rows", (d, band.last - band.first, w, c))
        np.copyto(source, rows)
        for k in range(plan.interpolate_passes):
            dense = self._buffer(f"pass{k % 2}", (2 * source.shape[0] - 1, *source.shape[1:]))
            source = kernels.interpolate_z(source, self.method, out=dense)
        return source

    def collapse(
        self, weights, out: np.ndarray | None = None, progress=None, slices=None, accumulate=False
    ) -> np.ndarray:
        """The projection with ``weights`` (one per refined slice): band by band into ``out``
        (a float32 (H', W', C) array, allocated when None). ``progress(n)`` after each band.

        ``slices`` = ``(r0, r1)``: only the refined slices ``r0..r1-1`` are summed (``weights``
        then holds their weights), continuing from ``out`` with ``accumulate``: a stack
        streamed in windows of slices adds each window's own slices in z order.
        """
        kernels, plan = ops(), self.plan
        depth, height, width, channels = plan.refined_shape
        if out is None:
            out = np.empty((height, width, channels), dtype=F32)
        r0, r1 = (0, depth) if slices is None else slices
        weights = np.ascontiguousarray(weights, dtype=F32)
        for band in plan.bands:
            kernels.collapse_upscaled(
                self.band(band)[r0:r1],
                plan.upscale,
                weights,
                rows=plan.rows(band),
                out=out[band.start : band.stop],
                accumulate=accumulate,
            )
            if progress is not None:
                progress(1)
        return out

    def _upscaled(self, band: Band, r0: int, r1: int) -> np.ndarray:
        source = np.ascontiguousarray(self.band(band)[r0:r1])
        return ops().upscale_bilinear(source, self.plan.upscale, rows=self.plan.rows(band))

    def statistics(self, two_pass: bool = False, progress=None, slices=None) -> dict:
        """Per-slice ``mean``, ``std`` (two-pass, when asked: one more pass), ``std_one_pass``,
        ``energy`` and ``abs_mean`` of the refined volume, as ``slice_statistics`` gives them
        (float64 sums, the spec's NaN rule), from passes over the bands; of the refined slices
        ``r0..r1-1`` only with ``slices`` = ``(r0, r1)`` (a window of a streamed stack: each
        slice's statistics need that slice alone)."""
        full, height, width, channels = self.plan.refined_shape
        r0, r1 = (0, full) if slices is None else slices
        depth = r1 - r0
        n = height * width * channels
        sums = np.zeros((3, depth), dtype=F64)
        for band in self.plan.bands:
            block = self._upscaled(band, r0, r1)
            for z in range(depth):
                values = block[z].astype(F64).reshape(-1)
                sums[0, z] += values.sum()
                sums[1, z] += values @ values
                sums[2, z] += np.abs(values).sum()
            if progress is not None:
                progress(1)
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN; NaN gives 0
            mean, energy = sums[0] / n, sums[1] / n
            result = {
                "mean": mean.astype(F32),
                "energy": energy.astype(F32),
                "abs_mean": (sums[2] / n).astype(F32),
                "std_one_pass": np.sqrt(np.fmax(energy - mean * mean, 0.0)).astype(F32),
            }
            if two_pass:
                deviations = np.zeros(depth, dtype=F64)
                for band in self.plan.bands:
                    block = self._upscaled(band, r0, r1)
                    for z in range(depth):
                        values = block[z].astype(F64).reshape(-1) - mean[z]
                        deviations[z] += values @ values
                    if progress is not None:
                        progress(1)
                result["std"] = np.sqrt(np.fmax(deviations / n, 0.0)).astype(F32)
        return result

    @staticmethod
    def profile(statistics: dict[str, np.ndarray], two_pass: bool) -> ZSliceProfile:
        """The ZSliceProfile of :meth:`statistics`: ``profile()`` (two-pass std) or
        ``slice_profile()`` (one-pass)."""
        std = statistics["std"] if two_pass else statistics["std_one_pass"]
        return ZSliceProfile(statistics["mean"], std, statistics["energy"])
