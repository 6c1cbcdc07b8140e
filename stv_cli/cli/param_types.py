"""click parameter types of the ``stv`` commands: finite floats, bounded integers, byte sizes.

Each type refuses a bad value while click parses, with a message naming the value and the
allowed range (exit 2). Only click is imported here.
"""

from __future__ import annotations

import math
from typing import Any

import click

__all__ = [
    "ANY_FINITE",
    "NON_NEGATIVE",
    "POSITIVE",
    "UNIT",
    "BoundedInt",
    "ByteSize",
    "FiniteFloat",
]


class FiniteFloat(click.ParamType):
    """A float that must be finite and lie in a range; NaN and inf are refused.

    click's own ``FloatRange`` lets NaN through (every comparison with NaN is false), which is
    why stv has its own type.
    """

    name = "float"

    def __init__(
        self,
        low: float | None = None,
        high: float | None = None,
        *,
        low_open: bool = False,
        high_open: bool = False,
    ) -> None:
        self.low, self.high = low, high
        self.low_open, self.high_open = low_open, high_open

    def describe(self) -> str:
        """The allowed range in words, e.g. ``a finite number in [0, 1]``."""
        if self.low is None and self.high is None:
            return "a finite number"
        if self.high is None:
            return f"a finite number {'>' if self.low_open else '>='} {self.low:g}"
        if self.low is None:
            return f"a finite number {'<' if self.high_open else '<='} {self.high:g}"
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"a finite number in {left}{self.low:g}, {self.high:g}{right}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        if isinstance(value, float) and math.isfinite(value):
            number = value
        else:
            try:
                number = float(value)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not a number; expected {self.describe()}", param, ctx)
        bad = not math.isfinite(number)
        if not bad and self.low is not None:
            bad = number <= self.low if self.low_open else number < self.low
        if not bad and self.high is not None:
            bad = number >= self.high if self.high_open else number > self.high
        if bad:
            self.fail(f"{value!r} is not allowed; expected {self.describe()}", param, ctx)
        return number

    def __repr__(self) -> str:
        return f"FiniteFloat({self.describe()})"


class BoundedInt(click.ParamType):
    """An integer with an inclusive minimum (and optional maximum), named in the error."""

    name = "integer"

    def __init__(self, low: int, high: int | None = None) -> None:
        self.low, self.high = low, high

    def describe(self) -> str:
        if self.high is None:
            return f"an integer >= {self.low}"
        return f"an integer in [{self.low}, {self.high}]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = int(str(value), 10)
            except ValueError:
                self.fail(f"{value!r} is not an integer; expected {self.describe()}", param, ctx)
        if number < self.low or (self.high is not None and number > self.high):
            self.fail(f"{value!r} is not allowed; expected {self.describe()}", param, ctx)
        return number

    def __repr__(self) -> str:
        return f"BoundedInt({self.describe()})"


UNIT = FiniteFloat(0.0, 1.0)
NON_NEGATIVE = FiniteFloat(0.0)
POSITIVE = FiniteFloat(0.0, low_open=True)
ANY_FINITE = FiniteFloat()


class ByteSize(click.ParamType):
    """A size in bytes: ``1073741824``, ``512M``, ``4G``, ``1.5T`` (binary units), > 0."""

    name = "size"
    _UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        text = str(value).strip().upper().removesuffix("IB").removesuffix("B")
        unit = text[-1:] if text[-1:] in "KMGT" and text[-1:] else ""
        try:
            number = float(text[: len(text) - len(unit)])
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or number <= 0:
            self.fail(
                f"{value!r} is not a size; expected a number > 0 of bytes, optionally with "
                "K, M, G or T (e.g. 512M, 4G)",
                param,
                ctx,
            )
        return int(number * self._UNITS[unit])
