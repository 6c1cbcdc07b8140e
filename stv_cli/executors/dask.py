"""The inputs of a batch on a Dask cluster: one task per input, on any number of machines.

``--scheduler tcp://HOST:PORT`` sends every input to a running ``dask.distributed``
scheduler (started with dask's own ``dask scheduler`` and ``dask worker`` commands, on as
many machines as share the inputs' and outputs' filesystem); ``--scheduler local:N`` starts a
:class:`distributed.LocalCluster` of N worker processes on this machine for the batch. Workers
read their input and write its outputs themselves, with the same atomic writes as a local
run; the driver gets back only each input's record (status, outputs, error, warnings,
seconds, host, worker), in input order, as the earlier ones complete.

A worker that dies while it runs an input: the scheduler gives the input to another worker
(dask reschedules the tasks of a lost worker), whose atomic write publishes the outputs once;
the dead one can have published nothing, since publishing is a rename. Ctrl-C cancels the
inputs not yet done.

Needs the ``dask`` extra (``pip install 'stv-cli[dask]'``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from ..errors import InvalidValue
from .local import Executor

T = TypeVar("T")
R = TypeVar("R")

#: At most this many inputs per worker are queued on the scheduler at once, so a batch of
#: 100,000 inputs does not build 100,000 futures up front.
QUEUED_PER_WORKER = 4


def dask_available() -> str | None:
    """Why the Dask executor cannot run here (the extra is missing), or None."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return "--scheduler needs dask.distributed: pip install 'stv-cli[dask]'"
    return None


def parse_scheduler(spec: str) -> tuple[str, int | str]:
    """``("local", N)`` for ``local:N``, or ``("address", "tcp://HOST:PORT")``."""
    if spec.startswith("local:"):
        try:
            workers = int(spec.split(":", 1)[1])
        except ValueError:
            workers = 0
        if workers < 1:
            raise InvalidValue(f"--scheduler {spec!r}: local:N needs a number of workers N >= 1")
        return "local", workers
    if "://" not in spec:
        raise InvalidValue(
            f"--scheduler {spec!r} is not tcp://HOST:PORT (a running dask scheduler) or "
            "local:N (N worker processes on this machine)"
        )
    return "address", spec


class DaskExecutor(Executor):
    """Inputs as tasks on a Dask cluster (see the module docstring).

    ``spec`` is ``tcp://HOST:PORT`` or ``local:N``. ``threads`` are each worker's numba
    threads for the local cluster's sizing (default: this machine's cores / N).
    """

    name = "dask"

    def __init__(self, spec: str) -> None:
        reason = dask_available()
        if reason is not None:
            raise InvalidValue(reason)
        from distributed import Client, LocalCluster

        kind, value = parse_scheduler(spec)
        self.spec = spec
        self._cluster = None
        if kind == "local":
            self._cluster = LocalCluster(
                n_workers=int(value),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=50,  # logging.CRITICAL: the batch reports, not the cluster
            )
            self.client = Client(self._cluster)
        else:
            try:
                self.client = Client(str(value), timeout="10s")
            except OSError as error:
                raise InvalidValue(f"--scheduler {value}: cannot reach it: {error}") from None

    @property
    def workers(self) -> int:
        """Workers the scheduler has now (at least 1)."""
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def threads_per_worker(self) -> int:
        """numba threads each worker should use: this machine's cores / its workers (local)."""
        if self._cluster is None:
            return max(1, (os.cpu_count() or 1))
        return max(1, (os.cpu_count() or 1) // self.workers)

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        items = list(items)
        window = max(1, QUEUED_PER_WORKER * self.workers)
        pending = []
        try:
            for index, item in enumerate(items):
                # a key per input: a retried task (its worker died) is the same task
                pending.append(self.client.submit(fn, item, key=f"stv-input-{index}", pure=False))
                if len(pending) >= window:
                    yield pending.pop(0).result()
            while pending:
                yield pending.pop(0).result()
        finally:
            if pending:  # an error or Ctrl-C: cancel the inputs not yet done
                self.client.cancel(pending)

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __repr__(self) -> str:
        return f"DaskExecutor({self.spec!r})"
