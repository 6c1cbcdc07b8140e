"""Where the inputs of a batch run, and the batch that records each one's outcome.

:class:`~.local.SerialExecutor` (the default) and :class:`~.local.ThreadExecutor` implement
the :class:`~.local.Executor` interface: ``map(fn, items)`` yields each input's result in input
order. :func:`~.batch.run_batch` runs a per-input function through one of them, records every
outcome and keeps going after a failure. A new executor (a Dask cluster) needs no change to the
model or the pipeline: the run context travels inside the per-input function's arguments.
"""

from .batch import BatchReport, InputResult, SkipInput, progress_enabled, run_batch
from .local import Executor, SerialExecutor, ThreadExecutor

__all__ = [
    "BatchReport",
    "Executor",
    "InputResult",
    "SerialExecutor",
    "SkipInput",
    "ThreadExecutor",
    "progress_enabled",
    "run_batch",
]
