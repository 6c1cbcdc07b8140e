"""The options of ``stv video`` that no other command has (the shared ones are in .options).

Imports only click and the shared options: PyAV, numba and the model load when the command
runs.
"""

from __future__ import annotations

from pathlib import Path

import click

from .model_options import diffusion_options, hidden_dim_option, projector_options
from .options import (
    bit_depth_option,
    compose_options,
    compress_level_option,
    image_format_option,
)
from .param_types import NON_NEGATIVE, UNIT, BoundedInt

# libx264's speed presets
X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
    "veryslow",
)  # fmt: skip


def _check_super_resolution(ctx, param, value):
    if value is None:
        return None
    from ..errors import InvalidValue
    from ..video.settings import parse_super_resolution

    try:
        return parse_super_resolution(value)
    except InvalidValue as error:
        raise click.BadParameter(str(error), ctx, param) from None


def _check_telemetry(ctx, param, value):
    if value is not None and Path(value).suffix.lower() not in (".csv", ".json"):
        raise click.BadParameter(
            f"{value!r} must end in .csv or .json (the format of the telemetry)", ctx, param
        )
    return value


def _check_codec(ctx, param, value):
    from ..io.video_writer import check_encoder

    try:
        check_encoder(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from None
    return value


def stream_options(func):
    """The per-frame model: ring depth, temporal smoothing, calibration, scene cuts, SR."""
    for decorator in reversed(
        [
            click.option(
                "--depth",
                type=BoundedInt(1, 256),
                default=4,
                show_default=True,
                help="Frames per volume: each output frame projects the last N frames "
                "(Z = time, oldest first; fewer at the start of the clip).",
            ),
            click.option(
                "--temporal-alpha",
                type=UNIT,
                default=0.35,
                show_default=True,
                help="Weight of the newest frame's depth weights in their running average, "
                "in [0, 1] (the reference's 'decay'); 1 = no smoothing.",
            ),
            click.option(
                "--no-calibrate",
                is_flag=True,
                help="Do not pass the pipeline's chrono summary and atlas to the projector.",
            ),
            click.option(
                "--scene-cut",
                type=NON_NEGATIVE,
                default=None,
                metavar="T",
                help="Reset the temporal state (frame ring, smoothing, previous resonance) "
                "when a frame's motion energy (mean |frame - previous|) exceeds T.",
            ),
            click.option(
                "--motion-gain",
                type=NON_NEGATIVE,
                default=1.0,
                show_default=True,
                help="Gain of the pipeline's motion embedding (scales the motion energy).",
            ),
            diffusion_options,
            click.option(
                "--super-resolution",
                default=None,
                metavar="METHOD:FACTOR",
                callback=_check_super_resolution,
                help="Interpolate along Z (nearest|linear|cubic: D -> 2D-1) and upscale XY by "
                "FACTOR, e.g. cubic:2. The output video is FACTOR times larger.",
            ),
        ]
    ):
        func = decorator(func)
    return func


def stream_projector_options(func):
    """The VisionProjector (the options ``project`` has, without --resonance and --views)
    and the hidden size of its resonance generator."""
    return compose_options(projector_options, hidden_dim_option())(func)


def encoding_options(func):
    """How the projected video is encoded: ``--codec``, ``--crf``, ``--preset``."""
    return compose_options(
        click.option(
            "--codec",
            default="libx264",
            show_default=True,
            callback=_check_codec,
            help="Video encoder (libx264 H.264; mpeg4, libvpx-vp9, ... where available).",
        ),
        click.option(
            "--crf",
            type=BoundedInt(0, 63),
            default=23,
            show_default=True,
            help="Constant rate factor of libx264/libx265/libvpx-vp9 (lower = better).",
        ),
        click.option(
            "--preset",
            type=click.Choice(X264_PRESETS),
            default="medium",
            show_default=True,
            help="libx264/libx265 speed preset: faster presets leave more CPU to the "
            "projection for slightly larger files.",
        ),
    )(func)


def clip_output_options(func):
    """The optional per-clip outputs: frames, contact sheet, long exposure, telemetry."""
    return compose_options(
        click.option(
            "--frames",
            metavar="DIR",
            default=None,
            help="Also write every projected frame as DIR/000000.png, ...",
        ),
        click.option(
            "--contact-sheet",
            metavar="FILE",
            default=None,
            help="Also write a grid of every k-th projected frame (grid options below).",
        ),
        click.option(
            "--every",
            type=BoundedInt(1),
            default=None,
            metavar="K",
            help="Contact sheet step (default: frame count / --max-cells, rounded up).",
        ),
        click.option(
            "--max-cells",
            type=BoundedInt(1, 4096),
            default=64,
            show_default=True,
            help="Most frames a contact sheet holds (K doubles when more would fit).",
        ),
        click.option(
            "--long-exposure",
            metavar="FILE",
            default=None,
            help="Also fuse the projected clip into one image (ZSpaceVolume.accumulate).",
        ),
        click.option(
            "--exposure-alpha",
            type=UNIT,
            default=None,
            help="Newest-frame weight of the long exposure's EMA (default: 1/(k+1), the "
            "mean of all frames).",
        ),
        click.option(
            "--telemetry",
            metavar="FILE.csv|FILE.json",
            default=None,
            callback=_check_telemetry,
            help="Also write one row per frame: index, timestamp, motion/resonance "
            "energy, weight entropy, z_signal, depth weights, scene-cut resets.",
        ),
    )(func)


def clip_image_options(func):
    """The images a clip writes besides its video: ``--format``, ``--bit-depth``,
    ``--compress-level``."""
    return compose_options(
        image_format_option("the --frames files"),
        bit_depth_option(" The video is always 8-bit yuv420p."),
        compress_level_option(),
    )(func)
