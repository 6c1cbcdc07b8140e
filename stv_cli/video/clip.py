"""The work behind ``stv video``, one clip at a time (no click in here).

Frames are decoded lazily on the reader's thread (:mod:`stv_cli.io.video_reader`), projected
by :class:`~stv_cli.video.streaming.StreamingProjection` (the per-frame model on its own:
frames in, projections out, no files) and handed to the :class:`~stv_cli.video.sinks.ClipSinks`,
whose video is encoded on the writer's thread; :func:`run_clip` joins them for one clip.

Memory does not grow with the clip: the reader and writer queues are bounded, the ring holds
``depth`` frames, the contact sheet keeps at most ``max_cells`` frames, the long exposure is
one running frame and the telemetry is streamed to its file row by row.

Output naming (``name`` is the clip's stem or the frames folder's name):

==============  ========================  ==============================================
output          ``-o DIR``                ``-o FILE.mp4`` (one clip)
==============  ========================  ==============================================
video           DIR/name.mp4 (.webm ...)  FILE.mp4
frames          ``--frames PATH``: a folder of 000000.png, 000001.png, ...
contact sheet   ``--contact-sheet PATH``  (an image file)
long exposure   ``--long-exposure PATH``  (an image file)
telemetry       ``--telemetry PATH``      (.csv or .json: one row per frame)
==============  ========================  ==============================================

In the ``--frames``, ``--contact-sheet``, ``--long-exposure`` and ``--telemetry`` paths,
``{name}`` stands for the clip's name (required when there are several clips).
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from ..context import RunContext, applied
from ..errors import InputError, StvError
from ..io.video_reader import frame_total, open_clip
from ..model.pixel_volume import PIXEL_DTYPES
from ..pipeline.outputs import claim_outputs
from .outputs import open_temporaries, plan_outputs
from .settings import ClipResult, Progress, VideoSettings
from .sinks import ClipSinks
from .streaming import StreamingProjection


def run_clip(
    path: str | Path,
    settings: VideoSettings,
    progress: Progress | None = None,
    context: RunContext | None = None,
) -> ClipResult:
    """Project every frame of the clip at ``path`` and write the outputs ``settings`` ask for.

    Parameters
    ----------
    path : str or Path
        A clip file, or a folder of frames when ``settings.frames_in``.
    settings : VideoSettings
    progress : callable, optional
        Called as ``progress(frames_done, total)`` after each frame (total may be None).
    context : RunContext, optional
        Backend, threads and memory limit put in force for the clip (None: the caller's).

    Returns
    -------
    ClipResult

    Raises
    ------
    InputError
        The clip is unreadable, truncated, empty, has an unknown codec or changes frame size
        (SPEC D9); the message names the clip and the frame reached. No partial output is
        left behind.
    stv_cli.executors.batch.SkipInput
        With ``skip_existing`` when every output exists.
    """
    with applied(context):
        return _run_clip(Path(path), settings, progress)


def _run_clip(path: Path, settings: VideoSettings, progress: Progress | None) -> ClipResult:
    start = time.perf_counter()
    paths = plan_outputs(path, settings.output)
    replace = claim_outputs(list(paths.values()), settings.output)
    try:
        reader = open_clip(
            path, frames_in=settings.frames_in, fps=settings.fps, queue_size=settings.queue_size
        )
    except InputError as exc:
        raise InputError(f"{exc} (failed at frame 0, before decoding)") from exc
    info = reader.info
    total = info.frame_count if settings.frames_in else frame_total(info)
    model = StreamingProjection(settings.stream, str(path))
    index = 0
    compute = [0.0, 0.0]  # the compute thread's push: wall and CPU seconds
    timing = bool(os.environ.get("STV_VIDEO_TIMING"))
    # a thread's CPU clock is a system call (~0.1 ms on some VMs): read it only when asked
    cpu_clock = time.thread_time if timing else float
    with ExitStack() as stack:
        stack.enter_context(reader)
        temp = open_temporaries(stack, paths, replace)
        sinks = ClipSinks(stack, temp, path, info, settings.output, total)
        reuse = not sinks.keeps_frames
        # only the video wants this frame: collapse straight to the encoder's 8-bit pixels
        quantise = not sinks.needs_floats and not model.refines
        projection = None
        try:
            for frame in reader:
                index = frame.index
                wall, cpu = time.perf_counter(), cpu_clock()
                if quantise and frame.pixels.dtype in PIXEL_DTYPES:
                    out = sinks.video.lend(frame.pixels.shape)  # back to it once encoded
                else:
                    out = projection if reuse else None  # one buffer, unless an output keeps it
                projection, result, reset = model.push(frame.pixels, frame.timestamp, out)
                compute[0] += time.perf_counter() - wall
                compute[1] += cpu_clock() - cpu
                sinks.add(index, projection, result, reset)
                if progress is not None:
                    progress(index + 1, total)
            notes = [f"{path}: {note}" for note in sinks.finish(model.resets)]
            if timing:
                _print_timing(path, time.perf_counter() - start, sinks, reader, compute)
        except InputError:
            raise
        except StvError as exc:
            raise InputError(f"{path}: failed at frame {index}: {exc}") from exc
    return ClipResult(
        outputs=list(paths.values()),
        frames=sinks.frames,
        fps=float(info.fps),
        resets=model.resets,
        notes=notes,
        seconds=time.perf_counter() - start,
    )


def _print_timing(path: Path, seconds: float, sinks, reader, compute: list[float]) -> None:
    """With ``STV_VIDEO_TIMING`` set: where each thread's time went, per frame (ms, stderr).

    A stage that is never blocked and always busy is the bottleneck; one mostly blocked is
    waiting on it. Process CPU above the threads' sum is FFmpeg's own worker threads.
    """
    frames = max(sinks.frames, 1)
    pump = reader._pump

    def ms(value: float) -> str:
        return f"{1000 * value / frames:.2f}"

    print(
        f"stv video timing: {path}: {frames} frames, {ms(seconds)} ms/frame wall, process "
        f"CPU {ms(time.process_time())} ms/frame since start; reader blocked on a full queue "
        f"{ms(pump.blocked if pump else 0.0)}; compute waits for frames "
        f"{ms(pump.starved if pump else 0.0)}, pushes {ms(compute[0])} (CPU {ms(compute[1])}), "
        f"waits on the writer {ms(sinks.video.blocked)}; writer busy {ms(sinks.video.busy)}",
        file=sys.stderr,
    )


def plan_clip(path: Path, settings: VideoSettings) -> dict:
    """What :func:`run_clip` would do with ``path`` (``--dry-run``), from the container's
    headers: its outputs, whether it would run, be skipped or refused, its ``shape`` (frames,
    height, width, channels; frames None where the header has no count), ``mode``
    (``stream``: frame by frame, flat memory) and the frame ring's bytes as its estimate."""
    from ..errors import StvError
    from ..io.video_reader import probe

    out = settings.output
    record = {"input": str(path), "outputs": [], "action": "run", "shape": None,
              "mode": "stream", "memory_estimate": None, "error": None}  # fmt: skip
    try:
        paths = plan_outputs(Path(path), out)
        record["outputs"] = [str(p) for p in paths.values()]
        existing = [p for p in paths.values() if p.exists()]
        if out.skip_existing and existing and len(existing) == len(paths):
            record["action"] = "skip"
        elif existing and not out.overwrite and not out.skip_existing:
            record["action"], record["error"] = "refuse", f"output {str(existing[0])!r} exists"
        info = probe(path)
        record["shape"] = [info.frame_count, info.height, info.width, info.channels]
        # the frame ring (doubled, as pixels) and the state of the pipeline (float32)
        ring = 2 * settings.stream.depth * info.height * info.width * info.channels
        record["memory_estimate"] = ring + 20 * info.height * info.width * info.channels
    except (StvError, OSError) as error:
        record["action"], record["error"] = "fail", str(error)
    return record
