"""The frozen settings of ``stv video`` and what a clip's run reports (no click in here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidValue
from ..model.refine import refined_depth
from ..pipeline.settings import GridSettings, ProjectionSettings

SUPER_RESOLUTION_METHODS = ("nearest", "linear", "cubic")

#: ``progress(frames_done, total)``, called after each frame (total may be None).
Progress = Callable[[int, "int | None"], None]


@dataclass(frozen=True)
class StreamSettings:
    """The per-frame model: ring depth, stream projector, refinement, calibration, cuts."""

    depth: int = 4
    temporal_alpha: float = 0.35  # new-frame weight of the weight EMA (the reference's "decay")
    calibrate: bool = True
    diffuse_iterations: int = 0
    diffuse_rate: float = 0.25
    super_resolution: tuple[str, int] | None = None
    scene_cut: float | None = None
    motion_gain: float = 1.0
    projection: ProjectionSettings = field(default_factory=ProjectionSettings)

    @property
    def refined_depth(self) -> int:
        """Depth after refinement: super-resolution always interpolates (D -> 2D - 1)."""
        return refined_depth(self.depth, 1) if self.super_resolution else self.depth


@dataclass(frozen=True)
class VideoOutputSettings:
    """Where a clip's outputs go and how they are encoded."""

    out: Path = Path(".")
    to_directory: bool = True
    codec: str = "libx264"
    crf: int = 23
    preset: str | None = None
    frames: str | None = None
    contact_sheet: str | None = None
    long_exposure: str | None = None
    telemetry: str | None = None
    image_format: str = "png"
    bit_depth: int = 8
    compress_level: int | None = None
    every: int | None = None
    max_cells: int = 64
    exposure_alpha: float | None = None  # None: the running mean of every frame
    grid: GridSettings = field(default_factory=GridSettings)
    overwrite: bool = False
    skip_existing: bool = False
    #: when a batch whose clips may run twice began (a Dask worker lost mid-clip): outputs
    #: written since then are its own (stv_cli.pipeline.outputs.claim_outputs)
    batch_started: float | None = None


@dataclass(frozen=True)
class VideoSettings:
    """Everything ``stv video`` needs for one clip."""

    stream: StreamSettings = field(default_factory=StreamSettings)
    output: VideoOutputSettings = field(default_factory=VideoOutputSettings)
    frames_in: bool = False
    fps: float = 30.0  # frame rate of a folder of frames
    queue_size: int = 4


@dataclass
class ClipResult:
    """What ``run_clip`` did: paths written, frames, frame rate, scene cuts, notes."""

    outputs: list[Path]
    frames: int
    fps: float
    resets: list[int]
    notes: list[str]
    seconds: float


def parse_super_resolution(text: str | None) -> tuple[str, int] | None:
    """``METHOD:FACTOR`` (e.g. ``cubic:2``) -> (method, factor); None or "" -> None."""
    if not text:
        return None
    method, _, factor = text.partition(":")
    method = method.strip().lower()
    if method not in SUPER_RESOLUTION_METHODS or not factor.strip().isdigit():
        raise InvalidValue(
            f"super_resolution must be METHOD:FACTOR with METHOD in "
            f"{'|'.join(SUPER_RESOLUTION_METHODS)} and FACTOR an integer >= 1, got {text!r}"
        )
    if int(factor) < 1:
        raise InvalidValue(f"super_resolution FACTOR must be >= 1, got {text!r}")
    return method, int(factor)
