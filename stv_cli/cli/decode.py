"""``stv decode``: latent vectors -> seeded volumes -> pictures (a thin command over pipeline)."""

from __future__ import annotations

from pathlib import Path

import click

from .inputs import collect_inputs
from .model_options import projection_options, refinement_options
from .options import (
    batch_output_options,
    dry_run_option,
    extra_output_options,
    grid_layout_options,
    input_list_options,
    scheduler_option,
    value_range_option,
)
from .param_types import BoundedInt

SIZE = BoundedInt(1, 65536)


@click.command()
@click.argument("latents", nargs=-1, type=click.Path(path_type=Path), metavar="LATENTS...")
@input_list_options
@scheduler_option()
@dry_run_option()
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),  # a str: Path() would drop the trailing "/" that marks a directory
    help="Output directory, or image file (one latent file holding one latent).",
)
@click.option("--depth", type=SIZE, default=8, show_default=True, help="Slices per volume.")
@click.option("--height", type=SIZE, default=64, show_default=True, help="Slice height.")
@click.option("--width", type=SIZE, default=64, show_default=True, help="Slice width.")
@click.option(
    "--seed",
    type=BoundedInt(0, 2**64 - 1),
    default=0,
    show_default=True,
    help="Decoder seed (u64); the same seed and latents give the same pictures.",
)
@value_range_option(
    (-1.0, 1.0),
    "Decoder values mapped to pixels: LOW -> 0 (black), HIGH -> 1 (white), values outside "
    "are clamped. The decoder's output lies in (-1, 1) (tanh), hence the default.",
)
@refinement_options
@projection_options
@extra_output_options("Also write one grid of all the pictures of a latent file.")
@grid_layout_options
@batch_output_options
@click.pass_context
def decode(ctx: click.Context, latents: tuple[Path, ...], output: str, **options) -> None:
    """Decode every latent in each LATENTS file into a volume and collapse it to a picture.

    A LATENTS file holds N latent vectors (N, F) (.npy, .npz, .csv/.txt or .json). Each file gets a
    fresh ZDecoder(--depth, --height, --width, --seed); its latents are decoded in order (the
    decoder's random stream advances per latent, so equal latents give different volumes).
    Each volume is refined and projected as in `stv project`.

    Pixels: the decoder's values lie in (-1, 1); --value-range LOW HIGH maps LOW to black and
    HIGH to white (default -1 1, i.e. (v + 1) / 2), clamping values outside.

    \b
    Outputs, for a latent file NAME.npy holding N latents:
      DIR/NAME_000.png ... DIR/NAME_<N-1>.png   one picture per latent
      DIR/NAME_grid.png                         all of them in one grid (--grid)
      DIR/NAME_weights.json, NAME_telemetry.json   one record per latent
      DIR/NAME_weights.png                      the first latent's depth weights
    With -o FILE.png and one file holding one latent, the picture is FILE.png.

    \b
    Example:
      stv decode latents.npy -o out/ --depth 8 --height 64 --width 64 --seed 7 --grid
    """
    from ..pipeline.decode import run_decode_input
    from ..pipeline.settings import DecodeSettings
    from .report import run_projection_batch
    from .settings import grid_settings, output_settings, projection_settings, refine_settings

    latents = tuple(collect_inputs(latents, options, "LATENTS"))
    settings = DecodeSettings(
        output=output_settings(latents, output, options),
        depth=options["depth"],
        height=options["height"],
        width=options["width"],
        seed=options["seed"],
        value_range=options["value_range"],
        refine=refine_settings(options),
        projection=projection_settings(options),
        grid=grid_settings(options),
    )
    run_projection_batch(ctx, "decode", latents, run_decode_input, settings, options)
