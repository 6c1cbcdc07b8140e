"""What a volume on disk holds, from its headers alone (nothing decoded).

:func:`probe_volume` tells a folder of slice images, a multi-page TIFF and a ``.npy`` array
apart and returns a :class:`VolumeInfo`: the slice files in natural order, the shape
(D, H, W, C) and the size of the float32 array loading will make, so that
:mod:`stv_cli.io.images` can refuse a volume that is too large before decoding anything.
The reading rules (channels, modes, what is skipped) are those of :mod:`stv_cli.io.images`.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import InputError

__all__ = [
    "PrecisionWarning",
    "SkippedFileWarning",
    "VolumeInfo",
    "natural_sort_key",
    "probe_volume",
]

_TIFF_SUFFIXES = {".tif", ".tiff"}


class SkippedFileWarning(UserWarning):
    """A file in an image folder is not an image and was skipped."""


class PrecisionWarning(UserWarning):
    """An input holds more precision than is read (16-bit colour read at 8 bits)."""


@dataclass(frozen=True)
class VolumeInfo:
    """What a volume on disk holds, learnt from headers only (nothing decoded).

    ``bytes_float32`` is the size of the float32 (D, H, W, C) array that loading produces;
    ``skipped`` lists the non-image files of a folder.
    """

    path: Path
    kind: str  # "folder" | "tiff" | "npy"
    files: tuple[Path, ...]
    depth: int
    height: int
    width: int
    channels: int
    bytes_float32: int
    skipped: tuple[Path, ...] = ()

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.depth, self.height, self.width, self.channels)


# -- probing (headers only) -------------------------------------------------------------


def natural_sort_key(name: str) -> tuple:
    """Sort key that orders digit runs by value: ``z2.png`` < ``z10.png``."""
    parts = re.split(r"(\d+)", name)
    return tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts)), name


def _mode_channels(img: Image.Image) -> int | None:
    mode = img.mode
    if mode in ("1", "L", "I", "F") or mode.startswith("I;16"):
        return 1
    if mode in ("RGB", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"):
        return 3
    if mode in ("RGBA", "RGBa", "LA", "La", "PA"):
        return 4
    if mode == "P":
        return 4 if "transparency" in img.info else 3
    return None


def is_16bit_colour(img: Image.Image) -> bool:
    """Whether the file holds 16 bits per colour channel (Pillow opens it as 8-bit RGB(A))."""
    if img.mode not in ("RGB", "RGBA") or not img.tile:
        return False
    args = img.tile[0].args
    rawmode = args[0] if isinstance(args, tuple) else args
    return isinstance(rawmode, str) and ";16" in rawmode


def image_header(path: Path, img: Image.Image, where: str) -> tuple[int, int, int]:
    """(height, width, channels) of an open image; unsupported modes are an InputError."""
    channels = _mode_channels(img)
    if channels is None:
        raise InputError(f"{where} of {str(path)!r} has image mode {img.mode!r}, not supported")
    return img.height, img.width, channels


def warn_8_bits_read(path: Path, where: str) -> None:
    """Say that a 16-bit colour image is read at 8 bits per channel."""
    warnings.warn(
        f"{where} of {str(path)!r} is 16-bit colour; it is read at 8 bits per channel",
        PrecisionWarning,
        stacklevel=4,
    )


def open_image(path: Path) -> Image.Image:
    """Open an image file lazily (headers read); errors become :class:`InputError`."""
    try:
        return Image.open(path)
    except (UnidentifiedImageError, Image.DecompressionBombError) as err:
        raise InputError(f"cannot read {str(path)!r} as an image: {err}") from None
    except OSError as err:
        raise InputError(f"cannot read {str(path)!r}: {err}") from None


def _agree(shapes: list[tuple[int, int, int]], names: list[str], origin: Path) -> int:
    """Check every slice against the first (size and channels); return the volume's channels.

    Grey and RGB are compatible (grey is promoted to RGB); nothing else mixes.
    """
    first = shapes[0]
    for shape, name in zip(shapes, names, strict=True):
        mixable = {shape[2], first[2]} <= {1, 3}
        if shape[:2] != first[:2] or (shape[2] != first[2] and not mixable):
            raise InputError(
                f"slices of {str(origin)!r} differ: {names[0]!r} is {first[0]}x{first[1]}x"
                f"{first[2]} (HxWxC) but {name!r} is {shape[0]}x{shape[1]}x{shape[2]}; "
                f"all slices need the same size and channel count (grey and RGB may mix)"
            )
    return 3 if any(s[2] == 3 for s in shapes) else first[2]


def _probe_folder(folder: Path) -> VolumeInfo:
    entries = sorted(
        (p for p in folder.iterdir() if not p.name.startswith(".") and p.is_file()),
        key=lambda p: natural_sort_key(p.name),
    )
    files, skipped, shapes = [], [], []
    for path in entries:
        try:
            img = Image.open(path)
        except UnidentifiedImageError:
            skipped.append(path)
            continue
        except (OSError, Image.DecompressionBombError) as err:
            raise InputError(f"cannot read {str(path)!r}: {err}") from None
        with img:
            if getattr(img, "n_frames", 1) > 1:
                raise InputError(
                    f"{str(path)!r} has {img.n_frames} frames; the images of a folder must be "
                    f"single images (pass a multi-page TIFF on its own)"
                )
            shapes.append(image_header(path, img, "image"))
        files.append(path)
    if skipped:
        names = ", ".join(p.name for p in skipped[:5]) + (", ..." if len(skipped) > 5 else "")
        warnings.warn(
            f"skipped {len(skipped)} file(s) in {str(folder)!r} that are not images: {names}",
            SkippedFileWarning,
            stacklevel=3,
        )
    if not files:
        subfolders = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
        hint = (
            f"; its {len(subfolders)} sub-folder(s) are not read: give each stack as an input, "
            f"e.g. {str(folder / '*')}"
            if subfolders
            else ""
        )
        raise InputError(
            f"folder {str(folder)!r} holds no images ({len(skipped)} other file(s) skipped)" + hint
        )
    channels = _agree(shapes, [p.name for p in files], folder)
    height, width = shapes[0][:2]
    return _info(folder, "folder", files, len(files), height, width, channels, skipped)


def _probe_tiff(path: Path) -> VolumeInfo:
    shapes = []
    with open_image(path) as img:
        try:
            for page in range(getattr(img, "n_frames", 1)):
                img.seek(page)
                shapes.append(image_header(path, img, f"page {page}"))
                if is_16bit_colour(img) and img.n_frames > 1:  # pages: Pillow, 8 bits
                    warn_8_bits_read(path, f"page {page}")
        except (OSError, EOFError, ValueError) as err:  # a broken page chain
            raise InputError(f"cannot read page {len(shapes)} of {str(path)!r}: {err}") from None
    channels = _agree(shapes, [f"page {k}" for k in range(len(shapes))], path)
    return _info(path, "tiff", [path], len(shapes), *shapes[0][:2], channels, [])


def _probe_npy(path: Path) -> VolumeInfo:
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read {str(path)!r} as a .npy array: {err}") from None
    if dtype.hasobject:
        raise InputError(
            f"{str(path)!r} holds Python objects, which would need unpickling; "
            f"refused (only numeric arrays are read, allow_pickle=False)"
        )
    if dtype.kind not in "biuf":
        raise InputError(f"{str(path)!r} has dtype {dtype}; a volume must hold real numbers")
    if len(shape) == 3:
        shape = (*shape, 1)
    if len(shape) != 4 or not 1 <= shape[3] <= 4 or 0 in shape:
        raise InputError(
            f"{str(path)!r} has shape {shape}; a volume must be (D, H, W) or (D, H, W, C), "
            f"channels last with C in 1..4 and no zero size (np.moveaxis fixes channels-first)"
        )
    return _info(path, "npy", [path], *shape, [])


def _info(path, kind, files, depth, height, width, channels, skipped) -> VolumeInfo:
    size = 4 * depth * height * width * channels
    return VolumeInfo(
        Path(path), kind, tuple(files), depth, height, width, channels, size, tuple(skipped)
    )


def probe_volume(path: str | os.PathLike) -> VolumeInfo:
    """Describe a volume on disk from its headers, without decoding any pixels.

    Parameters
    ----------
    path : str or os.PathLike
        A folder of images, a (multi-page) ``.tif``/``.tiff`` file or a ``.npy`` file.

    Returns
    -------
    VolumeInfo
        Kind, slice files, shape (D, H, W, C) and float32 size. Non-image files of a folder
        are in ``skipped`` and reported with a :class:`SkippedFileWarning`.

    Raises
    ------
    InputError
        Missing path, unreadable or unsupported file, pickled or non-numeric ``.npy``, slices
        that differ in size or channels (naming the first that differs and both shapes), a
        folder without images.
    """
    target = Path(path)
    if target.is_dir():
        return _probe_folder(target)
    if not target.exists():
        raise InputError(f"input {str(target)!r} does not exist")
    suffix = target.suffix.lower()
    if suffix == ".npy":
        return _probe_npy(target)
    if suffix in _TIFF_SUFFIXES:
        return _probe_tiff(target)
    raise InputError(
        f"input {str(target)!r} is not a volume: use a folder of images, a multi-page TIFF "
        f"(.tif/.tiff) or a .npy array (D, H, W[, C])"
    )
