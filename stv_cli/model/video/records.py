"""What the video pipeline is configured with and what it returns per frame (SPEC A.14).

:class:`VideoPipelineConfig` (the defaults of SPEC A.16), :class:`VideoPipelineOutput` (one
frame's telemetry) and the measures its steps take: :func:`tensor_energy`,
:func:`weight_entropy` and :func:`last_argmax`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..floats import EPS, F32, sequential_sum
from ..telemetry import AtlasFrame
from ..volume import ZSpaceVolume
from .stats import TemporalDigest

#: The note every pipeline atlas carries.
Z_DYNAMICS_NOTE = "video.pipeline.z_dynamics"


@dataclass(frozen=True)
class VideoPipelineConfig:
    """Settings of a :class:`VideoPipeline` (defaults of SPEC A.16).

    Attributes
    ----------
    temporal_alpha
        Weight of the newest frame in the running volume's EMA; clamped to [0, 1].
    resonance_decay
        Weight of the newest frame in the depth-weight smoothing and the voxel envelope (the
        reference's name, D10); clamped to [0, 1].
    motion_gain
        Scale of the frame difference; ``max(gain, 0)``, +inf becomes 1, and a gain of 0 still
        scales by float32 epsilon.
    digest_window
        Frames summarised by ``window_digest`` (0 counts as 1) and kept in the ring buffers.
    quiescence_threshold
        Motion energy at or below which a frame counts as quiescent; ``max(q, 0)``.
    """

    temporal_alpha: float = 0.35
    resonance_decay: float = 0.25
    motion_gain: float = 1.0
    digest_window: int = 16
    quiescence_threshold: float = 0.05


def tensor_energy(values: np.ndarray) -> np.float32:
    """Mean |v| over all values (0 for an empty array); summed in float64 on purpose."""
    if values.size == 0:
        return F32(0.0)
    return F32(np.abs(values).mean(dtype=np.float64))


def weight_entropy(weights: np.ndarray) -> np.float32:
    """``-sum w ln w`` over the finite weights > EPS, in nats."""
    w = np.asarray(weights, dtype=F32)
    w = w[np.isfinite(w) & (w > EPS)]
    if w.size == 0:
        return F32(0.0)
    # + 0 turns the -0.0 of a certain distribution (w = 1) into 0.0 for telemetry readers
    return F32(-sequential_sum(w * np.log(w)) + F32(0.0))


def last_argmax(values: np.ndarray) -> int:
    """Index of the largest value; ties go to the LAST index (the reference's ``max_by``)."""
    return int(values.size - 1 - np.argmax(values[::-1]))


@dataclass(frozen=True, eq=False)
class VideoPipelineOutput:
    """What :meth:`VideoPipeline.push` returns for one frame.

    Attributes
    ----------
    index, timestamp
        0-based frame index and the frame's timestamp (float32 value).
    motion
        (H, W, C) float32 scaled difference from the previous frame (zeros for frame 0);
        None when pushed with ``keep_arrays=False``.
    volume
        Copy of the fused running volume, depth 2: slice 0 the frames, slice 1 the motion;
        None when pushed with ``keep_arrays=False``.
    per_depth_energy, smoothed_weights, spectral_response
        Float32 (2,) vectors: mean |v| per slice, its smoothed normalised version, and mean
        |v| times the Hann window (together the ``z_dynamics``).
    atlas, chrono_snapshot
        The frame's :class:`AtlasFrame` and :class:`ChronoSnapshot`.
    digest, window_digest
        :class:`TemporalDigest` of the whole stream and of the last ``digest_window`` frames
        (None when pushed with ``digests=False``).
    """

    index: int
    timestamp: float
    motion: np.ndarray | None
    volume: ZSpaceVolume | None
    per_depth_energy: np.ndarray
    smoothed_weights: np.ndarray
    spectral_response: np.ndarray
    atlas: AtlasFrame
    chrono_snapshot: object
    digest: TemporalDigest
    window_digest: TemporalDigest

    @property
    def z_dynamics(self) -> dict[str, np.ndarray]:
        """smoothed_weights, per_depth_energy and spectral_response as one dict."""
        return {
            "smoothed_weights": self.smoothed_weights,
            "per_depth_energy": self.per_depth_energy,
            "spectral_response": self.spectral_response,
        }
