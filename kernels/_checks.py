"""Argument checks every backend's kernels share (private: the public functions call these).

A kernel's public function validates its arguments here (dtype, layout, shape, parameter
ranges), allocates its output outside jitted code, and only then calls the compiled kernel, so
every backend refuses the same inputs with the same messages. NumPy only.
"""

from __future__ import annotations

import numpy as np

from .pixel_scale import PIXEL_DTYPES

F32 = np.float32

#: Interpolation methods by name; kernels receive the integer code.
INTERPOLATION_CODES = {"nearest": 0, "linear": 1, "cubic": 2}


# --------------------------------------------------------------------------- validation


def c_contiguous(array) -> bool:
    """Whether ``array`` is C-contiguous: a NumPy array, or a backend's device array (which
    says so through ``is_c_contiguous()``; the checks here read only shape, dtype and this)."""
    if isinstance(array, np.ndarray):
        return bool(array.flags.c_contiguous)
    test = getattr(array, "is_c_contiguous", None)
    return bool(test()) if callable(test) else False


def is_host(array) -> bool:
    """Whether ``array`` is a NumPy array (not a device array of a GPU backend)."""
    return isinstance(array, np.ndarray)


def check_volume(vol: np.ndarray, name: str = "volume") -> np.ndarray:
    """Return ``vol`` as a C-contiguous float32 (D, H, W, C) array.

    A volume that is already float32 and C-contiguous is returned as is; any other (float64,
    a strided view, a Fortran-ordered array) is copied once, here, so kernels only ever see
    one layout.
    """
    if not isinstance(vol, np.ndarray) or vol.ndim != 4:
        shape = getattr(vol, "shape", None)
        raise ValueError(f"{name} must be a 4-D (D, H, W, C) array, got shape {shape}")
    return np.ascontiguousarray(vol, dtype=F32)


def check_out(out: np.ndarray | None, shape: tuple[int, ...], name: str = "out") -> np.ndarray:
    """Allocate ``out``, or check the one given.

    Outputs are allocated here, outside compiled code: NumPy's allocation asks for transparent
    huge pages and one inside ``@njit`` does not, which made a fresh 512 MiB output fill about
    4x slower.
    """
    if out is None:
        return np.empty(shape, dtype=F32)
    if (
        not isinstance(out, np.ndarray)
        or out.dtype != F32
        or out.shape != tuple(shape)
        or not out.flags.c_contiguous
        or not out.flags.writeable
    ):
        got = f"{getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}"
        raise ValueError(
            f"{name} must be a writeable C-contiguous float32 array of shape {tuple(shape)}, "
            f"got {got}"
        )
    return out


def separate_input(vol: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Return ``vol``, or a copy of it when it may share memory with ``out``.

    Every kernel reads voxels that an earlier step of the same call has already written (a
    Jacobi pass, a running z sum), so an ``out`` that overlaps the input would corrupt the
    result; copying the input once makes in-place calls such as ``diffuse(v, 1, r, out=v)``
    correct.
    """
    if np.may_share_memory(vol, out):
        return vol.copy()
    return vol


def check_factor(factor: int) -> int:
    """Return the upscale factor as an int >= 1 (SPEC A.2.4: f = 0 is rejected)."""
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"upscale factor must be an integer >= 1, got {factor!r}")
    return int(factor)


def check_diffusion(iterations: int, rate: float) -> tuple[int, np.float32]:
    """Return ``(iterations, rate)`` checked: an integer >= 0 and a finite rate in [0, 1].

    ZDiffuser clamps its rate and maps NaN to 0.25 before calling (SPEC A.5); a kernel that
    receives anything else was called wrongly, so it says so instead of clamping again.
    """
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)):
        raise ValueError(f"diffusion iterations must be an integer >= 0, got {iterations!r}")
    if iterations < 0:
        raise ValueError(f"diffusion iterations must be an integer >= 0, got {iterations}")
    if not np.isfinite(rate) or not 0.0 <= rate <= 1.0:
        raise ValueError(f"diffusion rate must be finite and in [0, 1], got {rate!r}")
    return int(iterations), F32(rate)


def interpolation_code(method: str) -> int:
    try:
        return INTERPOLATION_CODES[method]
    except KeyError:
        allowed = ", ".join(INTERPOLATION_CODES)
        raise ValueError(f"interpolation method {method!r} is not one of {allowed}") from None


def check_decode_args(key_words, start_draw, latent, depth, height, width, out):
    """Validate the decoder's arguments and allocate ``out``; shared by every backend.

    Returns ``(key_words uint32[8], start_draw int, latent float32[F], out (D,H,W,1) float32)``.
    """
    key_words = np.ascontiguousarray(key_words, dtype=np.uint32)
    if key_words.shape != (8,):
        raise ValueError(f"key_words must be 8 uint32 words, got shape {key_words.shape}")
    start_draw = int(start_draw)
    if not 0 <= start_draw < 2**62:
        raise ValueError(f"start_draw must be in [0, 2**62), got {start_draw}")
    latent = np.ascontiguousarray(latent, dtype=F32)
    if latent.ndim != 1 or latent.size == 0:
        raise ValueError(f"latent must be a non-empty 1-D array, got shape {latent.shape}")
    shape = (int(depth), int(height), int(width), 1)
    if min(shape) < 1:
        raise ValueError(f"depth, height and width must be >= 1, got {shape[:3]}")
    if out is None:
        out = np.empty(shape, dtype=F32)
    elif out.dtype != F32 or tuple(out.shape) != shape or not c_contiguous(out):
        raise ValueError(
            f"out must be a C-contiguous float32 array of shape {shape}, "
            f"got {out.dtype} {out.shape}"
        )
    return key_words, start_draw, latent, out


def frame_rows(array: np.ndarray, name: str, pixels: bool = False) -> np.ndarray:
    """A C-contiguous (..., H, W, C) array viewed as (..., H, W*C) rows.

    float32, or with ``pixels`` also uint8/uint16 (the frame kernels of ``stv video``).
    """
    allowed = array.dtype == F32 or (pixels and array.dtype in PIXEL_DTYPES)
    if not allowed or not c_contiguous(array):
        kinds = "float32, uint8 or uint16" if pixels else "float32"
        raise ValueError(f"{name} must be a C-contiguous {kinds} array, got {array.dtype}")
    shape = tuple(array.shape)  # a device array's shape may not be a plain tuple
    return array.reshape(*shape[:-2], shape[-2] * shape[-1])


def check_collapse_pixels(pixels: np.ndarray, weights, out: np.ndarray | None, allocate=True):
    """Check a pixel collapse's arguments; return ``(weights float32 (D,), out)``.

    ``pixels`` is a C-contiguous uint8/uint16 (D, H, W, C) ring; ``out`` a C-contiguous
    float32 or uint8 (H, W, C), allocated (float32, on the host) when None and ``allocate``.
    """
    if (
        not hasattr(pixels, "dtype")
        or pixels.ndim != 4
        or pixels.dtype not in PIXEL_DTYPES
        or not c_contiguous(pixels)
    ):
        raise ValueError(
            "pixels must be a C-contiguous uint8 or uint16 (D, H, W, C) array, got "
            f"{getattr(pixels, 'dtype', type(pixels).__name__)} {getattr(pixels, 'shape', '')}"
        )
    d, h, w, c = pixels.shape
    weights = np.ascontiguousarray(weights, dtype=F32)
    if weights.shape != (d,):
        raise ValueError(f"weights must have length {d}, got shape {weights.shape}")
    if out is None:
        return weights, (np.empty((h, w, c), dtype=F32) if allocate else None)
    if tuple(out.shape) != (h, w, c) or out.dtype not in (F32, np.uint8) or not c_contiguous(out):
        raise ValueError(f"out must be a C-contiguous float32 or uint8 array of shape {(h, w, c)}")
    return weights, out


def check_quantise(image, dtype, out: np.ndarray | None, allocate=True):
    """Check a quantisation's arguments; return ``(image float32 C-contiguous, dtype, out)``.

    ``dtype`` is uint8 or uint16; ``out`` (allocated on the host when None and ``allocate``)
    has the image's shape. A device ``image`` must already be C-contiguous float32.
    """
    dtype = np.dtype(dtype)
    if dtype not in PIXEL_DTYPES:
        raise ValueError(f"dtype must be uint8 or uint16, got {dtype}")
    if is_host(image) or not hasattr(image, "dtype"):
        image = np.ascontiguousarray(image, dtype=F32)
    elif image.dtype != F32 or not c_contiguous(image):
        raise ValueError(f"image must be a C-contiguous float32 array, got {image.dtype}")
    if out is None:
        return image, dtype, (np.empty(image.shape, dtype=dtype) if allocate else None)
    if tuple(out.shape) != tuple(image.shape) or out.dtype != dtype or not c_contiguous(out):
        raise ValueError(f"out must be a C-contiguous {dtype} array of shape {image.shape}")
    return image, dtype, out


def check_frame_state(frame, previous, fused, envelope, motion, slices: int) -> tuple:
    """Check a video step's arrays; return the frame's (H, W, C).

    ``previous`` is (H, W, C) of the frame's dtype; ``fused`` and ``envelope`` float32
    (slices, H, W, C); ``motion``, when given, float32 (H, W, C). All C-contiguous; frames and
    ``previous`` float32 or uint8/uint16 pixels.
    """
    shape = tuple(frame.shape)
    state = (slices, *shape)
    if (
        tuple(previous.shape) != shape
        or tuple(fused.shape) != state
        or tuple(envelope.shape) != state
    ):
        raise ValueError(
            f"the state needs previous {shape} and fused/envelope {state}, got "
            f"{previous.shape}, {fused.shape}, {envelope.shape}"
        )
    if previous.dtype != frame.dtype:
        raise ValueError(
            f"previous must have the frame's dtype {frame.dtype}, got {previous.dtype}"
        )
    if motion is not None and tuple(motion.shape) != shape:
        raise ValueError(f"motion must have shape {shape}, got {motion.shape}")
    frame_rows(frame, "frame", pixels=True)
    frame_rows(previous, "previous", pixels=True)
    frame_rows(fused, "fused")
    frame_rows(envelope, "envelope")
    if motion is not None:
        frame_rows(motion, "motion")
    return shape


def check_ring_slots(frame, slot_a, slot_b) -> None:
    """Ring slots must have the frame's shape and dtype (and be C-contiguous)."""
    if tuple(slot_a.shape) != tuple(frame.shape) or tuple(slot_b.shape) != tuple(frame.shape):
        raise ValueError(
            f"ring slots must have the frame's shape {frame.shape}, got {slot_a.shape}, "
            f"{slot_b.shape}"
        )
    if slot_a.dtype != frame.dtype or slot_b.dtype != frame.dtype:
        raise ValueError(f"ring slots must have the frame's dtype {frame.dtype}")
    for name, array in (("frame", frame), ("slot_a", slot_a), ("slot_b", slot_b)):
        frame_rows(array, name, pixels=True)


def band_shape(vol_shape, factor: int, rows) -> tuple[int, int]:
    """``(out_rows, first_row)`` of an upscale by ``factor`` of a band (``rows``, see
    :func:`stv_kernels._tables.bilinear_rows`); for ``factor == 1`` the band's own rows
    ``start - first .. stop - first`` are copied, and must exist."""
    from ._tables import bilinear_rows

    d, h, w, c = vol_shape
    if rows is None:
        return h * factor, 0
    if factor == 1:
        try:
            full, start, stop, first = (int(v) for v in rows)
        except (TypeError, ValueError):
            raise ValueError(f"rows must be (height, start, stop, first), got {rows!r}") from None
        if not (0 <= start <= stop <= full and first <= start and stop - first <= h):
            raise ValueError(
                f"rows {rows!r}: rows {start}..{stop - 1} are not in the band's rows "
                f"{first}..{first + h - 1}"
            )
        return stop - start, start - first
    return bilinear_rows(h, factor, rows, h)[3], 0
