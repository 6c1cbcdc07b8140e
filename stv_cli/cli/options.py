"""The shared options of the ``stv`` commands about devices, outputs, reports and grids.

Each option is declared once: one function returning its click decorator (``bit_depth_option()``,
...), and each group of options one decorator (``grid_options``, ``batch_output_options``, ...;
the model's options are in :mod:`.model_options`), so every command that refines, projects or
writes images spells an option the same way, validates it the same way and documents it once;
where a command needs a word more in the help, the function takes a ``note``. Validation happens
while click parses, before any work: a bad value is a :class:`click.BadParameter` naming the
option and the allowed range (exit 2); the parameter types are in :mod:`.param_types`. This
module imports only click (the device choices come from the backend registry, which imports no
backend): ``stv --help`` must not import numba.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .param_types import ANY_FINITE, UNIT, BoundedInt, ByteSize

IMAGE_FORMATS = ("png", "tif", "tiff", "jpg", "jpeg", "bmp", "webp")
#: What --compression and --volume-format offer: the writers' TIFF_COMPRESSIONS and
#: VOLUME_FORMATS (stv_cli.io.tiff_write, .volume_write), spelled out because this module
#: imports only click; a test keeps them equal.
TIFF_COMPRESSIONS = ("none", "zlib", "zstd", "lzw")
VOLUME_FORMATS = ("npy", "zarr", "tif")

F = Callable[..., Any]


def compose_options(*decorators: F) -> Callable[[F], F]:
    """One decorator applying ``decorators`` as if stacked in this order (top first)."""

    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


# ------------------------------------------------------------------ device and reports


def device_option() -> F:
    """``--device``: auto or a backend of the registry (:func:`stv_cli.backend.choices`)."""
    from stv_kernels.registry import AUTO, BACKENDS

    described = ", ".join(f"{b.name} ({b.summary})" for b in BACKENDS)
    return click.option(
        "--device",
        type=click.Choice((AUTO, *(b.name for b in BACKENDS)), case_sensitive=False),
        default=AUTO,
        show_default=True,
        help=f"Where the compute runs: {AUTO} (the first of these that runs here), {described}.",
    )


def threads_option(default: str = "numba's, usually the number of cores") -> F:
    """``--threads``: the backend's thread pool and the image loaders."""
    return click.option(
        "--threads",
        type=BoundedInt(1),
        default=None,
        help=f"Number of compute threads (default: {default}).",
    )


def device_options(func: F) -> F:
    """``--device`` and ``--threads``."""
    return compose_options(device_option(), threads_option())(func)


def memory_option() -> F:
    """``--memory-limit``: the most memory a run's buffers may take (default: the smaller of
    80% of RAM and the cgroup limit)."""
    return click.option(
        "--memory-limit",
        type=ByteSize(),
        default=None,
        help="Refuse inputs whose loaded or refined volume would need more than SIZE "
        "(e.g. 4G; default the smaller of 80% of physical memory and the cgroup's memory.max).",
    )


def report_options(func: F) -> F:
    """``--json``, ``-q/--quiet`` and ``-v/--verbose``."""
    return compose_options(
        click.option(
            "--json",
            "json_report",
            is_flag=True,
            help="Print a machine-readable JSON report on stdout instead of the paths written.",
        ),
        click.option(
            "--report",
            "report_file",
            metavar="FILE",
            default=None,
            help="Write one JSON line per input to FILE ('-': stdout) as soon as it finishes: "
            "input, status, outputs, error, warnings, seconds, host, worker.",
        ),
        click.option(
            "-q", "--quiet", is_flag=True, help="No progress bars or notes on stderr (errors stay)."
        ),
        click.option(
            "-v", "--verbose", is_flag=True, help="Say more on stderr (timings, settings)."
        ),
    )(func)


# ------------------------------------------------------------------------ outputs


def _yield_to_command_line(other: str) -> Callable[[click.Context, click.Parameter, bool], bool]:
    """A flag set by the environment gives way to ``other`` given on the command line.

    ``STV_PROJECT_OVERWRITE=1`` with ``--skip-existing`` typed means skip: the command line
    wins over the environment. click processes the options typed first, so ``other`` is known.
    """

    def callback(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
        from click.core import ParameterSource

        if (
            value
            and ctx.get_parameter_source(param.name) is ParameterSource.ENVIRONMENT
            and ctx.params.get(other)
            and ctx.get_parameter_source(other) is ParameterSource.COMMANDLINE
        ):
            return False
        return value

    return callback


def overwrite_option() -> F:
    """``--overwrite``: replace outputs that exist (typed ``--skip-existing`` beats the env)."""
    return click.option(
        "--overwrite",
        is_flag=True,
        callback=_yield_to_command_line("skip_existing"),
        help="Replace outputs that already exist (refused without).",
    )


def output_mode_options(func: F) -> F:
    """``--overwrite`` and ``--skip-existing`` (mutually exclusive; typed beats environment)."""
    return compose_options(
        overwrite_option(),
        click.option(
            "--skip-existing",
            is_flag=True,
            callback=_yield_to_command_line("overwrite"),
            help="Skip an input whose outputs all exist already (resume an interrupted batch).",
        ),
    )(func)


def bit_depth_option(note: str = "") -> F:
    """``--bit-depth`` 8, 16 (png or tif) or 32 (float32 tif: the values, not quantised)."""
    return click.option(
        "--bit-depth",
        type=click.Choice(["8", "16", "32"]),
        default="8",
        show_default=True,
        help="Bits per channel of the images written: 8 or 16 (png or tif) quantise values "
        f"clamped to [0, 1]; 32 (tif only) writes the float32 values as computed.{note}",
    )


def compression_option() -> F:
    """``--compression`` of the TIFF files written (default zlib)."""
    return click.option(
        "--compression",
        type=click.Choice(TIFF_COMPRESSIONS, case_sensitive=False),
        default=None,
        help="Compression of the TIFF files written (TIFF only; default zlib, with a "
        "predictor). ImageJ's own TIFF reader does not read zstd; none writes plain "
        "baseline TIFF.",
    )


def volume_format_option() -> F:
    """``--volume-format`` of ``--save-volume``: npy, zarr or tif."""
    return click.option(
        "--volume-format",
        type=click.Choice(VOLUME_FORMATS, case_sensitive=False),
        default="npy",
        show_default=True,
        help="Format of --save-volume: npy (NumPy), zarr (a Zarr store, chunked per slice, "
        "zstd, with axes and voxel size) or tif (a float32 ImageJ hyperstack, compressed, "
        "with the voxel size).",
    )


def image_format_option(what: str) -> F:
    """``--format``: the image format of files whose name stv chooses (``what`` says which)."""
    return click.option(
        "--format",
        "image_format",
        type=click.Choice(IMAGE_FORMATS, case_sensitive=False),
        default=None,
        help=f"Image format of {what} (default png).",
    )


def compress_level_option() -> F:
    """``--compress-level`` 0-9 of the PNG files written."""
    return click.option(
        "--compress-level",
        type=BoundedInt(0, 9),
        default=None,
        help="PNG compression level 0-9 of the images written (default: a fast level).",
    )


def image_output_options(func: F) -> F:
    """``--bit-depth`` and ``--format`` of the pictures of a batch."""
    return compose_options(
        bit_depth_option(),
        image_format_option(
            "the pictures when -o is a directory; with -o FILE the file's extension decides"
        ),
    )(func)


def batch_output_options(func: F) -> F:
    """What every command writing images in batches shares, in this order: image output
    (``--bit-depth``, ``--format``), output mode, device, ``--memory-limit`` and reports."""
    return compose_options(
        image_output_options, output_mode_options, device_options, memory_option(), report_options
    )(func)


def extra_output_options(grid_help: str) -> Callable[[F], F]:
    """The optional outputs beside the picture: grid, weights, plot, telemetry, and the PNG
    level and TIFF compression of the pictures."""
    return compose_options(
        click.option("--grid", is_flag=True, help=grid_help),
        click.option("--weights", is_flag=True, help="Also write the depth weights (JSON)."),
        click.option(
            "--weights-plot", is_flag=True, help="Also draw the depth weights (bar chart PNG)."
        ),
        click.option("--telemetry", is_flag=True, help="Also write the volume's telemetry (JSON)."),
        compress_level_option(),
        compression_option(),
    )


# ------------------------------------------------------------------------------- grid


def grid_layout_options(func: F) -> F:
    """make_grid's layout options (SPEC Part G), without ``--value-range``."""
    return compose_options(
        click.option(
            "--nrow",
            type=BoundedInt(1),
            default=8,
            show_default=True,
            help="Images per grid row (columns), >= 1.",
        ),
        click.option(
            "--padding",
            type=BoundedInt(0, 1024),
            default=2,
            show_default=True,
            help="Pixels between and around the grid cells.",
        ),
        click.option(
            "--pad-value",
            type=UNIT,
            default=0.0,
            show_default=True,
            help="Value of the padding, in [0, 1] (written after normalisation).",
        ),
        click.option(
            "--normalize",
            is_flag=True,
            help="Stretch values to [0, 1] (over --value-range, or the min and max).",
        ),
        click.option(
            "--scale-each",
            is_flag=True,
            help="With --normalize and no --value-range: stretch each image on its own.",
        ),
        click.option(
            "--keep-grey",
            is_flag=True,
            help="Keep one-channel grids grey (default: repeated to RGB, as torchvision).",
        ),
    )(func)


def grid_options(func: F) -> F:
    """make_grid's options (SPEC Part G): the layout and ``--value-range``."""
    return compose_options(
        grid_layout_options,
        value_range_option(
            None, "Range mapped to [0, 1] with --normalize (values outside are clamped)."
        ),
    )(func)


def value_range_option(default: tuple[float, float] | None, help_text: str) -> F:
    """``--value-range LOW HIGH`` (``decode`` maps decoder output with it)."""
    return click.option(
        "--value-range",
        type=(ANY_FINITE, ANY_FINITE),
        default=default,
        show_default=default is not None,
        metavar="LOW HIGH",
        callback=_check_value_range,
        help=help_text,
    )


def _check_value_range(ctx: click.Context, param: click.Parameter, value):
    if value is None:
        return None
    low, high = value
    if not low < high:
        raise click.BadParameter(f"LOW must be smaller than HIGH, got {low:g} {high:g}", ctx, param)
    return (low, high)


def _channel_list(ctx: click.Context, param: click.Parameter, value):
    """``--channels 0,2,3``: up to 4 distinct indices >= 0."""
    if value is None:
        return None
    try:
        picked = tuple(int(part) for part in str(value).split(","))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a comma-separated list of channel indices, e.g. 0,2,3", ctx, param
        ) from None
    if not 1 <= len(picked) <= 4 or len(set(picked)) != len(picked) or min(picked) < 0:
        raise click.BadParameter(
            f"{value!r}: give 1 to 4 distinct channel indices >= 0, e.g. 0,2,3", ctx, param
        )
    return picked


def stack_selection_options(func: F) -> F:
    """What to read from TIFF and Zarr stacks whose axes hold more than one volume."""
    return compose_options(
        click.option(
            "--timepoint",
            type=BoundedInt(0),
            default=None,
            metavar="N",
            help="For a stack with a T axis (ImageJ TZYX, OME-TIFF, OME-Zarr): read timepoint "
            "N (from 0).",
        ),
        click.option(
            "--split-time",
            is_flag=True,
            help="For a stack with a T axis: each timepoint is its own input (outputs "
            "NAME_t000, NAME_t001, ...; reported as FILE#t=N).",
        ),
        click.option(
            "--channels",
            default=None,
            callback=_channel_list,
            metavar="I,J,..",
            help="Channels to keep from a stack's C axis (or S), up to 4, e.g. 0,2,3 "
            "(default: all, when there are at most 4).",
        ),
        click.option(
            "--level",
            type=BoundedInt(0),
            default=0,
            show_default=True,
            help="Resolution level of a pyramid (OME-Zarr multiscales, OME-TIFF "
            "sub-resolutions); 0 is full resolution.",
        ),
        click.option(
            "--input-range",
            type=(ANY_FINITE, ANY_FINITE),
            default=None,
            metavar="LOW HIGH",
            callback=_check_value_range,
            help="Raw values LOW..HIGH of a TIFF or Zarr stack become 0..1 (default: integers "
            "over their type's range, or the significant bits OME declares; floats as stored).",
        ),
    )(func)


def input_list_options(func: F) -> F:
    """``--files-from``, ``-0/--null`` and ``--shard``: where a batch's inputs come from
    (:mod:`stv_cli.cli.inputs`)."""
    return compose_options(
        click.option(
            "--files-from",
            metavar="FILE",
            default=None,
            help="Also read inputs from FILE, one per line ('-': stdin), after those given as "
            "arguments. Quoted globs ('stacks/*') are expanded by stv in natural order.",
        ),
        click.option(
            "-0",
            "--null",
            is_flag=True,
            help="--files-from entries are separated by NUL bytes (find -print0), not lines.",
        ),
        click.option(
            "--shard",
            metavar="K/N",
            default=None,
            help="Run only the K-th of N parts of the input list (inputs K-1, K-1+N, ... from "
            "0: the N shards partition it); 'slurm' takes K and N from SLURM_ARRAY_TASK_*.",
        ),
    )(func)


def scheduler_option() -> F:
    """``--scheduler``: run the inputs as tasks on a Dask cluster (the ``dask`` extra)."""
    return click.option(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="Run each input as a task on a Dask cluster: tcp://HOST:PORT (a running 'dask "
        "scheduler' whose 'dask worker's share the files) or local:N (N worker processes "
        "here). Needs pip install 'stv-cli[dask]'.",
    )


def dry_run_option() -> F:
    """``--dry-run``: each input's plan as a JSON line, no pixel data read, exit 0."""
    return click.option(
        "--dry-run",
        is_flag=True,
        help="Print one JSON line per input (its outputs, whether it would run, be skipped or "
        "be refused, its shape, how it would be held, its memory estimate) without reading any "
        "pixel data, and exit 0.",
    )
