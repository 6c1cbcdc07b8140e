"""ZSpaceVolume: a stack of D slices as one C-contiguous float32 (D, H, W, C) array.

The model of SPEC A.2 with channels last (D1) and no harmonic buffers (D2). Methods that
return a volume return a new one; only :meth:`ZSpaceVolume.accumulate` changes a volume in
place. Per-voxel work runs in the kernels of the backend in force (:func:`stv_cli.backend.ops`).

Every method says what it allocates. Outputs of interpolate and upscale are checked against a
memory limit first (:func:`check_memory`), so an oversized request fails at once with a message
instead of the machine swapping.

A volume may live on a GPU (:meth:`ZSpaceVolume.to_device`, or a device array given to the
constructor) when a backend with device memory is in force (``cuda``). Its refinements then
stay on the device, kernel after kernel; methods that return arrays return NumPy arrays
unless an ``out`` on the device is given, and :attr:`~ZSpaceVolume.voxels` is a host copy
(:attr:`~ZSpaceVolume.device_voxels` is the device array itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np

from ..backend import ops
from ..errors import InvalidDimensions, InvalidValue, ShapeMismatch
from . import placement, telemetry
from .floats import F32, slice_weights
from .refine import InterpolationMethod, interpolate_voxels, upscale_voxels
from .resonance import DifferentialResonance, resonance_weights
from .telemetry import ZSliceProfile, ZSpaceTelemetryReport
from .temporal import blend_arrays, check_alpha, ema_slices
from .voxel_arrays import StackShape, adopt_voxels, reshape_buffer, stack_slices, zeros_voxels
from .windows import SpectralWindow

__all__ = ["ZSpaceVolume"]


# --------------------------------------------------------------------------- the volume


class ZSpaceVolume(StackShape):
    """A Z-space volume: ``voxels`` is a C-contiguous float32 array of shape (D, H, W, C).

    Parameters
    ----------
    voxels
        A (D, H, W) or (D, H, W, C) array. It is adopted without a copy when it is already a
        C-contiguous float32 array (a (D, H, W) array becomes a (D, H, W, 1) view); otherwise it
        is converted with exactly one copy, values unchanged (integers are not rescaled here:
        :meth:`from_slices` and :func:`stv_cli.load_volume` scale 8- and 16-bit pixels).
            Adopted arrays are shared: :meth:`accumulate` writes into them. A device array (numba's,
        CuPy's, a PyTorch CUDA tensor: anything with the CUDA Array Interface) must be
        C-contiguous float32 and is adopted on the device, without a copy; it needs a backend
        with device memory in force.
    copy
        Always copy (one allocation of the volume's size).

    Raises
    ------
    InvalidDimensions
        If the array is not 3-D or 4-D, or any of D, H, W, C is 0.
    """

    __slots__ = ("_voxels",)
    __hash__ = None  # type: ignore[assignment]  # volumes are mutable (accumulate)

    def __init__(self, voxels: np.ndarray, *, copy: bool = False) -> None:
        if isinstance(voxels, ZSpaceVolume):
            voxels = voxels._voxels
        if placement.on_device(voxels):
            device = placement.adopt_device(voxels)
            self._voxels = placement.copy(device) if copy else device
        else:
            self._voxels = adopt_voxels(voxels, copy)

    @classmethod
    def _wrap(cls, array: np.ndarray) -> ZSpaceVolume:
        """Adopt a fresh float32 (D, H, W, C) array without checks (internal outputs)."""
        vol = cls.__new__(cls)
        vol._voxels = array
        return vol

    # ---------------------------------------------------------------- constructors

    @classmethod
    def zeros(cls, depth: int, height: int, width: int, channels: int = 1) -> ZSpaceVolume:
        """A volume of zeros (allocates D*H*W*C float32).

        Raises
        ------
        InvalidDimensions
            If any dimension is < 1 or the volume exceeds the memory limit.
        """
        return cls._wrap(zeros_voxels((depth, height, width, channels)))

    @classmethod
    def from_voxels(
        cls, voxels: np.ndarray, shape: Sequence[int] | None = None, *, copy: bool = False
    ) -> ZSpaceVolume:
        """Adopt a voxel array, like the constructor; ``shape`` reshapes a flat buffer first.

        Parameters
        ----------
        voxels
            (D, H, W) or (D, H, W, C) array, or a flat depth-major buffer with ``shape``.
        shape
            (D, H, W) or (D, H, W, C) of a flat ``voxels`` (the reference's
            ``from_voxels(D, H, W, buf)``).

        Raises
        ------
        InvalidDimensions
            If a dimension is < 1.
        DataLength
            If the buffer's length is not the product of ``shape``.
        """
        if shape is None:
            return cls(voxels, copy=copy)
        return cls(reshape_buffer(voxels, shape), copy=copy)

    @classmethod
    def from_slices(cls, slices: Sequence[np.ndarray]) -> ZSpaceVolume:
        """Stack D slices, each (H, W) or (H, W, C), into one new volume.

        Allocates the (D, H, W, C) volume once and copies each slice in as float32. Integer
        pixels are scaled as ``stv project`` scales image files: **uint8 slices are divided by
        255 and uint16 slices by 65535**, so ``from_slices([np.asarray(Image.open(f)) ...])``
        gives values in [0, 1]; floats, bool and other integer types are kept as they are. A
        (H, W) slice counts as (H, W, 1). As in the reference, H or W = 0 is not rejected.

        Raises
        ------
        EmptyInput
            If ``slices`` is empty.
        InvalidDimensions
            If a slice is not 2-D or 3-D, has 0 channels, or the volume exceeds the memory limit.
        ShapeMismatch
            If a slice's shape differs from slice 0's (the message names the index and both
            shapes).
        """
        return cls._wrap(stack_slices(slices))

    @classmethod
    def from_image_tensor(cls, image: np.ndarray) -> ZSpaceVolume:
        """A (C, H, W) image as a volume whose depth is the image's channels (one copy)."""
        array = np.asarray(image)
        if array.ndim != 3:
            raise InvalidDimensions(f"image tensor must be (C, H, W), got shape {array.shape}")
        return cls(array, copy=True)

    def to_image_tensor(self) -> np.ndarray:
        """The volume as a (D, H, W) image tensor (depth becomes channels; one copy).

        Raises
        ------
        InvalidDimensions
            If the volume has more than one channel.
        """
        if self.channels != 1:
            raise InvalidDimensions(
                f"to_image_tensor needs a volume with 1 channel, got {self.channels}"
            )
        return placement.host(self._voxels)[..., 0].copy()

    def copy(self) -> ZSpaceVolume:
        """An independent copy, where the volume lives (allocates the volume's size once)."""
        return self._wrap(placement.copy(self._voxels))

    # ---------------------------------------------------------------- placement

    @property
    def on_device(self) -> bool:
        """Whether the voxels live in a GPU's memory (see :meth:`to_device`)."""
        return placement.on_device(self._voxels)

    def to_device(self) -> ZSpaceVolume:
        """This volume in the memory of the backend in force's device (itself when it is there).

        Interpolate, upscale, diffusion and collapse of a device volume run on the device
        without copying the voxels back; only what they hand back as arrays comes to the host.

        Raises
        ------
        InvalidValue
            If the backend in force has no device memory (``cpu``, ``numpy``).
        """
        if self.on_device:
            return self
        return self._wrap(placement.upload(self._voxels))

    def to_host(self) -> ZSpaceVolume:
        """This volume in host memory (itself when it is there; one copy from the device)."""
        return self._wrap(placement.host(self._voxels)) if self.on_device else self

    # ---------------------------------------------------------------- accessors

    @property
    def voxels(self) -> np.ndarray:
        """The (D, H, W, C) float32 C-contiguous NumPy array: the array itself for a volume on
        the host, a copy for one on a device (:attr:`device_voxels` is the device array)."""
        return placement.host(self._voxels)

    @property
    def device_voxels(self):
        """The device array of a volume on a GPU, itself (no copy).

        Raises
        ------
        InvalidValue
            If the volume lives on the host (see :meth:`to_device`).
        """
        if not self.on_device:
            raise InvalidValue("this volume lives on the host; use volume.to_device() first")
        return self._voxels

    @property
    def stored_voxels(self):
        """The voxels where they live, without a copy: NumPy on the host, a device array on a
        GPU. For code that hands them to kernels (``stv_cli.backend.ops()``)."""
        return placement.for_kernels(self._voxels)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(D, H, W, C)."""
        return self._voxels.shape  # type: ignore[return-value]

    @property
    def voxel_count(self) -> int:
        """D * H * W (channels not counted, as in the reference)."""
        return self.depth * self.height * self.width

    @property
    def nbytes(self) -> int:
        """Bytes held by the voxels."""
        return self._voxels.nbytes

    def slice(self, z: int) -> np.ndarray:
        """Slice ``z`` as an (H, W, C) view (no copy; a host copy of it for a device volume).

        Raises
        ------
        InvalidValue
            If ``z`` is not an index in [0, D).
        """
        if isinstance(z, bool) or not isinstance(z, (int, np.integer)) or not 0 <= z < self.depth:
            raise InvalidValue(f"z_slice_index must be an integer in [0, {self.depth}), got {z!r}")
        if self.on_device:
            return placement.host(self._voxels[int(z)])
        return self._voxels[int(z)]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ZSpaceVolume):
            return NotImplemented
        return self.shape == other.shape and bool(
            np.array_equal(placement.host(self._voxels), placement.host(other._voxels))
        )

    def __repr__(self) -> str:
        d, h, w, c = self.shape
        where = ", on_device=True" if self.on_device else ""
        return f"ZSpaceVolume(depth={d}, height={h}, width={w}, channels={c}{where})"

    # ---------------------------------------------------------------- collapse

    def collapse_with_weights(self, weights, out: np.ndarray | None = None) -> np.ndarray:
        """Sum of slices weighted by ``weights`` (one per slice, not normalised), SPEC A.2.1.

        Returns a new (H, W, C) float32 NumPy image, or fills ``out`` (C-contiguous float32 of
        that shape; a device array too, for a device volume). Negative weights are allowed; the
        voxels are not checked.

        Raises
        ------
        DataLength
            If ``len(weights) != D``.
        NonFiniteValue
            If a weight is NaN or infinite.
        """
        weights = slice_weights(weights, self.depth)
        if out is None:
            out = np.empty((self.height, self.width, self.channels), dtype=F32)
        return ops().collapse_weighted(self.stored_voxels, weights, out=out)

    def resonance_weights(self, resonance: DifferentialResonance) -> np.ndarray:
        """Normalised per-depth weights of ``resonance`` (SPEC A.2.2); a new float32 (D,)."""
        return resonance_weights(resonance, self.depth)

    def project_resonance(self, resonance: DifferentialResonance) -> np.ndarray:
        """Collapse with :meth:`resonance_weights`; a new (H, W, C) float32 image."""
        return self.collapse_with_weights(self.resonance_weights(resonance))

    # ---------------------------------------------------------------- refine

    def interpolate(
        self,
        method: InterpolationMethod | str = InterpolationMethod.LINEAR,
        passes: int = 1,
        out: np.ndarray | None = None,
    ) -> ZSpaceVolume:
        """Densify along Z: each pass inserts a slice between every pair (D -> 2D - 1), A.2.3.

        ``passes`` k gives 2^k (D - 1) + 1 slices (D8). Each pass allocates its output; with
        k > 1 the previous intermediate is freed as the next is made. D <= 1, H = 0, W = 0 or
        ``passes = 0`` return a copy. ``out`` (C-contiguous float32 of the final shape) receives
        the last pass instead of a new array, and the returned volume adopts it: a batch can
        reuse one buffer across its inputs.

        Raises
        ------
        InvalidValue
            For an unknown method or a negative ``passes``.
        InvalidDimensions
            If an output would exceed the memory limit (checked before any work).
        """
        result = interpolate_voxels(self.stored_voxels, method, passes, out=out)
        return self.copy() if result is None else self._wrap(result)

    def upscale(self, factor: int, out: np.ndarray | None = None) -> ZSpaceVolume:
        """Bilinear (align-corners) resample of every slice by an integer factor, SPEC A.2.4.

        Allocates the (D, H*f, W*f, C) output, or fills ``out`` (C-contiguous float32 of that
        shape), which the returned volume adopts; ``factor = 1`` (or H or W = 0) returns a copy.

        Raises
        ------
        InvalidValue
            If ``factor`` (z_upscale_factor) is not an integer >= 1.
        InvalidDimensions
            If the output would exceed the memory limit.
        """
        result = upscale_voxels(self.stored_voxels, factor, out=out)
        return self.copy() if result is None else self._wrap(result)

    # ---------------------------------------------------------------- statistics

    def spectral_response(self, window: SpectralWindow) -> np.ndarray:
        """Per-slice mean |v| times the normalised window (SPEC A.2.5); a new float32 (D,).

        Taken over all H*W*C values of each slice (D1); empty when H*W = 0.
        """
        return telemetry.spectral_response(self.stored_voxels, window)

    def profile(self) -> ZSliceProfile:
        """Per-slice mean, two-pass population std and energy (SPEC A.2.8), for telemetry.

        An empty slice (H*W = 0) gives zeros.
        """
        return telemetry.two_pass_profile(self.stored_voxels)

    def slice_profile(self) -> ZSliceProfile:
        """Like :meth:`profile` but with the one-pass std sqrt(max(E[v^2] - mean^2, 0)).

        Raises
        ------
        InvalidDimensions
            If H*W = 0.
        """
        return telemetry.one_pass_profile(self.stored_voxels)

    def telemetry_report(self) -> ZSpaceTelemetryReport:
        """:meth:`profile` summarised as a :class:`ZSpaceTelemetryReport`."""
        return self.profile().report()

    def total_energy(self) -> float:
        """Mean of v^2 over every value of the volume (0 for an empty volume)."""
        return telemetry.total_energy(self.stored_voxels)

    # ---------------------------------------------------------------- temporal blending

    def _check_same_shape(self, other: ZSpaceVolume, what: str) -> None:
        if not isinstance(other, ZSpaceVolume):
            raise InvalidValue(f"{what} needs a ZSpaceVolume, got {type(other).__name__}")
        if other.shape != self.shape:
            raise ShapeMismatch(
                f"{what} needs volumes of equal shape (D, H, W, C), got {self.shape} and "
                f"{other.shape}"
            )

    def accumulate(self, next_volume: ZSpaceVolume, alpha: float) -> None:
        """EMA in place: ``v <- v * (1 - alpha) + next * alpha`` (SPEC A.2.6). Allocates one slice.

        Raises
        ------
        ShapeMismatch
            If the shapes differ (checked before any change).
        InvalidValue
            If ``alpha`` (temporal_alpha) is not finite or outside [0, 1].
        """
        self._check_same_shape(next_volume, "accumulate")
        alpha = check_alpha(alpha)
        if not self.on_device and not next_volume.on_device:
            ema_slices(self._voxels, next_volume._voxels, alpha, out=self._voxels)
            return
        # the EMAs run on the host (they are not a kernel): a device volume is updated through
        # one copy each way
        state = self.voxels  # a host copy when the volume is on a device
        ema_slices(state, next_volume.voxels, alpha, out=state)
        if self.on_device:
            placement.upload(state, out=self._voxels)

    def accumulated(self, next_volume: ZSpaceVolume, alpha: float) -> ZSpaceVolume:
        """Like :meth:`accumulate` but into a new volume (allocates one volume and one slice)."""
        self._check_same_shape(next_volume, "accumulated")
        out = np.empty(self.shape, dtype=F32)
        ema_slices(self.voxels, next_volume.voxels, check_alpha(alpha), out=out)
        return self._wrap(out)

    @staticmethod
    def blend_sequence(volumes: Sequence[ZSpaceVolume], weights) -> ZSpaceVolume:
        """Weighted mean ``sum(w_k V_k) / sum(w_k)`` of equally shaped volumes (SPEC A.2.7, D4).

        Allocates the output and one slice of scratch.

        Raises
        ------
        EmptyInput
            If ``volumes`` is empty (z_space_sequence).
        DataLength
            If ``len(weights) != len(volumes)``.
        ShapeMismatch
            If a volume's shape differs from volume 0's.
        NonFiniteValue
            If a weight (temporal_weight) is not finite.
        InvalidValue
            If the weights sum to <= 0 (D4; the reference returns the raw sum).
        """
        # anything but a volume (a bare array too) must fail blend_arrays' shape check
        arrays = [
            v.voxels if isinstance(v, ZSpaceVolume) else SimpleNamespace(shape=_shape_of(v))
            for v in volumes
        ]
        return ZSpaceVolume._wrap(blend_arrays(arrays, weights))


def _shape_of(value) -> object:
    """What a message shows for a non-volume: its shape, else its type."""
    return getattr(value, "shape", type(value))
