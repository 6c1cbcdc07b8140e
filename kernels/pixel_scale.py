"""What integer pixels stand for: the one definition of the pixel scale.

A uint8 pixel p stands for the float32 value ``p / 255`` and a uint16 pixel for ``p / 65535``
(``2**bits - 1``), divided in float32. The image and clip readers, the model's pixel volumes
and the pixel kernels of every backend all use these definitions. NumPy only.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32

#: The integer pixel types stv reads and keeps as pixels.
PIXEL_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16))

_SCALES = {np.dtype(np.uint8): F32(255.0), np.dtype(np.uint16): F32(65535.0)}


def pixel_scale(dtype) -> np.float32:
    """The float32 that pixels of ``dtype`` are divided by: 255 (uint8) or 65535 (uint16).

    Raises
    ------
    KeyError
        If ``dtype`` is not uint8 or uint16.
    """
    return _SCALES[np.dtype(dtype)]


def pixel_values(pixels: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The float32 values ``pixels / pixel_scale(dtype)`` of uint8/uint16 pixels.

    One pass: the ufunc casts to float32 and divides, as ``astype(float32) / scale`` would.
    ``out`` (float32, broadcast-compatible) receives them instead of a new array.
    """
    return np.divide(pixels, pixel_scale(pixels.dtype), out=out, dtype=F32)
