"""Blending over time: the weight EMA buffer (SPEC A.4) and the voxel EMA/blend arithmetic.

:class:`TemporalResonanceBuffer` smooths per-depth weight vectors from frame to frame. The
array functions below are the checks and voxel arithmetic behind
:meth:`stv_cli.ZSpaceVolume.accumulate` and :meth:`~stv_cli.ZSpaceVolume.blend_sequence`; they
work slice by slice so that no temporary of a whole volume is ever allocated.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import DataLength, EmptyInput, InvalidValue, ShapeMismatch
from .floats import F32, as_vector, clamp, finite_f32, normalise, require_finite, sequential_sum

#: The buffer's fallback new-frame weight when the one given is not finite (SPEC A.4).
DEFAULT_BUFFER_DECAY = 0.5


class TemporalResonanceBuffer:
    """Exponential moving average of normalised weight vectors (SPEC A.4).

    Parameters
    ----------
    decay
        The weight of the NEWEST frame in the blend (the reference's name, see D10).
        Clamped to [0, 1]; NaN or +-inf fall back to 0.5 (no error).

    Examples
    --------
    >>> buf = TemporalResonanceBuffer(0.5)
    >>> _ = buf.apply([0.2, 0.8])
    >>> [round(float(x), 6) for x in buf.apply([0.6, 0.4])], buf.frames
    ([0.4, 0.6], 2)
    """

    def __init__(self, decay: float) -> None:
        decay32 = finite_f32(decay)  # finite as a float32: 1e39 is inf and falls back too
        self._decay = F32(DEFAULT_BUFFER_DECAY) if decay32 is None else clamp(decay32, 0.0, 1.0)
        self._history: np.ndarray | None = None
        self._frames = 0

    @property
    def decay(self) -> float:
        """The new-frame weight in force (after clamping/fallback)."""
        return float(self._decay)

    @property
    def history(self) -> np.ndarray | None:
        """A copy of the smoothed weights, or None before the first frame / after clear()."""
        return None if self._history is None else self._history.copy()

    @property
    def frames(self) -> int:
        """Frames blended since the last reset (a length change or clear() resets it)."""
        return self._frames

    def clear(self) -> None:
        """Forget the history (frames becomes 0)."""
        self._history = None
        self._frames = 0

    def apply(self, weights) -> np.ndarray:
        """Blend ``weights`` into the history and return the result (a new float32 vector).

        With a history of the same length: ``history <- normalise(history * (1 - decay) +
        weights * decay)``. Otherwise (first frame, or a length change) the history restarts
        as ``normalise(weights)``. An empty vector clears the buffer and returns [].

        Raises
        ------
        NonFiniteValue
            If an entry is NaN or infinite (temporal_resonance_weight); the state is unchanged.
        """
        w = as_vector(weights, "temporal_resonance_weight")
        require_finite(w, "temporal_resonance_weight")
        if w.size == 0:
            self.clear()
            return w
        if self._history is not None and self._history.size == w.size:
            keep = F32(1.0) - self._decay
            self._history = normalise(self._history * keep + w * self._decay)
            self._frames += 1
        else:
            self._history = normalise(w)
            self._frames = 1
        return self._history.copy()

    def __repr__(self) -> str:
        return f"TemporalResonanceBuffer(decay={self.decay}, frames={self.frames})"


def check_alpha(alpha: float) -> np.float32:
    """``alpha`` (temporal_alpha) as float32 if finite and in [0, 1] (SPEC A.2.6).

    Judged as the float32 the reference receives: 1 + 1e-12 is 1.0 and 1e39 is inf.

    Raises
    ------
    InvalidValue
        Otherwise, naming the value.
    """
    alpha32 = finite_f32(alpha)
    if alpha32 is None or not F32(0.0) <= alpha32 <= F32(1.0):
        raise InvalidValue(f"temporal_alpha must be finite and in [0, 1], got {alpha}")
    return alpha32


def ema_slices(
    state: np.ndarray, incoming: np.ndarray, alpha: np.float32, out: np.ndarray
) -> np.ndarray:
    """``out = state * (1 - alpha) + incoming * alpha`` in float32, one slice at a time.

    ``out`` may be ``state`` itself (in-place EMA). Allocates one slice of scratch.
    """
    keep = F32(1.0) - F32(alpha)
    scratch = np.empty(state.shape[1:], dtype=F32)
    for z in range(state.shape[0]):
        # scratch first: incoming may be state itself
        np.multiply(incoming[z], F32(alpha), out=scratch)
        np.multiply(state[z], keep, out=out[z])
        out[z] += scratch
    return out


def blend_arrays(arrays: Sequence[np.ndarray], weights) -> np.ndarray:
    """Weighted mean ``sum(w_k A_k) / sum(w_k)`` of equally shaped (D, H, W, C) arrays.

    The checks and arithmetic of ``blend_sequence`` (SPEC A.2.7 with D4), in the spec's
    order; allocates the output and one slice of scratch.

    Raises
    ------
    EmptyInput
        If ``arrays`` is empty (z_space_sequence).
    DataLength
        If ``len(weights) != len(arrays)``.
    ShapeMismatch
        If an entry is not an array of array 0's shape.
    NonFiniteValue
        If a weight (temporal_weight) is not finite.
    InvalidValue
        If the weights sum to <= 0 (D4; the reference returns the raw sum).
    """
    arrays = list(arrays)
    if not arrays:
        raise EmptyInput("z_space_sequence must contain at least one volume, got 0")
    w = as_vector(weights, "temporal_weights")
    if w.size != len(arrays):
        raise DataLength(
            f"temporal_weights must have one weight per volume ({len(arrays)}), got {w.size}"
        )
    for k, a in enumerate(arrays):
        if not isinstance(a, np.ndarray) or a.shape != arrays[0].shape:
            raise ShapeMismatch(
                f"volume {k} of z_space_sequence has shape {getattr(a, 'shape', type(a))} "
                f"but volume 0 has {arrays[0].shape}"
            )
    require_finite(w, "temporal_weight")
    total = sequential_sum(w)
    if not total > 0:
        raise InvalidValue(
            f"temporal weights must sum to a positive total, got {float(total)} from {w.tolist()}"
        )
    return blend_slices(arrays, w, total)


def blend_slices(
    arrays: Sequence[np.ndarray], weights: np.ndarray, total: np.float32
) -> np.ndarray:
    """``sum_k arrays[k] * weights[k]``, accumulated in order from 0, then times ``1 / total``.

    Allocates the output and one slice of scratch. The caller checks shapes and that
    ``total > 0`` (:func:`blend_arrays` does).
    """
    out = np.zeros(arrays[0].shape, dtype=F32)
    scratch = np.empty(arrays[0].shape[1:], dtype=F32)
    for array, wk in zip(arrays, weights, strict=True):
        for z in range(out.shape[0]):
            np.multiply(array[z], F32(wk), out=scratch)
            out[z] += scratch
    out *= F32(1.0) / F32(total)
    return out
