"""The frame ring of ``stv video``: the last N frames as one contiguous volume, oldest first.

Z = time: ``stv video``'s volume for frame t is frames t - N + 1 .. t (fewer at the start of a
clip or after a scene cut). :class:`FrameRing` keeps them without copying or reordering per
frame and keeps each frame's slice statistics as it stores it, so the resonance generator
never reads the window again.
"""

from __future__ import annotations

import math

import numpy as np

from ...backend import ops
from .. import placement

F32 = np.float32


class FrameRing:
    """The last ``depth`` frames as one contiguous (m, H, W, C) window, oldest first.

    Frame t is stored at slots t % depth and t % depth + depth of a (2*depth, H, W, C)
    buffer, so the newest m frames are always the contiguous run starting at
    (t - m + 1) % depth: no allocation and no reordering per frame. The same pass that
    stores a frame takes its sum and sum of squares, so :meth:`profile` gives the window's
    slice statistics without reading the window again (kept doubled the same way, so the
    window's statistics are a slice too).

    The ring keeps the frames' dtype: float32, or uint8/uint16 pixels (a decoded clip), which
    stand for ``pixels / (2**bits - 1)`` and take a quarter (half) of the memory. The statistics
    of pixels are the exact moments of those values (integer sums), which agree with the
    float64 sums of their float32 roundings to ~6e-8 relative.

    With ``device=True`` (a backend with device memory in force) the frames are kept in the
    GPU's memory: :meth:`push` takes frames already uploaded there, and the window is a device
    array that the collapse reads where it is. The statistics still come back per frame (two
    numbers).
    """

    def __init__(
        self, depth: int, shape: tuple[int, int, int], dtype=F32, *, device: bool = False
    ) -> None:
        self.depth = depth
        self.dtype = np.dtype(dtype)
        self.device = bool(device)
        if self.device:
            self._buffer = placement.upload_empty((2 * depth, *shape), self.dtype)
        else:
            self._buffer = np.empty((2 * depth, *shape), dtype=self.dtype)
        # per slot, doubled like the frames: float32 mean, std and energy
        self._stats = np.zeros((3, 2 * depth), dtype=F32)
        # float64 scratch of the float frames' sums (pixels are summed exactly in integers)
        run = shape[1] * shape[2]
        host_floats = self.dtype == F32 and not self.device
        self._columns = np.empty((2, run), dtype=np.float64) if host_floats else None
        self._values = shape[0] * shape[1] * shape[2]
        self._count = 0  # frames pushed since the last clear
        self._t = -1

    def clear(self) -> None:
        """Forget the frames held (a scene cut)."""
        self._count = 0

    def _slots(self) -> tuple[int, int]:
        held = min(self._count, self.depth)
        return (self._t - held + 1) % self.depth, held

    def push(self, image: np.ndarray) -> np.ndarray:
        """Add the newest frame; return the window of the last min(count, depth) frames."""
        self._t += 1
        slot = self._t % self.depth
        if not placement.on_device(image):
            image = np.ascontiguousarray(image, dtype=self.dtype)
        total, squares = ops().ring_store(
            image, self._buffer[slot], self._buffer[slot + self.depth], self._columns
        )
        # slice_statistics' formulas in float64 (Python floats are IEEE doubles), then float32:
        # mean, energy and the one-pass std sqrt(max(energy - mean^2, 0)), NaN -> 0 as fmax
        mean, energy = float(total) / self._values, float(squares) / self._values
        spread = energy - mean * mean
        stats = (mean, math.sqrt(spread) if spread > 0.0 else 0.0, energy)
        self._stats[:, slot] = self._stats[:, slot + self.depth] = stats
        self._count += 1
        start, held = self._slots()
        return self._buffer[start : start + held]

    def profile(self):
        """``ZSpaceVolume.slice_profile()`` of the window, from the statistics kept per frame.

        The formulas of ``slice_statistics`` (float64 mean and energy, one-pass std
        ``sqrt(max(energy - mean^2, 0))``), rounded to float32.
        """
        from ..telemetry import ZSliceProfile

        start, held = self._slots()
        means, stds, energies = self._stats[:, start : start + held]
        return ZSliceProfile(means, stds, energies)
