"""Encode float32 frames to a video file through PyAV, on a background thread.

``VideoWriter`` encodes behind a bounded queue, so encoding (libx264 is the slowest stage of
``stv video``) overlaps the compute and at most ``queue_size`` frames wait in memory.
``_Consumer`` is that thread-behind-a-queue, shared with the frame-image writer
(:class:`stv_cli.video.outputs.ImageSink`).

PyAV is imported on first use: ``stv --help`` must not pay for it.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import InvalidValue
from .video_reader import _av

# Codecs that take a constant-rate-factor option; others get a bit rate (see VideoWriter).
CRF_CODECS = ("libx264", "libx265", "libvpx-vp9", "libaom-av1", "libsvtav1")
# Codecs with x264-style speed presets.
PRESET_CODECS = ("libx264", "libx265")
# The container a codec's output goes in when the caller names no file extension.
CODEC_SUFFIX = {"libvpx": ".webm", "libvpx-vp9": ".webm", "libaom-av1": ".mkv"}
_END = object()


def pad_even(pixels: np.ndarray) -> np.ndarray:
    """Repeat the last row and/or column so that height and width are even (yuv420p)."""
    h, w = pixels.shape[:2]
    pad = ((0, h % 2), (0, w % 2)) + ((0, 0),) * (pixels.ndim - 2)
    return np.pad(pixels, pad, mode="edge") if (h % 2 or w % 2) else pixels


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
    ``busy`` counts the seconds spent in ``_handle`` and ``blocked`` those the caller waited on
    a full queue (``STV_VIDEO_TIMING`` prints them).
    """

    def __init__(self, queue_size: int, name: str) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, queue_size))
        self._error: BaseException | None = None
        self._aborted = False
        self.busy = self.blocked = 0.0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _submit(self, item) -> None:
        self._raise_error()
        start = time.perf_counter()
        while True:
            try:
                self._queue.put(item, timeout=0.1)
                self.blocked += time.perf_counter() - start
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
                    start = time.perf_counter()
                    self._handle(item)
                    self.busy += time.perf_counter() - start
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

    ``write`` takes float32 (H, W, C) frames in [0, 1] of one size, C in {1, 3}, or uint8
    pixels, encoded as they are. Floats are quantised as every image stv writes (SPEC Part G,
    one numba pass with the cpu backend) on the caller's thread, into 8-bit buffers the
    encoder hands back: the caller may reuse its float frame as soon as ``write`` returns, and
    the encoder's thread, which bounds the frame rate, only encodes. Odd heights
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
        self._spare: queue.SimpleQueue = queue.SimpleQueue()  # 8-bit buffers to reuse
        # the buffers lend() handed out and not yet written, by id (held, so ids stay unique)
        self._lent: dict[int, np.ndarray] = {}
        super().__init__(queue_size, "stv-write")

    def write(self, image: np.ndarray) -> None:
        """Queue one frame (blocks while the queue is full); raises the encoder's error."""
        if image.ndim != 3 or image.shape[2] not in (1, 3):
            raise InvalidValue(f"frame must be (H, W, 1) or (H, W, 3), got {image.shape}")
        if image.dtype != np.uint8 and image.dtype.kind != "f":
            raise InvalidValue(f"frame must be float in [0, 1] or uint8 pixels, got {image.dtype}")
        if self.size is None:
            self.size = image.shape[:2]
            self.padded = bool(self.size[0] % 2 or self.size[1] % 2)
        elif image.shape[:2] != self.size:
            raise InvalidValue(
                f"frame {self.frames_written} has size {image.shape[:2]}, the video {self.size}"
            )
        if image.dtype == np.uint8:
            lent = self._lent.pop(id(image), None) is image
            self._submit((image, lent))
        else:
            self._submit((self._quantise(image), True))
        self.frames_written += 1

    def lend(self, shape: tuple[int, int, int]) -> np.ndarray:
        """An 8-bit (H, W, C) buffer to make the next frame in; ``write`` it and it comes back.

        The encoder takes a written buffer back once it has copied it, so a caller making
        8-bit frames (``stv video`` quantises as it collapses) allocates none per frame. The
        buffer's content is undefined.
        """
        buffer = self._spare_buffer(shape)
        self._lent[id(buffer)] = buffer
        return buffer

    def _spare_buffer(self, shape: tuple[int, ...]) -> np.ndarray:
        try:
            buffer = self._spare.get_nowait()
        except queue.Empty:
            buffer = None
        if buffer is None or buffer.shape != tuple(shape):
            buffer = np.empty(shape, dtype=np.uint8)
        return buffer

    def _quantise(self, image: np.ndarray) -> np.ndarray:
        """8-bit pixels of a float frame, in a buffer the encoder gave back when it has one."""
        from ..backend import ops

        return ops().quantise(image, np.uint8, out=self._spare_buffer(image.shape))

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

    def _handle(self, item: tuple[np.ndarray, bool]) -> None:
        av = _av()
        image, recycle = item
        pixels = pad_even(image)
        if self._container is None:
            self._open(*image.shape[:2])
        if pixels.shape[2] == 1:
            frame = av.VideoFrame.from_ndarray(pixels[:, :, 0], format="gray")
        else:
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
        frame.pts, frame.time_base = self._pts, 1 / self.fps
        self._pts += 1
        if recycle:  # from_ndarray copied the pixels into the frame
            self._spare.put(image)
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
