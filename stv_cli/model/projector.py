"""VisionProjector: turns a volume and a resonance into depth weights and a picture (SPEC A.7).

Depth weights are ``normalise(r_z * max(g_z, 1e-6) * max(win_z, 1e-6))``: the resonance's
weights, a Gaussian attention around ``focus`` with width ``spread`` (both in normalised depth
units), and the spectral window. The picture is the volume collapsed with those weights.
Sequences of volumes are fused with :meth:`VisionProjector.temporal_weights`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from ..errors import EmptyInput, ShapeMismatch
from .floats import F32, as_vector, clamp, finite_f32, normalise
from .multiview import MultiViewFusion
from .resonance import DifferentialResonance
from .telemetry import AtlasFrame, ChronoSummary
from .temporal import TemporalResonanceBuffer
from .volume import ZSpaceVolume
from .windows import SpectralWindow

DEFAULT_SPREAD = 0.35
DEFAULT_TEMPORAL_DECAY = 0.35
#: suggested_pressure is divided by this to give a spread (SPEC A.16)
PRESSURE_DIVISOR = 32.0
_TINY = F32(1e-6)
_MIN_SPREAD = F32(1e-3)
_MIN_ENERGY_FACTOR = F32(0.1)


class VisionProjector:
    """Depth attention: where to look along Z, how widely, and through which window.

    Parameters
    ----------
    focus
        Peak of the attention in normalised depth, clamped to [0, 1]; NaN is kept and then
        makes the attention uniform (as in the reference).
    spread
        Gaussian width in normalised depth; kept if finite and > 1e-3, otherwise 0.35.
    energy_bias
        Kept if finite, otherwise 0. It scales every weight by the same factor, so it does not
        change normalised weights (SPEC A.7); it is carried for the resonance generator.

    The window starts as Hann, temporal_focus as 1.0 and temporal_decay as 0.35.
    """

    def __init__(self, focus: float = 0.5, spread: float = 0.35, energy_bias: float = 0.0) -> None:
        self._focus = clamp(focus, 0.0, 1.0)
        # "finite" means finite as the float32 the reference receives (1e39 is inf)
        spread32 = finite_f32(spread)
        kept = spread32 is not None and spread32 > _MIN_SPREAD
        self._spread = spread32 if kept else F32(DEFAULT_SPREAD)
        bias32 = finite_f32(energy_bias)
        self._energy_bias = F32(0.0) if bias32 is None else bias32
        self._window = SpectralWindow.hann()
        self._temporal_focus = F32(1.0)
        self._temporal_decay = F32(DEFAULT_TEMPORAL_DECAY)
        self._attention_cache: tuple | None = None  # see _attention

    # ---------------------------------------------------------------- state

    focus = property(lambda self: float(self._focus), doc="Attention peak in [0, 1] (or NaN).")
    spread = property(lambda self: float(self._spread), doc="Attention width (> 1e-3).")
    energy_bias = property(lambda self: float(self._energy_bias), doc="Energy bias.")
    window = property(lambda self: self._window, doc="The :class:`SpectralWindow` along Z.")
    temporal_focus = property(
        lambda self: float(self._temporal_focus), doc="Where in a sequence weight peaks (0..1)."
    )
    temporal_decay = property(
        lambda self: float(self._temporal_decay), doc="Width of the sequence weighting."
    )

    def with_spectral_window(self, window: SpectralWindow) -> VisionProjector:
        """A copy that uses ``window`` along Z."""
        projector = copy.copy(self)
        projector._window = window
        return projector

    def with_temporal_focus(self, temporal_focus: float) -> VisionProjector:
        """A copy with temporal_focus = clamp(value, 0, 1) (the atlas rule; NaN is kept)."""
        projector = copy.copy(self)
        projector._temporal_focus = clamp(temporal_focus, 0.0, 1.0)
        return projector

    def with_temporal_decay(self, temporal_decay: float) -> VisionProjector:
        """A copy with temporal_decay = clamp(|value|, 0.05, 1); a non-finite value is ignored."""
        projector = copy.copy(self)
        decay = finite_f32(temporal_decay)
        if decay is not None:
            projector._temporal_decay = clamp(np.abs(decay), 0.05, 1.0)
        return projector

    @classmethod
    def from_summary(cls, summary: ChronoSummary) -> VisionProjector:
        """A projector calibrated from a stream's statistics (SPEC A.7).

        focus = where the mean energy sits between min and max; spread = energy_std relative
        to that span (in [0.05, 1]), narrowed by ``1 + |mean_abs_drift|``; energy_bias =
        mean_decay; temporal_decay = clamp(1 / (1 + |mean_abs_drift|), 0.05, 1).
        """
        lo, hi = F32(summary.min_energy), F32(summary.max_energy)
        span = np.fmax(np.abs(hi - lo), F32(1e-3))
        focus = clamp((F32(summary.mean_energy) - lo) / span, 0.0, 1.0)
        spread = clamp(F32(summary.energy_std) / span, 0.05, 1.0)
        drift = F32(summary.mean_abs_drift)
        if np.isfinite(drift):
            spread = spread / (F32(1.0) + np.abs(drift))
        projector = cls(focus, spread, F32(summary.mean_decay))
        if np.isfinite(drift):
            projector._temporal_decay = clamp(F32(1.0) / (F32(1.0) + np.abs(drift)), 0.05, 1.0)
        projector._temporal_focus = F32(1.0)
        return projector

    def calibrate_from_atlas(self, atlas: AtlasFrame) -> None:
        """Update this projector in place from an atlas frame (SPEC A.7 with D5).

        z_signal sets focus; suggested_pressure p sets spread = clamp(|p / 32|, 0.05, 2);
        collapse_total sets energy_bias = tanh(total); metrics named ``temporal_focus`` or
        ``z_temporal_focus`` set temporal_focus = clamp(value, 0, 1), and ``temporal_decay``
        or ``z_temporal_decay`` with a finite value set temporal_decay = clamp(|v|, 0.05, 1).
        Missing or non-finite fields are skipped. The window is never changed.
        """
        signal = finite_f32(atlas.z_signal)
        if signal is not None:
            self._focus = clamp(signal, 0.0, 1.0)
        pressure = finite_f32(atlas.suggested_pressure)
        if pressure is not None:
            p = np.abs(pressure / F32(PRESSURE_DIVISOR))
            self._spread = np.fmax(clamp(p, 0.05, 2.0), F32(0.05))
        total = finite_f32(atlas.collapse_total)
        if total is not None:
            self._energy_bias = np.tanh(total)
        for metric in atlas.metrics:
            if metric.name in ("temporal_focus", "z_temporal_focus"):
                self._temporal_focus = clamp(metric.value, 0.0, 1.0)
            elif metric.name in ("temporal_decay", "z_temporal_decay"):
                decay = finite_f32(metric.value)
                if decay is not None:
                    self._temporal_decay = clamp(np.abs(decay), 0.05, 1.0)

    # ---------------------------------------------------------------- depth weights

    def depth_weights(self, volume: ZSpaceVolume, resonance: DifferentialResonance) -> np.ndarray:
        """Normalised weights, one per slice (SPEC A.7); a new float32 (D,) array.

        Raises
        ------
        EmptyInput
            If the resonance's energy or objective is empty.
        """
        depth = volume.depth
        w = volume.resonance_weights(resonance)
        em = F32(1.0) + np.tanh(self._energy_bias)
        em = em if em >= _MIN_ENERGY_FACTOR else _MIN_ENERGY_FACTOR  # fmax: NaN -> 0.1
        g, win = self._attention(depth)
        if depth > 1:
            w = w * ((g * em) * win)
        else:
            w = w * (em * win)
        return normalise(w)

    def _attention(self, depth: int) -> tuple[np.ndarray | None, np.ndarray]:
        """``max(g_z, 1e-6)`` (None for one slice) and ``max(win_z, 1e-6)`` for ``depth``.

        Both depend only on focus, spread, the window and the depth, which stay the same
        from frame to frame of a video, so the last pair is kept (a tuple replaced whole,
        never changed, so copies of this projector may share it).
        """
        focus, spread, window = self._focus, self._spread, self._window
        key = (depth, focus, spread)
        cached = self._attention_cache
        if cached is not None and cached[0] is window and cached[1] == key:
            return cached[2], cached[3]
        win = np.fmax(window.weights(depth), _TINY)
        g = None
        if depth > 1:
            s = np.fmax(spread, _MIN_SPREAD)
            pos = np.arange(depth, dtype=F32) / F32(depth - 1)
            d = (pos - focus) / s
            g = np.fmax(np.exp(F32(-0.5) * (d * d)), _TINY)
        self._attention_cache = (window, key, g, win)
        return g, win

    def project(self, volume: ZSpaceVolume, resonance: DifferentialResonance) -> np.ndarray:
        """Collapse ``volume`` with :meth:`depth_weights`; a new (H, W, C) float32 image."""
        return volume.collapse_with_weights(self.depth_weights(volume, resonance))

    def depth_weights_with_temporal(
        self,
        volume: ZSpaceVolume,
        resonance: DifferentialResonance,
        buffer: TemporalResonanceBuffer,
    ) -> np.ndarray:
        """:meth:`depth_weights` smoothed through ``buffer`` (which it updates)."""
        return buffer.apply(self.depth_weights(volume, resonance))

    def project_with_temporal(
        self,
        volume: ZSpaceVolume,
        resonance: DifferentialResonance,
        buffer: TemporalResonanceBuffer,
    ) -> np.ndarray:
        """Collapse with :meth:`depth_weights_with_temporal`; updates ``buffer``."""
        weights = self.depth_weights_with_temporal(volume, resonance, buffer)
        return volume.collapse_with_weights(weights)

    # ---------------------------------------------------------------- sequences

    def temporal_weights(self, frames: int) -> np.ndarray:
        """Weights over a sequence of ``frames`` volumes, oldest first (SPEC A.7).

        ``max(exp(-0.5 ((k / (n - 1) - tf) / td)^2), 1e-6)``, normalised, with tf =
        temporal_focus clamped to [0, 1] and td = max(temporal_decay, 1e-3). With the defaults
        the newest frames weigh most. Returns [] for 0 and [1] for 1 frame.
        """
        frames = int(frames)
        if frames <= 1:
            return np.ones(max(frames, 0), dtype=F32)
        tf = clamp(self._temporal_focus, 0.0, 1.0)
        td = np.fmax(self._temporal_decay, _MIN_SPREAD)
        d = (np.arange(frames, dtype=F32) / F32(frames - 1) - tf) / td
        return normalise(np.fmax(np.exp(F32(-0.5) * (d * d)), _TINY))

    def fuse_sequence(self, volumes: Sequence[ZSpaceVolume]) -> ZSpaceVolume:
        """Blend volumes with :meth:`temporal_weights` (a new volume).

        Raises
        ------
        EmptyInput
            If ``volumes`` is empty (z_space_sequence).
        ShapeMismatch
            If the volumes' shapes differ.
        """
        volumes = list(volumes)
        if not volumes:
            raise EmptyInput("z_space_sequence must contain at least one volume, got 0")
        return ZSpaceVolume.blend_sequence(volumes, self.temporal_weights(len(volumes)))

    def streaming_alpha(self) -> float:
        """New-frame weight for streaming: clamp(1 - clamp(temporal_decay, 0, 0.99), 0.05, 0.95)."""
        return float(clamp(F32(1.0) - clamp(self._temporal_decay, 0.0, 0.99), 0.05, 0.95))

    def accumulate_temporal(self, state: ZSpaceVolume, next_volume: ZSpaceVolume) -> None:
        """``state.accumulate(next_volume, streaming_alpha())``, in place."""
        state.accumulate(next_volume, self.streaming_alpha())

    # ---------------------------------------------------------------- multi-view

    @staticmethod
    def apply_multi_view_biases(weights, fusion: MultiViewFusion) -> np.ndarray:
        """``normalise(w_k * max(bias_k, 1e-6))`` with the fusion's normalised biases.

        Raises
        ------
        ShapeMismatch
            If ``len(weights)`` differs from the number of views.
        """
        w = as_vector(weights, "multi-view weights")
        if w.size != fusion.view_count:
            raise ShapeMismatch(
                f"multi-view weights need one weight per view ({fusion.view_count} views), "
                f"got {w.size}"
            )
        return normalise(w * np.fmax(fusion.normalised_biases(), _TINY))

    def depth_weights_multi_view(
        self, fusion: MultiViewFusion, volume: ZSpaceVolume, resonance: DifferentialResonance
    ) -> np.ndarray:
        """:meth:`depth_weights` times the view biases (depth = view index); new float32 (D,).

        The focus Gaussian and the window still apply along the view axis (as in the
        reference).

        Raises
        ------
        ShapeMismatch
            If the fusion's view count differs from the volume's depth.
        """
        if fusion.view_count != volume.depth:
            raise ShapeMismatch(
                f"multi_view_fusion has {fusion.view_count} views but the volume has depth "
                f"{volume.depth}; they must be equal"
            )
        return self.apply_multi_view_biases(self.depth_weights(volume, resonance), fusion)

    def project_multi_view(
        self, fusion: MultiViewFusion, volume: ZSpaceVolume, resonance: DifferentialResonance
    ) -> np.ndarray:
        """Collapse with :meth:`depth_weights_multi_view`; a new (H, W, C) float32 image."""
        weights = self.depth_weights_multi_view(fusion, volume, resonance)
        return volume.collapse_with_weights(weights)

    def depth_weights_multi_view_with_temporal(
        self,
        fusion: MultiViewFusion,
        volume: ZSpaceVolume,
        resonance: DifferentialResonance,
        buffer: TemporalResonanceBuffer,
    ) -> np.ndarray:
        """:meth:`depth_weights_multi_view` then ``buffer.apply`` (after the biases)."""
        return buffer.apply(self.depth_weights_multi_view(fusion, volume, resonance))

    def project_multi_view_with_temporal(
        self,
        fusion: MultiViewFusion,
        volume: ZSpaceVolume,
        resonance: DifferentialResonance,
        buffer: TemporalResonanceBuffer,
    ) -> np.ndarray:
        """Collapse with :meth:`depth_weights_multi_view_with_temporal`; updates ``buffer``."""
        weights = self.depth_weights_multi_view_with_temporal(fusion, volume, resonance, buffer)
        return volume.collapse_with_weights(weights)

    def __repr__(self) -> str:
        return (
            f"VisionProjector(focus={self.focus}, spread={self.spread}, "
            f"energy_bias={self.energy_bias}, window={self._window.kind.value}, "
            f"temporal_focus={self.temporal_focus}, temporal_decay={self.temporal_decay})"
        )
