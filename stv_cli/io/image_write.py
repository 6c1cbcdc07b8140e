"""Float images to files: SPEC Part G quantisation and an atomic writer for every format.

:func:`to_uint8` / :func:`to_uint16` quantise as torchvision's ``save_image`` does;
:func:`save_array_image` writes one (H, W[, C]) float image as PNG, JPEG, TIFF, WEBP or BMP
(by extension), at 8 or 16 bits, or as float32 TIFF (32: the values themselves), atomically.
16-bit PNG is encoded here because Pillow cannot write it; TIFF is written by tifffile,
compressed and with the pixel size (:mod:`stv_cli.io.tiff_write`); the other formats by
Pillow. :func:`stv_cli.io.grid.save_image` tiles a batch first, then calls this.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from ..backend import reference_ops
from ..errors import InvalidDimensions, InvalidValue
from .atomic import atomic_output
from .metadata import PhysicalSize
from .tiff_write import check_compression, write_tiff_image

__all__ = [
    "DEFAULT_PNG_COMPRESS_LEVEL",
    "DEFAULT_QUALITY",
    "BIT_DEPTHS",
    "save_array_image",
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
#: Bit depths written: 8 and 16 (quantised; 16 as PNG or TIFF), 32 (float32 TIFF, unquantised).
BIT_DEPTHS = (8, 16, 32)
_NO_ALPHA = {"JPEG", "BMP"}  # Pillow drops or refuses the alpha of these
_PIL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


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

    The arithmetic is the NumPy reference kernel's (``quantise``), so a picture saved here is
    the one the compiled quantiser of ``stv video`` makes, bit for bit.

    Examples
    --------
    >>> to_uint8(np.array([0.5, 1.0, -1.0, np.nan])).tolist()
    [128, 255, 0, 0]
    """
    return reference_ops().quantise(arr, np.uint8)


def to_uint16(arr: np.ndarray) -> np.ndarray:
    """Quantise floats in [0, 1] to uint16: ``trunc(clamp(v*65535 + 0.5, 0, 65535))``.

    The same rule as :func:`to_uint8` with 65535 in place of 255 (NaN becomes 0).
    """
    return reference_ops().quantise(arr, np.uint16)


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
    path,
    img: np.ndarray,
    bit_depth: int = 8,
    compress_level: int | None = None,
    *,
    quality: int | None = None,
    overwrite: bool = False,
    format: str | None = None,
    compression: str | None = None,
    physical: PhysicalSize | None = None,
):
    """Quantise a float image and write it: atomically to a path, or into a binary file object.

    Parameters
    ----------
    path : str, os.PathLike or binary file object
        A file name (.png, .jpg/.jpeg, .tif/.tiff, .webp or .bmp; parent folders are created;
        written atomically), or an object with ``write`` (``io.BytesIO``, an open file), as
        torchvision's ``save_image`` accepts: then ``format`` says the format.
    img : numpy.ndarray
        (H, W) or (H, W, C) with C = 1 (grey), 3 (RGB) or 4 (RGBA); values in [0, 1].
    bit_depth : {8, 16, 32}
        8: ``trunc(clamp(v*255 + 0.5, 0, 255))`` in float32, NaN -> 0 (SPEC Part G step 5).
        16: the same with 65535; PNG or TIFF (grey or colour).
        32: TIFF only; the float32 values as they are (not clamped, not quantised, NaN kept),
        for measurements.
    compress_level : int, optional
        PNG zlib level 0-9, default :data:`DEFAULT_PNG_COMPRESS_LEVEL`; ignored by others.
    quality : int, optional
        JPEG/WEBP quality 1-100, default :data:`DEFAULT_QUALITY`; ignored by others.
    overwrite : bool
        Replace an existing file; otherwise :class:`stv_cli.io.atomic.OutputExists`. Ignored
        for file objects.
    format : str, optional
        ``png``, ``jpeg``, ``tiff``, ``webp`` or ``bmp`` (any case, ``jpg``/``tif`` too).
        Needed for a file object without a ``name`` that has an extension; for a path it
        replaces what the extension says.
    compression : {None, 'none', 'zlib', 'zstd', 'lzw'}
        TIFF compression, default (None) ``zlib``, with the horizontal predictor for integers
        and the floating-point one for float32 colour (float32 grey, which ImageJ reads, has
        none: :mod:`stv_cli.io.tiff_write`); checked, but ignored, for the other formats
        (PNG keeps ``compress_level``).
    physical : PhysicalSize, optional
        The size of a pixel. TIFF carries it as resolution tags and, where ImageJ reads the
        layout, ImageJ's ``unit`` and ``spacing``; the other formats ignore it.

    Returns
    -------
    pathlib.Path or file object
        The path written, or the file object written into.

    Raises
    ------
    InvalidValue
        Unknown extension or format, bit depth, level, quality or compression; 16 bits
        outside PNG/TIFF, 32 bits outside TIFF; RGBA as JPEG or BMP (they have no alpha: drop
        it first, or write PNG/TIFF/WEBP); ``physical`` not a PhysicalSize.
    """
    fmt = image_format(path, format)
    values = _checked_image(img, fmt, bit_depth)
    level, quality = _checked_options(compress_level, quality)
    compression = check_compression(compression)
    if physical is not None and not isinstance(physical, PhysicalSize):
        raise InvalidValue(
            f"physical must be a PhysicalSize or None, got {type(physical).__name__}"
        )
    tiff = {"compression": compression, "physical": physical}
    if hasattr(path, "write"):
        write_image(path, values, fmt, bit_depth, level, quality, **tiff)
        return path
    target = Path(path)
    with atomic_output(target, overwrite=overwrite) as tmp:
        if fmt == "TIFF":  # tifffile opens the file itself
            write_image(tmp, values, fmt, bit_depth, level, quality, **tiff)
        else:
            with open(tmp, "wb") as file:
                write_image(file, values, fmt, bit_depth, level, quality)
    return target


def image_format(path, format: str | None = None) -> str:
    """Pillow's name of the format to write (``PNG``, ``JPEG``, ...): ``format`` when given,
    else the extension of ``path`` (a file object's ``name``).

    Raises
    ------
    InvalidValue
        If neither names a format stv writes.
    """
    choices = ", ".join(sorted(_WRITE_FORMATS))
    if format is not None:
        fmt = _WRITE_FORMATS.get("." + str(format).lower().lstrip("."))
        if fmt is None:
            raise InvalidValue(f"format must be one of {choices} (without the dot), got {format!r}")
        return fmt
    name = getattr(path, "name", None) if hasattr(path, "write") else path
    if not isinstance(name, (str, os.PathLike)):
        raise InvalidValue(
            "writing into a file object needs format= (e.g. format='png'): it has no file name "
            "to take the format from"
        )
    suffix = Path(name).suffix
    fmt = _WRITE_FORMATS.get(suffix.lower())
    if fmt is None:
        raise InvalidValue(
            f"output {str(name)!r} has extension {suffix!r}; use one of {choices}, or pass format="
        )
    return fmt


def _checked_image(img, fmt: str, bit_depth: int) -> np.ndarray:
    """``img`` as (H, W, C); refused, naming the fix, where ``fmt`` or ``bit_depth`` can't."""
    values = np.asarray(img)
    if values.ndim == 2:
        values = values[:, :, None]
    if values.ndim != 3 or values.shape[2] not in _PIL_MODES or 0 in values.shape:
        raise InvalidDimensions(
            f"img must be (H, W) or (H, W, C) with C in 1, 3, 4, got shape {values.shape}"
        )
    if bit_depth not in BIT_DEPTHS:
        raise InvalidValue(f"bit_depth must be 8, 16 or 32, got {bit_depth!r}")
    if bit_depth == 32 and fmt != "TIFF":
        raise InvalidValue(
            f"bit_depth 32 (float32) is written as TIFF only, not as {fmt}; use a .tif or "
            f".tiff output, or bit_depth 8 or 16"
        )
    if bit_depth == 16 and fmt not in ("PNG", "TIFF"):
        raise InvalidValue(
            f"bit_depth 16 is written as PNG or TIFF, not as {fmt}; use a .png or .tif "
            f"output, or bit_depth 8"
        )
    if values.shape[2] == 4 and fmt in _NO_ALPHA:
        raise InvalidValue(
            f"{fmt} has no alpha channel but the image is RGBA; write .png, .tiff or .webp, "
            f"or drop the alpha (img[..., :3])"
        )
    return values


def _checked_options(compress_level: int | None, quality: int | None) -> tuple[int, int]:
    """The PNG level (default :data:`DEFAULT_PNG_COMPRESS_LEVEL`) and JPEG/WEBP quality."""
    level = DEFAULT_PNG_COMPRESS_LEVEL if compress_level is None else compress_level
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not 0 <= level <= 9:
        raise InvalidValue(f"compress_level must be an integer in 0..9, got {compress_level!r}")
    quality = DEFAULT_QUALITY if quality is None else quality
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)):
        raise InvalidValue(f"quality must be an integer in 1..100, got {quality!r}")
    if not 1 <= quality <= 100:
        raise InvalidValue(f"quality must be an integer in 1..100, got {quality!r}")
    return int(level), int(quality)


def write_image(
    file,
    values: np.ndarray,
    fmt: str,
    bit_depth: int,
    level: int,
    quality: int,
    compression: str | None = None,
    physical: PhysicalSize | None = None,
):
    """Quantise checked (H, W, C) ``values`` and encode them into ``file``: a binary file
    object, or for TIFF also a path (tifffile writes it)."""
    channels = values.shape[2]
    if fmt == "TIFF":
        if bit_depth == 32:
            pixels = np.asarray(values, dtype=np.float32)
        else:
            pixels = to_uint16(values) if bit_depth == 16 else to_uint8(values)
        write_tiff_image(file, pixels[:, :, 0] if channels == 1 else pixels, compression, physical)
        return
    if bit_depth == 16:  # PNG: Pillow writes no 16-bit colour, so every 16-bit PNG is ours
        file.write(_png16_bytes(to_uint16(values), level))
        return
    quantised = to_uint8(values)
    picture = Image.fromarray(quantised[:, :, 0] if channels == 1 else quantised)
    options = {"PNG": {"compress_level": level}, "JPEG": {"quality": quality}}
    options["WEBP"] = options["JPEG"]
    picture.save(file, format=fmt, **options.get(fmt, {}))
