"""The one place that chooses where the compute runs, from the registry in ``stv_kernels``.

The backends and ``auto``'s order come from :mod:`stv_kernels.registry`; every backend package
provides the kernels of :mod:`stv_kernels.contract` with the same signatures, so the model calls
``ops().collapse_weighted(...)`` and never asks which one it got. Nothing outside this module
names a backend: the CLI's ``--device`` choices are :func:`choices`.

The backend in force is a context variable (per thread and per task): a run context
(:class:`stv_cli.context.RunContext`) puts it in force in each worker. numba is imported only
when a numba backend is first used, so ``import stv_cli`` and ``stv --help`` stay instant.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from types import ModuleType

from stv_kernels import registry

from .errors import InvalidValue

__all__ = [
    "choices",
    "device_memory",
    "facts",
    "get_backend",
    "is_available",
    "max_threads",
    "ops",
    "reference_ops",
    "set_backend",
    "unavailable_reason",
    "use_backend",
    "use_threads",
]

_current: contextvars.ContextVar[str] = contextvars.ContextVar("stv_backend", default=registry.AUTO)
# what each backend's availability() said, asked once per process: it depends on what is
# installed, and asking imports the backend (a missing one costs a search of sys.path)
_REASONS: dict[str, str | None] = {}
_SIMULATED: dict[str, bool] = {}
_LOADED: dict[str, ModuleType] = {}  # backend name (auto too) -> its kernel package


def choices() -> tuple[str, ...]:
    """What ``set_backend`` and ``--device`` accept: ``auto``, then the backends in order."""
    return (registry.AUTO, *registry.names())


def unavailable_reason(name: str) -> str | None:
    """Why backend ``name`` cannot run on this machine, or None when it can."""
    if name not in _REASONS:
        _REASONS[name] = registry.availability(name)
    return _REASONS[name]


def is_available(name: str) -> bool:
    """Whether backend ``name`` can run on this machine (imports it to find out)."""
    return name in registry.names() and unavailable_reason(name) is None


def _resolve(name: str) -> str:
    if name != registry.AUTO:
        return name
    for candidate in registry.names():
        if is_available(candidate) and not _simulated(candidate):
            return candidate
    raise InvalidValue("no compute backend can run here, not even the NumPy reference")


def _simulated(name: str) -> bool:
    """Whether backend ``name`` runs in a simulator (``auto`` skips it); asked once."""
    if name not in _SIMULATED:
        _SIMULATED[name] = registry.simulated(name)
    return _SIMULATED[name]


def _check(name: str) -> str:
    if not isinstance(name, str) or name.lower() not in choices():
        raise InvalidValue(f"backend {name!r} is not known; choose one of {', '.join(choices())}")
    name = name.lower()
    if name != registry.AUTO and not is_available(name):
        raise InvalidValue(
            f"backend {name!r} is not available on this machine: {unavailable_reason(name)}"
        )
    return name


def set_backend(name: str) -> None:
    """Choose the backend for this thread/context: ``auto`` or one of :func:`choices`.

    Raises
    ------
    InvalidValue
        If the name is not known or the backend cannot run here (the message says why).
    """
    _current.set(_check(name))


def get_backend() -> str:
    """The backend in force, resolved (``auto`` is reported as what it chose)."""
    return _resolve(_current.get())


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[str]:
    """Run a block with another backend: ``with stv_cli.use_backend("numpy"): ...``.

    Yields the backend resolved (what ``auto`` chose).
    """
    token = _current.set(_check(name))
    try:
        yield get_backend()
    finally:
        _current.reset(token)


def ops() -> ModuleType:
    """The kernel package of the backend in force (the functions of the kernel contract).

    Called several times per video frame, so each name's package is looked up once (what
    ``auto`` resolves to cannot change within a process: it depends on what is installed).
    """
    name = _current.get()
    module = _LOADED.get(name)
    if module is None:
        module = _LOADED[name] = registry.load(_resolve(name))
    return module


def device_memory() -> ModuleType | None:
    """The device memory protocol of the backend in force, or None for a host-only backend.

    A backend whose kernels also take arrays in a GPU's memory provides the functions of
    :data:`stv_kernels.contract.MEMORY` (device and page-locked buffers, copies): with it the
    model keeps a volume on the device from load to collapse.
    """
    module = ops()
    return module if callable(getattr(module, "device_empty", None)) else None


def reference_ops() -> ModuleType:
    """The NumPy reference kernels (the oracle), whatever backend is in force.

    For the few places that want the exact reference arithmetic without loading a compiled
    backend, such as quantising a picture for an image file.
    """
    return registry.load(registry.ORACLE)


def facts(name: str) -> dict:
    """What backend ``name`` says about itself for ``stv info`` (empty when it cannot run)."""
    if not is_available(name):
        return {}
    describe = getattr(registry.load(name), "facts", None)
    return {} if describe is None else dict(describe())


def max_threads() -> int | None:
    """The most threads the backend in force can use, or None when it has no thread pool."""
    limit = getattr(ops(), "max_threads", None)
    return None if limit is None else int(limit())


@contextlib.contextmanager
def use_threads(threads: int | None) -> Iterator[None]:
    """Run a block with the backend's thread pool at ``threads`` in this thread.

    None, or a backend without a thread pool (the NumPy reference), changes nothing. numba's
    thread count is per thread, so each worker of an executor sets its own.
    """
    setter = getattr(ops(), "set_threads", None)
    if threads is None or setter is None:
        yield
        return
    previous = setter(int(threads))
    try:
        yield
    finally:
        setter(previous)
