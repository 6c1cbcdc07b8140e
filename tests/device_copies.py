"""Counting the copies between host and device in numba's CUDA simulator (residency tests).

The simulator keeps device arrays as ``FakeCUDAArray``: :func:`count_copies` wraps
``numba.cuda.to_device`` and the array's ``copy_to_host`` / ``copy_to_device`` so that a test
can ask which sizes crossed, and in which direction (device-to-device copies are not counted).
"""

from __future__ import annotations

import numpy as np


class Copies:
    """Every host<->device copy's size in values, by direction."""

    def __init__(self) -> None:
        self.up: list[int] = []
        self.down: list[int] = []

    def clear(self) -> None:
        self.up.clear()
        self.down.clear()


def count_copies(monkeypatch) -> Copies:
    from numba import cuda
    from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray

    seen = Copies()
    to_device = cuda.to_device
    to_host, fill = FakeCUDAArray.copy_to_host, FakeCUDAArray.copy_to_device

    def counted_to_device(array, *args, **kwargs):
        seen.up.append(np.asarray(array).size)
        return to_device(array, *args, **kwargs)

    def counted_to_host(self, *args, **kwargs):
        seen.down.append(self.size)
        return to_host(self, *args, **kwargs)

    def counted_fill(self, source, *args, **kwargs):
        if isinstance(source, np.ndarray):  # host -> device (device -> device is not counted)
            seen.up.append(source.size)
        return fill(self, source, *args, **kwargs)

    monkeypatch.setattr(cuda, "to_device", counted_to_device)
    monkeypatch.setattr(FakeCUDAArray, "copy_to_host", counted_to_host)
    monkeypatch.setattr(FakeCUDAArray, "copy_to_device", counted_fill)
    return seen
