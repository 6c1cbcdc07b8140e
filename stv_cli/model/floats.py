"""Small float32 helpers shared by the model: weight normalisation and Rust-style float rules.

The reference design is written in Rust, whose float helpers differ from Python's built-ins on
NaN (SPEC A.0): ``max(a, b)``/``min(a, b)`` return the *other* argument when one is NaN (that is
:func:`numpy.fmax`/:func:`numpy.fmin`), and ``clamp`` keeps NaN. Parity depends on following
those rules, so every model module uses the helpers here instead of ``max``/``min``/``np.clip``.

Everything in this module works on short per-depth vectors (weights, windows, biases) in plain
NumPy float32, or checks a scalar argument; nothing here touches voxels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..errors import DataLength, InvalidValue, NonFiniteValue, ShapeMismatch

F32 = np.float32

#: float32 machine epsilon (1.1920929e-7), the threshold of :func:`normalise`.
EPS = F32(np.finfo(np.float32).eps)

#: The direction used when a vector cannot be normalised (SPEC A.1).
DEFAULT_DIRECTION = (0.0, 0.0, 1.0)

#: 2^128 - 2^103, halfway between float32's largest value and 2^128: a double this large
#: (or larger) rounds to float32 infinity; anything smaller rounds to a finite float32.
_F32_OVERFLOW = 3.4028235677973366e38
#: Vectors up to this length are summed with Python floats (see sequential_sum).
_SHORT_SUM = 32


def as_vector(values: Iterable[float] | np.ndarray, name: str = "weights") -> np.ndarray:
    """Return ``values`` as a new flat float32 array.

    Lists, tuples and arrays of any shape are accepted and read row-major, as the reference
    consumes a tensor as a 1-D vector (SPEC A.0). Always allocates a copy (these vectors are
    one value per slice, so the copy is small and protects the caller's array).

    Raises
    ------
    InvalidValue
        If ``values`` cannot be read as numbers.
    """
    try:
        return np.array(values, dtype=F32).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InvalidValue(f"{name} must be a sequence of numbers, got {values!r}: {exc}") from None


def sequential_sum(values: np.ndarray) -> np.float32:
    """Sum a float32 vector left to right in float32, starting at 0.0 (SPEC A.0).

    ``np.sum`` uses pairwise summation and so differs in the last bits; ``np.cumsum`` adds in
    order, which is the reference's order.
    """
    if values.size == 0:
        return F32(0.0)
    if values.size <= _SHORT_SUM and values.dtype == F32:
        total = _short_sum(values.tolist())
        if total is not None:
            return total
    with np.errstate(over="ignore"):  # overflow to inf is the spec's result, not a fault
        return np.cumsum(values, dtype=F32)[-1]


def _short_sum(items: list[float]) -> np.float32 | None:
    """np.cumsum's float32 total of a few finite float32 values, without numpy's errstate.

    Each partial sum is taken in double and rounded to float32. The double sum of two
    float32 values rounded to float32 is the float32 sum exactly (53 >= 2 * 24 + 2 bits, so
    the double rounding is innocuous), and cumsum also starts from the first value. Returns
    None, for numpy to do it, on any NaN, inf or overflow.
    """
    total = items[0]
    if not math.isfinite(total):
        return None
    for value in items[1:]:
        total = total + value
        if not -_F32_OVERFLOW < total < _F32_OVERFLOW:  # also False for NaN
            return None
        total = float(F32(total))
    return F32(total)


def normalise(weights: Iterable[float] | np.ndarray) -> np.ndarray:
    """Scale a weight vector so that its finite entries sum to 1 (SPEC A.1).

    Parameters
    ----------
    weights
        Any sequence of numbers; read flat as float32.

    Returns
    -------
    numpy.ndarray
        A new float32 vector. If the sum of the finite entries is not finite or is <= EPS,
        every entry becomes ``1 / len`` (uniform). Otherwise each entry is divided by that sum;
        NaN and inf entries stay non-finite and negative entries are kept. An empty input
        gives an empty output.

    Examples
    --------
    >>> normalise([1, 3]).tolist()
    [0.25, 0.75]
    >>> normalise([0, 0]).tolist()
    [0.5, 0.5]
    """
    w = as_vector(weights)
    if w.size == 0:
        return w
    # a finite sum of squares proves every entry finite (one dot product, no mask)
    total = sequential_sum(w if math.isfinite(np.vdot(w, w)) else w[np.isfinite(w)])
    if not math.isfinite(total) or total <= EPS:
        return np.full(w.size, F32(1.0) / F32(w.size), dtype=F32)
    return (w / total).astype(F32, copy=False)


def normalise_direction(vector: Iterable[float], name: str = "direction") -> np.ndarray:
    """Unit vector of a 3-vector, or (0, 0, 1) when its length is <= 1e-6 or not finite.

    The length is ``sqrt((x*x + y*y) + z*z)`` in float32 (SPEC A.1). Returns a new float32
    array of shape (3,).

    Raises
    ------
    ShapeMismatch
        If ``vector`` does not have exactly three components.
    """
    v = as_vector(vector, name)
    if v.size != 3:
        raise ShapeMismatch(f"{name} must have 3 components (x, y, z), got {v.size}: {v.tolist()}")
    x, y, z = v
    n = np.sqrt((x * x + y * y) + z * z)
    if not np.isfinite(n) or n <= F32(1e-6):
        return np.array(DEFAULT_DIRECTION, dtype=F32)
    return (v / n).astype(F32, copy=False)


def rust_max(a: float, b: float) -> np.float32:
    """Rust's ``f32::max``: NaN yields the other argument (``max(NaN, 0) = 0``)."""
    return F32(np.fmax(F32(a), F32(b)))


def rust_min(a: float, b: float) -> np.float32:
    """Rust's ``f32::min``: NaN yields the other argument."""
    return F32(np.fmin(F32(a), F32(b)))


def as_f32(x: float) -> np.float32:
    """``x`` as a float32 scalar; a finite value beyond float32's range becomes +-inf quietly.

    The reference receives every parameter as an ``f32``, so a Python float such as 1e39 is
    judged as the float32 it becomes (inf), not as the double it was.
    """
    if type(x) is float and -_F32_OVERFLOW < x < _F32_OVERFLOW:
        return F32(x)  # cannot overflow: no errstate (1.6 us)
    if type(x) is F32:
        return x
    with np.errstate(over="ignore"):
        return F32(x)


def finite_f32(x: float | None) -> np.float32 | None:
    """``x`` as float32 if it is finite *as a float32*, else None (None, NaN, +-inf, 1e39).

    Constructors use it for the reference's "kept if finite, otherwise the default" rules.
    """
    if x is None:
        return None
    value = as_f32(x)
    return value if math.isfinite(value) else None


def clamp(x: float, lo: float, hi: float) -> np.float32:
    """Rust's ``f32::clamp``: NaN stays NaN, every other value is pinned into [lo, hi]."""
    x = as_f32(x)
    if x != x:  # NaN (a ufunc call on a scalar costs more than the clamp)
        return x
    lo, hi = F32(lo), F32(hi)
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


def is_finite(x: float | None) -> bool:
    """True for a finite real number (False for None, NaN and +-inf)."""
    return x is not None and math.isfinite(float(x))


def integer_at_least(value, name: str, minimum: int, error: type[Exception] = InvalidValue) -> int:
    """``value`` as an int if it is an integer (not a bool) >= ``minimum``.

    Raises
    ------
    InvalidValue
        (or ``error``) naming ``name``, the value and the minimum otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise error(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def require_finite(weights: np.ndarray, label: str) -> None:
    """Raise :class:`NonFiniteValue` naming ``label``, the first bad index and its value."""
    if weights.dtype == F32 and math.isfinite(np.vdot(weights, weights)):
        return  # a finite sum of squares: every entry is finite (no mask, no search)
    bad = np.flatnonzero(~np.isfinite(weights))
    if bad.size:
        i = int(bad[0])
        raise NonFiniteValue(
            f"{label} must be finite, got {weights[i]} at index {i} ({bad.size} non-finite of "
            f"{weights.size})"
        )


def slice_weights(weights, depth: int) -> np.ndarray:
    """The ``z_space_weights`` of a collapse: a new float32 vector of ``depth`` finite values.

    Raises
    ------
    DataLength
        If ``len(weights) != depth``.
    NonFiniteValue
        If a weight is NaN or infinite.
    """
    w = as_vector(weights, "z_space_weights")
    if w.size != depth:
        raise DataLength(
            f"z_space_weights must have one weight per slice (D = {depth}), got {w.size}"
        )
    require_finite(w, "z_space_weight")
    return w
