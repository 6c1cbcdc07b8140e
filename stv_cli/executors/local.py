"""Executors on this machine: one input after another, or several at once on threads.

An executor runs one function over the inputs of a batch and yields each result, in input
order, as :func:`stv_cli.executors.batch.run_batch` needs. It knows nothing of what the
function does: the run context travels inside the function's arguments (the pipeline applies
it), and the thread executor also copies the caller's context variables (backend, memory
limit) into every task, since a thread pool's workers do not inherit them.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from ..errors import InvalidValue

T = TypeVar("T")
R = TypeVar("R")


class Executor:
    """Where the inputs of a batch run. Subclasses implement :meth:`map`.

    Use as a context manager (``with ThreadExecutor(4) as ex: ...``) so its workers are
    released when the batch ends.
    """

    name = "executor"

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Yield ``fn(item)`` for every item, in the order of ``items``.

        An exception raised by ``fn`` propagates from the iteration at that item (the batch
        wraps its function so that only KeyboardInterrupt does).
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release the workers (a no-op for executors without any)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SerialExecutor(Executor):
    """Every input in the calling thread, one after another (the default)."""

    name = "serial"

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        for item in items:
            yield fn(item)


class ThreadExecutor(Executor):
    """Inputs on a pool of ``workers`` threads; results still come back in input order.

    Worth it where the work releases the GIL (numba kernels with ``nogil``, image decoding,
    file IO). Each task runs in a copy of the context variables of the thread that called
    :meth:`map`, so a backend or memory limit chosen there holds in every worker.
    At most ``2 * workers`` inputs are in flight, so a long batch does not queue every input.

    Raises
    ------
    InvalidValue
        If ``workers`` is not an integer >= 1.
    """

    name = "threads"

    def __init__(self, workers: int) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InvalidValue(f"workers must be an integer >= 1, got {workers!r}")
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stv-input")

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        caller = contextvars.copy_context()
        pending: list[Future] = []
        try:
            for item in items:
                pending.append(self._pool.submit(caller.copy().run, fn, item))
                if len(pending) >= 2 * self.workers:
                    yield pending.pop(0).result()
            while pending:
                yield pending.pop(0).result()
        finally:
            for future in pending:  # an error or Ctrl-C: drop what has not started
                future.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __repr__(self) -> str:
        return f"ThreadExecutor(workers={self.workers})"
