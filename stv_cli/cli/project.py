"""``stv project``: collapse image stacks into one picture each (a thin command over pipeline)."""

from __future__ import annotations

from pathlib import Path

import click

from .model_options import projection_options, refinement_options
from .options import (
    batch_output_options,
    dry_run_option,
    extra_output_options,
    grid_options,
    input_list_options,
    scheduler_option,
    stack_selection_options,
    volume_format_option,
)


@click.command()
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path), metavar="INPUT...")
@input_list_options
@scheduler_option()
@dry_run_option()
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),  # a str: Path() would drop the trailing "/" that marks a directory
    help="Output directory (several inputs), or image file (one input; its extension "
    "decides the format).",
)
@stack_selection_options
@refinement_options
@projection_options
@extra_output_options("Also write a grid of the (refined) slices.")
@click.option(
    "--save-volume",
    is_flag=True,
    help="Also write the refined volume (D, H, W, C), as --volume-format says.",
)
@volume_format_option()
@click.option(
    "--no-tiles",
    is_flag=True,
    help="Make every refinement stage whole before the collapse, as --grid and --save-volume "
    "do, instead of refining and collapsing band by band (the same picture, bit for bit; more "
    "memory).",
)
@grid_options
@batch_output_options
@click.pass_context
def project(ctx: click.Context, inputs: tuple[Path, ...], output: str, **options) -> None:
    """Collapse each image stack INPUT into one picture.

    An INPUT is a folder of slice images (natural order: z2 before z10), a TIFF stack
    (multi-page, ImageJ hyperstack, OME-TIFF: its Z axis is depth, C/S channels, T chosen
    with --timepoint or --split-time), a Zarr or OME-Zarr store (.zarr, --level) or a .npy
    array (D, H, W[, C]). Each one is loaded, diffused (--diffuse-iterations),
    interpolated along Z (--interpolate), upscaled (--upscale) and collapsed with a
    VisionProjector whose depth weights combine the spectral --window, the focus Gaussian
    (--focus, --spread), the --resonance and, with --views, the multi-view biases.

    \b
    Outputs, for an input called NAME (folder name or file stem):
      -o DIR         DIR/NAME.png, DIR/NAME_grid.png, DIR/NAME_weights.json,
                     DIR/NAME_weights.png, DIR/NAME_telemetry.json, DIR/NAME_volume.npy
      -o FILE.png    FILE.png, FILE_grid.png, FILE_weights.json, ... (one input only)
    Only the picture is written unless --grid, --weights, --weights-plot, --telemetry or
    --save-volume ask for more (the volume as NAME_volume.npy, .zarr or .tif by
    --volume-format). Pixel values are the projection clamped to [0, 1] and quantised, or
    with --bit-depth 32 (tif) its float32 values as computed. TIFF outputs are compressed
    (--compression) and carry the input's pixel size and slice step, where it declares them
    (resolution tags and ImageJ's unit and spacing, so Fiji shows the scale).

    Refinement runs band by band (a few MB at a time) and the refined volume is never
    held, unless an output needs it (--grid, --save-volume) or --no-tiles: the same picture,
    bit for bit.

    \b
    Example:
      stv project sample_data/focus_stack -o out/ --interpolate cubic --grid --weights-plot
    """
    from ..pipeline.project import run_project_input
    from ..pipeline.settings import ProjectSettings
    from .inputs import collect_inputs
    from .report import run_projection_batch
    from .settings import (
        grid_settings,
        output_settings,
        projection_settings,
        refine_settings,
        selection_settings,
        split_time_inputs,
    )

    inputs = split_time_inputs(collect_inputs(inputs, options), options)
    settings = ProjectSettings(
        selection=selection_settings(options),
        tiles=not options["no_tiles"],
        output=output_settings(
            inputs,
            output,
            options,
            save_volume=options["save_volume"],
            volume_format=options["volume_format"].lower(),
        ),
        refine=refine_settings(options),
        projection=projection_settings(options),
        grid=grid_settings(options),
    )
    run_projection_batch(ctx, "project", inputs, run_project_input, settings, options)
