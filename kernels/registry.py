"""The compute backends stv knows, in the order ``auto`` prefers them.

This is the one list of backends: the backend switch (:mod:`stv_cli.backend`), the CLI's
``--device`` choices and ``stv info`` all read it, so adding a backend means adding an entry
here and a package of kernels beside :mod:`stv_kernels.cpu`. Importing this module imports no
backend (no numba): :func:`availability` and :func:`load` import one when asked.

Each backend package provides every kernel of the contract (:mod:`stv_kernels.contract`) and
a function ``availability() -> str | None`` that says why it cannot run here (None: it can).
A backend may also say it is ``simulated()`` (CUDA kernels in numba's simulator, for tests):
it then runs when asked for by name, but ``auto`` never picks it.

Asking whether ``cuda`` can run first looks for an NVIDIA driver without importing anything
(importing numba.cuda costs half a second), so ``auto`` on a machine without a GPU stays fast.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass
from types import ModuleType

#: Files an NVIDIA driver leaves on Linux (native, then WSL); one of them must exist.
_DRIVER_FILES = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/usr/lib/wsl/lib/libcuda.so")


@dataclass(frozen=True)
class Backend:
    """One backend: its ``--device`` name, the package of its kernels, and what it is."""

    name: str
    module: str
    summary: str


#: Every backend, in the order ``auto`` tries them.
BACKENDS: tuple[Backend, ...] = (
    Backend("cuda", "stv_kernels.cuda", "numba.cuda kernels on an NVIDIA GPU"),
    Backend("cpu", "stv_kernels.cpu", "numba kernels on the CPU cores"),
    Backend("numpy", "stv_kernels.reference", "the NumPy reference kernels, slow"),
)

#: The name that means "the first backend in BACKENDS that can run here".
AUTO = "auto"

#: The backend every other is tested against, and the one that runs anywhere.
ORACLE = "numpy"


def names() -> tuple[str, ...]:
    """The backend names, in ``auto``'s order."""
    return tuple(backend.name for backend in BACKENDS)


def get(name: str) -> Backend:
    """The backend called ``name``.

    Raises
    ------
    KeyError
        If no backend has that name.
    """
    for backend in BACKENDS:
        if backend.name == name:
            return backend
    raise KeyError(name)


def _cuda_precheck() -> str | None:
    """Why ``cuda`` cannot run, found without importing numba.cuda; None: go and import it."""
    if importlib.util.find_spec("numba_cuda") is None:
        return "numba-cuda is not installed (pip install 'stv-cli[cuda]')"
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"):
        return None  # numba's simulator needs no driver
    if not any(os.path.exists(path) for path in _DRIVER_FILES):
        return "no NVIDIA driver found on this machine (no /proc/driver/nvidia/version)"
    return None


_PRECHECKS = {"cuda": _cuda_precheck}


def availability(name: str) -> str | None:
    """Why backend ``name`` cannot run on this machine, or None when it can.

    Imports the backend to find out (numba for ``cpu``); a missing package or driver is a
    reason, never an exception.
    """
    backend = get(name)
    precheck = _PRECHECKS.get(name)
    reason = None if precheck is None else precheck()
    if reason is not None:
        return reason
    try:
        module = importlib.import_module(backend.module)
    except ModuleNotFoundError as error:
        if error.name == backend.module:
            return f"this version of stv has no {name} backend: {backend.module} is not installed"
        return f"{error.name} is not installed"
    except ImportError as error:
        return f"importing {backend.module} failed: {error}"
    return module.availability()


def simulated(name: str) -> bool:
    """Whether backend ``name`` runs in a simulator (it can run, but ``auto`` skips it)."""
    if availability(name) is not None:
        return False
    return bool(getattr(load(name), "simulated", lambda: False)())


def resolve(name: str) -> str:
    """``name`` itself, or for ``auto`` the first backend that can run here, not simulated."""
    if name != AUTO:
        return name
    for candidate in names():
        if availability(candidate) is None and not simulated(candidate):
            return candidate
    raise RuntimeError("no backend can run here, not even the NumPy reference")


def load(name: str) -> ModuleType:
    """The kernel package of backend ``name`` (imported on first use)."""
    return importlib.import_module(get(name).module)
