"""The work behind ``stv video``, one clip at a time (no click in here).

Per frame (issue 5): decode lazily (``video_io``, its own thread) -> ``VideoPipeline.push``
gives the telemetry, chrono snapshot and atlas (SPEC A.14) -> the frame joins the ring of the
last ``depth`` frames, oldest at z = 0 (Z = time) -> ``VideoStreamProjector.step`` over that
volume with the chrono and atlas (SPEC A.12) -> the projection is the output frame, encoded on
the writer's thread. A motion energy above ``scene_cut`` clears the ring and the projector's
temporal state first (the pipeline's telemetry runs on, so it stays the library's).

``StreamingProjection`` is that per-frame model on its own (frames in, projections out, no
files); ``ClipSinks`` (:mod:`stv_cli.video_outputs`) are the outputs; ``run_clip`` joins them
for one clip.

Memory does not grow with the clip: the reader and writer queues are bounded, the ring holds
``depth`` frames, the contact sheet keeps at most ``max_cells`` frames, the long exposure is
one running frame and the telemetry is streamed to its file row by row.

Output naming (``name`` is the clip's stem or the frames folder's name):

==============  ========================  ==============================================
output          ``-o DIR``                ``-o FILE.mp4`` (one clip)
==============  ========================  ==============================================
video           DIR/name.mp4 (.webm ...)  FILE.mp4
frames          ``--frames PATH``: a folder of 000000.png, 000001.png, ...
contact sheet   ``--contact-sheet PATH``  (an image file)
long exposure   ``--long-exposure PATH``  (an image file)
telemetry       ``--telemetry PATH``      (.csv or .json: one row per frame)
==============  ========================  ==============================================

In the ``--frames``, ``--contact-sheet``, ``--long-exposure`` and ``--telemetry`` paths,
``{name}`` stands for the clip's name (required when there are several clips).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputError, InvalidValue, StvError
from .frame_ring import FrameRing
from .pipeline import GridSettings, ProjectionSettings
from .pipeline_outputs import claim_outputs
from .pixel_volume import PIXEL_DTYPES, PixelVolume
from .video_outputs import METRICS, ClipSinks, metric, open_temporaries, plan_outputs

F32 = np.float32
SUPER_RESOLUTION_METHODS = ("nearest", "linear", "cubic")

Progress = Callable[[int, "int | None"], None]


# ------------------------------------------------------------------------------ settings


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
        return 2 * self.depth - 1 if self.super_resolution else self.depth


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


# -------------------------------------------------------------------------- the model


def make_pipeline(stream: StreamSettings):
    """The library's VideoPipeline with stv's defaults and ``motion_gain``, keeping the image
    slice of a pixel clip as means (``keep_image_slice=False``): nothing here reads its voxels."""
    from .video_pipeline import VideoPipeline, VideoPipelineConfig

    config = VideoPipelineConfig(motion_gain=stream.motion_gain)
    return VideoPipeline(config, keep_image_slice=False)  # stv reads only its telemetry


def make_stream_projector(stream: StreamSettings):
    """The VideoStreamProjector of ``stream``: generator steps = the refined ring depth."""
    from .diffuser import ZDiffuser
    from .generator import ResonanceGenerator
    from .pipeline import make_projector
    from .stream import VideoStreamProjector

    generator = ResonanceGenerator("stv-video", stream.projection.hidden_dim, stream.refined_depth)
    projector = VideoStreamProjector(
        make_projector(stream.projection), generator, stream.temporal_alpha
    )
    if stream.diffuse_iterations > 0:
        projector = projector.with_diffuser(
            ZDiffuser(stream.diffuse_iterations, stream.diffuse_rate)
        )
    if stream.super_resolution:
        projector = projector.with_super_resolution(*stream.super_resolution)
    return projector


def load_kernels(stream: StreamSettings) -> None:
    """Load the per-frame kernels of the backend in force, once per process.

    numba's first call in a process costs 0.1-0.3 s: its LLVM set-up and reading the on-disk
    cache (more where SciPy is installed, which numba imports to look for a BLAS). ``stv
    video`` pays it here, before its first clip, so that each clip's own time (``stv video
    -v`` prints it) is the clip's; a tiny two-frame run of ``stream``'s model loads the very
    specialisations an 8-bit clip uses.
    """
    from .backend import ops

    model = StreamingProjection(stream, "kernels")
    for index in range(2):
        model.push(np.zeros((2, 2, 3), np.uint8), index / 30.0)
    ops().quantise(np.zeros((2, 2, 3), F32), np.uint8)


# ------------------------------------------------------------------------------- a clip


class StreamingProjection:
    """The per-frame model without any files: pipeline, frame ring, stream projector.

    ``push(image, timestamp)`` returns ``(projection, pipeline_output, reset)``; a library
    user can drive it with frames from anywhere. A frame is float32 (H, W, C), or uint8/uint16
    pixels standing for ``pixels / (2**bits - 1)`` (what the readers decode): those stay
    pixels all the way to the collapse, with a quarter of the memory traffic, and telemetry
    and projections within ~1e-7 of their float values' (the pipeline keeps a pixel clip's
    image slice as means, the ring's statistics are the pixels' exact moments, and the
    collapse divides the weights by 255 instead of every pixel). Raises InputError on a frame
    of a new size or kind.
    """

    def __init__(self, stream: StreamSettings, name: str = "clip") -> None:
        self.stream, self.name = stream, name
        self.pipeline = make_pipeline(stream)
        self.projector = make_stream_projector(stream)
        #: whether frames are refined (diffused, interpolated, upscaled) before the collapse
        self.refines = stream.diffuse_iterations > 0 or stream.super_resolution is not None
        self.resets: list[int] = []
        self._ring: FrameRing | None = None
        self._shape: tuple[int, ...] | None = None
        self._index = 0

    def push(self, image: np.ndarray, timestamp: float, out: np.ndarray | None = None):
        """Project the newest frame over the last ``depth`` frames (see the module docstring).

        ``out``: a C-contiguous array of the projection's shape to project into, instead of
        a new array per frame: float32 (e.g. the previous projection, once its consumers are
        done with it), or uint8 for the projection quantised as stv writes images (SPEC Part
        G), made row by row without the float picture: what the encoder takes, for pixel
        frames and no refinement only.

        Raises
        ------
        InvalidValue
            A uint8 ``out`` with float frames or with refinement.
        """
        index = self._index
        image = np.asarray(image)
        if image.ndim == 2:
            image = image[:, :, np.newaxis]
        pixels = image.dtype in PIXEL_DTYPES
        if not pixels:
            image = np.ascontiguousarray(image, dtype=F32)
        if self._shape is None:
            self._shape = image.shape
            self._ring = FrameRing(self.stream.depth, image.shape, image.dtype)
        elif image.shape != self._shape:
            raise InputError(
                f"{self.name}: frame {index} has size {_size(image.shape)} but the clip "
                f"started at {_size(self._shape)}; a clip must keep one frame size"
            )
        elif image.dtype != self._ring.dtype:
            raise InputError(
                f"{self.name}: frame {index} is {image.dtype} but the clip started with "
                f"{self._ring.dtype} frames; a clip must keep one pixel format"
            )
        if pixels:
            result = self.pipeline.push_pixels(image, timestamp, keep_arrays=False, digests=False)
        else:
            result = self.pipeline.push(image, timestamp, keep_arrays=False, digests=False)
        cut = self.stream.scene_cut
        reset = cut is not None and index > 0 and metric(result.atlas, METRICS[0]) > cut
        if reset:
            self._ring.clear()
            self.projector.reset()
            self.resets.append(index)
        volume = _volume(self._ring.push(image), refine=self.refines)
        if out is not None and out.dtype == np.uint8 and not isinstance(volume, PixelVolume):
            raise InvalidValue(
                "an 8-bit projection (out of dtype uint8) needs pixel frames and no refinement"
            )
        profile = self._ring.profile()  # the generator's statistics, without another pass
        if self.stream.calibrate:
            chrono = result.chrono_snapshot.summary
            projection, _ = self.projector.step(
                volume, chrono=chrono, atlas=result.atlas, profile=profile, out=out
            )
        else:
            projection, _ = self.projector.step(volume, profile=profile, out=out)
        self._index += 1
        return projection, result, reset


def run_clip(
    path: str | Path, settings: VideoSettings, progress: Progress | None = None
) -> ClipResult:
    """Project every frame of the clip at ``path`` and write the outputs ``settings`` ask for.

    Parameters
    ----------
    path : str or Path
        A clip file, or a folder of frames when ``settings.frames_in``.
    settings : VideoSettings
    progress : callable, optional
        Called as ``progress(frames_done, total)`` after each frame (total may be None).

    Returns
    -------
    ClipResult

    Raises
    ------
    InputError
        The clip is unreadable, truncated, empty, has an unknown codec or changes frame size
        (SPEC D9); the message names the clip and the frame reached. No partial output is
        left behind.
    stv_cli.batch.SkipInput
        With ``skip_existing`` when every output exists.
    """
    from .video_io import frame_total, open_clip

    start = time.perf_counter()
    path = Path(path)
    paths = plan_outputs(path, settings.output)
    replace = claim_outputs(list(paths.values()), settings.output)
    try:
        reader = open_clip(
            path, frames_in=settings.frames_in, fps=settings.fps, queue_size=settings.queue_size
        )
    except InputError as exc:
        raise InputError(f"{exc} (failed at frame 0, before decoding)") from exc
    info = reader.info
    total = info.frame_count if settings.frames_in else frame_total(info)
    model = StreamingProjection(settings.stream, str(path))
    index = 0
    compute = [0.0, 0.0]  # the compute thread's push: wall and CPU seconds
    timing = bool(os.environ.get("STV_VIDEO_TIMING"))
    # a thread's CPU clock is a system call (~0.1 ms on some VMs): read it only when asked
    cpu_clock = time.thread_time if timing else float
    with ExitStack() as stack:
        stack.enter_context(reader)
        temp = open_temporaries(stack, paths, replace)
        sinks = ClipSinks(stack, temp, path, info, settings.output, total)
        reuse = not sinks.keeps_frames
        # only the video wants this frame: collapse straight to the encoder's 8-bit pixels
        quantise = not sinks.needs_floats and not model.refines
        projection = None
        try:
            for frame in reader:
                index = frame.index
                wall, cpu = time.perf_counter(), cpu_clock()
                if quantise and frame.pixels.dtype in PIXEL_DTYPES:
                    out = sinks.video.lend(frame.pixels.shape)  # back to it once encoded
                else:
                    out = projection if reuse else None  # one buffer, unless an output keeps it
                projection, result, reset = model.push(frame.pixels, frame.timestamp, out)
                compute[0] += time.perf_counter() - wall
                compute[1] += cpu_clock() - cpu
                sinks.add(index, projection, result, reset)
                if progress is not None:
                    progress(index + 1, total)
            notes = [f"{path}: {note}" for note in sinks.finish(model.resets)]
            if timing:
                _print_timing(path, time.perf_counter() - start, sinks, reader, compute)
        except InputError:
            raise
        except StvError as exc:
            raise InputError(f"{path}: failed at frame {index}: {exc}") from exc
    return ClipResult(
        outputs=list(paths.values()),
        frames=sinks.frames,
        fps=float(info.fps),
        resets=model.resets,
        notes=notes,
        seconds=time.perf_counter() - start,
    )


def _size(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}x{shape[0]}x{shape[2]}"


def _print_timing(path: Path, seconds: float, sinks, reader, compute: list[float]) -> None:
    """With ``STV_VIDEO_TIMING`` set: where each thread's time went, per frame (ms, stderr).

    A stage that is never blocked and always busy is the bottleneck; one mostly blocked is
    waiting on it. Process CPU above the threads' sum is FFmpeg's own worker threads.
    """
    frames = max(sinks.frames, 1)
    pump = reader._pump

    def ms(value: float) -> str:
        return f"{1000 * value / frames:.2f}"

    print(
        f"stv video timing: {path}: {frames} frames, {ms(seconds)} ms/frame wall, process "
        f"CPU {ms(time.process_time())} ms/frame since start; reader blocked on a full queue "
        f"{ms(pump.blocked if pump else 0.0)}; compute waits for frames "
        f"{ms(pump.starved if pump else 0.0)}, pushes {ms(compute[0])} (CPU {ms(compute[1])}), "
        f"waits on the writer {ms(sinks.video.blocked)}; writer busy {ms(sinks.video.busy)}",
        file=sys.stderr,
    )


def _volume(window: np.ndarray, refine: bool = False):
    """The ring's window as a volume, adopted without a copy.

    Pixels become a :class:`PixelVolume`, collapsed as pixels; the refinement stages
    (diffusion, interpolation, upscaling) work on float volumes, so with refinement they get
    the float copy.
    """
    if window.dtype == F32:
        from .volume import ZSpaceVolume

        return ZSpaceVolume(window)
    volume = PixelVolume(window)
    return volume.to_volume() if refine else volume
