"""The run context: the run-wide state a command sets once and every worker puts in force.

Which backend computes, how many threads it and the loaders use, the largest volume a run may
build and whether progress bars show: one frozen, picklable value, built by the CLI from
``--device``, ``--threads``, ``--memory-limit`` and ``--quiet`` and passed explicitly into the
pipeline, which applies it around each input (:meth:`RunContext.applied`). The backend and the
memory limit live in context variables and numba's thread count is per thread, so a context
applied in one worker thread never leaks into another, and any executor (serial, threads, a
Dask worker) can carry it across.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from .backend import choices, use_backend, use_threads
from .errors import InvalidValue
from .model.memory import use_memory_limit


@dataclass(frozen=True)
class RunContext:
    """Run-wide settings, applied in whichever thread or process runs an input.

    Parameters
    ----------
    backend
        ``auto`` or a backend name (:func:`stv_cli.backend.choices`).
    threads
        Threads of the backend's pool and of the image loaders; None: their defaults.
    memory_limit
        Largest volume (bytes) an operation may build; None: the smaller of 80% of physical
        memory and the cgroup limit.
    progress
        Whether per-input progress bars show (the CLI: stderr is a terminal and not --quiet).

    Raises
    ------
    InvalidValue
        For an unknown backend, or threads / memory_limit that are not positive integers.
    """

    backend: str = "auto"
    threads: int | None = None
    memory_limit: int | None = None
    progress: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.backend, str) or self.backend.lower() not in choices():
            raise InvalidValue(
                f"backend {self.backend!r} is not known; choose one of {', '.join(choices())}"
            )
        object.__setattr__(self, "backend", self.backend.lower())
        for name in ("threads", "memory_limit"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise InvalidValue(f"{name} must be a positive integer or None, got {value!r}")

    @contextlib.contextmanager
    def applied(self) -> Iterator[str]:
        """Put this context in force in the calling thread for a block; yield the backend.

        Yields the backend resolved (what ``auto`` chose). Everything comes back as it was when
        the block ends. A memory limit of None leaves the limit in force alone.

        Raises
        ------
        InvalidValue
            If the backend cannot run on this machine (the message says why).
        """
        with contextlib.ExitStack() as stack:
            backend = stack.enter_context(use_backend(self.backend))
            stack.enter_context(use_threads(self.threads))
            if self.memory_limit is not None:
                stack.enter_context(use_memory_limit(self.memory_limit))
            yield backend


@contextlib.contextmanager
def applied(context: RunContext | None) -> Iterator[None]:
    """``context.applied()``, or nothing for None (the caller's settings stay in force)."""
    if context is None:
        yield
        return
    with context.applied():
        yield
