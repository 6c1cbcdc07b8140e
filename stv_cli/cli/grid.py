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
@click.argument("images", nargs=-1, type=click.Path(path_type=Path), metavar="IMAGES...")
@click.option(
    "--files-from",
    metavar="FILE",
    default=None,
    help="Also read image files from FILE, one per line ('-': stdin), after those given.",
)
@click.option("-0", "--null", is_flag=True, help="--files-from entries are NUL-separated.")
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
    import time

    from ..pipeline.grid import run_grid
    from ..pipeline.settings import OutputSettings
    from .checks import check_bit_depth
    from .inputs import collect_inputs
    from .settings import grid_settings

    images = tuple(collect_inputs(images, options, "IMAGES"))
    start = time.perf_counter()
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
    if options["json_report"] or options.get("report_file"):
        _report(images, written, time.perf_counter() - start, options)
    if not options["json_report"] and options.get("report_file") != "-":
        click.echo(str(written))


def _report(images, written: Path, seconds: float, options: dict) -> None:
    """The grid's record, in the shape every command reports (one input: the images)."""
    import json
    import os
    import socket
    import threading

    from ..executors.batch import OK, BatchReport, InputResult

    result = InputResult(
        input=", ".join(str(p) for p in images),
        status=OK,
        outputs=[str(written)],
        seconds=round(seconds, 6),
        host=socket.gethostname(),
        worker=f"{os.getpid()}:{threading.current_thread().name}",
    )
    report = BatchReport(command="grid", results=[result])
    target = options.get("report_file")
    if target is not None:
        line = json.dumps({"command": "grid", **report.to_dict()["results"][0]})
        if target == "-":
            click.echo(line)
        else:
            with open(target, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
    if options["json_report"]:
        document = report.to_dict()
        document["images"] = [str(p) for p in images]
        click.echo(json.dumps(document, indent=2))
