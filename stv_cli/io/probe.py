"""What a volume on disk holds, from its headers alone (nothing decoded).

:func:`probe_volume` tells a folder of slice images, a multi-page TIFF and a ``.npy`` array
apart and returns a :class:`VolumeInfo`: the slice files in natural order, the shape
(D, H, W, C) and the size of the float32 array loading will make, so that
:mod:`stv_cli.io.images` can refuse a volume that is too large before decoding anything.
The reading rules (channels, modes, what is skipped) are those of :mod:`stv_cli.io.images`.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from stv_kernels.pixel_scale import PIXEL_DTYPES

from ..errors import InputError
from .axes import Selection
from .metadata import PhysicalSize
from .tiff import TiffPlan, probe_tiff
from .zarr_store import is_zarr, probe_zarr

__all__ = [
    "PrecisionWarning",
    "Selection",
    "SkippedFileWarning",
    "VolumeInfo",
    "natural_sort_key",
    "probe_volume",
]

_TIFF_SUFFIXES = {".tif", ".tiff"}


class SkippedFileWarning(UserWarning):
    """A file in an image folder is not an image and was skipped."""


class NotAnImage(InputError):
    """A file Pillow does not recognise as an image (a folder skips it, with a warning)."""


class PrecisionWarning(UserWarning):
    """An input holds more precision than is read (16-bit colour read at 8 bits)."""


@dataclass(frozen=True)
class VolumeInfo:
    """What a volume on disk holds, learnt from headers only (nothing decoded).

    ``bytes_float32`` is the size of the float32 (D, H, W, C) array that loading produces;
    ``skipped`` lists the non-image files of a folder.
    """

    path: Path
    kind: str  # "folder" | "tiff" | "npy" | "zarr"
    files: tuple[Path, ...]
    depth: int
    height: int
    width: int
    channels: int
    bytes_float32: int
    skipped: tuple[Path, ...] = ()
    #: the voxel size the file declares (TIFF/ImageJ/OME/OME-Zarr), or None
    physical: PhysicalSize | None = None
    #: what was read from the source: its axes (tifffile's letters), dtype, value scale
    source: str = ""
    #: how to read it: a TiffPlan or ZarrPlan (kind "tiff"/"zarr"); for a folder, one entry
    #: per file (a TiffPlan for TIFF slices, else the file's EXIF orientation as an int)
    reader: object = None
    #: raw bytes one decoding thread holds besides the volume (a page, a chunk row)
    scratch_bytes: int = 0
    #: bytes the reader holds whatever the threads (a memory-mapped file: its pages count as
    #: resident memory once read)
    mapped_bytes: int = 0
    #: "uint8" or "uint16" when every slice holds pixels of that type read as p / (2**bits - 1)
    #: (so a streamed run can collapse them raw, ``collapse_scaled``), else None
    pixel_dtype: str | None = None

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


#: EXIF orientations that swap height and width (5-8: transposed or turned by 90 degrees).
_TURNED = {5, 6, 7, 8}


def exif_orientation(img: Image.Image) -> int:
    """The EXIF orientation of an open image (1 = as stored, 2-8 = flipped/turned), read from
    its header; formats without EXIF give 1.

    JPEG carries EXIF in a header segment Pillow has read at open. Other formats (PNG's
    ``eXIf`` chunk, WebP's ``EXIF``) are read from what Pillow found before the pixels
    (``img.info["exif"]``): ``getexif()`` would decode a whole PNG to look after its pixels,
    which made probing a folder of large PNGs as slow as loading it.
    """
    try:
        if img.format in ("JPEG", "MPO"):
            exif = img.getexif()
        else:
            raw = img.info.get("exif")
            if not raw:
                return 1
            exif = Image.Exif()
            exif.load(raw)
        value = exif.get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block: the pixels are read as stored
        return 1
    return int(value) if value in range(1, 9) else 1


def open_image(path: Path) -> Image.Image:
    """Open an image file lazily (headers read); errors become :class:`InputError`.

    Pillow's decompression-bomb guard (a fixed count of 179 megapixels) is switched off: the
    memory guard, which runs on the header's size before anything is decoded, refuses an
    image whose float32 pixels exceed ``--memory-limit`` and says how to raise it, so a large
    but legitimate image (a 900-megapixel slide) is read when the limit allows it.
    """
    Image.MAX_IMAGE_PIXELS = None
    try:
        return Image.open(path)
    except UnidentifiedImageError as err:
        raise NotAnImage(f"cannot read {str(path)!r} as an image: {err}") from None
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


def _probe_folder(folder: Path, selection: Selection) -> VolumeInfo:
    entries = sorted(
        (p for p in folder.iterdir() if not p.name.startswith(".") and p.is_file()),
        key=lambda p: natural_sort_key(p.name),
    )
    files, skipped, shapes, readers, dtypes = [], [], [], [], set()
    plans: list[TiffPlan] = []
    for path in entries:
        try:
            shape, reader, dtype = probe_image(path, selection)
        except NotAnImage:
            skipped.append(path)
            continue
        shapes.append(shape)
        readers.append(reader)
        dtypes.add(dtype)
        if isinstance(reader, TiffPlan):
            plans.append(reader)
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
    physical = plans[0].physical if plans else None
    source = f"{len(files)} image files"
    if plans:
        source += f" ({plans[0].dtype} TIFF, values {plans[0].scale.describe()})"
    scratch = max((_page_bytes(p) for p in plans), default=4 * height * width * channels)
    info = _info(folder, "folder", files, len(files), height, width, channels, skipped)
    return replace(
        info,
        physical=physical,
        source=source,
        reader=tuple(readers),
        scratch_bytes=scratch,
        pixel_dtype=dtypes.pop() if len(dtypes) == 1 else None,
    )


def probe_image(path: Path, selection: Selection | None = None) -> tuple[tuple, object, object]:
    """One image file's ``((height, width, channels), reader, pixel_dtype)`` from its header:
    TIFF through tifffile (reader: its TiffPlan), anything else through Pillow (reader: its
    EXIF orientation, applied when it is read, so ``height`` and ``width`` are the upright
    ones). ``pixel_dtype`` is "uint8"/"uint16" when the file's values are pixels read as
    p / (2**bits - 1), else None.

    Raises
    ------
    NotAnImage
        Pillow does not recognise the file (a folder skips it).
    InputError
        An unreadable file, an unsupported mode, a file holding several images.
    """
    selection = selection or Selection()
    if path.suffix.lower() in _TIFF_SUFFIXES:
        plan = _probe_tiff_slice(path, selection)
        shape = (plan.plan.height, plan.plan.width, plan.plan.channels)
        return shape, plan, _plan_pixels(plan)
    with open_image(path) as img:
        if getattr(img, "n_frames", 1) > 1:
            raise InputError(
                f"{str(path)!r} has {img.n_frames} frames; the images of a folder must be "
                f"single images (pass a multi-page TIFF on its own)"
            )
        height, width, channels = image_header(path, img, "image")
        orientation = exif_orientation(img)
        if img.mode.startswith("I;16") or is_16bit_colour(img):
            pixel_dtype = "uint16"
        else:
            pixel_dtype = "uint8" if img.mode in _EIGHT_BIT_MODES else None
    if orientation in _TURNED:
        height, width = width, height
    return (height, width, channels), orientation, pixel_dtype


#: Pillow modes whose pixels are read as 8-bit values / 255.
_EIGHT_BIT_MODES = {"L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr"}


def _plan_pixels(plan: TiffPlan) -> str | None:
    """The pixel type of a TIFF plan whose values are exact pixels, else None."""
    if plan.scale.exact_pixels and plan.dtype in PIXEL_DTYPES:
        return str(plan.dtype)
    return None


def _probe_tiff_slice(path: Path, selection: Selection) -> TiffPlan:
    """A TIFF in a folder of slices: one image (one page, or one page per channel)."""
    plan = probe_tiff(
        path, Selection(channels=selection.channels, value_range=selection.value_range)
    )
    if plan.plan.depth != 1:
        raise InputError(
            f"{str(path)!r} holds {plan.plan.depth} images (axes {plan.plan.axes}); the images "
            f"of a folder must be single images (pass a multi-page TIFF on its own)"
        )
    return plan


def _page_bytes(plan: TiffPlan) -> int:
    """What a decoding thread holds besides the volume: one decoded page, and a copy of it
    where gathering its channels needs one (the float64 scaling works in 8 MiB blocks)."""
    axes = dict(zip(plan.plan.axes, plan.plan.shape, strict=True))
    values = math.prod(axes.get(a, 1) for a in plan.page_axes)
    return 2 * values * plan.dtype.itemsize + (2**23 if not plan.scale.exact_pixels else 0)


def _probe_tiff(path: Path, selection: Selection) -> VolumeInfo:
    plan = probe_tiff(path, selection)
    shape = plan.plan
    info = _info(path, "tiff", [path], shape.depth, shape.height, shape.width, shape.channels, [])
    source = (
        f"TIFF axes {shape.axes} {tuple(shape.shape)} {plan.dtype}, values {plan.scale.describe()}"
    )
    scratch = 0 if plan.mapped_bytes else _page_bytes(plan)
    return replace(
        info,
        physical=plan.physical,
        source=source,
        reader=plan,
        scratch_bytes=scratch,
        mapped_bytes=plan.mapped_bytes,
        pixel_dtype=_plan_pixels(plan),
    )


def _probe_zarr(path: Path, selection: Selection) -> VolumeInfo:
    plan = probe_zarr(path, selection)
    shape = plan.plan
    info = _info(path, "zarr", [path], shape.depth, shape.height, shape.width, shape.channels, [])
    source = (
        f"{plan.description}, axes {shape.axes} {tuple(shape.shape)} {plan.dtype}, values "
        f"{plan.scale.describe()}"
    )
    row = (
        plan.chunk_depth
        * shape.height
        * shape.width
        * max(1, math.prod(n for a, n in zip(shape.axes, shape.shape, strict=True) if a in "CS"))
    )
    return replace(
        info,
        physical=plan.physical,
        source=source,
        reader=plan,
        scratch_bytes=2 * row * plan.dtype.itemsize + (0 if plan.scale.exact_pixels else 2**23),
        pixel_dtype=_plan_pixels(plan),
    )


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
    info = _info(path, "npy", [path], *shape, [])
    # a .npy is memory-mapped and read slice by slice: its pages become resident
    pixel_dtype = str(dtype) if dtype in PIXEL_DTYPES and dtype.isnative else None
    return replace(info, mapped_bytes=int(np.prod(shape)) * dtype.itemsize, pixel_dtype=pixel_dtype)


def _info(path, kind, files, depth, height, width, channels, skipped) -> VolumeInfo:
    size = 4 * depth * height * width * channels
    return VolumeInfo(
        Path(path), kind, tuple(files), depth, height, width, channels, size, tuple(skipped)
    )


def probe_volume(path: str | os.PathLike, selection: Selection | None = None) -> VolumeInfo:
    """Describe a volume on disk from its headers, without decoding any pixels.

    Parameters
    ----------
    path : str or os.PathLike
        A folder of images, a TIFF (``.tif``/``.tiff``: single or multi-page, ImageJ, OME), a
        Zarr store or OME-Zarr image (a ``.zarr`` folder) or a ``.npy`` file.
    selection : Selection, optional
        The timepoint, channels, pyramid level and value range to read
        (:class:`stv_cli.io.axes.Selection`; ``--timepoint``, ``--channels``, ``--level``,
        ``--input-range``).

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
    selection = selection or Selection()
    if target.is_dir():
        if is_zarr(target):
            return _probe_zarr(target, selection)
        _refuse_selection(target, selection, "a folder of slices", allow=("channels", "range"))
        return _probe_folder(target, selection)
    if not target.exists():
        raise InputError(f"input {str(target)!r} does not exist")
    suffix = target.suffix.lower()
    if suffix == ".npy":
        _refuse_selection(target, selection, "a .npy array", allow=())
        return _probe_npy(target)
    if suffix in _TIFF_SUFFIXES:
        return _probe_tiff(target, selection)
    raise InputError(
        f"input {str(target)!r} is not a volume: use a folder of images, a TIFF stack "
        f"(.tif/.tiff), a Zarr or OME-Zarr store (.zarr) or a .npy array (D, H, W[, C])"
    )


def _refuse_selection(path: Path, selection: Selection, what: str, allow: tuple) -> None:
    """Options that choose along axes a source does not have are errors, not ignored."""
    given = {
        "timepoint": selection.timepoint is not None,
        "channels": selection.channels is not None,
        "level": selection.level != 0,
        "range": selection.value_range is not None,
    }
    names = {"timepoint": "--timepoint", "channels": "--channels", "level": "--level",
             "range": "--input-range"}  # fmt: skip
    refused = [names[k] for k, v in given.items() if v and k not in allow]
    if refused:
        raise InputError(
            f"{str(path)!r} is {what}, which has no axes to choose from: "
            f"{', '.join(refused)} applies to TIFF and Zarr stacks"
        )
