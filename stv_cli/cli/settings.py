"""From parsed options to the frozen settings of the pipeline.

A command body parses options (``**options``, click's dict), turns them into the frozen
settings of :mod:`stv_cli.pipeline.settings` here, runs the pipeline over its inputs
(:func:`stv_cli.cli.report.run_inputs`) and reports. :func:`output_settings` holds the checks
every batch command makes before any work (output kind, bit depth, unique names). Only click
is imported at import time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .checks import (
    check_bit_depth,
    check_output_mode,
    check_outputs_outside_inputs,
    check_unique_names,
    resolve_output,
)


def output_settings(inputs: Sequence[Path], output: str, options: dict, **extras):
    """Check the output options of a batch command; return its :class:`OutputSettings`.

    Refuses (usage error, exit 2) ``--overwrite`` with ``--skip-existing``, a file ``-o`` with
    several inputs or an unknown extension, 16 bits outside png/tif, two inputs that would
    write the same names, and outputs inside an input folder. ``extras`` are further
    :class:`OutputSettings` fields.

    Returns
    -------
    OutputSettings
    """
    from ..pipeline.outputs import input_name
    from ..pipeline.settings import OutputSettings

    check_output_mode(options["overwrite"], options["skip_existing"])
    to_directory, image_format = resolve_output(output, len(inputs), options["image_format"])
    bit_depth = int(options["bit_depth"])
    check_bit_depth(bit_depth, image_format)
    check_unique_names(list(inputs), [input_name(p) for p in inputs])
    check_outputs_outside_inputs(list(inputs), Path(output), to_directory)
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


def refine_settings(options: dict):
    """:class:`~stv_cli.pipeline.settings.RefineSettings` from the refinement options."""
    from ..pipeline.settings import RefineSettings

    method = options["interpolate"].lower()
    return RefineSettings(
        diffuse_iterations=options["diffuse_iterations"],
        diffuse_rate=options["diffuse_rate"],
        interpolate=None if method == "none" else method,
        interpolate_passes=options["interpolate_passes"],
        upscale=options["upscale"],
    )


def projection_settings(options: dict):
    """:class:`~stv_cli.pipeline.settings.ProjectionSettings` from the projection options."""
    from ..pipeline.settings import ProjectionSettings

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
    """:class:`~stv_cli.pipeline.settings.GridSettings` from the grid options."""
    from ..pipeline.settings import GridSettings

    return GridSettings(
        nrow=options["nrow"],
        padding=options["padding"],
        pad_value=options["pad_value"],
        normalize=options["normalize"],
        value_range=options.get("value_range"),
        scale_each=options["scale_each"],
        keep_grey=options["keep_grey"],
    )
