"""The run context: frozen, picklable, and applied per thread without leaking."""

from __future__ import annotations

import pickle
import threading

import pytest

import stv_cli
from stv_cli import backend
from stv_cli.context import RunContext, applied
from stv_cli.errors import InvalidValue
from stv_cli.model.memory import memory_limit


def test_a_context_is_frozen_and_picklable():
    context = RunContext(backend="numpy", threads=1, memory_limit=2**20, progress=True)
    assert pickle.loads(pickle.dumps(context)) == context
    with pytest.raises(AttributeError):
        context.backend = "cpu"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "tpu"}, "backend 'tpu' is not known"),
        ({"threads": 0}, "threads must be a positive integer"),
        ({"threads": True}, "threads must be a positive integer"),
        ({"memory_limit": -1}, "memory_limit must be a positive integer"),
    ],
)
def test_bad_settings_are_refused_by_name(kwargs, message):
    with pytest.raises(InvalidValue, match=message):
        RunContext(**kwargs)


def test_applied_puts_backend_and_memory_limit_in_force_and_restores_them():
    before_backend, before_limit = backend.get_backend(), memory_limit()
    with RunContext(backend="numpy", memory_limit=12345).applied() as resolved:
        assert resolved == "numpy" == backend.get_backend()
        assert memory_limit() == 12345
    assert backend.get_backend() == before_backend and memory_limit() == before_limit


def test_applied_sets_numba_threads_only_in_the_calling_thread():
    if not backend.is_available("cpu"):
        pytest.skip("the numba cpu backend is not available here")
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one numba thread only")
    seen = {}

    def other():
        seen["other"] = numba.get_num_threads()

    before = numba.get_num_threads()
    with RunContext(backend="cpu", threads=1).applied():
        assert numba.get_num_threads() == 1
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert seen["other"] == numba.config.NUMBA_NUM_THREADS  # a new thread starts at numba's own
    assert numba.get_num_threads() == before


def test_a_thread_started_inside_a_context_does_not_inherit_it_unless_applied_there():
    # the reason the pipeline applies the context per input, wherever the input runs
    seen = {}

    def worker(context):
        seen["bare"] = memory_limit()
        with applied(context):
            seen["applied"] = memory_limit()

    context = RunContext(memory_limit=4242)
    with context.applied():
        thread = threading.Thread(target=worker, args=(context,))
        thread.start()
        thread.join()
    assert seen["bare"] != 4242 and seen["applied"] == 4242


def test_applied_none_leaves_the_callers_settings_alone():
    with stv_cli.use_backend("numpy"), applied(None):
        assert backend.get_backend() == "numpy"


def test_an_unavailable_backend_says_why_when_applied(monkeypatch):
    monkeypatch.setattr(
        backend, "unavailable_reason", lambda name: "no driver" if name == "cuda" else None
    )
    with pytest.raises(InvalidValue, match="'cuda' is not available on this machine: no driver"):
        with RunContext(backend="cuda").applied():
            pass
