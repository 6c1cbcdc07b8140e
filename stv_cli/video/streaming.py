"""The per-frame model of ``stv video`` without any files: pipeline, frame ring, projector.

Per frame: ``VideoPipeline.push`` gives the telemetry, chrono snapshot and atlas (SPEC A.14)
-> the frame joins the ring of the last ``depth`` frames, oldest at z = 0 (Z = time) ->
``VideoStreamProjector.step`` over that volume with the chrono and atlas (SPEC A.12) -> the
projection is the output frame. A motion energy above ``scene_cut`` clears the ring and the
projector's temporal state first (the pipeline's telemetry runs on, so it stays the library's).
"""

from __future__ import annotations

import numpy as np

from ..backend import device_memory, ops
from ..errors import InputError, InvalidValue
from ..model.diffuser import ZDiffuser
from ..model.generator import ResonanceGenerator
from ..model.pixel_volume import PIXEL_DTYPES, PixelVolume
from ..model.stream import VideoStreamProjector
from ..model.video.frame_ring import FrameRing
from ..model.video.pipeline import VideoPipeline, VideoPipelineConfig
from ..model.volume import ZSpaceVolume
from ..pipeline.stages import make_projector
from .settings import StreamSettings
from .sinks import METRICS, metric

F32 = np.float32


def make_pipeline(stream: StreamSettings):
    """The library's VideoPipeline with stv's defaults and ``motion_gain``, keeping the image
    slice of a pixel clip as means (``keep_image_slice=False``): nothing here reads its voxels."""
    config = VideoPipelineConfig(motion_gain=stream.motion_gain)
    return VideoPipeline(config, keep_image_slice=False)  # stv reads only its telemetry


def make_stream_projector(stream: StreamSettings):
    """The VideoStreamProjector of ``stream``: generator steps = the refined ring depth."""
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
    model = StreamingProjection(stream, "kernels")
    for index in range(2):
        model.push(np.zeros((2, 2, 3), np.uint8), index / 30.0)
    ops().quantise(np.zeros((2, 2, 3), F32), np.uint8)


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

    With a backend with device memory in force (``--device cuda``) each frame is uploaded once
    and the pipeline's state (previous frame, EMAs) and the frame ring stay on the GPU; only
    the projection (and the two numbers of each statistic) come back.
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
        # with a GPU backend in force: each frame is copied once into page-locked staging and
        # uploaded once; the pipeline's state and the frame ring live on the GPU
        self._memory = device_memory()
        self._staging: tuple | None = None

    def _upload(self, image: np.ndarray):
        """The frame on the GPU (one copy through page-locked memory), or as it is."""
        if self._memory is None:
            return image
        if self._staging is None:
            self._staging = (
                self._memory.pinned_empty(image.shape, image.dtype),
                self._memory.device_empty(image.shape, image.dtype),
            )
        pinned, device = self._staging
        np.copyto(pinned, image)
        return self._memory.to_device(pinned, out=device)

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
            self._ring = FrameRing(
                self.stream.depth, image.shape, image.dtype, device=self._memory is not None
            )
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
        image = self._upload(image)
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


def _volume(window: np.ndarray, refine: bool = False):
    """The ring's window as a volume, adopted without a copy.

    Pixels become a :class:`PixelVolume`, collapsed as pixels; the refinement stages
    (diffusion, interpolation, upscaling) work on float volumes, so with refinement they get
    the float copy.
    """
    if window.dtype == F32:
        return ZSpaceVolume(window)
    volume = PixelVolume(window)
    return volume.to_volume() if refine else volume


def _size(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}x{shape[0]}x{shape[2]}"
