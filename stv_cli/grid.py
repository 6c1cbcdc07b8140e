"""Pictures out: ``make_grid``, quantisation and image writing (SPEC.md Part G).

The semantics follow torchvision's ``make_grid`` / ``save_image`` so that the same floats give
the same picture, with one layout difference: stv is channels last, so a batch is (B, H, W, C)
and a grid is (H', W', C').

One deliberate extension: with ``normalize=True`` and no ``value_range``, the range is taken
over the *finite* values only. torchvision takes ``min``/``max`` of everything, so a single NaN
turns the whole picture black; here NaN voxels stay NaN (and become 0 when quantised) while the
rest of the image is scaled as if they were absent. On finite input the two agree exactly.
"""

from __future__ import annotations

import math
import os
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from .atomic import atomic_output
from .errors import EmptyInput, InvalidDimensions, InvalidValue, ShapeMismatch

__all__ = [
    "DEFAULT_PNG_COMPRESS_LEVEL",
    "make_grid",
    "save_array_image",
    "save_image",
    "to_uint8",
    "to_uint16",
]

#: zlib level for PNG. Measured here (2 shared cores, Pillow 13, 512x512 RGB photographs):
#: level 1 writes ~45 images/s at 458-478 KiB, level 6 (Pillow's default) ~10-12/s at
#: 417-441 KiB, level 9 ~8/s at the size of 6. Level 1 is ~4x faster for ~10% more bytes.
DEFAULT_PNG_COMPRESS_LEVEL = 1

#: JPEG/WEBP quality (Pillow's default of 75 shows blocking on smooth renders).
DEFAULT_QUALITY = 95

_WRITE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
}
_NO_ALPHA = {"JPEG", "BMP"}  # Pillow drops or refuses the alpha of these
_PIL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}

# torchvision's floor on the normalisation divisor (SPEC Part G step 2).
_MIN_RANGE = 1e-5


def _quantise(arr: np.ndarray, top: int, dtype: type) -> np.ndarray:
    """trunc(clamp(v*top + 0.5, 0, top)) in float32, NaN mapped to 0 first (Part G step 5)."""
    values = np.array(arr, dtype=np.float32, copy=True)
    values[np.isnan(values)] = np.float32(0.0)
    # Two separate float32 operations (not a fused v*top+0.5), as torchvision does them.
    np.multiply(values, np.float32(top), out=values)
    np.add(values, np.float32(0.5), out=values)
    np.clip(values, np.float32(0.0), np.float32(top), out=values)
    # The cast truncates towards zero; every value is now in [0, top], so it is well defined.
    return values.astype(dtype)


def to_uint8(arr: np.ndarray) -> np.ndarray:
    """Quantise floats in [0, 1] to uint8 exactly as ``save_image`` does.

    Parameters
    ----------
    arr : array_like
        Any shape; converted to float32 first.

    Returns
    -------
    numpy.ndarray
        uint8 array of the same shape: ``trunc(clamp(v*255 + 0.5, 0, 255))`` computed in
        float32 (round half up), with NaN mapped to 0 and +/-inf clamped.

    Examples
    --------
    >>> to_uint8(np.array([0.5, 1.0, -1.0, np.nan])).tolist()
    [128, 255, 0, 0]
    """
    return _quantise(arr, 255, np.uint8)


def to_uint16(arr: np.ndarray) -> np.ndarray:
    """Quantise floats in [0, 1] to uint16: ``trunc(clamp(v*65535 + 0.5, 0, 65535))``.

    The same rule as :func:`to_uint8` with 65535 in place of 255 (NaN becomes 0).
    """
    return _quantise(arr, 65535, np.uint16)


def _as_batch(images) -> np.ndarray:
    """Return a float32 (B, H, W, C) array from a batch array or a list of images.

    A 2-D array is one grey image (H, W); a 3-D array is one image (H, W, C), as in
    torchvision, where a 3-D tensor is one (C, H, W) image.
    """
    if isinstance(images, np.ndarray):
        stacked = images
    else:
        if not isinstance(images, Sequence) or isinstance(images, (str, bytes)):
            raise InvalidValue(
                f"images must be an array (B, H, W, C) or a list of (H, W[, C]) arrays, "
                f"got {type(images).__name__}"
            )
        if len(images) == 0:
            raise EmptyInput("images must hold at least one image, got an empty list")
        arrays = [np.asarray(img) for img in images]
        for k, img in enumerate(arrays):
            if img.ndim not in (2, 3):
                raise InvalidDimensions(
                    f"images[{k}] must be (H, W) or (H, W, C), got shape {img.shape}"
                )
            if img.shape != arrays[0].shape:
                raise ShapeMismatch(
                    f"images[{k}] has shape {img.shape}, but images[0] has {arrays[0].shape}; "
                    f"all images of a grid must have the same shape"
                )
        stacked = np.stack(arrays)
    if stacked.dtype.kind not in "biuf":
        raise InvalidValue(f"images must hold real numbers, got dtype {stacked.dtype}")
    if stacked.ndim == 2:
        stacked = stacked[None, :, :, None]
    elif stacked.ndim == 3:
        stacked = stacked[None] if isinstance(images, np.ndarray) else stacked[..., None]
    elif stacked.ndim != 4:
        raise InvalidDimensions(
            f"images must be (B, H, W, C), (H, W, C) or (H, W), got shape {stacked.shape}"
        )
    b, h, w, c = stacked.shape
    if b == 0:
        raise EmptyInput(f"images must hold at least one image, got shape {stacked.shape}")
    if h == 0 or w == 0 or c == 0:
        raise InvalidDimensions(f"images must have H, W, C >= 1, got shape {stacked.shape}")
    # Always a fresh array: nothing below may write into the caller's data.
    return np.array(stacked, dtype=np.float32, copy=True, order="C")


def _finite_range(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 0.0
    return float(finite.min()), float(finite.max())


def _normalise_in_place(values: np.ndarray, low: float, high: float) -> None:
    np.clip(values, np.float32(low), np.float32(high), out=values)
    np.subtract(values, np.float32(low), out=values)
    # The divisor is computed in double and then used in float32, as torch does with Python
    # scalars, so the result matches torchvision byte for byte.
    np.divide(values, np.float32(max(high - low, _MIN_RANGE)), out=values)


def _check_value_range(value_range) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise InvalidValue(
            f"value_range must be a pair (low, high) of numbers, got {value_range!r}"
        ) from None
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise InvalidValue(
            f"value_range must be two finite numbers with low <= high, got {value_range!r}"
        )
    return low, high


def make_grid(
    images,
    nrow: int = 8,
    padding: int = 2,
    normalize: bool = False,
    value_range: tuple[float, float] | None = None,
    scale_each: bool = False,
    pad_value: float = 0.0,
    keep_grey: bool = False,
) -> np.ndarray:
    """Tile a batch of images into one picture, as torchvision's ``make_grid`` (channels last).

    Parameters
    ----------
    images : numpy.ndarray or list of numpy.ndarray
        A (B, H, W, C) batch, one (H, W, C) or (H, W) image, or a list of same-shaped
        (H, W, C) / (H, W) images. Any real dtype; the work is done on a float32 copy, so the
        input is never modified.
    nrow : int
        Images per row of the grid (columns, not rows), >= 1.
    padding : int
        Pixels of ``pad_value`` between and around the images, >= 0.
    normalize : bool
        Shift and scale to [0, 1]: clamp to [low, high], then ``(x - low) / max(high - low,
        1e-5)``. Without it no value is clamped.
    value_range : (float, float), optional
        The (low, high) used by ``normalize``; default the min and max of the finite values
        of the batch (or of each image with ``scale_each``). Ignored without ``normalize``.
    scale_each : bool
        With ``normalize`` and no ``value_range``, take the range of each image separately.
    pad_value : float
        Value of the padding and of empty cells; written after normalisation, never scaled.
    keep_grey : bool
        Keep one-channel images grey. By default (as torchvision) they become 3-channel.

    Returns
    -------
    numpy.ndarray
        float32 (H', W', C'). With one image, that image alone, unpadded. Otherwise
        H' = rows*(H + padding) + padding and W' = cols*(W + padding) + padding with
        cols = min(nrow, B) and rows = ceil(B / cols).

    Examples
    --------
    >>> make_grid(np.zeros((5, 10, 10, 3), np.float32)).shape
    (14, 62, 3)
    >>> make_grid(np.zeros((64, 28, 28, 1), np.float32)).shape
    (242, 242, 3)
    """
    if isinstance(nrow, bool) or not isinstance(nrow, (int, np.integer)) or nrow < 1:
        raise InvalidValue(f"nrow must be an integer >= 1, got {nrow!r}")
    if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
        raise InvalidValue(f"padding must be an integer >= 0, got {padding!r}")
    pad = float(pad_value)
    if not math.isfinite(pad):
        raise InvalidValue(f"pad_value must be a finite number, got {pad_value!r}")
    batch = _as_batch(images)

    if batch.shape[3] == 1 and not keep_grey:
        batch = np.ascontiguousarray(np.repeat(batch, 3, axis=3))

    if normalize:
        if value_range is not None:
            low, high = _check_value_range(value_range)
            _normalise_in_place(batch, low, high)
        elif scale_each:
            for image in batch:
                _normalise_in_place(image, *_finite_range(image))
        else:
            _normalise_in_place(batch, *_finite_range(batch))

    count, height, width, channels = batch.shape
    if count == 1:
        return batch[0]

    cols = min(int(nrow), count)
    rows = (count + cols - 1) // cols
    cell_h, cell_w = height + padding, width + padding
    grid = np.full(
        (rows * cell_h + padding, cols * cell_w + padding, channels), pad, dtype=np.float32
    )
    for k in range(count):
        top = (k // cols) * cell_h + padding
        left = (k % cols) * cell_w + padding
        grid[top : top + height, left : left + width] = batch[k]
    return grid


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png16_bytes(values: np.ndarray, level: int) -> bytes:
    """Encode uint16 (H, W, C) as a 16-bit PNG (Pillow cannot write 16-bit colour)."""
    height, width, channels = values.shape
    colour_type = {1: 0, 3: 2, 4: 6}[channels]
    rows = np.ascontiguousarray(values, dtype=">u2").reshape(height, -1).view(np.uint8)
    # "Up" filter on every row (byte minus the byte above, mod 256): cheap and vectorised,
    # and smooth pictures compress far better than unfiltered.
    filtered = np.diff(rows, axis=0, prepend=np.zeros((1, rows.shape[1]), np.uint8))
    scanlines = np.concatenate([np.full((height, 1), 2, np.uint8), filtered], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib.compress(scanlines.tobytes(), level)),
            _png_chunk(b"IEND", b""),
        ]
    )


def save_array_image(
    path: str | os.PathLike,
    img: np.ndarray,
    bit_depth: int = 8,
    compress_level: int | None = None,
    *,
    quality: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Quantise a float image and write it atomically; the format comes from the extension.

    Parameters
    ----------
    path : str or os.PathLike
        .png, .jpg/.jpeg, .tif/.tiff, .webp or .bmp. Parent folders are created.
    img : numpy.ndarray
        (H, W) or (H, W, C) with C = 1 (grey), 3 (RGB) or 4 (RGBA); values in [0, 1].
    bit_depth : {8, 16}
        8: ``trunc(clamp(v*255 + 0.5, 0, 255))`` in float32, NaN -> 0 (SPEC Part G step 5).
        16: the same with 65535; PNG (grey or colour) and TIFF (grey only).
    compress_level : int, optional
        PNG zlib level 0-9, default :data:`DEFAULT_PNG_COMPRESS_LEVEL`; ignored by others.
    quality : int, optional
        JPEG/WEBP quality 1-100, default :data:`DEFAULT_QUALITY`; ignored by others.
    overwrite : bool
        Replace an existing file; otherwise :class:`stv_cli.atomic.OutputExists`.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InvalidValue
        Unknown extension, bit depth, level or quality; 16 bits outside PNG/TIFF; RGBA as
        JPEG or BMP (they have no alpha: drop it first, or write PNG/TIFF/WEBP).
    """
    target = Path(path)
    fmt = _WRITE_FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise InvalidValue(
            f"output {str(target)!r} has extension {target.suffix!r}; "
            f"use one of {', '.join(sorted(_WRITE_FORMATS))}"
        )
    values = np.asarray(img)
    if values.ndim == 2:
        values = values[:, :, None]
    if values.ndim != 3 or values.shape[2] not in _PIL_MODES or 0 in values.shape:
        raise InvalidDimensions(
            f"img must be (H, W) or (H, W, C) with C in 1, 3, 4, got shape {values.shape}"
        )
    channels = values.shape[2]
    if bit_depth not in (8, 16):
        raise InvalidValue(f"bit_depth must be 8 or 16, got {bit_depth!r}")
    if bit_depth == 16 and not (fmt == "PNG" or (fmt == "TIFF" and channels == 1)):
        raise InvalidValue(
            f"bit_depth 16 is written as PNG (grey or colour) or TIFF (grey), not as {fmt} "
            f"with {channels} channel(s); use a .png output or bit_depth 8"
        )
    if channels == 4 and fmt in _NO_ALPHA:
        raise InvalidValue(
            f"{fmt} has no alpha channel but the image is RGBA; write .png, .tiff or .webp, "
            f"or drop the alpha (img[..., :3])"
        )
    level = DEFAULT_PNG_COMPRESS_LEVEL if compress_level is None else compress_level
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not 0 <= level <= 9:
        raise InvalidValue(f"compress_level must be an integer in 0..9, got {compress_level!r}")
    quality = DEFAULT_QUALITY if quality is None else quality
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)):
        raise InvalidValue(f"quality must be an integer in 1..100, got {quality!r}")
    if not 1 <= quality <= 100:
        raise InvalidValue(f"quality must be an integer in 1..100, got {quality!r}")

    if bit_depth == 16 and fmt == "PNG":
        data = _png16_bytes(to_uint16(values), int(level))
        with atomic_output(target, overwrite=overwrite) as tmp:
            tmp.write_bytes(data)
        return target
    if bit_depth == 16:
        picture = Image.fromarray(to_uint16(values[:, :, 0]))  # uint16 2-D: mode "I;16"
    else:
        quantised = to_uint8(values)
        picture = Image.fromarray(quantised[:, :, 0] if channels == 1 else quantised)
    options = {"PNG": {"compress_level": int(level)}, "JPEG": {"quality": int(quality)}}
    options["WEBP"] = options["JPEG"]
    with atomic_output(target, overwrite=overwrite) as tmp:
        picture.save(tmp, format=fmt, **options.get(fmt, {}))
    return target


def save_image(
    images,
    path: str | os.PathLike,
    bit_depth: int = 8,
    *,
    compress_level: int | None = None,
    quality: int | None = None,
    overwrite: bool = False,
    **grid_options,
) -> Path:
    """Write ``make_grid(images, **grid_options)`` as torchvision's ``save_image`` does.

    Parameters
    ----------
    images : numpy.ndarray or list of numpy.ndarray
        What :func:`make_grid` accepts.
    path : str or os.PathLike
        Output file; the format comes from the extension (see :func:`save_array_image`).
    bit_depth : {8, 16}
        8 bits quantise as ``trunc(clamp(v*255 + 0.5, 0, 255))`` (so 0.5 -> 128).
    compress_level, quality, overwrite
        As in :func:`save_array_image`.
    **grid_options
        nrow, padding, normalize, value_range, scale_each, pad_value, keep_grey.

    Returns
    -------
    pathlib.Path
        The path written (atomically).
    """
    grid = make_grid(images, **grid_options)
    return save_array_image(
        path,
        grid,
        bit_depth=bit_depth,
        compress_level=compress_level,
        quality=quality,
        overwrite=overwrite,
    )
