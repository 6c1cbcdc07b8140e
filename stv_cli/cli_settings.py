"""From parsed options to frozen settings, and the common steps of a batch command.

A command body parses options (``**options``, click's dict), turns them into the frozen
settings of :mod:`stv_cli.pipeline_settings` here, runs the pipeline over its inputs through
:func:`run_inputs`, and reports. :func:`output_settings` holds the checks every batch command
makes before any work (output kind, bit depth, unique names, device). Only click is imported
at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import click


def output_settings(command: str, inputs: Sequence[Path], output: str, options: dict, **extras):
    """Check the output options of a batch command and put ``--device`` in force.

    Refuses (usage error, exit 2) ``--overwrite`` with ``--skip-existing``, a file ``-o`` with
    several inputs or an unknown extension, 16 bits outside png/tif, two inputs that would
    write the same names, and outputs inside an input folder. ``extras`` are further
    :class:`OutputSettings` fields.

    Returns
    -------
    OutputSettings
    """
    from .cli import (
        apply_device,
        check_bit_depth,
        check_outputs_outside_inputs,
        check_unique_names,
        resolve_output,
    )
    from .cli_options import check_output_mode
    from .pipeline_outputs import input_name
    from .pipeline_settings import OutputSettings

    check_output_mode(options["overwrite"], options["skip_existing"])
    to_directory, image_format = resolve_output(output, len(inputs), options["image_format"])
    bit_depth = int(options["bit_depth"])
    check_bit_depth(bit_depth, image_format)
    check_unique_names(list(inputs), [input_name(p) for p in inputs])
    check_outputs_outside_inputs(list(inputs), Path(output), to_directory)
    backend = apply_device(options["device"], options["threads"], options["memory_limit"])
    if options["verbose"]:
        click.echo(f"stv {command}: {len(inputs)} input(s), backend {backend}", err=True)
    return OutputSettings(
        out=Path(output),
        to_directory=to_directory,
        image_format=image_format,
        bit_depth=bit_depth,
        compress_level=options["compress_level"],
        overwrite=options["overwrite"],
        skip_existing=options["skip_existing"],
        grid=options["grid"],
        weights=options["weights"],
        weights_plot=options["weights_plot"],
        telemetry=options["telemetry"],
        **extras,
    )


def run_inputs(
    ctx: click.Context,
    command: str,
    inputs: Sequence[Path],
    process: Callable[[Path], Sequence[Path]],
    options: dict,
) -> None:
    """Run ``process`` over ``inputs`` as a batch, print as it goes, and exit with its code."""
    from .batch import run_batch
    from .cli import batch_printer, finish_batch

    report = run_batch(
        inputs,
        process,
        command=command,
        quiet=options["quiet"],
        on_result=batch_printer(
            command, options["json_report"], options["quiet"], options["verbose"]
        ),
    )
    finish_batch(ctx, report, options["json_report"], options["quiet"])


def refine_settings(options: dict):
    """:class:`~stv_cli.pipeline_settings.RefineSettings` from the refinement options."""
    from .pipeline_settings import RefineSettings

    method = options["interpolate"].lower()
    return RefineSettings(
        diffuse_iterations=options["diffuse_iterations"],
        diffuse_rate=options["diffuse_rate"],
        interpolate=None if method == "none" else method,
        interpolate_passes=options["interpolate_passes"],
        upscale=options["upscale"],
    )


def projection_settings(options: dict):
    """:class:`~stv_cli.pipeline_settings.ProjectionSettings` from the projection options."""
    from .pipeline_settings import ProjectionSettings

    return ProjectionSettings(
        window=options["window"].lower(),
        sigma=options["sigma"],
        focus=options["focus"],
        spread=options["spread"],
        energy_bias=options["energy_bias"],
        resonance=options["resonance"],
        hidden_dim=options["hidden_dim"],
        views=options["views"],
    )


def grid_settings(options: dict):
    """:class:`~stv_cli.pipeline_settings.GridSettings` from the grid options."""
    from .pipeline_settings import GridSettings

    return GridSettings(
        nrow=options["nrow"],
        padding=options["padding"],
        pad_value=options["pad_value"],
        normalize=options["normalize"],
        value_range=options.get("value_range"),
        scale_each=options["scale_each"],
        keep_grey=options["keep_grey"],
    )
