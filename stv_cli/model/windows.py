"""Spectral windows along Z (SPEC A.3): the depth taper every projection multiplies in."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from ..errors import InvalidValue
from .floats import F32, finite_f32, integer_at_least, normalise

#: The Gaussian window's only fallback width (SPEC A.3, A.16).
DEFAULT_GAUSSIAN_SIGMA = 0.4
_MIN_SIGMA = F32(1e-3)
_TWO_PI = F32(2.0 * math.pi)
#: Windows already computed, by (kind, sigma, n): a projector asks for the same one every
#: frame of a video (11 us each time). Read-only; callers get copies.
_WEIGHTS_CACHE: dict[tuple, np.ndarray] = {}
_WEIGHTS_CACHE_SIZE = 64


class WindowKind(str, Enum):
    """The window families; the value is the name the CLI accepts."""

    RECTANGULAR = "rectangular"
    HANN = "hann"
    HAMMING = "hamming"
    BLACKMAN = "blackman"
    GAUSSIAN = "gaussian"


def _gaussian_sigma(sigma: float | None) -> float:
    """sigma if finite and > 1e-3 (compared in float32), else the 0.4 fallback."""
    try:
        s = finite_f32(sigma)
    except (TypeError, ValueError):
        return DEFAULT_GAUSSIAN_SIGMA
    if s is not None and s > _MIN_SIGMA:
        return float(s)
    return DEFAULT_GAUSSIAN_SIGMA


@dataclass(frozen=True)
class SpectralWindow:
    """A symmetric window over the D slices of a volume, normalised to sum 1.

    Build one with the class methods (:meth:`hann`, :meth:`gaussian`, ...) or
    :meth:`from_name`. Instances are immutable and compare by kind and sigma.

    Parameters
    ----------
    kind
        A :class:`WindowKind` or its name.
    sigma
        Width of the Gaussian window in units of (N+1)/2 slices; kept only if finite and
        > 1e-3, otherwise 0.4 (the reference's fallback, no error). Ignored (stored as None)
        for the other kinds.
    """

    kind: WindowKind = WindowKind.HANN
    sigma: float | None = None

    def __post_init__(self) -> None:
        try:
            kind = WindowKind(str(getattr(self.kind, "value", self.kind)).lower())
        except ValueError:
            allowed = ", ".join(k.value for k in WindowKind)
            raise InvalidValue(f"window kind must be one of {allowed}, got {self.kind!r}") from None
        object.__setattr__(self, "kind", kind)
        sigma = _gaussian_sigma(self.sigma) if kind is WindowKind.GAUSSIAN else None
        object.__setattr__(self, "sigma", sigma)

    @classmethod
    def rectangular(cls) -> SpectralWindow:
        """Equal weight on every slice."""
        return cls(WindowKind.RECTANGULAR)

    @classmethod
    def hann(cls) -> SpectralWindow:
        """0.5(1 - cos r); the projector's default. Endpoints are exactly 0."""
        return cls(WindowKind.HANN)

    @classmethod
    def hamming(cls) -> SpectralWindow:
        """0.54 - 0.46 cos r."""
        return cls(WindowKind.HAMMING)

    @classmethod
    def blackman(cls) -> SpectralWindow:
        """(0.42 - 0.5 cos r) + 0.08 cos 2r, floored at 0."""
        return cls(WindowKind.BLACKMAN)

    @classmethod
    def gaussian(cls, sigma: float = DEFAULT_GAUSSIAN_SIGMA) -> SpectralWindow:
        """exp(-(n - m)^2 / (2 sigma^2 (m + 1)^2)) with m = (N - 1)/2; sigma falls back to 0.4."""
        return cls(WindowKind.GAUSSIAN, sigma)

    @classmethod
    def from_name(cls, name: str, sigma: float | None = None) -> SpectralWindow:
        """Window by name (``"hann"``, ``"gaussian"``, ...), for the CLI.

        Raises
        ------
        InvalidValue
            If ``name`` is not a window kind.
        """
        return cls(name, sigma if sigma is not None else DEFAULT_GAUSSIAN_SIGMA)

    def weights(self, n: int) -> np.ndarray:
        """The normalised window over ``n`` slices (SPEC A.3).

        Returns a new float32 vector of length ``n`` that sums to 1: [] for n = 0, [1.0] for
        n = 1, otherwise the symmetric window (denominator n - 1) floored at 0 and passed
        through :func:`~stv_cli.model.floats.normalise` (so an all-zero window becomes uniform).

        Raises
        ------
        InvalidValue
            If ``n`` is negative or not an integer.
        """
        n = integer_at_least(n, "window length n", 0)
        key = (self.kind, self.sigma, n)
        cached = _WEIGHTS_CACHE.get(key)
        if cached is None:
            cached = self._weights(n)
            cached.flags.writeable = False
            if len(_WEIGHTS_CACHE) >= _WEIGHTS_CACHE_SIZE:
                _WEIGHTS_CACHE.clear()
            _WEIGHTS_CACHE[key] = cached
        return cached.copy()

    def _weights(self, n: int) -> np.ndarray:
        if n == 0:
            return np.zeros(0, dtype=F32)
        if n == 1:
            return np.ones(1, dtype=F32)
        k = np.arange(n, dtype=F32)
        if self.kind is WindowKind.GAUSSIAN:
            coeffs = self._gaussian(k, n)
        else:
            r = (_TWO_PI * k) / F32(n - 1)
            cos_r = np.cos(r)
            if self.kind is WindowKind.RECTANGULAR:
                coeffs = np.ones(n, dtype=F32)
            elif self.kind is WindowKind.HANN:
                coeffs = F32(0.5) * (F32(1.0) - cos_r)
            elif self.kind is WindowKind.HAMMING:
                coeffs = F32(0.54) - F32(0.46) * cos_r
            else:
                coeffs = (F32(0.42) - F32(0.5) * cos_r) + F32(0.08) * np.cos(F32(2.0) * r)
        return normalise(np.fmax(coeffs.astype(F32, copy=False), F32(0.0)))

    def _gaussian(self, k: np.ndarray, n: int) -> np.ndarray:
        sigma = F32(self.sigma)
        m = F32(n - 1) / F32(2.0)
        m1 = m + F32(1.0)
        den = np.fmax(((F32(2.0) * sigma) * sigma) * (m1 * m1), F32(1e-6))
        d = k - m
        return np.exp(-(d * d) / den)
