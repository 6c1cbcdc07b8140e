"""Views and their fusion: the depth axis as the index of cameras around a scene (SPEC A.8).

Each :class:`ViewDescriptor` faces a direction; :class:`MultiViewFusion` turns how well each
view faces the focus direction into a bias per view, which
:meth:`stv_cli.VisionProjector.depth_weights_multi_view` multiplies into the depth weights.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import EmptyInput
from .floats import F32, as_f32, as_vector, clamp, finite_f32, normalise, normalise_direction

#: Range of the alignment exponent; a non-finite gamma falls back to 1 (SPEC A.8, A.16).
GAMMA_RANGE = (0.25, 8.0)
_FLOOR = F32(1e-3)


class ViewDescriptor:
    """One view: an id, where it sits (``origin``, stored but not used) and where it looks.

    Parameters
    ----------
    id
        A label for the view.
    origin
        (x, y, z); kept for the caller, never used in any weighting (as in the reference).
    forward
        (x, y, z) viewing direction; normalised, and (0, 0, 1) if its length is <= 1e-6 or
        not finite.

    Raises
    ------
    ShapeMismatch
        If ``origin`` or ``forward`` does not have three components.
    """

    def __init__(self, id: str, origin: Iterable[float], forward: Iterable[float]) -> None:
        self.id = id
        self.origin = normalise_origin(origin)
        self._forward = normalise_direction(forward, f"forward of view {id!r}")
        self._baseline = F32(1.0)

    @property
    def forward(self) -> np.ndarray:
        """Unit viewing direction (a copy, float32 (3,))."""
        return self._forward.copy()

    @property
    def baseline_weight(self) -> float:
        """The view's weight before alignment, ``max(stored, 0)``."""
        return float(np.fmax(self._baseline, F32(0.0)))

    def with_baseline_weight(self, weight: float) -> ViewDescriptor:
        """A copy with baseline weight ``max(weight, 0)`` (NaN gives 0, negatives give 0)."""
        view = copy.copy(self)
        view._baseline = np.fmax(as_f32(weight), F32(0.0))
        return view

    def with_forward(self, forward: Iterable[float]) -> ViewDescriptor:
        """A copy facing ``forward`` (normalised as in the constructor)."""
        view = copy.copy(self)
        view._forward = normalise_direction(forward, f"forward of view {self.id!r}")
        return view

    def alignment(self, focus_direction: Iterable[float]) -> float:
        """``max(forward . normalise_direction(focus), 0)``: 1 facing the focus, 0 facing away."""
        f = normalise_direction(focus_direction, "focus_direction")
        a = self._forward
        dot = (a[0] * f[0] + a[1] * f[1]) + a[2] * f[2]
        return float(np.fmax(dot, F32(0.0)))

    def __repr__(self) -> str:
        return (
            f"ViewDescriptor(id={self.id!r}, forward={self._forward.tolist()}, "
            f"baseline_weight={self.baseline_weight})"
        )


def normalise_origin(origin: Iterable[float]) -> np.ndarray:
    """``origin`` as a float32 (3,) array (validated like a direction, not normalised)."""
    o = as_vector(origin, "origin")
    if o.size != 3:
        normalise_direction(o, "origin")  # raises ShapeMismatch with the standard message
    return o


class MultiViewFusion:
    """Biases per view from their alignment with a focus direction (SPEC A.8).

    Parameters
    ----------
    views
        The views, in depth order (view k is slice k of the volumes it weights).

    Raises
    ------
    EmptyInput
        If ``views`` is empty (multi_view_fusion).
    """

    def __init__(self, views: Sequence[ViewDescriptor]) -> None:
        self._views = tuple(views)
        if not self._views:
            raise EmptyInput("multi_view_fusion needs at least one view, got 0")
        self._focus = np.array([0.0, 0.0, 1.0], dtype=F32)
        self._gamma = F32(1.0)

    @property
    def views(self) -> tuple[ViewDescriptor, ...]:
        """The views, in order."""
        return self._views

    @property
    def view_count(self) -> int:
        """Number of views; must equal the depth of the volumes it weights."""
        return len(self._views)

    @property
    def focus_direction(self) -> np.ndarray:
        """Unit focus direction (a copy), default (0, 0, 1)."""
        return self._focus.copy()

    @property
    def alignment_gamma(self) -> float:
        """Exponent that sharpens (> 1) or flattens (< 1) alignment, in [0.25, 8]."""
        return float(self._gamma)

    def with_focus_direction(self, direction: Iterable[float]) -> MultiViewFusion:
        """A copy with ``normalise_direction(direction)`` as focus ((0, 0, 1) if degenerate)."""
        fusion = copy.copy(self)
        fusion._focus = normalise_direction(direction, "focus_direction")
        return fusion

    def with_alignment_gamma(self, gamma: float) -> MultiViewFusion:
        """A copy with gamma clamped to [0.25, 8]; NaN or +-inf give 1 (no error)."""
        fusion = copy.copy(self)
        gamma32 = finite_f32(gamma)  # finite as a float32: 1e39 is inf and falls back too
        fusion._gamma = F32(1.0) if gamma32 is None else clamp(gamma32, *GAMMA_RANGE)
        return fusion

    def raw_biases(self) -> np.ndarray:
        """``max(alignment, 1e-3)^gamma * max(baseline, 1e-3)`` per view (new float32 array)."""
        gamma = np.fmax(self._gamma, _FLOOR)
        raw = [
            np.power(np.fmax(F32(v.alignment(self._focus)), _FLOOR), gamma)
            * np.fmax(F32(v.baseline_weight), _FLOOR)
            for v in self._views
        ]
        return np.array(raw, dtype=F32)

    def normalised_biases(self) -> np.ndarray:
        """:meth:`raw_biases` normalised to sum 1 (a new float32 array, one per view)."""
        return normalise(self.raw_biases())

    def view_bias_profile(self) -> list[tuple[str, float]]:
        """``(view id, normalised bias)`` for every view, in order, for reports."""
        return [
            (v.id, float(b)) for v, b in zip(self._views, self.normalised_biases(), strict=True)
        ]

    def __repr__(self) -> str:
        return (
            f"MultiViewFusion(views={self.view_count}, focus_direction={self._focus.tolist()}, "
            f"alignment_gamma={self.alignment_gamma})"
        )
