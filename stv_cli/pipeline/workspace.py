"""What the inputs of one batch share: reusable buffers and the files read once."""
# Buffers may live in three places: "host" (NumPy), "pinned" (page-locked host memory, what
# copies to and from a GPU run fastest from) and "device" (a GPU's memory); the last two come
# from the device memory protocol of the backend in force (stv_cli.backend.device_memory).

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from ..backend import device_memory
from ..errors import StvError
from .settings import ProjectionSettings

F32 = np.float32


class Workspace:
    """Reusable output buffers, and the ``--resonance`` / ``--views`` files read once.

    On these machines freshly touched memory is slow, so each stage writes into a buffer kept
    from the previous input when the shapes agree. Buffers belong to the thread that asked for
    them (inputs running side by side on a thread executor never share one); the files are
    read once for the whole batch and shared, read-only.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._loaded: dict[tuple[str, str], object] = {}
        self._lock = threading.Lock()

    def buffer(self, key: str, shape: tuple[int, ...], place: str = "host"):
        """A float32 C-contiguous array of ``shape``, this thread's, reused when the last fits.

        ``place`` is "host" (NumPy), "pinned" (page-locked host memory, for copies to and from
        a GPU) or "device" (a GPU's memory): the last two need a backend with device memory in
        force. A GPU batch thus allocates its device buffers once, like the host ones.
        """
        buffers = self._local.__dict__.setdefault("buffers", {})
        shape = tuple(int(s) for s in shape)
        array = buffers.get((key, place))
        if array is None or tuple(array.shape) != shape:
            buffers.pop((key, place), None)  # free the old one before the new one is made
            array = _allocate(shape, place)
            buffers[(key, place)] = array
        return array

    def release(self) -> None:
        """Drop this thread's buffers (device memory is given back when they are collected)."""
        self._local.__dict__.pop("buffers", None)

    def preload(self, projection: ProjectionSettings) -> None:
        """Read the resonance and views files now, so a bad one stops the run before any input."""
        if projection.resonance not in ("uniform", "generate"):
            self.resonance_file(projection.resonance)
        if projection.views is not None:
            self.views_file(projection.views)

    def resonance_file(self, path: str):
        """The resonance in ``path``, read once per batch."""
        return self._load_once("--resonance", path)

    def views_file(self, path: Path):
        """The MultiViewFusion in ``path``, read once per batch."""
        return self._load_once("--views", path)

    def _load_once(self, option: str, path) -> object:
        from ..io.latents import load_resonance, load_views

        key = (option, str(path))
        with self._lock:
            if key not in self._loaded:
                load = load_resonance if option == "--resonance" else load_views
                try:
                    self._loaded[key] = load(path)
                except StvError as error:  # say which option the file came from
                    raise type(error)(f"{option} {error}") from None
            return self._loaded[key]


def _allocate(shape: tuple[int, ...], place: str):
    if place == "host":
        return np.empty(shape, dtype=F32)
    memory = device_memory()
    if memory is None:
        raise ValueError(f"a {place} buffer needs a backend with device memory in force")
    if place == "pinned":
        return memory.pinned_empty(shape, F32)
    if place == "device":
        return memory.device_empty(shape, F32)
    raise ValueError(f"place must be 'host', 'pinned' or 'device', got {place!r}")
