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
first slice that differs. 16-bit grey is read by Pillow, 16-bit *colour* files by FFmpeg
(PyAV), both exactly; Pillow alone would read colour at 8 bits, which is what happens to the
pages of a multi-page TIFF (with a :class:`PrecisionWarning`; a single-page TIFF is exact).
EXIF orientation is not applied.

Probing (headers only) lives in :mod:`stv_cli.io.probe` and writing in
:mod:`stv_cli.io.image_write` (``save_array_image``); both are re-exported here.
"""

from __future__ import annotations

import os
import queue
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

import numpy as np
from PIL import Image

from stv_kernels.pixel_scale import PIXEL_DTYPES, pixel_values

from ..errors import InputError, InvalidValue
from ..model.memory import format_bytes
from ..model.memory import memory_limit as model_memory_limit
from .image_write import DEFAULT_PNG_COMPRESS_LEVEL, save_array_image
from .probe import (
    PrecisionWarning,
    SkippedFileWarning,
    VolumeInfo,
    image_header,
    is_16bit_colour,
    natural_sort_key,
    open_image,
    probe_volume,
    warn_8_bits_read,
)

__all__ = [
    "DEFAULT_PNG_COMPRESS_LEVEL",
    "PrecisionWarning",
    "SkippedFileWarning",
    "VolumeInfo",
    "load_image",
    "load_same_size_images",
    "load_volume",
    "natural_sort_key",
    "probe_volume",
    "save_array_image",
]


# -- the memory guard ---------------------------------------------------------------------


def _check_memory(info: VolumeInfo, memory_limit: int | None) -> None:
    limit = model_memory_limit() if memory_limit is None else memory_limit
    if limit is None or info.bytes_float32 <= limit:
        return
    why = "the default limit" if memory_limit is None else "memory_limit"
    d, h, w, c = info.shape
    raise InputError(
        f"volume {str(info.path)!r} needs {format_bytes(info.bytes_float32)} as float32 "
        f"({d} x {h} x {w} x {c}), more than the limit of {format_bytes(limit)} ({why}); "
        f"use fewer or smaller slices, or raise the memory limit"
    )


# -- loading ----------------------------------------------------------------------------


def _scale_into(values: np.ndarray, out: np.ndarray) -> None:
    """Write ``values`` (H, W[, C]) into the float32 slice ``out`` (H, W, C), scaled by dtype.

    A grey slice broadcasts over all channels of ``out`` (grey promoted to RGB).
    """
    if values.ndim == 2:
        values = values[:, :, None]
    if values.dtype in PIXEL_DTYPES:
        pixel_values(values, out=out)
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


def _pixels_16bit_colour(path: Path, img: Image.Image) -> np.ndarray | None:
    """A 16-bit colour image at full precision, decoded by FFmpeg (PyAV); None if it cannot.

    Pillow has no 16-bit colour mode and reads such files at 8 bits per channel.
    """
    try:
        import av
    except ImportError:  # pragma: no cover - PyAV is a dependency
        return None
    wide = "rgba64le" if img.mode == "RGBA" else "rgb48le"
    try:
        with av.open(str(path)) as container:
            values = next(container.decode(video=0)).to_ndarray(format=wide)
    except (av.error.FFmpegError, StopIteration, ValueError):
        return None
    return values if values.shape[:2] == (img.height, img.width) else None


def _decode_file(path: Path, out: np.ndarray, tick: Callable[[int], object]) -> None:
    with open_image(path) as img:
        if (img.height, img.width) != out.shape[:2]:
            raise InputError(
                f"{str(path)!r} is {img.height}x{img.width}, the volume's slices are "
                f"{out.shape[0]}x{out.shape[1]} (did it change while loading?)"
            )
        if is_16bit_colour(img):
            values = _pixels_16bit_colour(path, img)
            if values is not None:
                _scale_into(values, out)
                tick(1)
                return
            warn_8_bits_read(path, "image")
        try:
            _scale_into(_pixels(img), out)
        except (OSError, ValueError) as err:
            raise InputError(f"cannot decode {str(path)!r}: {err}") from None
    tick(1)


def _decode_pages(path: Path, pages: range, out: np.ndarray, tick: Callable[[int], object]) -> None:
    with open_image(path) as img:
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
    out: np.ndarray | None = None,
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
        Largest float32 volume allowed, in bytes; default the model's limit in force
        (:func:`stv_cli.model.memory.memory_limit`, 80% of physical memory unless set).
    out : numpy.ndarray, optional
        A C-contiguous float32 array of the volume's shape to load into instead of a new one
        (a buffer reused across a batch, or page-locked memory to copy to a GPU from).

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
    if out is None:
        _check_memory(info, memory_limit)
        out = np.empty(info.shape, dtype=np.float32)
    elif (
        not isinstance(out, np.ndarray)
        or out.dtype != np.float32
        or out.shape != tuple(info.shape)
        or not out.flags.c_contiguous
    ):
        raise InvalidValue(
            f"out must be a C-contiguous float32 array of shape {tuple(info.shape)}, got "
            f"{getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}"
        )

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
    elif info.kind == "tiff" and info.depth == 1:  # read like a slice (16-bit colour exactly)
        _run_parallel([(_decode_file, (info.path, out[0]))], 1, progress)
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


def load_image(path: str | os.PathLike) -> np.ndarray:
    """One image file (its first frame) as float32 (H, W, C), by the rules of a slice.

    Raises
    ------
    InputError
        An unreadable file or an unsupported image mode.
    """
    return load_same_size_images([path])[0]


def load_same_size_images(paths: list[str | os.PathLike]) -> np.ndarray:
    """Image files of one size as one float32 (B, H, W, C) batch (the input of a grid).

    Values follow the rules of a slice (8-bit /255, 16-bit /65535). Grey beside RGB is
    repeated to RGB, as in a stack. Headers are checked before anything is decoded.

    Raises
    ------
    InputError
        An unreadable file; images that differ in size, or in channels other than grey
        beside RGB, naming the first file that differs, both shapes and the fix.
    """
    files = [Path(p) for p in paths]
    if not files:
        raise InputError("no image files given")
    shapes = []
    for path in files:
        with open_image(path) as img:
            shapes.append(image_header(path, img, "image"))
    first = shapes[0]
    for path, shape in zip(files, shapes, strict=True):
        if shape[:2] != first[:2]:
            raise InputError(
                f"{str(path)!r} is {shape[0]}x{shape[1]} but {str(files[0])!r} is "
                f"{first[0]}x{first[1]} (height x width); the images of a grid must all have "
                f"one size (as for torchvision's make_grid): resize or crop them first"
            )
        if shape[2] != first[2] and not {shape[2], first[2]} <= {1, 3}:
            raise InputError(
                f"{str(path)!r} has {shape[2]} channel(s) but {str(files[0])!r} has "
                f"{first[2]}; grey and RGB mix (grey is repeated), nothing else does: "
                f"convert them to one mode first"
            )
    channels = 3 if any(s[2] == 3 for s in shapes) else first[2]
    batch = np.empty((len(files), first[0], first[1], channels), dtype=np.float32)
    for path, out in zip(files, batch, strict=True):
        _decode_file(path, out, lambda n: None)
    return batch
