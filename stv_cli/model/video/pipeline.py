"""VideoPipeline: per-frame Z-space telemetry of a clip, one decoded frame at a time (A.13, A.14).

Each frame F_t becomes a two-slice volume [F_t, motion_t] (motion is the scaled frame
difference), blended into a running volume by an EMA; its per-slice energies are smoothed over
time, an envelope of the voxels is kept, and a chrono summary, an atlas frame and two digests
describe the stream so far. Frames may be grey (H, W) or (H, W, C); statistics are over all
H*W*C values of a slice (D1).

The per-frame arithmetic (motion, both EMAs and the four energies) is one pass over memory in
:mod:`stv_kernels.video_frame` (numba) or its NumPy reference, by backend; the running
statistics are :mod:`stv_cli.model.video.stats`.

Memory does not grow with the clip (D9): the state is a handful of frame-sized buffers, running
sums, and ring buffers of at most ``digest_window`` samples and atlas frames.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Iterator

import numpy as np

from ...errors import InvalidDimensions, InvalidValue, NonFiniteValue, ShapeMismatch
from .. import placement
from ..floats import EPS, F32, clamp, is_finite
from ..pixel_volume import PIXEL_DTYPES, pixel_values
from ..telemetry import AtlasFrame, AtlasMetric
from ..temporal import TemporalResonanceBuffer
from ..volume import ZSpaceVolume
from ..windows import SpectralWindow
from .components import MotionEmbeddingFilter, ResonanceEnvelope
from .records import (
    Z_DYNAMICS_NOTE,
    VideoPipelineConfig,
    VideoPipelineOutput,
    last_argmax,
    tensor_energy,
    weight_entropy,
)
from .stats import TemporalDigest, TemporalStats

__all__ = [
    "MotionEmbeddingFilter",
    "ResonanceEnvelope",
    "TemporalDigest",
    "TemporalStats",
    "VideoPipeline",
    "VideoPipelineConfig",
    "VideoPipelineOutput",
    "tensor_energy",
    "weight_entropy",
]


def frame_kernels():
    """The per-frame kernels (``count_nonfinite``, ``motion_ema_step``, ``ring_store``) of the
    backend in force: the backend module chooses, as for every other kernel."""
    from ...backend import ops

    return ops()


def _fraction(value, name: str) -> np.float32:
    if value is None or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidValue(f"{name} must be a number in [0, 1], got {value!r}")
    if math.isnan(float(value)):
        # the reference would fail on every frame after the first; say so once, up front
        raise InvalidValue(f"{name} must be a number in [0, 1] (others are clamped), got nan")
    return clamp(value, 0.0, 1.0)


class VideoPipeline:
    """Telemetry of a clip, fed one decoded frame at a time (SPEC A.14 with D1 and D9).

    Parameters
    ----------
    config
        A :class:`VideoPipelineConfig` (defaults when None).
    keep_image_slice
        False, for a clip of pixel frames (:meth:`push_pixels`, decided by the first frame),
        keeps slice 0 of the running volume (the image) and of its envelope as their mean
        values instead of voxels. Pixel values are never negative, so neither are those EMAs:
        their mean |v| is their mean, which follows the same EMAs of the frame's mean value
        (in float64). The telemetry then agrees with the voxels' to ~1e-7 relative instead of
        bit for bit, about half the state is read and written per frame, and :attr:`volume`
        and :attr:`envelope` are None. ``stv video`` runs this way; a clip of float frames
        (which may be negative) keeps every voxel either way.

    Raises
    ------
    InvalidValue
        If temporal_alpha or resonance_decay is NaN, or digest_window is not an integer >= 0.
    """

    def __init__(
        self, config: VideoPipelineConfig | None = None, *, keep_image_slice: bool = True
    ) -> None:
        config = VideoPipelineConfig() if config is None else config
        self.config = config
        self._keep_image = bool(keep_image_slice)
        self._alpha = _fraction(config.temporal_alpha, "temporal_alpha")
        self._rho = _fraction(config.resonance_decay, "resonance_decay")
        window = config.digest_window
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 0:
            raise InvalidValue(f"digest_window must be an integer >= 0, got {window!r}")
        self._window = max(int(window), 1)
        # MotionEmbeddingFilter's rule: max(gain, 0), non-finite -> 1, then max(., EPS)
        gain = np.fmax(F32(config.motion_gain), F32(0.0))
        self._gain = np.fmax(gain if is_finite(gain) else F32(1.0), EPS)
        self.temporal_buffer = TemporalResonanceBuffer(self._rho)
        threshold = np.fmax(F32(config.quiescence_threshold), F32(0.0))
        self.stats = TemporalStats(threshold, history=self._window)
        self.timeline: deque[AtlasFrame] = deque(maxlen=self._window)
        self._hann = SpectralWindow.hann()
        # the state, allocated on the first frame and updated in place by one kernel pass
        self._previous: np.ndarray | None = None  # the last frame
        self._fused: np.ndarray | None = None  # (2, H, W, C) running volume
        self._envelope: np.ndarray | None = None  # (2, H, W, C) EMA of the running volume
        self._volume: ZSpaceVolume | None = None
        # without the image slice: fused and envelope are its slice 1, (1, H, W, C), and
        # these are the image slice's running means (float64), or None while it is kept
        self._image_means: tuple[float, float] | None = None
        self._frame_shape: tuple[int, ...] | None = None
        self._index = 0

    @property
    def frame_index(self) -> int:
        """Frames pushed so far (the index the next frame gets)."""
        return self._index

    @property
    def volume(self) -> ZSpaceVolume | None:
        """The fused running volume (not a copy); None before the first frame, or when the
        pipeline keeps no image slice."""
        return self._volume

    @property
    def envelope(self) -> np.ndarray | None:
        """The resonance envelope (2, H, W, C) (not a copy); None before the first frame, or
        when the pipeline keeps no image slice."""
        return None if self._image_means is not None else self._envelope

    def _check_frame(self, frame, pixels: bool = False) -> np.ndarray:
        index = self._index
        if placement.on_device(frame):
            return self._check_device_frame(frame, pixels)
        array = np.asarray(frame)
        if array.ndim == 2:
            array = array[..., np.newaxis]
        if array.ndim != 3 or 0 in array.shape:
            raise InvalidDimensions(
                f"frame {index} must be a non-empty (H, W) or (H, W, C) array, got shape "
                f"{np.shape(frame)}"
            )
        if pixels and array.dtype not in PIXEL_DTYPES:
            raise InvalidValue(f"frame {index} pixels must be uint8 or uint16, got {array.dtype}")
        array = np.ascontiguousarray(array, dtype=None if pixels else F32)
        if self._frame_shape is not None and array.shape != self._frame_shape:
            raise ShapeMismatch(
                f"frame {index} has size {_size(array.shape)} but frame 0 had "
                f"{_size(self._frame_shape)} (width x height x channels); a clip must keep "
                "one frame size"
            )
        if not pixels:  # integer pixels are always finite
            bad = frame_kernels().count_nonfinite(array)
            if bad:
                raise NonFiniteValue(f"frame {index} has {bad} NaN or infinite values")
        return array

    def _check_device_frame(self, frame, pixels: bool):
        """:meth:`_check_frame` of a frame already on a GPU: it is never converted there."""
        index = self._index
        frame = placement.adopt_frame(frame)
        shape = tuple(frame.shape)
        if frame.ndim == 2:
            frame = frame.reshape(*shape, 1)
            shape = (*shape, 1)
        allowed = PIXEL_DTYPES if pixels else (np.dtype(F32),)
        if len(shape) != 3 or 0 in shape or frame.dtype not in allowed:
            kinds = "uint8 or uint16" if pixels else "float32"
            raise InvalidDimensions(
                f"frame {index} on the GPU must be a non-empty C-contiguous {kinds} (H, W) or "
                f"(H, W, C) array, got {frame.dtype} {shape}"
            )
        if self._frame_shape is not None and shape != self._frame_shape:
            raise ShapeMismatch(
                f"frame {index} has size {_size(shape)} but frame 0 had "
                f"{_size(self._frame_shape)} (width x height x channels); a clip must keep "
                "one frame size"
            )
        if not pixels:
            bad = frame_kernels().count_nonfinite(frame)
            if bad:
                raise NonFiniteValue(f"frame {index} has {bad} NaN or infinite values")
        return frame

    def push(
        self, frame, timestamp: float, *, keep_arrays: bool = True, digests: bool = True
    ) -> VideoPipelineOutput:
        """Add one frame and return its telemetry (SPEC A.14 ``next_frame`` steps 2 to 13).

        Parameters
        ----------
        frame
            (H, W) or (H, W, C) array of the same size as the first frame. A frame on a GPU
            (a device array, with a backend with device memory in force) keeps the pipeline's
            state on the GPU: nothing but the energies comes back.
        timestamp
            Seconds; used for dt and durations.
        keep_arrays
            False leaves the output's ``motion`` and ``volume`` None: two frame-sized copies
            per frame that a caller reading only the telemetry (``stv video``) does not need.
            (``volume`` is None anyway when the pipeline keeps no image slice.)
        digests
            False leaves the output's ``digest`` and ``window_digest`` None (about 20 us a
            frame that ``stv video`` does not read); the statistics behind them run on.

        Raises
        ------
        ShapeMismatch
            If the frame's size differs from the first frame's (D9); names the frame index
            and both sizes. Nothing changes in that case.
        InvalidDimensions, NonFiniteValue
            For an empty frame or NaN/inf pixels (nothing changes either).
        InvalidValue
            For a float frame after pixel frames when the pipeline keeps no image slice.
        """
        return self._push(self._check_frame(frame), timestamp, keep_arrays, digests)

    def push_pixels(
        self, pixels, timestamp: float, *, keep_arrays: bool = True, digests: bool = True
    ) -> VideoPipelineOutput:
        """:meth:`push` a frame of uint8 or uint16 pixels, read as ``pixels / (2**bits - 1)``.

        The same output, bit for bit, as ``push(pixels / 255)`` (65535 for uint16, divided in
        float32 as :func:`stv_cli.io.video_reader.to_float` does), without making that float frame:
        the kernel divides each value as it reads it, and the previous frame is kept as pixels
        (a quarter of the bytes for 8 bits). This is how ``stv video`` feeds decoded frames,
        to a pipeline with ``keep_image_slice=False``, whose output is then within ~1e-7.

        Raises
        ------
        InvalidValue
            If the pixels are not uint8 or uint16; otherwise as :meth:`push`.
        """
        frame = self._check_frame(pixels, pixels=True)
        return self._push(frame, timestamp, keep_arrays, digests)

    def _push(self, frame, timestamp, keep_arrays: bool, digests: bool) -> VideoPipelineOutput:
        timestamp = F32(timestamp)
        first = self._fused is None
        if first:
            self._allocate(frame)
        elif frame.dtype != self._previous.dtype:  # pixels after floats, or the other way
            if self._image_means is not None:
                raise InvalidValue(
                    f"frame {self._index} is {frame.dtype} but the clip started with "
                    f"{self._previous.dtype} pixels, and this pipeline keeps the image slice "
                    "as means (keep_image_slice=False), which holds for pixels only"
                )
            if placement.on_device(frame):
                raise InvalidValue(
                    f"frame {self._index} is {frame.dtype} but the clip started with "
                    f"{self._previous.dtype} frames; a clip on a GPU must keep one pixel format"
                )
            self._previous = _values(self._previous)
            frame = _values(frame)
        motion = np.empty(frame.shape, dtype=F32) if keep_arrays else None
        # steps 2-5, 8 and 9 in one pass: motion, fused EMA, envelope EMA and their energies
        state = (self._previous, self._fused, self._envelope, self._gain, self._alpha, self._rho)
        if self._image_means is None:
            energies = frame_kernels().motion_ema_step(frame, *state, first, motion)
            per_depth = energies[:2].copy()
            resonance_energy, motion_energy = energies[2], energies[3]
        else:
            means = frame_kernels().motion_slice_step(frame, *state, first, motion)
            per_depth, resonance_energy, motion_energy = self._image_energies(means, first)
        history = self.temporal_buffer.history
        if history is None or history.size != per_depth.size:
            self.temporal_buffer.clear()
        smoothed = self.temporal_buffer.apply(per_depth)
        spectral = (per_depth * self._hann.weights(per_depth.size)).astype(F32, copy=False)
        snapshot = self.stats.ingest(timestamp, motion_energy, resonance_energy)
        atlas = self._atlas(snapshot, smoothed, motion_energy, resonance_energy)
        self.timeline.append(atlas)
        output = VideoPipelineOutput(
            index=self._index,
            timestamp=float(timestamp),
            motion=motion,
            volume=self._volume.copy() if keep_arrays and self._volume is not None else None,
            per_depth_energy=per_depth,
            smoothed_weights=smoothed,
            spectral_response=spectral,
            atlas=atlas,
            chrono_snapshot=snapshot,
            digest=self.stats.digest() if digests else None,
            window_digest=self.stats.digest_window(self._window) if digests else None,
        )
        self._index += 1
        return output

    def _allocate(self, frame) -> None:
        """The state buffers, once: the first frame fixes the clip's frame size and kind, and
        where the state lives (on a GPU when the frame is)."""
        shape, dtype, like = tuple(frame.shape), frame.dtype, frame
        self._frame_shape = shape
        self._previous = placement.empty(shape, like, dtype)  # pixels stay pixels
        image = self._keep_image or dtype == F32  # float frames may be negative: keep voxels
        slices = 2 if image else 1
        # on a GPU when the frames are: the state never leaves it
        self._fused = placement.empty((slices, *shape), like)
        self._envelope = placement.empty((slices, *shape), like)
        self._volume = ZSpaceVolume(self._fused) if image else None  # adopts the buffer
        self._image_means = None if image else (0.0, 0.0)

    def _image_energies(self, means: np.ndarray, first: bool):
        """Steps 5 and 9 for a pipeline without the image slice, from the kernel's means.

        ``means`` = float64 [mean frame value, mean |V1|, mean |E1|, mean |motion|]. The
        image slice's EMAs, V0 <- V0 (1 - alpha) + F alpha and E0 <- E0 (1 - rho) + V0 rho,
        are linear and their values never negative (pixels), so their means follow the same
        EMAs of the frame's mean, in float64; the voxels' own float32 roundings make those
        differ by ~1e-7 relative.
        """
        frame_mean, fused_motion, envelope_motion, motion = (float(v) for v in means)
        if first:
            fused_image = envelope_image = frame_mean
        else:
            fused_image, envelope_image = self._image_means
            alpha, rho = float(self._alpha), float(self._rho)
            fused_image = fused_image * float(F32(1.0) - self._alpha) + frame_mean * alpha
            envelope_image = envelope_image * float(F32(1.0) - self._rho) + fused_image * rho
        self._image_means = (fused_image, envelope_image)
        per_depth = np.array([fused_image, fused_motion], dtype=F32)
        return per_depth, F32((envelope_image + envelope_motion) / 2), F32(motion)

    def _atlas(self, snapshot, smoothed, motion_energy, resonance_energy) -> AtlasFrame:
        """Step 11: the frame's atlas, with the three temporal metrics that are finite."""
        if smoothed.size == 1:
            z_signal = smoothed[0]
        else:
            z_signal = F32(last_argmax(smoothed)) / F32(smoothed.size - 1)
        metrics = [
            AtlasMetric(name, float(value), "temporal")
            for name, value in (
                ("z.motion_energy", motion_energy),
                ("z.resonance_energy", resonance_energy),
                ("z.weight_entropy", weight_entropy(smoothed)),
            )
            if math.isfinite(float(value))
        ]
        return AtlasFrame(
            timestamp=float(snapshot.timestamp),
            z_signal=float(z_signal),
            collapse_total=float(resonance_energy),
            chrono_summary=snapshot.summary,
            loop_support=float(np.fmax(motion_energy, F32(0.0))),
            metrics=metrics,
            notes=[Z_DYNAMICS_NOTE],
        )

    def from_frames(
        self, frames: Iterable[tuple[np.ndarray, float]]
    ) -> Iterator[VideoPipelineOutput]:
        """Push every ``(frame, timestamp)`` pair in turn, yielding each output lazily."""
        for frame, timestamp in frames:
            yield self.push(frame, timestamp)

    def __repr__(self) -> str:
        return f"VideoPipeline(frames={self._index}, config={self.config})"


def _values(frame: np.ndarray) -> np.ndarray:
    """float32 frames as they are; uint8/uint16 pixels as pixels / (2**bits - 1)."""
    return frame if frame.dtype == F32 else pixel_values(frame)


def _size(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}x{shape[0]}x{shape[2]}"
