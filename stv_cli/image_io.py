"""Image stacks in, pictures out.

A volume on disk is one of three things (:func:`probe_volume` tells which):

* a folder of images, the slices in natural sort order (``z2.png`` before ``z10.png``):
  PNG, JPEG, TIFF, WEBP, BMP or anything else Pillow opens. Hidden files (``.name``, such as
  an unfinished atomic write) and sub-folders are ignored; other files that are not images
  are skipped with a :class:`SkippedFileWarning` and listed in ``VolumeInfo.skipped``;
* a multi-page TIFF, one page per slice;
* a ``.npy`` array (D, H, W) or (D, H, W, C), C in 1..4, read with ``allow_pickle=False``.

Values become float32: 8-bit by /255, 16-bit by /65535, float and 32-bit integer images as
stored, 1-bit as 0/1 (a ``.npy`` follows the same rule by dtype: uint8 /255, uint16 /65535,
other numbers as stored).
Grey is one channel, RGB three, RGBA four; palette images become RGB (RGBA with
transparency) and grey+alpha becomes RGBA. A stack mixing grey and RGB slices is promoted to
RGB (grey repeated); any other mix of channel counts, or of sizes, is an error naming the
first slice that differs. Pillow reads 16-bit *colour* files at 8 bits per channel, which
raises a :class:`PrecisionWarning` (16-bit grey is exact). EXIF orientation is not applied.

Writing lives in :mod:`stv_cli.grid` (``save_array_image``), re-exported here.
"""

from __future__ import annotations

import os
import queue
import re
import warnings
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import InputError, InvalidValue
from .grid import DEFAULT_PNG_COMPRESS_LEVEL, save_array_image

__all__ = [
    "DEFAULT_PNG_COMPRESS_LEVEL",
    "PrecisionWarning",
    "SkippedFileWarning",
    "VolumeInfo",
    "default_memory_limit",
    "format_bytes",
    "load_volume",
    "natural_sort_key",
    "parse_size",
    "probe_volume",
    "save_array_image",
]

_TIFF_SUFFIXES = {".tif", ".tiff"}
_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


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


# -- sizes and the memory guard ---------------------------------------------------------


def format_bytes(count: float) -> str:
    """Human units, powers of 1024: ``format_bytes(3 * 2**30) == '3.0 GiB'``."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def parse_size(text: str | int) -> int:
    """Parse ``"512M"``, ``"2GiB"``, ``"1.5 G"`` or a plain byte count (powers of 1024)."""
    if isinstance(text, int) and not isinstance(text, bool):
        number, unit = float(text), ""
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(?:I?B)?\s*", str(text), re.I)
        if match is None:
            raise InvalidValue(f"memory size must look like 512M, 2G or 2GiB, got {text!r}")
        number, unit = float(match.group(1)), match.group(2).upper()
    size = int(number * _UNITS[unit])
    if size <= 0:
        raise InvalidValue(f"memory size must be more than 0 bytes, got {text!r}")
    return size


def default_memory_limit() -> int | None:
    """The limit loading uses by default: the model's (:func:`stv_cli.volume.memory_limit`,
    80% of physical memory unless ``set_memory_limit`` changed it), so one policy holds."""
    from .volume import memory_limit

    return memory_limit()


def _check_memory(info: VolumeInfo, memory_limit: int | None) -> None:
    limit = default_memory_limit() if memory_limit is None else memory_limit
    if limit is None or info.bytes_float32 <= limit:
        return
    why = "the default limit" if memory_limit is None else "memory_limit"
    d, h, w, c = info.shape
    raise InputError(
        f"volume {str(info.path)!r} needs {format_bytes(info.bytes_float32)} as float32 "
        f"({d} x {h} x {w} x {c}), more than the limit of {format_bytes(limit)} ({why}); "
        f"use fewer or smaller slices, or raise the memory limit"
    )


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


def _is_16bit_colour(img: Image.Image) -> bool:
    if img.mode not in ("RGB", "RGBA") or not img.tile:
        return False
    args = img.tile[0].args
    rawmode = args[0] if isinstance(args, tuple) else args
    return isinstance(rawmode, str) and ";16" in rawmode


def _header(path: Path, img: Image.Image, where: str) -> tuple[int, int, int]:
    channels = _mode_channels(img)
    if channels is None:
        raise InputError(f"{where} of {str(path)!r} has image mode {img.mode!r}, not supported")
    if _is_16bit_colour(img):
        warnings.warn(
            f"{where} of {str(path)!r} is 16-bit colour; Pillow reads it at 8 bits per channel",
            PrecisionWarning,
            stacklevel=4,
        )
    return img.height, img.width, channels


def _open(path: Path) -> Image.Image:
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
            shapes.append(_header(path, img, "image"))
        files.append(path)
    if skipped:
        names = ", ".join(p.name for p in skipped[:5]) + (", ..." if len(skipped) > 5 else "")
        warnings.warn(
            f"skipped {len(skipped)} file(s) in {str(folder)!r} that are not images: {names}",
            SkippedFileWarning,
            stacklevel=3,
        )
    if not files:
        raise InputError(
            f"folder {str(folder)!r} holds no images ({len(skipped)} other file(s) skipped)"
        )
    channels = _agree(shapes, [p.name for p in files], folder)
    height, width = shapes[0][:2]
    return _info(folder, "folder", files, len(files), height, width, channels, skipped)


def _probe_tiff(path: Path) -> VolumeInfo:
    shapes = []
    with _open(path) as img:
        try:
            for page in range(getattr(img, "n_frames", 1)):
                img.seek(page)
                shapes.append(_header(path, img, f"page {page}"))
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


# -- loading ----------------------------------------------------------------------------


def _scale_into(values: np.ndarray, out: np.ndarray) -> None:
    """Write ``values`` (H, W[, C]) into the float32 slice ``out`` (H, W, C), scaled by dtype.

    A grey slice broadcasts over all channels of ``out`` (grey promoted to RGB).
    """
    if values.ndim == 2:
        values = values[:, :, None]
    if values.dtype == np.uint8:
        np.divide(values, np.float32(255), out=out)
    elif values.dtype == np.uint16:
        np.divide(values, np.float32(65535), out=out)
    else:
        np.copyto(out, values, casting="unsafe")


def _pixels(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode in ("LA", "La", "PA", "RGBa"):
        img = img.convert("RGBA")
    elif mode in ("RGBX", "CMYK", "YCbCr", "LAB", "HSV"):
        img = img.convert("RGB")
    values = np.asarray(img)
    if mode == "I" and img.format == "PNG":
        # Older Pillow versions open 16-bit grey PNG as 32-bit "I": keep the /65535 scale.
        values = values.astype(np.uint16)
    return values.astype(values.dtype.newbyteorder("="), copy=False)


def _decode_file(path: Path, out: np.ndarray, tick: Callable[[int], object]) -> None:
    with _open(path) as img:
        if (img.height, img.width) != out.shape[:2]:
            raise InputError(
                f"{str(path)!r} is {img.height}x{img.width}, the volume's slices are "
                f"{out.shape[0]}x{out.shape[1]} (did it change while loading?)"
            )
        try:
            _scale_into(_pixels(img), out)
        except (OSError, ValueError) as err:
            raise InputError(f"cannot decode {str(path)!r}: {err}") from None
    tick(1)


def _decode_pages(path: Path, pages: range, out: np.ndarray, tick: Callable[[int], object]) -> None:
    with _open(path) as img:
        for page in pages:
            img.seek(page)
            try:
                _scale_into(_pixels(img), out[page])
            except (OSError, ValueError) as err:
                raise InputError(f"cannot decode page {page} of {str(path)!r}: {err}") from None
            tick(1)


def _run_parallel(tasks: list, threads: int, progress: Callable[[int], object] | None) -> None:
    """Run ``(callable, args)`` tasks, each calling ``tick(n)`` after n slices.

    Workers only queue their ticks; ``progress`` is called here, in the calling thread, so a
    progress bar is never touched from two threads.
    """
    report = progress if progress is not None else (lambda n: None)
    if threads == 1 or len(tasks) == 1:
        for func, args in tasks:
            func(*args, report)
        return
    ticks: queue.SimpleQueue[int] = queue.SimpleQueue()

    def drain() -> None:
        count = 0
        while not ticks.empty():
            count += ticks.get_nowait()
        if count:
            report(count)

    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="stv-load")
    try:
        pending = {pool.submit(func, *args, ticks.put) for func, args in tasks}
        while pending:
            finished, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            for future in finished:
                future.result()  # re-raises a worker's error here
            drain()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def load_volume(
    path: str | os.PathLike | VolumeInfo,
    *,
    threads: int | None = None,
    progress: Callable[[int], object] | None = None,
    memory_limit: int | None = None,
) -> np.ndarray:
    """Load a volume as a C-contiguous float32 (D, H, W, C) array.

    Parameters
    ----------
    path : str, os.PathLike or VolumeInfo
        What :func:`probe_volume` accepts, or its result (to avoid probing twice).
    threads : int, optional
        Decoder threads (Pillow releases the GIL while decoding); default min(8, CPUs).
        Each slice is decoded straight into the preallocated output.
    progress : callable, optional
        Called as ``progress(n)`` in the calling thread after n more slices are loaded
        (``tqdm.update`` fits).
    memory_limit : int, optional
        Largest float32 volume allowed, in bytes; default :func:`default_memory_limit`.

    Raises
    ------
    InputError
        Anything :func:`probe_volume` raises; a volume larger than the limit (before any
        decoding, naming both sizes); a file that fails to decode.
    """
    info = path if isinstance(path, VolumeInfo) else probe_volume(path)
    if memory_limit is not None and (isinstance(memory_limit, bool) or memory_limit <= 0):
        raise InvalidValue(f"memory_limit must be a positive number of bytes, got {memory_limit}")
    if threads is None:
        threads = min(8, os.cpu_count() or 1)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InvalidValue(f"threads must be an integer >= 1, got {threads!r}")
    _check_memory(info, memory_limit)
    out = np.empty(info.shape, dtype=np.float32)

    if info.kind == "npy":
        try:
            source = np.load(info.path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as err:
            raise InputError(f"cannot read {str(info.path)!r}: {err}") from None
        if source.shape[:3] != info.shape[:3]:
            raise InputError(f"{str(info.path)!r} changed while loading")
        if source.ndim == 3:
            source = source[..., None]  # a view, also for Fortran-ordered files
        for z in range(info.depth):  # slice by slice: bounded temporaries, steady progress
            _scale_into(np.asarray(source[z]), out[z])
            if progress is not None:
                progress(1)
    elif info.kind == "tiff":
        # Each worker opens the file once and walks a contiguous run of pages.
        chunk = -(-info.depth // threads)
        runs = [range(s, min(s + chunk, info.depth)) for s in range(0, info.depth, chunk)]
        tasks = [(_decode_pages, (info.path, run, out)) for run in runs]
        _run_parallel(tasks, threads, progress)
    else:
        tasks = [(_decode_file, (file, out[z])) for z, file in enumerate(info.files)]
        _run_parallel(tasks, threads, progress)
    return out
