"""A volume of integer pixels, collapsed without ever being made float (``stv video``'s ring).

A decoded 8-bit clip frame is ``pixels / 255`` in float32 (:mod:`stv_kernels.pixel_scale`);
``stv video``'s volume is the last N frames. Held as pixels, that ring is a quarter of the bytes,
and the collapse never makes the float values: it sums ``p_z * (w_z / s)`` in the order of
:meth:`ZSpaceVolume.collapse_with_weights`, one division per weight instead of per pixel,
which is half the time; the picture agrees with the float volume's to ~1e-7 (SPEC: 1e-6).

:class:`PixelVolume` has the parts of :class:`~stv_cli.model.volume.ZSpaceVolume` that
:meth:`VideoStreamProjector.step <stv_cli.model.stream.VideoStreamProjector.step>` uses without
refinement (shape, ``resonance_weights``, ``slice_profile``, ``collapse_with_weights``);
:meth:`PixelVolume.to_volume` gives the float volume for everything else (diffusion,
interpolation, upscaling).
"""

from __future__ import annotations

import numpy as np

from stv_kernels.pixel_scale import PIXEL_DTYPES, pixel_values

from ..backend import ops
from ..errors import InvalidDimensions, InvalidValue
from . import placement
from .floats import slice_weights
from .resonance import DifferentialResonance, resonance_weights
from .voxel_arrays import StackShape


class PixelVolume(StackShape):
    """A (D, H, W, C) stack of uint8 or uint16 pixels standing for ``pixels / (2**bits - 1)``.

    Parameters
    ----------
    pixels : ndarray
        C-contiguous uint8 or uint16 (D, H, W, C); adopted without a copy (a frame ring's
        window: it must not change while the volume is in use).

    Raises
    ------
    InvalidValue
        If the pixels are not uint8/uint16.
    InvalidDimensions
        If they are not a non-empty 4-D C-contiguous array.
    """

    def __init__(self, pixels: np.ndarray) -> None:
        if pixels.dtype not in PIXEL_DTYPES:
            raise InvalidValue(f"pixels must be uint8 or uint16, got {pixels.dtype}")
        contiguous = (
            pixels.is_c_contiguous() if placement.on_device(pixels) else pixels.flags.c_contiguous
        )
        if pixels.ndim != 4 or 0 in tuple(pixels.shape) or not contiguous:
            raise InvalidDimensions(
                f"pixels must be a non-empty C-contiguous (D, H, W, C) array, got shape "
                f"{tuple(pixels.shape)}"
            )
        self._pixels = pixels

    @property
    def pixels(self) -> np.ndarray:
        """The pixels (not a copy; a device array for pixels on a GPU)."""
        return self._pixels

    @property
    def on_device(self) -> bool:
        """Whether the pixels live in a GPU's memory (``stv video``'s ring on a GPU)."""
        return placement.on_device(self._pixels)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(D, H, W, C)."""
        return tuple(self._pixels.shape)

    def to_volume(self):
        """The float32 :class:`~stv_cli.model.volume.ZSpaceVolume` of these pixels (a copy).

        Pixels on a GPU give a volume on the GPU; the division by the scale runs on the host
        (it is no kernel of the contract), so that costs one copy of the pixels each way.
        """
        from .volume import ZSpaceVolume

        if self.on_device:
            return ZSpaceVolume(pixel_values(placement.host(self._pixels))).to_device()
        return ZSpaceVolume(pixel_values(self._pixels))

    def slice_profile(self):
        """:meth:`ZSpaceVolume.slice_profile` of the float volume (makes it once)."""
        return self.to_volume().slice_profile()

    def resonance_weights(self, resonance: DifferentialResonance) -> np.ndarray:
        """Normalised per-depth weights of ``resonance`` (SPEC A.2.2); a new float32 (D,)."""
        return resonance_weights(resonance, self.depth)

    def collapse_with_weights(self, weights, out: np.ndarray | None = None) -> np.ndarray:
        """:meth:`ZSpaceVolume.collapse_with_weights` of the float volume, to ~1e-7.

        Summed as ``p_z * (w_z / s)`` (see :func:`stv_kernels.pixel_collapse.collapse_pixels`).

        ``out`` may also be uint8 (H, W, C): it then receives the picture quantised as every
        image stv writes (SPEC Part G), made a row at a time without writing the float picture.

        Raises
        ------
        DataLength
            If ``len(weights) != D``.
        NonFiniteValue
            If a weight is NaN or infinite.
        """
        weights = slice_weights(weights, self.depth)
        if out is None:  # a NumPy picture, also for pixels on a GPU
            out = np.empty(self.shape[1:], dtype=np.float32)
        return ops().collapse_pixels(placement.for_kernels(self._pixels), weights, out=out)

    def __repr__(self) -> str:
        d, h, w, c = self.shape
        return f"PixelVolume(depth={d}, height={h}, width={w}, channels={c}, {self._pixels.dtype})"
