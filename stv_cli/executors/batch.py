"""Run one piece of work per input, record each outcome, and keep going.

A batch is the unit every ``stv`` command that takes many inputs runs (``project``,
``decode``, ``video``): each input is processed on its own, by an executor
(:mod:`stv_cli.executors.local`: serially by default, or on threads); a failure is recorded
with its message and the batch goes on; the report sets the exit code (0 every input ok or
skipped, 1 any failed).

What counts as a failure of one input:

* an :class:`~stv_cli.errors.StvError` (bad data, a refused output, a volume too large) or an
  :class:`OSError` (unreadable file, full disk): the message is the error's text;
* any other exception is a bug in stv: its traceback is printed to stderr so it can be
  reported, the input is recorded as failed with ``internal error: <type>: <text>`` and the
  batch still goes on (one bad input must not cost the rest of a long run).

:class:`KeyboardInterrupt` is never caught here: Ctrl-C stops the batch at once (the CLI exits
130; atomic writes leave no partial file). Progress is a tqdm bar over the inputs on stderr,
off when stderr is not a terminal or when asked to be quiet. No click in here.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import StvError
from .local import Executor, SerialExecutor

OK, FAILED, SKIPPED = "ok", "failed", "skipped"

#: Exceptions that are a property of one input or its files, not a bug in stv.
KNOWN_ERRORS: tuple[type[BaseException], ...] = (StvError, OSError)


class SkipInput(Exception):
    """Raised by a per-input function to say: nothing to do, these outputs exist already."""

    def __init__(
        self, outputs: Sequence[Path | str], reason: str = "outputs exist", status: str = "skipped"
    ) -> None:
        super().__init__(reason)
        self.outputs = [str(p) for p in outputs]
        self.reason = reason
        #: "skipped", or "ok" when the outputs are this very batch's (an input run twice)
        self.status = status


@dataclass
class InputResult:
    """The outcome of one input: ``status`` is ``ok``, ``failed`` or ``skipped``."""

    input: str
    status: str
    outputs: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    #: what the input's processing warned about (a skipped file, a channel dropped, ...)
    warnings: list[str] = field(default_factory=list)
    #: where it ran: the machine's name and the process and thread that ran it
    host: str = ""
    worker: str = ""


@dataclass
class BatchReport:
    """Every input's result, in input order, and the exit code they imply."""

    command: str
    results: list[InputResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        """How many inputs ended with ``status``."""
        return sum(1 for result in self.results if result.status == status)

    @property
    def exit_code(self) -> int:
        """0 when no input failed (skipped ones are fine), 1 otherwise."""
        return 1 if self.count(FAILED) else 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON report: counts, exit code and one record per input."""
        return {
            "command": self.command,
            "exit_code": self.exit_code,
            "inputs": len(self.results),
            "ok": self.count(OK),
            "failed": self.count(FAILED),
            "skipped": self.count(SKIPPED),
            "results": [asdict(result) for result in self.results],
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2)


def progress_enabled(quiet: bool, stream=None) -> bool:
    """Whether a progress bar should show: not quiet, and the stream is a terminal."""
    stream = sys.stderr if stream is None else stream
    if quiet:
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def run_batch(
    inputs: Iterable[Path | str],
    process: Callable[[Path], Sequence[Path | str]],
    *,
    command: str,
    quiet: bool = False,
    on_result: Callable[[InputResult], None] | None = None,
    executor: Executor | None = None,
) -> BatchReport:
    """Run ``process(input)`` for every input and collect a :class:`BatchReport`.

    Parameters
    ----------
    inputs
        The inputs, in the order they are processed and reported.
    process
        Does the work for one input and returns the paths it wrote. It raises
        :class:`SkipInput` to skip the input, or any exception to fail it.
    command
        The command's name, recorded in the report.
    quiet
        Switch the progress bar off (it is also off when stderr is not a terminal).
    on_result
        Called with each :class:`InputResult` as soon as it is known (the CLI prints paths
        and failure messages from here), in input order.
    executor
        Where the inputs run (default: :class:`~stv_cli.executors.local.SerialExecutor`,
        one after another in this thread). Results come back in input order either way.

    Returns
    -------
    BatchReport
    """
    from tqdm import tqdm

    items = [Path(item) for item in inputs]
    report = BatchReport(command=command)
    bar = tqdm(
        total=len(items),
        desc=command,
        unit="input",
        file=sys.stderr,
        disable=not progress_enabled(quiet) or len(items) < 2,
        leave=False,
    )
    executor = SerialExecutor() if executor is None else executor
    try:
        for result in executor.map(functools.partial(_run_one, process=process), items):
            report.results.append(result)
            bar.update(1)
            if on_result is not None:
                on_result(result)
    finally:
        bar.close()
    return report


def _run_one(item: Path, process: Callable[[Path], Sequence[Path | str]]) -> InputResult:
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        # every input's notes for people (UserWarning: a skipped file, lost precision), also
        # when an earlier input said the same from the same line; library deprecations keep
        # their filters. (The record is per process: inputs running side by side on threads
        # may see each other's.)
        warnings.simplefilter("always", UserWarning)
        result = _outcome(item, process, start)
    for warning in caught:  # shown as usual, and kept with the input they belong to
        warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
        result.warnings.append(str(warning.message))
    result.host = socket.gethostname()
    result.worker = f"{os.getpid()}:{threading.current_thread().name}"
    return result


def _outcome(item: Path, process, start: float) -> InputResult:
    try:
        outputs = process(item)
    except SkipInput as skip:
        if skip.status == OK:
            return InputResult(str(item), OK, skip.outputs, None, _since(start))
        return InputResult(str(item), SKIPPED, skip.outputs, skip.reason, _since(start))
    except KNOWN_ERRORS as error:
        return InputResult(str(item), FAILED, [], _message(error), _since(start))
    except Exception as error:  # a bug: show it, record it, go on with the other inputs
        traceback.print_exc(file=sys.stderr)
        message = f"internal error: {type(error).__name__}: {error}"
        return InputResult(str(item), FAILED, [], message, _since(start))
    return InputResult(str(item), OK, [str(p) for p in outputs], None, _since(start))


def _message(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.strerror}: {error.filename}"
    return str(error) or type(error).__name__


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 6)
