"""The one place that chooses where the compute runs.

Backends:

``numpy``
    The reference implementation (:mod:`stv_kernels.reference`), written for clarity.
``cpu``
    numba ``@njit(parallel=True, cache=True)`` kernels (:mod:`stv_kernels.cpu`).
``auto``
    The fastest backend available here (``cpu`` today; ``cuda`` once it exists).

Every backend module exposes the same functions with the same signatures, so the model layer
calls ``ops().collapse_weighted(...)`` and never asks which one it got. numba is imported only
when the ``cpu`` backend is first used, so ``import stv_cli`` and ``stv --help`` stay instant.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
from collections.abc import Iterator
from types import ModuleType

from .errors import InvalidValue

#: Backend names a user may ask for, in the order ``auto`` prefers them.
BACKENDS: tuple[str, ...] = ("cpu", "numpy")
_CHOICES = ("auto",) + BACKENDS

_MODULES = {"numpy": "stv_kernels.reference", "cpu": "stv_kernels.cpu"}

_current: contextvars.ContextVar[str] = contextvars.ContextVar("stv_backend", default="auto")


def _resolve(name: str) -> str:
    if name != "auto":
        return name
    for candidate in BACKENDS:
        if is_available(candidate):
            return candidate
    return "numpy"


def is_available(name: str) -> bool:
    """Whether backend ``name`` can run on this machine (imports it to find out)."""
    if name not in _MODULES:
        return False
    try:
        importlib.import_module(_MODULES[name])
    except ImportError:
        return False
    return True


def _check(name: str) -> str:
    if not isinstance(name, str) or name.lower() not in _CHOICES:
        raise InvalidValue(f"backend {name!r} is not known; choose one of {', '.join(_CHOICES)}")
    return name.lower()


def set_backend(name: str) -> None:
    """Choose the backend for this thread/context: ``auto``, ``cpu`` or ``numpy``."""
    name = _check(name)
    if name != "auto" and not is_available(name):
        raise InvalidValue(f"backend {name!r} is not available on this machine")
    _current.set(name)


def get_backend() -> str:
    """The backend in force, resolved (``auto`` is reported as what it chose)."""
    return _resolve(_current.get())


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[str]:
    """Run a block with another backend: ``with stv_cli.use_backend("numpy"): ...``."""
    name = _check(name)
    if name != "auto" and not is_available(name):
        raise InvalidValue(f"backend {name!r} is not available on this machine")
    token = _current.set(name)
    try:
        yield get_backend()
    finally:
        _current.reset(token)


_LOADED: dict[str, ModuleType] = {}  # backend name (auto too) -> its kernel module


def ops() -> ModuleType:
    """The kernel module of the backend in force.

    Called several times per video frame, so each name's module is looked up once (what
    ``auto`` resolves to cannot change within a process: it depends on what is installed).
    """
    name = _current.get()
    module = _LOADED.get(name)
    if module is None:
        module = _LOADED[name] = importlib.import_module(_MODULES[_resolve(name)])
    return module
