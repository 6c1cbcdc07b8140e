"""The memory guard: refuse an oversized volume operation before it allocates anything.

Every model operation that allocates a volume-sized output (construction, interpolate, upscale,
diffuse, decode) first asks :func:`check_memory` with its estimate, so a request that would make
the machine swap fails at once with a message naming the estimate and the limit.
"""

from __future__ import annotations

import os

import numpy as np

from .errors import InvalidDimensions, InvalidValue

_memory_limit_override: int | None = None


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
    if _memory_limit_override is not None:
        return _memory_limit_override
    physical = physical_memory_bytes()
    return None if physical is None else int(physical * 0.8)


def set_memory_limit(limit_bytes: int | None) -> None:
    """Set the largest output (bytes) a volume operation may allocate; None restores 80% of RAM.

    Raises
    ------
    InvalidValue
        If ``limit_bytes`` is not None and not a positive integer.
    """
    global _memory_limit_override
    if limit_bytes is not None and (
        isinstance(limit_bytes, bool) or not isinstance(limit_bytes, (int, np.integer))
    ):
        raise InvalidValue(f"memory limit must be a positive integer of bytes, got {limit_bytes!r}")
    if limit_bytes is not None and limit_bytes <= 0:
        raise InvalidValue(f"memory limit must be a positive integer of bytes, got {limit_bytes}")
    _memory_limit_override = None if limit_bytes is None else int(limit_bytes)


def _gib(nbytes: int) -> str:
    return f"{nbytes / 2**30:.2f} GiB ({nbytes} bytes)"


def check_memory(estimate_bytes: int, what: str) -> None:
    """Raise :class:`InvalidDimensions` if ``estimate_bytes`` exceeds :func:`memory_limit`.

    ``what`` names the output in the message, e.g. ``"upscale output of shape (...)"``.
    """
    limit = memory_limit()
    if limit is not None and estimate_bytes > limit:
        raise InvalidDimensions(
            f"{what} needs an estimated {_gib(estimate_bytes)}, more than the memory limit of "
            f"{_gib(limit)}; use a smaller factor or input, or raise the limit "
            "(stv_cli.volume.set_memory_limit)"
        )
