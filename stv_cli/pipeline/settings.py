"""The frozen settings of ``stv project``, ``stv decode`` and ``stv grid`` (no click in here).

A command turns its options into these (:mod:`stv_cli.cli.settings`) and hands them to the
pipeline; run-wide state (backend, threads, memory limit, progress) is the run context's
(:class:`stv_cli.context.RunContext`), not theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..io.axes import Selection
from ..model.refine import refined_depth

__all__ = [
    "DecodeSettings",
    "GridSettings",
    "OutputSettings",
    "ProjectSettings",
    "ProjectionSettings",
    "RefineSettings",
]


@dataclass(frozen=True)
class RefineSettings:
    """Diffuse, then interpolate along Z (``passes`` times), then upscale in XY."""

    diffuse_iterations: int = 0
    diffuse_rate: float = 0.25
    interpolate: str | None = None
    interpolate_passes: int = 1
    upscale: int = 1

    @property
    def refines(self) -> bool:
        """Whether any stage runs (diffusion, Z interpolation, upscale)."""
        return (
            self.diffuse_iterations > 0
            or self.upscale > 1
            or bool(self.interpolate and self.interpolate_passes > 0)
        )

    def stage_shapes(self, shape: tuple[int, ...]) -> list[tuple[int, int, int, int]]:
        """Shapes of the volume after each refinement stage, the input shape first."""
        d, h, w, c = shape
        shapes = [(d, h, w, c)]
        if self.diffuse_iterations > 0:
            shapes.append((d, h, w, c))
        if self.interpolate and d > 1:
            for passes in range(1, self.interpolate_passes + 1):
                shapes.append((refined_depth(d, passes), h, w, c))
            d = refined_depth(d, self.interpolate_passes)
        if self.upscale > 1:
            shapes.append((d, h * self.upscale, w * self.upscale, c))
        return shapes


@dataclass(frozen=True)
class ProjectionSettings:
    """The VisionProjector, its window, where the resonance comes from, and the views."""

    window: str = "hann"
    sigma: float = 0.4
    focus: float = 0.5
    spread: float = 0.35
    energy_bias: float = 0.0
    resonance: str = "uniform"  # "uniform", "generate" or a resonance file
    hidden_dim: int = 16
    views: Path | None = None


@dataclass(frozen=True)
class GridSettings:
    """make_grid's options (SPEC Part G)."""

    nrow: int = 8
    padding: int = 2
    pad_value: float = 0.0
    normalize: bool = False
    value_range: tuple[float, float] | None = None
    scale_each: bool = False
    keep_grey: bool = False

    def options(self) -> dict:
        """Keyword arguments of :func:`stv_cli.io.grid.make_grid`."""
        return {
            "nrow": self.nrow,
            "padding": self.padding,
            "pad_value": self.pad_value,
            "normalize": self.normalize,
            "value_range": self.value_range,
            "scale_each": self.scale_each,
            "keep_grey": self.keep_grey,
        }


@dataclass(frozen=True)
class OutputSettings:
    """Where outputs go, in which format, which extras, and what to do with existing files."""

    out: Path
    to_directory: bool = True
    image_format: str = "png"
    bit_depth: int = 8  # 8, 16 (png, tif) or 32 (float32 tif)
    compress_level: int | None = None  # PNG's zlib level; None: the writer's default
    compression: str | None = None  # TIFF's: none, zlib, zstd, lzw; None: zlib
    overwrite: bool = False
    skip_existing: bool = False
    grid: bool = False
    weights: bool = False
    weights_plot: bool = False
    telemetry: bool = False
    save_volume: bool = False
    #: when the batch began (time.time()), for batches whose inputs may run twice (a Dask
    #: cluster retries an input whose worker died): outputs written since then are its own
    batch_started: float | None = None
    #: ``-o`` with ``{name}``, ``{stem}``, ``{parent}``, ``{index}``: resolved per input
    #: (:func:`stv_cli.pipeline.outputs.resolve_template`); ``out`` is then unused
    template: str | None = None
    #: each input's position in the full list (text of the input -> index), for ``{index}``
    indices: tuple[tuple[str, int], ...] = ()
    volume_format: str = "npy"  # of save_volume: npy, zarr or tif


@dataclass(frozen=True)
class ProjectSettings:
    """Everything ``stv project`` needs for one input."""

    output: OutputSettings
    refine: RefineSettings = field(default_factory=RefineSettings)
    projection: ProjectionSettings = field(default_factory=ProjectionSettings)
    grid: GridSettings = field(default_factory=GridSettings)
    #: what to read from TIFF and Zarr stacks (timepoint, channels, level, value range)
    selection: Selection = field(default_factory=Selection)
    #: refine and collapse band by band when no output needs the refined volume (--no-tiles)
    tiles: bool = True


@dataclass(frozen=True)
class DecodeSettings:
    """Everything ``stv decode`` needs for one latent file."""

    output: OutputSettings
    depth: int = 8
    height: int = 64
    width: int = 64
    seed: int = 0
    value_range: tuple[float, float] = (-1.0, 1.0)
    refine: RefineSettings = field(default_factory=RefineSettings)
    projection: ProjectionSettings = field(default_factory=ProjectionSettings)
    grid: GridSettings = field(default_factory=GridSettings)
