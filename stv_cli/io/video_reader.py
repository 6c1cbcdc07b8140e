"""Video in through PyAV, on its own thread, in memory that does not grow.

``VideoReader`` decodes a clip lazily on a background thread into a bounded queue, so the
caller's compute overlaps decoding and at most ``queue_size`` frames wait in memory.
``FolderReader`` does the same for a folder of images (a clip too). A frame's ``pixels`` are
what was decoded, uint8 or uint16 (H, W, C): RGB, or one channel when the clip's pixel
format is grey; its ``image`` is those as float32 in [0, 1] (``to_float``), made on first
use: ``stv video`` computes on the pixels and never makes it. The way out is
:mod:`stv_cli.io.video_writer`; the other outputs of ``stv video`` are :mod:`stv_cli.video.outputs`
and the synthetic test clip is :mod:`stv_cli.io.pattern_clip`.

PyAV is imported on first use: ``stv --help`` must not pay for it.
"""

from __future__ import annotations

import functools
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from stv_kernels.pixel_scale import pixel_values

from ..errors import InputError, InvalidValue

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
_END = object()


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a clip's first video stream.

    ``frame_count`` is the container's own count, or None when its header has none (MKV,
    WEBM); ``count_frames`` then counts packets.
    """

    path: Path
    width: int
    height: int
    channels: int
    fps: Fraction
    frame_count: int | None
    codec: str


@dataclass(frozen=True)
class Frame:
    """One decoded frame: 0-based index, timestamp (index / fps, in seconds), pixels.

    ``pixels`` is uint8 or uint16 (H, W, C) as decoded; ``image`` is float32 in [0, 1]
    (:func:`to_float` of the pixels), made once, on first use.
    """

    index: int
    timestamp: float
    pixels: np.ndarray

    @functools.cached_property
    def image(self) -> np.ndarray:
        """The float32 (H, W, C) image in [0, 1]."""
        return to_float(self.pixels)


def _av():
    import av  # deferred: PyAV takes ~0.1 s to import and the CLI help must stay instant

    return av


def _is_grey(pix_fmt: str | None) -> bool:
    return bool(pix_fmt) and pix_fmt.startswith(("gray", "ya", "y400"))


def _bits(stream) -> int:
    fmt = stream.codec_context.format
    if fmt is None:
        return 8
    return max((c.bits for c in fmt.components), default=8)


def _reason(exc: BaseException) -> str:
    """FFmpeg's reason without the file name it appends (the message names the clip)."""
    return getattr(exc, "strerror", None) or str(exc)


def _open(path: Path):
    """Open a clip and its first video stream, or raise InputError naming the clip."""
    av = _av()
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a clip (--frames-in reads folders of frames)")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        container = av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as a video ({_reason(exc)})") from exc
    if not container.streams.video:
        container.close()
        raise InputError(f"{path}: has no video stream (unreadable or truncated file?)")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        container.close()
        raise InputError(f"{path}: unknown codec: this FFmpeg has no decoder for its video stream")
    return container, stream


def _fps(stream) -> Fraction:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and rate > 0:
            return Fraction(rate).limit_denominator(1_000_000)
    return Fraction(30)


def probe(path: str | Path) -> VideoInfo:
    """Read a clip's header: size, channels, frame rate, frame count and codec.

    Raises
    ------
    InputError
        The file is missing, unreadable, has no video stream or an unknown codec.
    """
    path = Path(path)
    container, stream = _open(path)
    try:
        ctx = stream.codec_context
        return VideoInfo(
            path=path,
            width=int(ctx.width),
            height=int(ctx.height),
            channels=1 if _is_grey(ctx.pix_fmt) else 3,
            fps=_fps(stream),
            frame_count=int(stream.frames) if stream.frames else None,
            codec=ctx.name,
        )
    finally:
        container.close()


def count_frames(path: str | Path) -> int:
    """Count a clip's frames from its packets (demuxing only, no decoding)."""
    path = Path(path)
    container, stream = _open(path)
    try:
        return sum(1 for packet in container.demux(stream) if packet.size)
    except _av().FFmpegError as exc:
        raise InputError(f"{path}: cannot be demuxed ({_reason(exc)})") from exc
    finally:
        container.close()


def frame_total(info: VideoInfo) -> int:
    """The clip's frame count: the header's, else counted from packets."""
    return info.frame_count if info.frame_count else count_frames(info.path)


def channels_last(pixels: np.ndarray) -> np.ndarray:
    """(H, W) grey pixels gain a channel axis: (H, W, 1); (H, W, C) as they are."""
    return pixels[:, :, None] if pixels.ndim == 2 else pixels


def to_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 or uint16 pixels -> float32 in [0, 1], channels last ((H, W) gains C = 1)."""
    return channels_last(pixel_values(pixels))


class _Pump:
    """A producer thread filling a bounded queue; errors travel through the queue.

    ``blocked`` and ``starved`` count the seconds the producer waited on a full queue and the
    consumer on an empty one (``STV_VIDEO_TIMING`` prints them: who waits on whom).
    """

    def __init__(self, produce: Callable[[Callable[[Any], bool]], None], size: int, name: str):
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, size))
        self.blocked = self.starved = 0.0
        self._stop = threading.Event()
        self._produce = produce
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        start = time.perf_counter()
        try:
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False
        finally:
            self.blocked += time.perf_counter() - start

    def _run(self) -> None:
        try:
            self._produce(self._put)
            self._put(_END)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put(exc)

    def get(self):
        start = time.perf_counter()
        item = self._queue.get()
        self.starved += time.perf_counter() - start
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class _FrameSource:
    """Shared iteration protocol of the readers: a context manager yielding ``Frame``."""

    path: Path
    _pump: _Pump | None = None

    def __iter__(self) -> Iterator[Frame]:
        if self._pump is None:
            self._pump = _Pump(self._produce, self._queue_size, f"stv-read-{self.path.name}")
        while True:
            item = self._pump.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def _produce(self, put) -> None:
        raise NotImplementedError

    def close(self) -> None:
        if self._pump is not None:
            self._pump.close()
            self._pump = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class VideoReader(_FrameSource):
    """Decode a clip lazily on a background thread.

    Parameters
    ----------
    path : str or Path
        Any clip FFmpeg reads (MP4, MOV, MKV, WEBM, AVI, animated GIF, ...).
    queue_size : int
        Decoded frames that may wait for the consumer; bounds the reader's memory.

    Iterating yields ``Frame`` objects; a decoding error, a truncated file (fewer frames than
    the header declares) or a clip with no frames raises ``InputError`` naming the clip and the
    frame reached.
    """

    def __init__(self, path: str | Path, *, queue_size: int = 4) -> None:
        self.path = Path(path)
        self.info = probe(self.path)
        self._queue_size = queue_size

    def _produce(self, put) -> None:
        av = _av()
        container, stream = _open(self.path)
        stream.thread_type = "AUTO"
        wide = _bits(stream) > 8
        grey = self.info.channels == 1
        fmt = ("gray16le" if wide else "gray") if grey else ("rgb48le" if wide else "rgb24")
        # Timestamps are index / fps, as in the constant-rate output: containers without
        # presentation times (AVI with B-frames) label decoded frames out of order.
        index, rate = 0, float(self.info.fps)
        try:
            for frame in container.decode(stream):
                pixels = channels_last(frame.to_ndarray(format=fmt))
                if not put(Frame(index, index / rate, pixels)):
                    return
                index += 1
        except (av.FFmpegError, OSError) as exc:
            raise InputError(
                f"{self.path}: decoding failed at frame {index} ({_reason(exc)}); "
                "truncated or corrupt file?"
            ) from exc
        finally:
            container.close()
        declared = self.info.frame_count
        # An edit list may hide a frame or two of the declared count; more missing is damage.
        if declared and declared - index > max(2, declared // 100):
            raise InputError(
                f"{self.path}: ended at frame {index} but the container declares {declared} "
                "frames (truncated file?)"
            )
        if index == 0:
            raise InputError(f"{self.path}: has no frames (empty or truncated file)")


def list_frame_files(folder: str | Path) -> list[Path]:
    """The image files of a folder, in natural order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder of frames")
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    from .images import natural_sort_key

    return sorted(files, key=lambda p: natural_sort_key(p.name))


def read_pixels(path: Path) -> np.ndarray:
    """One image file -> uint8 or uint16 (H, W, C) pixels: grey stays grey, alpha is dropped."""
    from PIL import Image

    with Image.open(path) as img:
        if img.mode in ("I;16", "I;16B", "I;16L", "I"):
            pixels = np.asarray(img.convert("I")).astype(np.uint16)
        elif img.mode in ("L", "LA", "1"):
            pixels = np.asarray(img.convert("L"))
        else:
            pixels = np.asarray(img.convert("RGB"))
    return channels_last(pixels)


class FolderReader(_FrameSource):
    """A folder of images read as a clip (natural file order, frame rate given by the caller)."""

    def __init__(self, folder: str | Path, *, fps: float = 30.0, queue_size: int = 4) -> None:
        if not (np.isfinite(fps) and fps > 0):
            raise InvalidValue(f"fps must be a finite number > 0, got {fps}")
        self.path = Path(folder)
        self.files = list_frame_files(self.path)
        if not self.files:
            raise InputError(f"{self.path}: has no frames (no image files)")
        first = read_pixels(self.files[0])
        self.info = VideoInfo(
            path=self.path,
            width=first.shape[1],
            height=first.shape[0],
            channels=first.shape[2],
            fps=Fraction(fps).limit_denominator(1_000_000),
            frame_count=len(self.files),
            codec="images",
        )
        self._queue_size = queue_size

    def _produce(self, put) -> None:
        for index, file in enumerate(self.files):
            try:
                pixels = read_pixels(file)
            except OSError as exc:
                raise InputError(
                    f"{self.path}: cannot read frame {index} ({file.name}): {exc}"
                ) from exc
            if not put(Frame(index, index / float(self.info.fps), pixels)):
                return


def open_clip(path: str | Path, *, frames_in: bool = False, fps: float = 30.0, queue_size=4):
    """A reader for a clip file, or for a folder of frames when ``frames_in`` is set."""
    if frames_in:
        return FolderReader(path, fps=fps, queue_size=queue_size)
    return VideoReader(path, queue_size=queue_size)
