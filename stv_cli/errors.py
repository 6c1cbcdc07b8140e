"""The project's exception types.

Every rejection in SPEC A.15 (docs/semantics.md) raises one of these (decision D3). The names
follow the reference's error kinds so that a reader of the spec can map one onto the other;
each is also a ``ValueError`` so generic callers can catch it without knowing stv.
"""

from __future__ import annotations


class StvError(Exception):
    """Base class of every error stv raises on purpose (the CLI turns these into exit 1)."""


class InvalidDimensions(StvError, ValueError):
    """A dimension is zero, overflows, or does not fit (depth > steps, ...)."""


class DataLength(StvError, ValueError):
    """A buffer or list has the wrong length."""


class ShapeMismatch(StvError, ValueError):
    """Two things that must have the same shape do not."""


class EmptyInput(StvError, ValueError):
    """Something that must not be empty is empty."""


class InvalidValue(StvError, ValueError):
    """A parameter lies outside the range it is allowed to take."""


class NonFiniteValue(StvError, ValueError):
    """A value that must be finite is NaN or infinite."""


class InputError(StvError):
    """A user's input file or folder cannot be used (unreadable, wrong format, too large)."""
