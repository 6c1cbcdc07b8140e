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
    several inputs or an unknown extension, 16 bits outside png/tif, 32 bits outside tif, two
    inputs that would write the same names, and outputs inside an input folder. ``extras``
    are further :class:`OutputSettings` fields.

    Returns
    -------
    OutputSettings
    """
    from ..pipeline.outputs import input_name
    from ..pipeline.settings import OutputSettings

    check_output_mode(options["overwrite"], options["skip_existing"])
    template = output if "{" in output else None
    if template is not None:
        return _templated_settings(inputs, template, options, extras)
    to_directory, image_format = resolve_output(output, len(inputs), options["image_format"])
    bit_depth = int(options["bit_depth"])
    check_bit_depth(bit_depth, image_format)
    check_unique_names(list(inputs), [input_name(p) for p in inputs])
    check_outputs_outside_inputs(list(inputs), Path(output), to_directory)
    return OutputSettings(
        out=Path(output),
        to_directory=to_directory,
        **_output_fields(options, image_format, bit_depth),
        **extras,
    )


def _output_fields(options: dict, image_format: str, bit_depth: int) -> dict:
    """The :class:`OutputSettings` fields every batch command takes from its options."""
    return {
        "image_format": image_format,
        "bit_depth": bit_depth,
        "compress_level": options["compress_level"],
        "compression": options.get("compression"),
        "overwrite": options["overwrite"],
        "skip_existing": options["skip_existing"],
        "grid": options["grid"],
        "weights": options["weights"],
        "weights_plot": options["weights_plot"],
        "telemetry": options["telemetry"],
    }


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


def selection_settings(options: dict):
    """``--timepoint``, ``--channels``, ``--level``, ``--input-range`` as a Selection."""
    from ..io.axes import Selection

    return Selection(
        timepoint=options["timepoint"],
        channels=options["channels"],
        level=options["level"],
        value_range=options["input_range"],
    )


def split_time_inputs(inputs: Sequence[Path], options: dict) -> tuple[Path, ...]:
    """With ``--split-time``: each timepoint of a stack with a T axis becomes an input
    (``FILE#t=N``); other inputs stay as they are. A stack that cannot be read stays one
    input, so that the batch reports its error as usual."""
    import click

    if not options["split_time"]:
        return tuple(inputs)
    if options["timepoint"] is not None:
        raise click.UsageError("--split-time reads every timepoint: leave out --timepoint")
    from ..errors import StvError
    from ..io.inputs import timepoint_count, with_timepoint

    expanded: list[Path] = []
    for path in inputs:
        try:
            count = timepoint_count(path, selection_settings(options))
        except StvError:
            count = 1
        if count > 1:
            expanded.extend(with_timepoint(path, t) for t in range(count))
        else:
            expanded.append(path)
    return tuple(expanded)


def _templated_settings(inputs: Sequence[Path], template: str, options: dict, extras: dict):
    """The output settings of an ``-o`` template (``{name}``, ``{stem}``, ``{parent}``,
    ``{index}``): each input's ``-o`` resolved and checked as a single input's would be; two
    inputs whose pictures would land on one file are a usage error naming both."""
    import click

    from ..pipeline.outputs import TEMPLATE_FIELDS, output_paths, resolve_template
    from ..pipeline.settings import OutputSettings

    try:
        resolve_template(template, Path("x"), 0, 1)
    except (KeyError, IndexError, ValueError) as error:
        raise click.BadParameter(
            f"{template!r}: {error} is not a field; -o templates may use "
            + ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS),
            param_hint="'-o' / '--output'",
        ) from None
    formats = {
        resolve_output(resolve_template(template, p, k, len(inputs)), 1, options["image_format"])[
            1
        ]  # fmt: skip
        for k, p in enumerate(inputs[:1])
    }
    image_format = formats.pop() if formats else (options["image_format"] or "png").lower()
    bit_depth = int(options["bit_depth"])
    check_bit_depth(bit_depth, image_format)
    settings = OutputSettings(
        out=Path("."),
        to_directory=False,
        **_output_fields(options, image_format, bit_depth),
        template=template,
        indices=tuple((str(p), k) for k, p in enumerate(inputs)) if "{index" in template else (),
        **extras,
    )
    from ..pipeline.outputs import input_name

    seen: dict[Path, Path] = {}
    for path in inputs:
        image = output_paths(settings, input_name(path), path)["image"].resolve()
        if image in seen:
            raise click.UsageError(
                f"inputs {str(seen[image])!r} and {str(path)!r} would both write {str(image)!r} "
                f"through -o {template!r}; add {{parent}} or {{index}} to tell them apart"
            )
        seen[image] = path
        folder = Path(path).resolve()
        if folder.is_dir() and folder in image.parents:
            raise click.UsageError(
                f"-o {template!r} puts the outputs of {str(path)!r} inside it, where a later "
                "run would read them as slices; write them elsewhere"
            )
    return settings
