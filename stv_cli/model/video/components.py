"""The VideoPipeline's two stateful components on their own (SPEC A.14).

:class:`MotionEmbeddingFilter` (the scaled difference of consecutive frames) and
:class:`ResonanceEnvelope` (the EMA of a volume's voxels) as the specification describes
them. :class:`~stv_cli.model.video.pipeline.VideoPipeline` does the same arithmetic inside its one
kernel pass; the tests rebuild the pipeline from these components to check it.
"""

from __future__ import annotations

import numpy as np

from ...errors import ShapeMismatch
from ..floats import EPS, F32, is_finite

__all__ = ["MotionEmbeddingFilter", "ResonanceEnvelope"]


class MotionEmbeddingFilter:
    """Scaled difference of consecutive frames; the first frame gives zeros (SPEC A.14).

    A component on its own: :class:`VideoPipeline` does the same arithmetic inside its one
    kernel pass (the tests rebuild the pipeline from these components).

    Parameters
    ----------
    gain
        Used as ``max(gain, EPS)``; a non-finite gain becomes 1.
    """

    def __init__(self, gain: float) -> None:
        self.gain = F32(gain) if is_finite(gain) else F32(1.0)
        self._previous: np.ndarray | None = None

    def process(self, frame: np.ndarray) -> np.ndarray:
        """A new float32 array ``(frame - previous) * max(gain, EPS)``; remembers ``frame``.

        Raises
        ------
        ShapeMismatch
            If ``frame``'s shape differs from the previous frame's; the previous frame is
            kept in that case.
        """
        if self._previous is None:
            self._previous = np.array(frame, dtype=F32, copy=True)
            return np.zeros_like(self._previous)
        if frame.shape != self._previous.shape:
            raise ShapeMismatch(
                f"motion filter frame has shape {frame.shape}, previous {self._previous.shape}"
            )
        motion = np.subtract(frame, self._previous, dtype=F32)
        motion *= np.fmax(self.gain, EPS)
        np.copyto(self._previous, frame)  # reuse the buffer: no allocation per frame
        return motion

    def reset(self) -> None:
        """Forget the previous frame."""
        self._previous = None


class ResonanceEnvelope:
    """EMA of a volume's voxels: ``env <- env (1 - momentum) + voxels momentum`` (SPEC A.14).

    A component on its own, like :class:`MotionEmbeddingFilter`.
    """

    def __init__(self, momentum: float) -> None:
        self.momentum = F32(momentum)
        self._envelope: np.ndarray | None = None
        self._scratch: np.ndarray | None = None

    @property
    def envelope(self) -> np.ndarray | None:
        """The current envelope (D, H, W, C) or None before the first update (not a copy)."""
        return self._envelope

    def update(self, voxels: np.ndarray) -> np.ndarray:
        """Blend ``voxels`` in (the first call copies them) and return the envelope.

        Raises
        ------
        ShapeMismatch
            If the shape differs from the envelope's.
        """
        if self._envelope is None:
            self._envelope = np.array(voxels, dtype=F32, copy=True)
            self._scratch = np.empty_like(self._envelope)
            return self._envelope
        if voxels.shape != self._envelope.shape:
            raise ShapeMismatch(
                f"resonance envelope has shape {self._envelope.shape}, got {voxels.shape}"
            )
        np.multiply(voxels, self.momentum, out=self._scratch)
        self._envelope *= F32(1.0) - self.momentum
        self._envelope += self._scratch
        return self._envelope
