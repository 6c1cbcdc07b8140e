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

# The limit set for this thread/context; None: the default limit (default_memory_limit: the
# smaller of 80% of physical memory and the cgroup's limit). A context variable, not
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


#: A cgroup limit at or above this means "no limit" (cgroup v1 writes 2**63 rounded to pages).
_UNLIMITED = 2**60


def cgroup_memory_bytes(
    root: str = "/sys/fs/cgroup", proc: str = "/proc/self/cgroup"
) -> int | None:
    """The memory limit of this process's cgroup (a container's, a SLURM job's), or None.

    cgroup v2: ``memory.max`` of the process's group (``max`` is no limit); cgroup v1:
    ``memory.limit_in_bytes`` of its memory group (a huge value is no limit). Both are looked
    for under the group's path and at the root of the mount (a container sees its own group
    there).
    """
    try:
        with open(proc, encoding="ascii") as handle:
            lines = handle.read().splitlines()
    except OSError:
        lines = []
    candidates = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, group = parts
        group = group.strip("/")
        if controllers == "":  # v2, the unified hierarchy
            candidates += [
                os.path.join(root, group, "memory.max"),
                os.path.join(root, "memory.max"),
            ]
        elif "memory" in controllers.split(","):
            base = os.path.join(root, "memory")
            candidates += [
                os.path.join(base, group, "memory.limit_in_bytes"),
                os.path.join(base, "memory.limit_in_bytes"),
            ]
    for candidate in candidates:
        try:
            with open(candidate, encoding="ascii") as handle:
                text = handle.read().strip()
        except OSError:
            continue
        if text == "max":
            return None
        try:
            value = int(text)
        except ValueError:
            continue
        return None if value >= _UNLIMITED else value
    return None


def default_memory_limit() -> int | None:
    """The smaller of 80% of physical RAM and the cgroup's memory limit (None: neither known)."""
    physical = physical_memory_bytes()
    limits = [int(physical * 0.8)] if physical is not None else []
    cgroup = cgroup_memory_bytes()
    if cgroup is not None:
        limits.append(cgroup)
    return min(limits) if limits else None


def memory_limit() -> int | None:
    """The limit in force: :func:`set_memory_limit`'s value, else :func:`default_memory_limit`
    (the smaller of 80% of physical RAM and the cgroup's limit)."""
    override = _limit.get()
    if override is not None:
        return override
    return default_memory_limit()


def process_rss_bytes() -> int | None:
    """This process's resident memory now (``VmRSS``), or None where /proc does not say."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def set_memory_limit(limit_bytes: int | None) -> None:
    """Set the largest output (bytes) a volume operation may allocate; None restores the
    default (the smaller of 80% of RAM and the cgroup's limit).

    Raises
    ------
    InvalidValue
        If ``limit_bytes`` is not None and not a positive integer.
    """
    _limit.set(_checked(limit_bytes))


@contextlib.contextmanager
def use_memory_limit(limit_bytes: int | None) -> Iterator[int | None]:
    """Run a block with :func:`set_memory_limit`'s ``limit_bytes`` in force (None: the default).

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
