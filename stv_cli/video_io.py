"""Video in and out through PyAV, each on its own thread, in memory that does not grow.

``VideoReader`` decodes a clip lazily on a background thread into a bounded queue, so the
caller's compute overlaps decoding and at most ``queue_size`` frames wait in memory.
``FolderReader`` does the same for a folder of images (a clip too). ``VideoWriter`` encodes on a
background thread behind a bounded queue, so encoding (libx264 is the slowest stage of
``stv video``) overlaps the compute. Frames are float32 (H, W, C) in [0, 1]: RGB, or one
channel when the clip's pixel format is grey.

PyAV is imported on first use: ``stv --help`` must not pay for it.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import queue
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError, InvalidValue
from .grid import to_uint8  # SPEC Part G quantisation, shared with every image stv writes

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
# Codecs that take a constant-rate-factor option; others get a bit rate (see VideoWriter).
CRF_CODECS = ("libx264", "libx265", "libvpx-vp9", "libaom-av1", "libsvtav1")
# Codecs with x264-style speed presets.
PRESET_CODECS = ("libx264", "libx265")
# The container a codec's output goes in when the caller names no file extension.
CODEC_SUFFIX = {"libvpx": ".webm", "libvpx-vp9": ".webm", "libaom-av1": ".mkv"}
_END = object()
# The umask can only be read by setting it: read it once, at import, before any thread runs.
_UMASK = os.umask(0)
os.umask(_UMASK)


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
    """One decoded frame: 0-based index, timestamp (index / fps, in seconds), image."""

    index: int
    timestamp: float
    image: np.ndarray


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


def to_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 or uint16 pixels -> float32 in [0, 1], channels last ((H, W) gains C = 1)."""
    scale = np.float32(65535.0 if pixels.dtype == np.uint16 else 255.0)
    # one pass: the ufunc casts to float32 and divides, as astype(float32) / scale would
    image = np.divide(pixels, scale, dtype=np.float32)
    return image[:, :, None] if image.ndim == 2 else image


def pad_even(pixels: np.ndarray) -> np.ndarray:
    """Repeat the last row and/or column so that height and width are even (yuv420p)."""
    h, w = pixels.shape[:2]
    pad = ((0, h % 2), (0, w % 2)) + ((0, 0),) * (pixels.ndim - 2)
    return np.pad(pixels, pad, mode="edge") if (h % 2 or w % 2) else pixels


class _Pump:
    """A producer thread filling a bounded queue; errors travel through the queue."""

    def __init__(self, produce: Callable[[Callable[[Any], bool]], None], size: int, name: str):
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, size))
        self._stop = threading.Event()
        self._produce = produce
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            self._produce(self._put)
            self._put(_END)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put(exc)

    def get(self):
        return self._queue.get()

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
                image = to_float(frame.to_ndarray(format=fmt))
                if not put(Frame(index, index / rate, image)):
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
    from .image_io import natural_sort_key

    return sorted(files, key=lambda p: natural_sort_key(p.name))


def read_image(path: Path) -> np.ndarray:
    """One image file -> float32 (H, W, C) in [0, 1]: grey stays grey, alpha is dropped."""
    from PIL import Image

    with Image.open(path) as img:
        if img.mode in ("I;16", "I;16B", "I;16L", "I"):
            pixels = np.asarray(img.convert("I")).astype(np.uint16)
        elif img.mode in ("L", "LA", "1"):
            pixels = np.asarray(img.convert("L"))
        else:
            pixels = np.asarray(img.convert("RGB"))
    return to_float(pixels)


class FolderReader(_FrameSource):
    """A folder of images read as a clip (natural file order, frame rate given by the caller)."""

    def __init__(self, folder: str | Path, *, fps: float = 30.0, queue_size: int = 4) -> None:
        if not (np.isfinite(fps) and fps > 0):
            raise InvalidValue(f"fps must be a finite number > 0, got {fps}")
        self.path = Path(folder)
        self.files = list_frame_files(self.path)
        if not self.files:
            raise InputError(f"{self.path}: has no frames (no image files)")
        first = read_image(self.files[0])
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
                image = read_image(file)
            except OSError as exc:
                raise InputError(
                    f"{self.path}: cannot read frame {index} ({file.name}): {exc}"
                ) from exc
            if not put(Frame(index, index / float(self.info.fps), image)):
                return


def open_clip(path: str | Path, *, frames_in: bool = False, fps: float = 30.0, queue_size=4):
    """A reader for a clip file, or for a folder of frames when ``frames_in`` is set."""
    if frames_in:
        return FolderReader(path, fps=fps, queue_size=queue_size)
    return VideoReader(path, queue_size=queue_size)


def default_codec() -> str:
    """libx264 where PyAV has it, else mpeg4 (every FFmpeg build has that encoder)."""
    return "libx264" if has_encoder("libx264") else "mpeg4"


def check_encoder(codec: str) -> None:
    """Raise InvalidValue naming the codec when this PyAV build cannot encode with it."""
    if not has_encoder(codec):
        known = [c for c in ("libx264", "mpeg4", "libvpx-vp9", "libx265") if has_encoder(c)]
        raise InvalidValue(
            f"codec must be a video encoder this PyAV build has, got {codec!r}; "
            f"try one of {', '.join(known)}"
        )


def has_encoder(codec: str) -> bool:
    """Whether this PyAV build has a video encoder called ``codec``."""
    av = _av()
    try:
        return av.codec.Codec(codec, "w").type == "video"
    except (av.FFmpegError, ValueError):
        return False


class _Consumer:
    """A consumer thread behind a bounded queue; its error is re-raised on the caller's side.

    Subclasses implement ``_handle(item)`` and ``_finish(ok)`` (called once, on the thread).
    """

    def __init__(self, queue_size: int, name: str) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, queue_size))
        self._error: BaseException | None = None
        self._aborted = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _submit(self, item) -> None:
        self._raise_error()
        while True:
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                self._raise_error()

    def close(self) -> None:
        """Finish the queued work, then raise the first error the thread met."""
        if self._thread.is_alive():
            self._queue.put(_END)
            self._thread.join()
        self._raise_error()

    def abort(self) -> None:
        """Drop the queued work and stop, without raising (a no-op after ``close``)."""
        if not self._thread.is_alive():
            return
        self._aborted = True
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        self._queue.put(_END)
        self._thread.join()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *rest) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            while (item := self._queue.get()) is not _END:
                if not self._aborted:
                    self._handle(item)
            self._finish(not self._aborted)
        except BaseException as exc:  # re-raised on the caller's thread by _submit/close
            self._error = exc
            with contextlib.suppress(BaseException):
                self._finish(False)
            while self._queue.get() is not _END:  # keep draining: the caller must not block
                pass

    def _handle(self, item) -> None:
        raise NotImplementedError

    def _finish(self, ok: bool) -> None:
        """Called once on the thread at the end; ``ok`` is False after an error or abort."""


class VideoWriter(_Consumer):
    """Encode float32 frames to a video file on a background thread.

    Parameters
    ----------
    path : str or Path
        Output file. Its extension picks the container unless ``container_format`` is given.
    fps : Fraction or float
        Frame rate; frame k gets presentation time k / fps (constant rate).
    codec : str
        FFmpeg encoder name (default libx264); ``check_encoder`` names the ones available.
    crf : int
        Constant rate factor of the CRF codecs (lower = better, larger files); other codecs
        get a bit rate of about 0.3 bit per pixel.
    preset : str, optional
        Speed preset of libx264/libx265 (``veryfast`` ... ``veryslow``; default the encoder's,
        medium); ignored by other codecs.
    container_format : str, optional
        FFmpeg muxer name, e.g. ``mp4``.
    queue_size : int
        Frames that may wait for the encoder; bounds the writer's memory.

    ``write`` takes float32 (H, W, C) frames in [0, 1] of one size, C in {1, 3}. Odd heights
    or widths are padded to even by repeating the last row/column, since yuv420p needs even
    sizes (``padded`` says whether that happened). ``close`` flushes and raises any error the
    encoder met; ``abort`` drops everything.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        fps: Fraction | float,
        codec: str = "libx264",
        crf: int = 23,
        preset: str | None = None,
        container_format: str | None = None,
        queue_size: int = 8,
    ) -> None:
        self.path = Path(path)
        self.fps = Fraction(fps).limit_denominator(1_000_000)
        if self.fps <= 0:
            raise InvalidValue(f"fps must be > 0, got {fps}")
        check_encoder(codec)
        self.codec, self.crf, self.preset = codec, crf, preset
        self.container_format = container_format
        self.frames_written = 0
        self.size: tuple[int, int] | None = None  # (height, width) of the first frame
        self.padded = False
        self._container = None
        self._stream = None
        self._pts = 0
        super().__init__(queue_size, "stv-write")

    def write(self, image: np.ndarray) -> None:
        """Queue one frame (blocks while the queue is full); raises the encoder's error."""
        if image.ndim != 3 or image.shape[2] not in (1, 3):
            raise InvalidValue(f"frame must be (H, W, 1) or (H, W, 3), got {image.shape}")
        if self.size is None:
            self.size = image.shape[:2]
            self.padded = bool(self.size[0] % 2 or self.size[1] % 2)
        elif image.shape[:2] != self.size:
            raise InvalidValue(
                f"frame {self.frames_written} has size {image.shape[:2]}, the video {self.size}"
            )
        self._submit(image)
        self.frames_written += 1

    def _open(self, height: int, width: int) -> None:
        muxer = self.container_format or self.path.suffix.lower().lstrip(".")
        options = {"movflags": "+faststart"} if muxer in ("mp4", "mov", "m4v") else {}
        self._container = _av().open(
            str(self.path), mode="w", format=self.container_format, options=options
        )
        stream = self._container.add_stream(self.codec, rate=self.fps)
        stream.width, stream.height = width + width % 2, height + height % 2
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = 1 / self.fps
        if self.codec in CRF_CODECS:
            extra = {"b": "0"} if self.codec == "libvpx-vp9" else {}
            if self.preset and self.codec in PRESET_CODECS:
                extra["preset"] = self.preset
            stream.options = {"crf": str(self.crf), **extra}
        else:
            stream.bit_rate = int(stream.width * stream.height * float(self.fps) * 0.3)
        self._stream = stream

    def _handle(self, image: np.ndarray) -> None:
        av = _av()
        pixels = pad_even(to_uint8(image))
        if self._container is None:
            self._open(*image.shape[:2])
        if pixels.shape[2] == 1:
            frame = av.VideoFrame.from_ndarray(pixels[:, :, 0], format="gray")
        else:
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
        frame.pts, frame.time_base = self._pts, 1 / self.fps
        self._pts += 1
        self._container.mux(self._stream.encode(frame))

    def _finish(self, ok: bool) -> None:
        if self._container is None:
            return
        try:
            if ok:
                self._container.mux(self._stream.encode(None))
        finally:
            self._container.close()
            self._container = None


class ImageSink(_Consumer):
    """Write frame images ``folder/000000.png``, ... on a background thread (PNG is slow)."""

    def __init__(
        self,
        folder: str | Path,
        image_format: str = "png",
        bit_depth: int = 8,
        compress_level: int | None = None,
        queue_size: int = 8,
    ) -> None:
        self.folder = Path(folder)
        self.image_format = image_format
        self.bit_depth, self.compress_level = bit_depth, compress_level
        super().__init__(queue_size, "stv-frames")

    def submit(self, index: int, image: np.ndarray) -> None:
        """Queue frame ``index`` (the array must not change afterwards)."""
        self._submit((index, image))

    def _handle(self, item) -> None:
        from .image_io import save_array_image

        index, image = item
        save_array_image(
            self.folder / f"{index:06d}.{self.image_format}",
            image,
            bit_depth=self.bit_depth,
            compress_level=self.compress_level,
            overwrite=True,
        )


_FRAME_FILE = re.compile(r"^\d{6}\.[A-Za-z]+$")


@contextlib.contextmanager
def atomic_folder(target: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a hidden temporary folder beside ``target``; rename it onto ``target`` on success.

    An existing ``target`` is refused unless ``overwrite``, and even then only replaced when it
    holds nothing but frame files (``000123.png``...), so a mistyped path never costs a folder
    of someone's files. On any exception the temporary folder is removed.
    """
    from .atomic import OutputExists

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield temp
        if target.exists():
            if not overwrite:
                raise OutputExists(f"output {str(target)!r} exists; pass --overwrite to replace it")
            foreign = [p.name for p in target.iterdir() if not _FRAME_FILE.match(p.name)]
            if not target.is_dir() or foreign:
                raise OutputExists(
                    f"refusing to replace {str(target)!r}: it is not a folder of frame files "
                    f"(holds {foreign[:3]})"
                )
            shutil.rmtree(target)
        os.chmod(temp, 0o777 & ~_UMASK)  # mkdtemp makes it owner-only
        os.replace(temp, target)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


class RowWriter:
    """Stream rows (dicts with the same keys) to a .csv or .json file, one at a time.

    JSON is ``{**header, "frames": [row, ...], **footer}`` with NaN written as null; CSV is
    one line per row with a header line (NaN written as ``nan``).
    """

    def __init__(self, path: str | Path, kind: str, header: dict | None = None) -> None:
        if kind not in ("csv", "json"):
            raise InvalidValue(f"telemetry must be a .csv or .json file, got kind {kind!r}")
        self.kind, self.rows = kind, 0
        self._file = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._csv = None
        if kind == "json":
            text = json.dumps(_json_ready(header or {}), allow_nan=False)
            self._file.write(text[:-1] + (", " if header else "") + '"frames": [')

    def write(self, row: dict) -> None:
        """Append one row."""
        if self.kind == "csv":
            if self._csv is None:
                self._csv = csv.DictWriter(self._file, fieldnames=list(row), lineterminator="\n")
                self._csv.writeheader()
            self._csv.writerow(row)
        else:
            comma = ",\n  " if self.rows else "\n  "
            self._file.write(comma + json.dumps(_json_ready(row), allow_nan=False))
        self.rows += 1

    def abandon(self) -> None:
        """Close the file as it is (an error happened; the caller removes it)."""
        self._file.close()

    def close(self, footer: dict | None = None) -> None:
        """Finish the file (JSON: close the list and add ``footer``'s keys)."""
        if self.kind == "json":
            tail = json.dumps(_json_ready(footer or {}), allow_nan=False)[1:]
            self._file.write("\n]" + (", " + tail if footer else "}") + "\n")
        self._file.close()


def _json_ready(value):
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def pattern_frame(index: int, height: int, width: int, *, scene: int = 0) -> np.ndarray:
    """A moving test pattern (float32 (H, W, 3) in [0, 1]); ``scene`` changes its look.

    Diagonal stripes drifting one pixel per frame and a bright bar sweeping down; an odd
    ``scene`` mirrors the stripes and recolours them (a scene cut). Used by the tests, the
    benchmark and the README demo.
    """
    y = np.arange(height, dtype=np.float32)[:, None]
    x = np.arange(width, dtype=np.float32)[None, :]
    slope = np.float32(-0.1 if scene % 2 else 0.1)
    base = 0.5 + 0.5 * np.sin((x - index) * np.float32(0.2) + y * slope)
    bar = (np.abs(y - (index * 2) % height) < max(1, height // 12)).astype(np.float32)
    bar = np.broadcast_to(bar, base.shape)
    channels = [base, 0.6 * base + 0.4 * bar, bar]
    if scene % 2:
        channels = [0.3 * base + 0.7 * bar, base, 1.0 - base]
    rgb = np.stack(channels, axis=-1)
    return np.ascontiguousarray(np.clip(rgb, 0.0, 1.0), dtype=np.float32)


def write_pattern_clip(
    path: str | Path,
    *,
    frames: int,
    height: int,
    width: int,
    fps: float = 30.0,
    codec: str | None = None,
    scene_cut_at: int | None = None,
) -> Path:
    """Write ``frames`` frames of ``pattern_frame`` to a clip (synchronously, for fixtures).

    ``scene_cut_at`` switches to a different-looking scene from that frame on. Odd sizes are
    padded to even by the encoder's yuv420p rule; GIF files are written with Pillow.
    """
    path = Path(path)
    images = (
        pattern_frame(i, height, width, scene=int(scene_cut_at is not None and i >= scene_cut_at))
        for i in range(frames)
    )
    if path.suffix.lower() == ".gif":
        from PIL import Image

        pictures = [Image.fromarray(to_uint8(img)) for img in images]
        pictures[0].save(
            path, save_all=True, append_images=pictures[1:], duration=int(1000 / fps), loop=0
        )
        return path
    writer = VideoWriter(path, fps=fps, codec=codec or default_codec())
    try:
        for img in images:
            writer.write(img)
    except BaseException:
        writer.abort()
        raise
    writer.close()
    return path
