"""ZDecoder: a seeded random projection from a latent vector to a volume (SPEC A.6, D7).

Voxel ``u`` of a decoded (D, H, W) volume is ``tanh(sum_k latent[k] * U[u, k] / F)`` where the
``U`` are fresh uniform draws in [-1, 1) from the reference's random stream (ChaCha12 keyed
through PCG32, :mod:`stv_kernels.chacha`). The stream is a decoder's state: every call consumes
``D * H * W * F`` draws and the next call continues where it stopped, so decoding the same
latent twice gives two different volumes, and two decoders with the same seed agree.
"""

from __future__ import annotations

import numpy as np

from ..backend import ops
from ..errors import EmptyInput, InvalidDimensions, InvalidValue
from . import placement
from .floats import integer_at_least, require_finite
from .memory import check_memory, estimate_volume_bytes
from .refine import InterpolationMethod
from .volume import ZSpaceVolume

_U64_MAX = 2**64 - 1
#: The kernels index draws with signed 64-bit integers; at 10^9 draws/s this lasts 146 years.
_MAX_DRAWS = 2**62


def check_latent(latent) -> np.ndarray:
    """Return ``latent`` as a C-contiguous float32 vector, or raise naming what is wrong.

    Raises
    ------
    InvalidValue
        If it cannot be read as numbers.
    InvalidDimensions
        If it is not 1-D (a batch, a matrix or a scalar).
    EmptyInput
        If it has no features.
    NonFiniteValue
        If an entry is NaN or infinite.
    """
    try:
        array = np.asarray(latent, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidValue(f"z_decoder_latent must be a vector of numbers: {exc}") from None
    if array.ndim != 1:
        raise InvalidDimensions(
            f"z_decoder_latent must be a 1-D vector of features, got shape {array.shape}; "
            "decode one latent at a time (latent[i]) or pass latent.ravel() for one long latent"
        )
    if array.size == 0:
        raise EmptyInput("z_decoder_latent must have at least one feature, got 0")
    require_finite(array, "z_decoder_latent")
    return np.ascontiguousarray(array)


class ZDecoder:
    """Decodes latent vectors into (D, H, W, 1) volumes with a seeded, stateful stream.

    Parameters
    ----------
    depth, height, width
        Size of every decoded volume (each >= 1).
    seed
        An unsigned 64-bit integer; the stream is the reference's ``StdRng::seed_from_u64``.

    Raises
    ------
    InvalidDimensions
        If a dimension is not an integer >= 1.
    InvalidValue
        If ``seed`` is not an integer in [0, 2**64).

    Examples
    --------
    >>> a, b = ZDecoder(1, 2, 2, seed=7), ZDecoder(1, 2, 2, seed=7)
    >>> first = a.decode([0.5, -1.0])
    >>> first == b.decode([0.5, -1.0]), first == a.decode([0.5, -1.0])
    (True, False)
    """

    def __init__(self, depth: int, height: int, width: int, seed: int) -> None:
        from stv_kernels.chacha import key_words_from_seed

        self._shape = (
            integer_at_least(depth, "z_decoder depth", 1, InvalidDimensions),
            integer_at_least(height, "z_decoder height", 1, InvalidDimensions),
            integer_at_least(width, "z_decoder width", 1, InvalidDimensions),
        )
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise InvalidValue(f"z_decoder seed must be an integer in [0, 2**64), got {seed!r}")
        if not 0 <= int(seed) <= _U64_MAX:
            raise InvalidValue(f"z_decoder seed must be an integer in [0, 2**64), got {seed}")
        self._seed = int(seed)
        self._key = key_words_from_seed(self._seed)
        self._position = 0

    @property
    def depth(self) -> int:
        """Slices of a decoded volume."""
        return self._shape[0]

    @property
    def height(self) -> int:
        """Rows of a decoded volume."""
        return self._shape[1]

    @property
    def width(self) -> int:
        """Columns of a decoded volume."""
        return self._shape[2]

    @property
    def seed(self) -> int:
        """The seed the stream was keyed from."""
        return self._seed

    @property
    def position(self) -> int:
        """Draws consumed so far: the next decode starts at this draw of the stream."""
        return self._position

    def draws_per_decode(self, n_features: int) -> int:
        """Draws one decode of an ``n_features`` latent consumes: ``D * H * W * F``."""
        d, h, w = self._shape
        return d * h * w * int(n_features)

    def decode(self, latent, out=None) -> ZSpaceVolume:
        """Decode ``latent`` into a new (D, H, W, 1) volume and advance the stream.

        Parameters
        ----------
        latent
            A 1-D vector of F >= 1 finite features.
        out
            Where the voxels go instead of a new array: a C-contiguous float32 (D, H, W, 1)
            array, which the volume adopts; a device array (with a backend with device memory
            in force) gives a volume on the device (a batch reuses one buffer this way).

        Returns
        -------
        ZSpaceVolume
            A new volume; voxel u is ``tanh(acc / F)``, ``acc = sum_k latent[k] * U[u, k]``
            summed in k order in float32, with ``U[u, k]`` draw ``position + u * F + k``.

        Raises
        ------
        InvalidDimensions, EmptyInput, NonFiniteValue, InvalidValue
            For a bad latent (see :func:`check_latent`); the stream does not advance.
        InvalidDimensions
            If the volume exceeds the memory limit.
        """
        features = check_latent(latent)
        d, h, w = self._shape
        draws = self.draws_per_decode(features.size)
        if self._position + draws > _MAX_DRAWS:
            raise InvalidValue(
                f"z_decoder stream exhausted: {self._position} draws used, {draws} more needed, "
                f"at most {_MAX_DRAWS} supported; create a new ZDecoder"
            )
        if out is None:
            check_memory(
                estimate_volume_bytes(d, h, w, 1), f"decoded volume of shape {(d, h, w, 1)}"
            )
            out = np.empty((d, h, w, 1), dtype=np.float32)
        else:
            if placement.on_device(out):  # needs a backend with device memory in force
                out = placement.adopt_device(out, "out")
            if out.dtype != np.float32 or tuple(out.shape) != (d, h, w, 1):
                raise InvalidValue(
                    f"out must be a float32 array of shape {(d, h, w, 1)}, got {out.dtype} "
                    f"{tuple(out.shape)}"
                )
        ops().decode_latent(self._key, self._position, features, d, h, w, out=out)
        self._position += draws
        return ZSpaceVolume(out)

    def decode_with_refinement(
        self,
        latent,
        diffuser=None,
        interpolation: InterpolationMethod | str | None = None,
        upscale_factor: int | None = None,
    ) -> ZSpaceVolume:
        """Decode, then diffuse, interpolate and upscale, each only when asked (SPEC A.6).

        Parameters
        ----------
        latent
            As for :meth:`decode`.
        diffuser
            A :class:`stv_cli.ZDiffuser` applied first, or None.
        interpolation
            One Z-densification pass (D -> 2D - 1 when D > 1), or None.
        upscale_factor
            Spatial factor applied last when > 1; None, 0 and 1 are ignored, as in the
            reference.

        Raises
        ------
        InvalidValue
            If ``upscale_factor`` is negative or not an integer, or ``interpolation`` is not a
            known method (checked before the stream advances).
        """
        method = None if interpolation is None else InterpolationMethod.parse(interpolation)
        if upscale_factor is not None:
            # None, 0 and 1 all mean no upscale, as in the reference
            integer_at_least(upscale_factor, "z_upscale_factor", 0)
        volume = self.decode(latent)
        if diffuser is not None:
            volume = diffuser.diffuse(volume)
        if method is not None:
            volume = volume.interpolate(method)
        if upscale_factor is not None and upscale_factor > 1:
            volume = volume.upscale(int(upscale_factor))
        return volume

    def __repr__(self) -> str:
        d, h, w = self._shape
        return (
            f"ZDecoder(depth={d}, height={h}, width={w}, seed={self._seed}, "
            f"position={self._position})"
        )
