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
from .axes import Selection
from .image_write import DEFAULT_PNG_COMPRESS_LEVEL, save_array_image
from .probe import (
    PrecisionWarning,
    SkippedFileWarning,
    VolumeInfo,
    is_16bit_colour,
    natural_sort_key,
    open_image,
    probe_image,
    probe_volume,
    warn_8_bits_read,
)
from .tiff import TiffPlan, read_tiff
from .zarr_store import read_zarr

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


def _check_memory(info: VolumeInfo, memory_limit: int | None, threads: int = 1) -> None:
    """Refuse a volume whose float32 array and decoding buffers exceed the limit."""
    limit = model_memory_limit() if memory_limit is None else memory_limit
    needed = info.bytes_float32 + min(threads, info.depth) * info.scratch_bytes + info.mapped_bytes
    if limit is None or needed <= limit:
        return
    why = "the default limit" if memory_limit is None else "memory_limit"
    d, h, w, c = info.shape
    raise InputError(
        f"volume {str(info.path)!r} needs {format_bytes(needed)} to load as float32 "
        f"({d} x {h} x {w} x {c}, and the pages being decoded), more than the limit of "
        f"{format_bytes(limit)} ({why}); use fewer or smaller slices, or raise the memory limit"
    )


# -- loading ----------------------------------------------------------------------------


def _scale_into(values: np.ndarray, out: np.ndarray) -> None:
    """Write ``values`` (H, W[, C]) into the float32 slice ``out`` (H, W, C), scaled by dtype.

    A grey slice broadcasts over all channels of ``out`` (grey promoted to RGB).
    """
    if values.ndim == 2:
        values = values[:, :, None]
    if out.dtype != np.float32:  # a raw slab of pixels (a streamed run): copied as they are
        np.copyto(out, values, casting="unsafe")
    elif values.dtype in PIXEL_DTYPES:
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


def _orient(values: np.ndarray, orientation: int) -> np.ndarray:
    """Pixels stored with EXIF ``orientation`` turned upright, as
    ``PIL.ImageOps.exif_transpose`` turns them (a view: flips and rotations only)."""
    if orientation == 2:
        return values[:, ::-1]
    if orientation == 3:
        return values[::-1, ::-1]
    if orientation == 4:
        return values[::-1]
    if orientation == 5:
        return values.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(values, k=-1)
    if orientation == 7:
        return values[::-1, ::-1].swapaxes(0, 1)
    if orientation == 8:
        return np.rot90(values, k=1)
    return values


def _decode_file(
    path: Path, out: np.ndarray, orientation: int, tick: Callable[[int], object]
) -> None:
    with open_image(path) as img:
        turned = orientation in (5, 6, 7, 8)
        stored = (img.width, img.height) if turned else (img.height, img.width)
        if stored != out.shape[:2]:
            raise InputError(
                f"{str(path)!r} is {stored[0]}x{stored[1]}, the volume's slices are "
                f"{out.shape[0]}x{out.shape[1]} (did it change while loading?)"
            )
        values = None
        if is_16bit_colour(img):
            values = _pixels_16bit_colour(path, img)
            if values is None:
                warn_8_bits_read(path, "image")
        if values is None:
            try:
                values = _pixels(img)
            except (OSError, ValueError) as err:
                raise InputError(f"cannot decode {str(path)!r}: {err}") from None
        _scale_into(_orient(values, orientation), out)
    tick(1)


def _decode_tiff_slice(
    path: Path, plan: TiffPlan, out: np.ndarray, tick: Callable[[int], object]
) -> None:
    """One TIFF of a folder of slices, through tifffile, into the (H, W, C) ``out``."""
    read_tiff(path, plan, out[np.newaxis], 1, lambda n: None, _run_parallel)
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
    selection: Selection | None = None,
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
        (:func:`stv_cli.model.memory.memory_limit`: the smaller of 80% of physical memory and
        the cgroup limit, unless set).
    out : numpy.ndarray, optional
        A C-contiguous float32 array of the volume's shape to load into instead of a new one
        (a buffer reused across a batch, or page-locked memory to copy to a GPU from).
    selection : Selection, optional
        Timepoint, channels, pyramid level and value range of a TIFF or Zarr stack (see
        :func:`probe_volume`); ignored when ``path`` is already a VolumeInfo.

    Raises
    ------
    InputError
        Anything :func:`probe_volume` raises; a volume larger than the limit (before any
        decoding, naming both sizes); a file that fails to decode.
    """
    info = path if isinstance(path, VolumeInfo) else probe_volume(path, selection)
    if memory_limit is not None and (isinstance(memory_limit, bool) or memory_limit <= 0):
        raise InvalidValue(f"memory_limit must be a positive number of bytes, got {memory_limit}")
    if threads is None:
        threads = min(8, os.cpu_count() or 1)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InvalidValue(f"threads must be an integer >= 1, got {threads!r}")
    if out is None:
        _check_memory(info, memory_limit, threads)
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

    return load_slices(info, 0, out, threads, progress)


def load_slices(
    info: VolumeInfo,
    first: int,
    out: np.ndarray,
    threads: int = 1,
    progress: Callable[[int], object] | None = None,
) -> np.ndarray:
    """Decode slices ``first .. first + len(out) - 1`` of a probed volume into ``out`` (a
    C-contiguous float32 (n, H, W, C) array): what :func:`load_volume` does for all of them,
    and a run streaming a stack larger than memory does a few at a time. No memory check."""
    count = out.shape[0]
    if not 0 <= first <= first + count <= info.depth:
        raise InvalidValue(f"slices {first}..{first + count - 1} are not in 0..{info.depth - 1}")
    tick = progress or (lambda n: None)
    if info.kind == "tiff":
        read_tiff(info.path, info.reader, out, threads, tick, _run_parallel, first)
    elif info.kind == "zarr":
        read_zarr(info.path, info.reader, out, threads, tick, _run_parallel, first)
    elif info.kind == "npy":
        try:
            source = np.load(info.path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as err:
            raise InputError(f"cannot read {str(info.path)!r}: {err}") from None
        if source.shape[:3] != info.shape[:3]:
            raise InputError(f"{str(info.path)!r} changed while loading")
        if source.ndim == 3:
            source = source[..., None]  # a view, also for Fortran-ordered files
        for z in range(count):  # slice by slice: bounded temporaries, steady progress
            _scale_into(np.asarray(source[first + z]), out[z])
            if progress is not None:
                progress(1)
    else:
        files = info.files[first : first + count]
        readers = info.reader[first : first + count]
        tasks = [
            (_decode_tiff_slice, (file, reader, out[z]))
            if isinstance(reader, TiffPlan)
            else (_decode_file, (file, out[z], reader))
            for z, (file, reader) in enumerate(zip(files, readers, strict=True))
        ]
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
    shapes, readers = [], []
    for path in files:
        try:
            shape, reader, _ = probe_image(path)
        except InputError as err:
            raise InputError(str(err)) from None  # NotAnImage too: a grid input must be one
        shapes.append(shape)
        readers.append(reader)
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
    size = 4 * len(files) * first[0] * first[1] * channels
    limit = model_memory_limit()
    if limit is not None and size > limit:
        raise InputError(
            f"{len(files)} images of {first[0]}x{first[1]}x{channels} need {format_bytes(size)} "
            f"as float32, more than the memory limit of {format_bytes(limit)}; use fewer or "
            "smaller images, or raise --memory-limit"
        )
    batch = np.empty((len(files), first[0], first[1], channels), dtype=np.float32)
    for path, reader, out in zip(files, readers, batch, strict=True):
        if isinstance(reader, TiffPlan):
            _decode_tiff_slice(path, reader, out, lambda n: None)
        else:
            _decode_file(path, out, reader, lambda n: None)
    return batch


def iter_folder_slices(info: VolumeInfo, threads: int, dtype, progress=None):
    """The slices of a probed folder, in order, each as a (1, H, W, C) array of ``dtype``
    (float32 values, or the raw pixels for ``info.pixel_dtype``), decoded ``threads`` at a
    time ahead of the one handed out: a streamed run collapses slice z while the next ones
    decode, holding ``threads + 1`` slices. A slice handed out is valid until the next."""
    if info.kind != "folder":
        raise InvalidValue(f"{str(info.path)!r} is not a folder of slices")
    _, h, w, c = info.shape
    slots = [np.empty((1, h, w, c), dtype=dtype) for _ in range(threads + 1)]

    def decode(z: int, slot: np.ndarray) -> np.ndarray:
        reader = info.reader[z]
        if isinstance(reader, TiffPlan):
            _decode_tiff_slice(info.files[z], reader, slot[0], lambda n: None)
        else:
            _decode_file(info.files[z], slot[0], reader, lambda n: None)
        return slot

    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="stv-stream")
    try:
        pending = {}
        for z in range(min(threads, info.depth)):
            pending[z] = pool.submit(decode, z, slots[z % len(slots)])
        for z in range(info.depth):
            ahead = z + threads
            if ahead < info.depth:  # its slot was handed out threads + 1 slices ago: free
                pending[ahead] = pool.submit(decode, ahead, slots[ahead % len(slots)])
            block = pending.pop(z).result()
            if progress is not None:
                progress(1)
            yield z, block
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
