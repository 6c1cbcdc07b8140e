"""Executors: results in input order, serial or on threads, with the caller's context."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

import stv_cli
from stv_cli import backend
from stv_cli.errors import InvalidValue
from stv_cli.executors import SerialExecutor, SkipInput, ThreadExecutor, run_batch
from stv_cli.model.memory import memory_limit, use_memory_limit
from stv_cli.pipeline.workspace import Workspace


def test_serial_executor_runs_in_order_in_the_calling_thread():
    caller = threading.get_ident()
    got = list(SerialExecutor().map(lambda x: (x * x, threading.get_ident()), range(5)))
    assert [v for v, _ in got] == [0, 1, 4, 9, 16]
    assert {t for _, t in got} == {caller}


def test_thread_executor_returns_input_order_even_when_later_inputs_finish_first():
    def slow_first(x):
        time.sleep(0.05 if x == 0 else 0.0)
        return x, threading.get_ident()

    with ThreadExecutor(3) as executor:
        got = list(executor.map(slow_first, range(8)))
    assert [v for v, _ in got] == list(range(8))
    assert threading.get_ident() not in {t for _, t in got}
    assert len({t for _, t in got}) > 1


def test_thread_executor_runs_inputs_side_by_side():
    barrier = threading.Barrier(2, timeout=5)  # both inputs must be running at once

    def meet(x):
        barrier.wait()
        return x

    with ThreadExecutor(2) as executor:
        assert list(executor.map(meet, [1, 2])) == [1, 2]


def test_thread_executor_carries_the_callers_context_variables():
    with stv_cli.use_backend("numpy"), use_memory_limit(777), ThreadExecutor(2) as executor:
        seen = list(executor.map(lambda _: (backend.get_backend(), memory_limit()), range(4)))
    assert seen == [("numpy", 777)] * 4


def test_thread_executor_raises_a_workers_error_at_that_input():
    def fail_on_two(x):
        if x == 2:
            raise ValueError("two")
        return x

    got = []
    with ThreadExecutor(2) as executor, pytest.raises(ValueError, match="two"):
        for value in executor.map(fail_on_two, range(5)):
            got.append(value)
    assert got == [0, 1]


def test_thread_executor_needs_a_positive_worker_count():
    with pytest.raises(InvalidValue, match="workers"):
        ThreadExecutor(0)


def _process(path: Path):
    if path.name == "bad":
        raise InvalidValue("bad input")
    if path.name == "done":
        raise SkipInput([path], "exists")
    return [path.with_suffix(".png")]


@pytest.mark.parametrize("executor", [None, SerialExecutor(), ThreadExecutor(3)], ids=str)
def test_run_batch_reports_the_same_through_any_executor(executor):
    inputs = ["a", "bad", "c", "done", "e"]
    report = run_batch(inputs, _process, command="test", executor=executor)
    assert [r.input for r in report.results] == inputs
    assert [r.status for r in report.results] == ["ok", "failed", "ok", "skipped", "ok"]
    assert report.results[1].error == "bad input" and report.exit_code == 1


def test_workspace_buffers_belong_to_their_thread_and_files_are_shared(tmp_path):
    workspace = Workspace()
    mine = workspace.buffer("image", (2, 2, 1))
    assert workspace.buffer("image", (2, 2, 1)) is mine  # reused in one thread
    other = {}
    thread = threading.Thread(target=lambda: other.update(b=workspace.buffer("image", (2, 2, 1))))
    thread.start()
    thread.join()
    assert other["b"] is not mine and not np.shares_memory(other["b"], mine)
    path = tmp_path / "r.json"
    path.write_text('{"infinity_energy": [1, 2], "recursive_objective": [0]}')
    first = workspace.resonance_file(str(path))
    assert workspace.resonance_file(str(path)) is first
