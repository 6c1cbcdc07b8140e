"""DifferentialResonance: the five-field record that steers every projection (SPEC A.9, A.2.2)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import EmptyInput, InvalidValue
from .floats import F32, as_vector, normalise

_FIELDS = (
    "homotopy_flow",
    "functor_linearisation",
    "recursive_objective",
    "infinity_projection",
    "infinity_energy",
)


def _empty() -> np.ndarray:
    return np.zeros(0, dtype=F32)


@dataclass(frozen=True, kw_only=True, eq=False)
class DifferentialResonance:
    """A resonance: five float32 vectors, tiled cyclically over depth by their readers.

    Every field is given by keyword and may be a list or an array of any shape; it is stored as
    a new flat float32 array (the reference consumes its tensors as flat row-major data, so a
    1xD tensor and a D-vector are the same thing). Fields left out are empty.

    Parameters
    ----------
    homotopy_flow
        ``Hf`` of :func:`resonance_weights`; empty means a factor of 1 per depth.
    functor_linearisation
        Carried along; not read by the vision model.
    recursive_objective
        ``O``; must be non-empty to compute weights.
    infinity_projection
        Read only by the resonance generator (as the previous projection).
    infinity_energy
        ``E``; must be non-empty to compute weights.

    Examples
    --------
    >>> r = DifferentialResonance(infinity_energy=[1, 2], recursive_objective=[0])
    >>> [round(float(w), 6) for w in r.weights(4)]
    [0.166667, 0.333333, 0.166667, 0.333333]
    """

    homotopy_flow: np.ndarray = field(default_factory=_empty)
    functor_linearisation: np.ndarray = field(default_factory=_empty)
    recursive_objective: np.ndarray = field(default_factory=_empty)
    infinity_projection: np.ndarray = field(default_factory=_empty)
    infinity_energy: np.ndarray = field(default_factory=_empty)

    def __post_init__(self) -> None:
        for name in _FIELDS:
            value = getattr(self, name)
            object.__setattr__(self, name, _empty() if value is None else as_vector(value, name))

    @classmethod
    def _adopt(cls, **fields: np.ndarray) -> DifferentialResonance:
        """Adopt fresh flat float32 arrays without copying them (the generator's outputs).

        The caller hands over arrays nobody else holds, so the copies the constructor makes
        to protect a caller's arrays would only cost time (five per generated frame).
        """
        resonance = object.__new__(cls)
        for name in _FIELDS:
            object.__setattr__(resonance, name, fields[name])
        return resonance

    @classmethod
    def uniform(cls) -> DifferentialResonance:
        """The neutral resonance: E = [1], O = [0], Hf = [] gives equal weight to every depth."""
        return cls(infinity_energy=[1.0], recursive_objective=[0.0])

    def weights(self, depth: int) -> np.ndarray:
        """Same as :func:`resonance_weights` (``resonance_weights(self, depth)``)."""
        return resonance_weights(self, depth)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DifferentialResonance):
            return NotImplemented
        return all(np.array_equal(getattr(self, n), getattr(other, n)) for n in _FIELDS)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{n}={getattr(self, n).size}" for n in _FIELDS)
        return f"DifferentialResonance(lengths: {sizes})"


def resonance_weights(resonance: DifferentialResonance, depth: int) -> np.ndarray:
    """Per-depth weights from a resonance (SPEC A.2.2), normalised to sum 1.

    For each z, with the arrays tiled cyclically (index z mod length):
    ``w_z = max((e * o) * h, 0)`` where ``e = |E_z| + 1e-6``, ``o = 1 + tanh(O_z)`` and
    ``h = 1 + tanh(Hf_z)`` (1 when Hf is empty); Rust's ``max`` turns NaN into 0. Returns a new
    float32 vector of length ``depth``.

    Raises
    ------
    EmptyInput
        If ``infinity_energy`` or ``recursive_objective`` is empty.
    InvalidValue
        If ``depth`` is negative.
    """
    energy = resonance.infinity_energy
    objective = resonance.recursive_objective
    flow = resonance.homotopy_flow
    if energy.size == 0 or objective.size == 0:
        raise EmptyInput(
            "differential_resonance needs non-empty infinity_energy and recursive_objective, "
            f"got lengths {energy.size} and {objective.size}"
        )
    if depth < 0:
        raise InvalidValue(f"depth must be >= 0, got {depth}")
    depth = int(depth)
    e = np.abs(_tiled(energy, depth)) + F32(1e-6)
    o = F32(1.0) + np.tanh(_tiled(objective, depth))
    w = e * o
    if flow.size:
        w = w * (F32(1.0) + np.tanh(_tiled(flow, depth)))
    return normalise(np.fmax(w, F32(0.0)))


def _tiled(values: np.ndarray, depth: int) -> np.ndarray:
    """``values[z % len]`` for z < depth (a view when no value repeats)."""
    if values.size >= depth:
        return values[:depth]  # z % len == z for every z < depth
    return values[np.arange(depth) % values.size]
