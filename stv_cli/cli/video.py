"""``stv video``: project every frame of clips through the streaming model (thin over video.py).

Registered on the main group by the CLI (``main.add_command(video)``). Imports only click and
cli_options at import time: PyAV, numba and the model load when the command runs.
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path

import click

from .checks import check_bit_depth, check_image_path, check_output_mode, check_unique_names
from .device import run_context
from .inputs import collect_inputs
from .options import (
    compose_options,
    device_option,
    dry_run_option,
    grid_options,
    input_list_options,
    output_mode_options,
    report_options,
    scheduler_option,
    threads_option,
)
from .param_types import POSITIVE
from .report import run_inputs
from .video_options import (
    clip_image_options,
    clip_output_options,
    encoding_options,
    stream_options,
    stream_projector_options,
)

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")
TEMPLATES = ("frames", "contact_sheet", "long_exposure", "telemetry")
# numba threads of ``stv video`` when --threads is not given (see ``video``)
VIDEO_NUMBA_THREADS = 1


@click.command()
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path), metavar="INPUT...")
@input_list_options
@scheduler_option()
@dry_run_option()
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Output directory (DIR/NAME.mp4 per clip), or a video file (one clip).",
)
@click.option(
    "--frames-in",
    is_flag=True,
    help="Each INPUT is a folder of frame images (natural order) instead of a clip file.",
)
@click.option(
    "--fps",
    type=POSITIVE,
    default=30.0,
    show_default=True,
    help="Frame rate of --frames-in folders.",
)
@stream_options
@stream_projector_options
@encoding_options
@clip_output_options
@clip_image_options
@grid_options
@output_mode_options
@compose_options(
    device_option(),
    threads_option(
        "1; decoding and encoding run on their own threads and use the other cores, "
        "more numba threads wait on them"
    ),
)
@report_options
@click.pass_context
def video(ctx: click.Context, inputs: tuple[Path, ...], output: Path, **options) -> None:
    """Project every frame of each clip INPUT and write a playable video of the projections.

    Per frame: the VideoPipeline turns the frame into telemetry (motion, chrono snapshot,
    atlas); the last --depth frames form a volume along Z (time); a VideoStreamProjector
    steps over it (calibrated by the chrono and atlas unless --no-calibrate, with
    --diffuse-*, --super-resolution and --temporal-alpha smoothing); its projection is the
    output frame. Decoding, compute and encoding run on three threads; memory does not grow
    with the clip.

    INPUT: MP4, MOV, MKV, WEBM, AVI, animated GIF (anything FFmpeg reads), or with
    --frames-in a folder of images. Grey clips stay grey.

    \b
    Outputs, for a clip called NAME (file stem or folder name):
      -o DIR                  DIR/NAME.mp4 (H.264, yuv420p, the clip's frame rate;
                              odd sizes padded to even, with a note)
      -o FILE.mp4             FILE.mp4 (one clip)
      --frames DIR            DIR/000000.png, ...
      --contact-sheet FILE    a grid of every k-th projected frame
      --long-exposure FILE    the clip fused into one image
      --telemetry FILE.csv    one row per frame (or FILE.json)
    In these paths {name} stands for NAME; with several clips they must contain it.

    A clip that cannot be read, is truncated or empty, changes frame size, or has an unknown
    codec fails with a message naming the frame reached; its partial outputs are removed and
    the other clips go on (exit 1 at the end).

    \b
    Example:
      stv video clip.mp4 -o out/ --depth 4 --scene-cut 0.2 \\
          --contact-sheet 'out/{name}_sheet.png' --telemetry 'out/{name}.csv'
    """
    inputs = tuple(collect_inputs(inputs, options))
    to_directory = _check_options(inputs, output, options)
    settings = _settings(options, output, to_directory)
    if options.get("dry_run"):
        from ..video.clip import plan_clip
        from .report import dry_run

        dry_run(ctx, inputs, functools.partial(plan_clip, settings=settings))
        return
    # one numba thread unless asked: the decoder and encoder threads need the other cores,
    # and idle numba workers spin-wait on them between kernels (measured: ~30% slower)
    context = run_context(options, threads=VIDEO_NUMBA_THREADS)
    load_kernels(settings.stream)
    spec = options.get("scheduler")
    if spec is None:
        process = functools.partial(_run_one, settings=settings, context=context, options=options)
        run_inputs(ctx, "video", inputs, process, options)
        return
    _run_on_cluster(ctx, spec, inputs, settings, context, options)


def _run_on_cluster(ctx, spec: str, inputs, settings, context, options: dict) -> None:
    """``--scheduler``: each clip a task on a Dask cluster (see stv_cli.executors.dask)."""
    import time
    from dataclasses import replace

    from ..errors import StvError
    from ..executors.dask import DaskExecutor

    try:
        executor = DaskExecutor(spec)
    except StvError as error:
        raise click.BadParameter(str(error), param_hint="'--scheduler'") from None
    with executor:
        output = replace(settings.output, batch_started=time.time() - 0.1)
        remote = replace(context, progress=False)
        process = functools.partial(
            _run_one, settings=replace(settings, output=output), context=remote, options=options
        )
        run_inputs(ctx, "video", inputs, process, options, executor=executor)


def load_kernels(stream) -> None:
    """numba's one-off first call, before the clips' clocks start (see video.streaming)."""
    from ..errors import StvError
    from ..video.streaming import load_kernels as load

    with contextlib.suppress(StvError):  # a model that cannot run fails on each clip, named
        load(stream)


def _check_options(inputs: tuple[Path, ...], output: Path, options: dict) -> bool:
    """The usage checks of ``stv video`` (exit 2); returns whether ``-o`` is a directory."""
    from ..pipeline.outputs import input_name

    check_output_mode(options["overwrite"], options["skip_existing"])
    to_directory = _resolve_video_output(output, len(inputs))
    _check_templates(options, len(inputs))
    bit_depth = int(options["bit_depth"])
    check_bit_depth(bit_depth, (options["image_format"] or "png").lower())
    for kind in ("contact_sheet", "long_exposure"):
        if options[kind]:
            check_image_path(options[kind], "--" + kind.replace("_", "-"), bit_depth)
    check_unique_names(list(inputs), [input_name(p) for p in inputs])
    return to_directory


def _resolve_video_output(out: Path, count: int) -> bool:
    """Whether ``-o`` is a directory; a file must be a video file and there must be one clip."""
    text = str(out)
    if out.is_dir() or text.endswith(("/", "\\")) or out.suffix == "":
        return True
    if count > 1:
        raise click.BadParameter(
            f"with {count} clips -o must be a directory, got the file name {text!r}",
            param_hint="'-o' / '--output'",
        )
    if out.suffix.lower() not in VIDEO_SUFFIXES:
        raise click.BadParameter(
            f"cannot write a video with extension {out.suffix!r}; use one of "
            f"{', '.join(VIDEO_SUFFIXES)} (or give a directory)",
            param_hint="'-o' / '--output'",
        )
    return False


def _check_templates(options: dict, count: int) -> None:
    if count < 2:
        return
    for kind in TEMPLATES:
        value = options[kind]
        if value and "{name}" not in value:
            flag = "--" + kind.replace("_", "-")
            raise click.BadParameter(
                f"with {count} clips the path must contain {{name}} (the clip's name), "
                f"got {value!r}",
                param_hint=f"'{flag}'",
            )


def _settings(options: dict, output: Path, to_directory: bool):
    from ..pipeline.settings import ProjectionSettings
    from ..video.settings import StreamSettings, VideoOutputSettings, VideoSettings
    from .settings import grid_settings

    projection = ProjectionSettings(
        window=options["window"].lower(),
        sigma=options["sigma"],
        focus=options["focus"],
        spread=options["spread"],
        energy_bias=options["energy_bias"],
        resonance="generate",
        hidden_dim=options["hidden_dim"],
    )
    stream = StreamSettings(
        depth=options["depth"],
        temporal_alpha=options["temporal_alpha"],
        calibrate=not options["no_calibrate"],
        diffuse_iterations=options["diffuse_iterations"],
        diffuse_rate=options["diffuse_rate"],
        super_resolution=options["super_resolution"],
        scene_cut=options["scene_cut"],
        motion_gain=options["motion_gain"],
        projection=projection,
    )
    out = VideoOutputSettings(
        out=output,
        to_directory=to_directory,
        codec=options["codec"],
        crf=options["crf"],
        preset=options["preset"],
        frames=options["frames"],
        contact_sheet=options["contact_sheet"],
        long_exposure=options["long_exposure"],
        telemetry=options["telemetry"],
        image_format=(options["image_format"] or "png").lower(),
        bit_depth=int(options["bit_depth"]),
        compress_level=options["compress_level"],
        every=options["every"],
        max_cells=options["max_cells"],
        exposure_alpha=options["exposure_alpha"],
        grid=grid_settings(options),
        overwrite=options["overwrite"],
        skip_existing=options["skip_existing"],
    )
    return VideoSettings(
        stream=stream, output=out, frames_in=options["frames_in"], fps=options["fps"]
    )


def _run_one(path: Path, settings, context, options: dict):
    """One clip with its own progress bar in frames; notes on stderr; returns the paths."""
    import sys

    from tqdm import tqdm

    from ..errors import StvError
    from ..pipeline.outputs import input_name
    from ..video.clip import run_clip

    bar = tqdm(
        desc=input_name(path),
        unit="frame",
        file=sys.stderr,
        disable=not context.progress,
        leave=False,
    )

    def progress(done: int, total: int | None) -> None:
        if bar.total is None and total:
            bar.total = total
        bar.update(done - bar.n)

    try:
        result = run_clip(path, settings, progress, context)
    except StvError as error:
        # the batch's message names the clip already: drop the library's own "PATH: " prefix
        text, prefix = str(error), f"{path}: "
        if text.startswith(prefix):
            raise type(error)(text[len(prefix) :]) from error
        raise
    finally:
        bar.close()
    if not options["quiet"]:
        for note in result.notes:
            click.echo(f"stv video: note: {note}", err=True)
    if options["verbose"]:
        click.echo(
            f"stv video: {path}: {result.frames} frames at {result.fps:g} fps in "
            f"{result.seconds:.2f} s ({result.frames / max(result.seconds, 1e-9):.1f} frames/s), "
            f"scene cuts at {result.resets or 'none'}",
            err=True,
        )
    return result.outputs
