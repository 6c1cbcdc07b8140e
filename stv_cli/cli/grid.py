"""``stv grid``: tile image files into one grid picture (make_grid + save_image, SPEC Part G)."""

from __future__ import annotations

from pathlib import Path

import click

from .options import (
    IMAGE_FORMATS,
    bit_depth_option,
    compress_level_option,
    compression_option,
    grid_options,
    overwrite_option,
    report_options,
)


@click.command()
@click.argument(
    "images",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="IMAGES...",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The grid image file; its extension decides the format.",
)
@grid_options
@bit_depth_option()
@compress_level_option()
@compression_option()
@overwrite_option()
@report_options
def grid(images: tuple[Path, ...], output: Path, **options) -> None:
    """Tile IMAGES (all of one size) into one grid image, as torchvision's make_grid.

    Images are read as floats in [0, 1] (8-bit /255, 16-bit /65535), laid out --nrow per row
    with --padding pixels of --pad-value between them, optionally stretched (--normalize,
    --value-range, --scale-each), then quantised as round(v * 255) (or 65535 with
    --bit-depth 16; with --bit-depth 32 a .tif grid holds the float32 values). Grey images
    become RGB unless --keep-grey.

    \b
    Example:
      stv grid out/a.png out/b.png out/c.png -o out/abc_grid.png --nrow 3 --padding 4
    """
    from ..pipeline.grid import run_grid
    from ..pipeline.settings import OutputSettings
    from .checks import check_bit_depth
    from .settings import grid_settings

    image_format = output.suffix.lower().lstrip(".")
    if output.is_dir() or image_format not in IMAGE_FORMATS:
        raise click.BadParameter(
            f"{str(output)!r} is not an image file name; name the grid file with one of the "
            f"extensions {', '.join(IMAGE_FORMATS)}, e.g. grid.png",
            param_hint="'-o' / '--output'",
        )
    bit_depth = int(options["bit_depth"])
    check_bit_depth(bit_depth, image_format)
    settings = OutputSettings(
        out=output,
        to_directory=False,
        image_format=image_format,
        bit_depth=bit_depth,
        compress_level=options["compress_level"],
        compression=options["compression"],
        overwrite=options["overwrite"],
    )
    written = run_grid(list(images), grid_settings(options), settings)
    if options["json_report"]:
        import json

        record = {"command": "grid", "inputs": [str(p) for p in images], "outputs": [str(written)]}
        click.echo(json.dumps(record, indent=2))
    else:
        click.echo(str(written))
