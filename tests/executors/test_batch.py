"""The batch runner: each input on its own, failures recorded, exit code from the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stv_cli.errors import InputError
from stv_cli.executors.batch import (
    FAILED,
    OK,
    SKIPPED,
    BatchReport,
    InputResult,
    SkipInput,
    progress_enabled,
    run_batch,
)


def _process(path: Path):
    if path.name == "bad":
        raise InputError(f"input {str(path)!r} is broken")
    if path.name == "done":
        raise SkipInput([path / "out.png"])
    if path.name == "bug":
        raise ZeroDivisionError("division by zero")
    if path.name == "disk":
        raise PermissionError(13, "Permission denied", str(path / "out.png"))
    return [path / "out.png"]


def test_every_input_runs_and_failures_are_recorded():
    seen = []
    report = run_batch(
        ["a", "bad", "b"], _process, command="project", quiet=True, on_result=seen.append
    )
    assert [r.status for r in report.results] == [OK, FAILED, OK]
    assert report.results[1].error == "input 'bad' is broken"
    assert report.results[2].outputs == [str(Path("b") / "out.png")]
    assert [r.input for r in seen] == ["a", "bad", "b"]
    assert report.exit_code == 1


def test_all_ok_or_skipped_exits_zero():
    report = run_batch(["a", "done"], _process, command="project", quiet=True)
    assert [r.status for r in report.results] == [OK, SKIPPED]
    assert report.results[1].outputs == [str(Path("done") / "out.png")]
    assert report.exit_code == 0


def test_unknown_exception_is_recorded_with_traceback_and_batch_goes_on(capsys):
    report = run_batch(["bug", "a"], _process, command="project", quiet=True)
    assert [r.status for r in report.results] == [FAILED, OK]
    assert report.results[0].error == "internal error: ZeroDivisionError: division by zero"
    assert "Traceback" in capsys.readouterr().err


def test_os_error_message_names_the_file():
    report = run_batch(["disk"], _process, command="project", quiet=True)
    assert report.results[0].status == FAILED
    assert report.results[0].error == f"Permission denied: {Path('disk') / 'out.png'}"


def test_keyboard_interrupt_is_not_swallowed():
    def interrupt(path):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(["a", "b"], interrupt, command="project", quiet=True)


def test_report_json_structure():
    report = run_batch(["a", "bad", "done"], _process, command="decode", quiet=True)
    data = json.loads(report.to_json())
    assert data["command"] == "decode"
    assert (data["inputs"], data["ok"], data["failed"], data["skipped"]) == (3, 1, 1, 1)
    assert data["exit_code"] == 1
    assert set(data["results"][0]) == {
        "input", "status", "outputs", "error", "seconds", "warnings", "host", "worker",
    }  # fmt: skip
    assert data["results"][0]["host"] and data["results"][0]["worker"]
    assert data["results"][0]["error"] is None
    assert data["results"][0]["seconds"] >= 0


def test_empty_report_exits_zero():
    assert BatchReport("project").exit_code == 0
    assert BatchReport("project", [InputResult("x", FAILED)]).exit_code == 1


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_only_on_a_terminal_and_not_quiet():
    assert progress_enabled(False, _Stream(True))
    assert not progress_enabled(True, _Stream(True))
    assert not progress_enabled(False, _Stream(False))


def test_each_input_keeps_its_own_warnings():
    import warnings

    def warn_twice(item):
        warnings.warn(f"note about {item}", UserWarning, stacklevel=1)  # the same line
        return []

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the batch still records them
        report = run_batch(["a", "b"], warn_twice, command="project", quiet=True)
    assert [r.warnings for r in report.results] == [["note about a"], ["note about b"]]
