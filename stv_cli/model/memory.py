"""The memory guard: refuse an oversized volume operation before it allocates anything.

Every model operation that allocates a volume-sized output (construction, interpolate, upscale,
diffuse, decode) first asks :func:`check_memory` with its estimate, so a request that would make
the machine swap fails at once with a message naming the estimate and the limit.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator

import numpy as np

from ..errors import InvalidDimensions, InvalidValue

# The limit set for this thread/context; None: 80% of physical memory. A context variable, not
# a module global, so a run context applied in one worker thread does not leak into another.
_limit: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "stv_memory_limit", default=None
)


def estimate_volume_bytes(depth: int, height: int, width: int, channels: int = 1) -> int:
    """Bytes of a float32 (D, H, W, C) volume: ``4 * D * H * W * C`` (Python ints, no overflow)."""
    return 4 * int(depth) * int(height) * int(width) * int(channels)


def physical_memory_bytes() -> int | None:
    """This machine's physical RAM in bytes, or None where the OS does not say."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def memory_limit() -> int | None:
    """The limit in force: :func:`set_memory_limit`'s value, else 80% of physical RAM."""
    override = _limit.get()
    if override is not None:
        return override
    physical = physical_memory_bytes()
    return None if physical is None else int(physical * 0.8)


def set_memory_limit(limit_bytes: int | None) -> None:
    """Set the largest output (bytes) a volume operation may allocate; None restores 80% of RAM.

    Raises
    ------
    InvalidValue
        If ``limit_bytes`` is not None and not a positive integer.
    """
    _limit.set(_checked(limit_bytes))


@contextlib.contextmanager
def use_memory_limit(limit_bytes: int | None) -> Iterator[int | None]:
    """Run a block with :func:`set_memory_limit`'s ``limit_bytes`` in force (None: 80% of RAM).

    The previous limit comes back when the block ends; yields the limit in force.
    """
    token = _limit.set(_checked(limit_bytes))
    try:
        yield memory_limit()
    finally:
        _limit.reset(token)


def _checked(limit_bytes: int | None) -> int | None:
    if limit_bytes is not None and (
        isinstance(limit_bytes, bool) or not isinstance(limit_bytes, (int, np.integer))
    ):
        raise InvalidValue(f"memory limit must be a positive integer of bytes, got {limit_bytes!r}")
    if limit_bytes is not None and limit_bytes <= 0:
        raise InvalidValue(f"memory limit must be a positive integer of bytes, got {limit_bytes}")
    return None if limit_bytes is None else int(limit_bytes)


def format_bytes(count: float) -> str:
    """Bytes in human units, powers of 1024: ``format_bytes(3 * 2**30) == '3.0 GiB'``."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024:
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def describe_bytes(count: int) -> str:
    """:func:`format_bytes` with the exact count, for messages: ``'1.5 KiB (1536 bytes)'``."""
    return f"{format_bytes(count)} ({int(count)} bytes)"


def check_memory(estimate_bytes: int, what: str) -> None:
    """Raise :class:`InvalidDimensions` if ``estimate_bytes`` exceeds :func:`memory_limit`.

    ``what`` names the output in the message, e.g. ``"upscale output of shape (...)"``.
    """
    limit = memory_limit()
    if limit is not None and estimate_bytes > limit:
        raise InvalidDimensions(
            f"{what} needs an estimated {describe_bytes(estimate_bytes)}, more than the memory "
            f"limit of {describe_bytes(limit)}; use a smaller factor or input, or raise the "
            "limit (stv_cli.set_memory_limit)"
        )
