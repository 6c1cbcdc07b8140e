"""ZSpaceVolume: a stack of D slices as one C-contiguous float32 (D, H, W, C) array.

The model of SPEC A.2 with channels last (D1) and no harmonic buffers (D2). Methods that
return a volume return a new one; only :meth:`ZSpaceVolume.accumulate` changes a volume in
place. Per-voxel work runs in the kernels of the backend in force (:func:`stv_cli.backend.ops`).

Every method says what it allocates. Outputs of interpolate and upscale are checked against a
memory limit first (:func:`check_memory`), so an oversized request fails at once with a message
instead of the machine swapping.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from enum import Enum

import numpy as np

from .backend import ops
from .errors import DataLength, EmptyInput, InvalidDimensions, InvalidValue, ShapeMismatch
from .resonance import DifferentialResonance, resonance_weights
from .telemetry import ZSliceProfile, ZSpaceTelemetryReport
from .temporal import blend_slices, ema_slices
from .weights import F32, as_vector, finite_f32, require_finite, sequential_sum
from .windows import SpectralWindow

# --------------------------------------------------------------------------- memory guard

_memory_limit_override: int | None = None


def estimate_volume_bytes(depth: int, height: int, width: int, channels: int = 1) -> int:
    """Bytes of a float32 (D, H, W, C) volume: ``4 * D * H * W * C`` (Python ints, no overflow)."""
    return 4 * int(depth) * int(height) * int(width) * int(channels)


def physical_memory_bytes() -> int | None:
    """This machine's physical RAM in bytes, or None where the OS does not say."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def memory_limit() -> int | None:
    """The limit in force: :func:`set_memory_limit`'s value, else 80% of physical RAM."""
    if _memory_limit_override is not None:
        return _memory_limit_override
    physical = physical_memory_bytes()
    return None if physical is None else int(physical * 0.8)


def set_memory_limit(limit_bytes: int | None) -> None:
    """Set the largest output (bytes) a volume operation may allocate; None restores 80% of RAM.

    Raises
    ------
    InvalidValue
        If ``limit_bytes`` is not None and not a positive integer.
    """
    global _memory_limit_override
    if limit_bytes is not None and (
        isinstance(limit_bytes, bool) or not isinstance(limit_bytes, (int, np.integer))
    ):
        raise InvalidValue(f"memory limit must be a positive integer of bytes, got {limit_bytes!r}")
    if limit_bytes is not None and limit_bytes <= 0:
        raise InvalidValue(f"memory limit must be a positive integer of bytes, got {limit_bytes}")
    _memory_limit_override = None if limit_bytes is None else int(limit_bytes)


def _gib(nbytes: int) -> str:
    return f"{nbytes / 2**30:.2f} GiB ({nbytes} bytes)"


def check_memory(estimate_bytes: int, what: str) -> None:
    """Raise :class:`InvalidDimensions` if ``estimate_bytes`` exceeds :func:`memory_limit`.

    ``what`` names the output in the message, e.g. ``"upscale output of shape (...)"``.
    """
    limit = memory_limit()
    if limit is not None and estimate_bytes > limit:
        raise InvalidDimensions(
            f"{what} needs an estimated {_gib(estimate_bytes)}, more than the memory limit of "
            f"{_gib(limit)}; use a smaller factor or input, or raise the limit "
            "(stv_cli.volume.set_memory_limit)"
        )


# --------------------------------------------------------------------------- helpers


class InterpolationMethod(str, Enum):
    """How :meth:`ZSpaceVolume.interpolate` synthesises the slice between two neighbours."""

    NEAREST = "nearest"
    LINEAR = "linear"
    CUBIC = "cubic"

    @classmethod
    def parse(cls, method: InterpolationMethod | str) -> InterpolationMethod:
        """Accept a member or its name (case-insensitive).

        Raises
        ------
        InvalidValue
            If ``method`` is not one of nearest, linear, cubic.
        """
        if isinstance(method, cls):
            return method
        try:
            return cls(str(method).lower())
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise InvalidValue(
                f"interpolation method must be one of {allowed}, got {method!r}"
            ) from None


def _positive_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidValue(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _as_4d(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim == 3:
        return array[..., np.newaxis]
    if array.ndim != 4:
        raise InvalidDimensions(
            f"{name} must be a (D, H, W) or (D, H, W, C) array, got shape {array.shape}"
        )
    return array


def _check_alpha(alpha: float) -> np.float32:
    # judged as the float32 the reference receives: 1 + 1e-12 is 1.0, 1e39 is inf
    alpha32 = finite_f32(alpha)
    if alpha32 is None or not F32(0.0) <= alpha32 <= F32(1.0):
        raise InvalidValue(f"temporal_alpha must be finite and in [0, 1], got {alpha}")
    return alpha32


# --------------------------------------------------------------------------- the volume


class ZSpaceVolume:
    """A Z-space volume: ``voxels`` is a C-contiguous float32 array of shape (D, H, W, C).

    Parameters
    ----------
    voxels
        A (D, H, W) or (D, H, W, C) array. It is adopted without a copy when it is already a
        C-contiguous float32 array (a (D, H, W) array becomes a (D, H, W, 1) view); otherwise it
        is converted with exactly one copy. Adopted arrays are shared: :meth:`accumulate`
        writes into them.
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
            voxels = voxels.voxels
        array = _as_4d(np.asarray(voxels), "voxels")
        if 0 in array.shape:
            raise InvalidDimensions(
                f"volume dimensions (D, H, W, C) must all be >= 1, got {array.shape}"
            )
        self._voxels = self._adopt(array, copy)

    @staticmethod
    def _adopt(array: np.ndarray, copy: bool) -> np.ndarray:
        if copy:
            return np.array(array, dtype=F32, order="C", copy=True)
        return np.ascontiguousarray(array, dtype=F32)

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
        dims = (depth, height, width, channels)
        if any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in dims):
            raise InvalidDimensions(
                f"volume dimensions (D, H, W, C) must be integers >= 1, got {dims}"
            )
        check_memory(estimate_volume_bytes(*dims), f"zero volume of shape {dims}")
        return cls._wrap(np.zeros(tuple(int(d) for d in dims), dtype=F32))

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
            If a dimension is 0.
        DataLength
            If the buffer's length is not the product of ``shape``.
        """
        if shape is None:
            return cls(voxels, copy=copy)
        dims = tuple(int(d) for d in shape)
        if len(dims) not in (3, 4) or 0 in dims:
            raise InvalidDimensions(f"shape must be (D, H, W[, C]), all >= 1, got {dims}")
        flat = np.asarray(voxels).reshape(-1)
        if flat.size != int(np.prod(dims)):
            raise DataLength(
                f"voxel buffer of shape {dims} needs {int(np.prod(dims))} values, got {flat.size}"
            )
        return cls(flat.reshape(dims), copy=copy)

    @classmethod
    def from_slices(cls, slices: Sequence[np.ndarray]) -> ZSpaceVolume:
        """Stack D slices, each (H, W) or (H, W, C), into one new volume.

        Allocates the (D, H, W, C) volume once and copies each slice in (values converted to
        float32 unchanged, no rescaling). A (H, W) slice counts as (H, W, 1). As in the
        reference, H or W = 0 is not rejected here.

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
        slices = list(slices)
        if not slices:
            raise EmptyInput("z_space_volume_slices must contain at least one slice, got 0")
        arrays = []
        for i, s in enumerate(slices):
            a = np.asarray(s)
            if a.ndim == 2:
                a = a[..., np.newaxis]
            if a.ndim != 3 or a.shape[2] == 0:
                raise InvalidDimensions(
                    f"slice {i} must be an (H, W) or (H, W, C) array with C >= 1, "
                    f"got shape {np.shape(s)}"
                )
            if arrays and a.shape != arrays[0].shape:
                raise ShapeMismatch(
                    f"slice {i} has shape {np.shape(s)} but slice 0 has shape "
                    f"{np.shape(slices[0])}; all slices must have the same shape"
                )
            arrays.append(a)
        h, w, c = arrays[0].shape
        d = len(arrays)
        check_memory(estimate_volume_bytes(d, h, w, c), f"volume of {d} slices of {h}x{w}x{c}")
        out = np.empty((d, h, w, c), dtype=F32)
        for z, a in enumerate(arrays):
            out[z] = a
        return cls._wrap(out)

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
        return self._voxels[..., 0].copy()

    def copy(self) -> ZSpaceVolume:
        """An independent copy (allocates the volume's size once)."""
        return self._wrap(self._voxels.copy())

    # ---------------------------------------------------------------- accessors

    @property
    def voxels(self) -> np.ndarray:
        """The (D, H, W, C) float32 C-contiguous array itself (no copy)."""
        return self._voxels

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(D, H, W, C)."""
        return self._voxels.shape  # type: ignore[return-value]

    @property
    def depth(self) -> int:
        """Number of slices D."""
        return self._voxels.shape[0]

    @property
    def height(self) -> int:
        """Rows per slice H."""
        return self._voxels.shape[1]

    @property
    def width(self) -> int:
        """Columns per slice W."""
        return self._voxels.shape[2]

    @property
    def channels(self) -> int:
        """Channels per voxel C (1 grey, 3 RGB, 4 RGBA)."""
        return self._voxels.shape[3]

    @property
    def voxel_count(self) -> int:
        """D * H * W (channels not counted, as in the reference)."""
        return self.depth * self.height * self.width

    @property
    def nbytes(self) -> int:
        """Bytes held by the voxels."""
        return self._voxels.nbytes

    def slice(self, z: int) -> np.ndarray:
        """Slice ``z`` as an (H, W, C) view (no copy).

        Raises
        ------
        InvalidValue
            If ``z`` is not an index in [0, D).
        """
        if isinstance(z, bool) or not isinstance(z, (int, np.integer)) or not 0 <= z < self.depth:
            raise InvalidValue(f"z_slice_index must be an integer in [0, {self.depth}), got {z!r}")
        return self._voxels[int(z)]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ZSpaceVolume):
            return NotImplemented
        return self.shape == other.shape and bool(np.array_equal(self._voxels, other._voxels))

    def __repr__(self) -> str:
        d, h, w, c = self.shape
        return f"ZSpaceVolume(depth={d}, height={h}, width={w}, channels={c})"

    # ---------------------------------------------------------------- collapse

    def collapse_with_weights(self, weights, out: np.ndarray | None = None) -> np.ndarray:
        """Sum of slices weighted by ``weights`` (one per slice, not normalised), SPEC A.2.1.

        Returns a new (H, W, C) float32 image, or fills ``out`` (C-contiguous float32 of that
        shape). Negative weights are allowed; the voxels are not checked.

        Raises
        ------
        DataLength
            If ``len(weights) != D``.
        NonFiniteValue
            If a weight is NaN or infinite.
        """
        w = as_vector(weights, "z_space_weights")
        if w.size != self.depth:
            raise DataLength(
                f"z_space_weights must have one weight per slice (D = {self.depth}), got {w.size}"
            )
        require_finite(w, "z_space_weight")
        return ops().collapse_weighted(self._voxels, w, out=out)

    def resonance_weights(self, resonance: DifferentialResonance) -> np.ndarray:
        """Normalised per-depth weights of ``resonance`` (SPEC A.2.2); a new float32 (D,)."""
        return resonance_weights(resonance, self.depth)

    def project_resonance(self, resonance: DifferentialResonance) -> np.ndarray:
        """Collapse with :meth:`resonance_weights`; a new (H, W, C) float32 image."""
        return self.collapse_with_weights(self.resonance_weights(resonance))

    # ---------------------------------------------------------------- refine

    def interpolate(
        self, method: InterpolationMethod | str = InterpolationMethod.LINEAR, passes: int = 1
    ) -> ZSpaceVolume:
        """Densify along Z: each pass inserts a slice between every pair (D -> 2D - 1), A.2.3.

        ``passes`` k gives 2^k (D - 1) + 1 slices (D8). Each pass allocates its output; with
        k > 1 the previous intermediate is freed as the next is made. D <= 1, H = 0, W = 0 or
        ``passes = 0`` return a copy.

        Raises
        ------
        InvalidValue
            For an unknown method or a negative ``passes``.
        InvalidDimensions
            If an output would exceed the memory limit (checked before any work).
        """
        method = InterpolationMethod.parse(method)
        passes = _positive_int(passes, "interpolation passes", 0)
        d, h, w, c = self.shape
        if d <= 1 or h == 0 or w == 0 or passes == 0:
            return self.copy()
        depth, previous = d, 0
        for _ in range(passes):
            depth = 2 * depth - 1
            nbytes = estimate_volume_bytes(depth, h, w, c)
            check_memory(nbytes + previous, f"interpolation output of shape {(depth, h, w, c)}")
            previous = nbytes
        src = self._voxels
        for _ in range(passes):
            out = np.empty((2 * src.shape[0] - 1, h, w, c), dtype=F32)
            src = ops().interpolate_z(src, method.value, out=out)
        return self._wrap(src)

    def upscale(self, factor: int) -> ZSpaceVolume:
        """Bilinear (align-corners) resample of every slice by an integer factor, SPEC A.2.4.

        Allocates the (D, H*f, W*f, C) output; ``factor = 1`` (or H or W = 0) returns a copy.

        Raises
        ------
        InvalidValue
            If ``factor`` (z_upscale_factor) is not an integer >= 1.
        InvalidDimensions
            If the output would exceed the memory limit.
        """
        factor = _positive_int(factor, "z_upscale_factor", 1)
        d, h, w, c = self.shape
        if factor == 1 or h == 0 or w == 0:
            return self.copy()
        shape = (d, h * factor, w * factor, c)
        check_memory(estimate_volume_bytes(*shape), f"upscale output of shape {shape}")
        out = np.empty(shape, dtype=F32)
        return self._wrap(ops().upscale_bilinear(self._voxels, factor, out=out))

    # ---------------------------------------------------------------- statistics

    def _stats(self) -> dict[str, np.ndarray]:
        return ops().slice_statistics(self._voxels)

    def spectral_response(self, window: SpectralWindow) -> np.ndarray:
        """Per-slice mean |v| times the normalised window (SPEC A.2.5); a new float32 (D,).

        Taken over all H*W*C values of each slice (D1); empty when H*W = 0.
        """
        if self.height * self.width == 0:
            return np.zeros(0, dtype=F32)
        return (self._stats()["abs_mean"] * window.weights(self.depth)).astype(F32, copy=False)

    def profile(self) -> ZSliceProfile:
        """Per-slice mean, two-pass population std and energy (SPEC A.2.8), for telemetry.

        An empty slice (H*W = 0) gives zeros.
        """
        s = self._stats()
        return ZSliceProfile(s["mean"], s["std"], s["energy"])

    def slice_profile(self) -> ZSliceProfile:
        """Like :meth:`profile` but with the one-pass std sqrt(max(E[v^2] - mean^2, 0)).

        Raises
        ------
        InvalidDimensions
            If H*W = 0.
        """
        if self.height * self.width == 0:
            raise InvalidDimensions(
                f"slice_profile needs non-empty slices, got H = {self.height}, W = {self.width}"
            )
        s = self._stats()
        return ZSliceProfile(s["mean"], s["std_one_pass"], s["energy"])

    def telemetry_report(self) -> ZSpaceTelemetryReport:
        """:meth:`profile` summarised as a :class:`ZSpaceTelemetryReport`."""
        return self.profile().report()

    def total_energy(self) -> float:
        """Mean of v^2 over every value of the volume (0 for an empty volume)."""
        if self._voxels.size == 0:
            return 0.0
        # every slice has the same count, so the mean of per-slice energies is the global mean
        return float(F32(np.mean(self._stats()["energy"], dtype=np.float64)))

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
        ema_slices(self._voxels, next_volume._voxels, _check_alpha(alpha), out=self._voxels)

    def accumulated(self, next_volume: ZSpaceVolume, alpha: float) -> ZSpaceVolume:
        """Like :meth:`accumulate` but into a new volume (allocates one volume and one slice)."""
        self._check_same_shape(next_volume, "accumulated")
        out = np.empty(self.shape, dtype=F32)
        ema_slices(self._voxels, next_volume._voxels, _check_alpha(alpha), out=out)
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
        volumes = list(volumes)
        if not volumes:
            raise EmptyInput("z_space_sequence must contain at least one volume, got 0")
        w = as_vector(weights, "temporal_weights")
        if w.size != len(volumes):
            raise DataLength(
                f"temporal_weights must have one weight per volume ({len(volumes)}), got {w.size}"
            )
        for k, v in enumerate(volumes):
            if not isinstance(v, ZSpaceVolume) or v.shape != volumes[0].shape:
                raise ShapeMismatch(
                    f"volume {k} of z_space_sequence has shape {getattr(v, 'shape', type(v))} "
                    f"but volume 0 has {volumes[0].shape}"
                )
        require_finite(w, "temporal_weight")
        total = sequential_sum(w)
        if not total > 0:
            raise InvalidValue(
                f"temporal weights must sum to a positive total, got {float(total)} "
                f"from {w.tolist()}"
            )
        return ZSpaceVolume._wrap(blend_slices([v._voxels for v in volumes], w, total))
