"""The shared options of the ``stv`` commands about the model: refinement and projection.

Each option is declared once (see :mod:`.options` for the conventions); ``project``, ``decode``
and ``video`` spell, validate and document them the same way. Imports only click.
"""

from __future__ import annotations

from pathlib import Path

import click

from .options import F, compose_options
from .param_types import ANY_FINITE, POSITIVE, UNIT, BoundedInt

WINDOWS = ("hann", "hamming", "blackman", "rectangular", "gaussian")
INTERPOLATIONS = ("none", "nearest", "linear", "cubic")


# ------------------------------------------------------------------------- refinement


def diffusion_options(func: F) -> F:
    """``--diffuse-iterations`` and ``--diffuse-rate``."""
    return compose_options(
        click.option(
            "--diffuse-iterations",
            type=BoundedInt(0),
            default=0,
            show_default=True,
            help="Jacobi diffusion passes over the 6-neighbourhood of each volume (0 = none).",
        ),
        click.option(
            "--diffuse-rate",
            type=UNIT,
            default=0.25,
            show_default=True,
            help="Diffusion rate, in [0, 1]: new = centre*(1-rate) + mean(neighbours)*rate.",
        ),
    )(func)


def refinement_options(func: F) -> F:
    """Diffusion, Z interpolation and XY upscale, applied in that order."""
    return compose_options(
        diffusion_options,
        click.option(
            "--interpolate",
            type=click.Choice(INTERPOLATIONS, case_sensitive=False),
            default="none",
            show_default=True,
            help="Densify along Z: each pass turns D slices into 2D-1.",
        ),
        click.option(
            "--interpolate-passes",
            type=BoundedInt(1, 8),
            default=1,
            show_default=True,
            help="How many interpolation passes (k passes give 2^k*(D-1)+1 slices).",
        ),
        click.option(
            "--upscale",
            type=BoundedInt(1, 64),
            default=1,
            show_default=True,
            help="Integer XY upscale factor (bilinear, corner-aligned); 1 = none.",
        ),
    )(func)


# ------------------------------------------------------------------------- projection


def projector_options(func: F) -> F:
    """The VisionProjector and its spectral window: ``--window``, ``--sigma``, ``--focus``,
    ``--spread``, ``--energy-bias`` (no resonance and no views: ``stv video`` has its own)."""
    return compose_options(
        click.option(
            "--window",
            type=click.Choice(WINDOWS, case_sensitive=False),
            default="hann",
            show_default=True,
            help="Spectral window over the depth axis.",
        ),
        click.option(
            "--sigma",
            type=POSITIVE,
            default=0.4,
            show_default=True,
            help="Width of the gaussian window (only with --window gaussian), > 0.",
        ),
        click.option(
            "--focus",
            type=UNIT,
            default=0.5,
            show_default=True,
            help="Depth of the attention peak, in [0, 1] (0 = first slice, 1 = last).",
        ),
        click.option(
            "--spread",
            type=POSITIVE,
            default=0.35,
            show_default=True,
            help="Width of the focus Gaussian in normalised depth units, > 0.",
        ),
        click.option(
            "--energy-bias",
            type=ANY_FINITE,
            default=0.0,
            show_default=True,
            help="Projector energy bias (a common factor: it cancels in the weights).",
        ),
    )(func)


def hidden_dim_option(note: str = "") -> F:
    """``--hidden-dim``: the resonance generator's hidden size."""
    return click.option(
        "--hidden-dim",
        type=BoundedInt(1, 4096),
        default=16,
        show_default=True,
        help=f"Hidden size of the resonance generator{note}; its steps are the refined depth.",
    )


def projection_options(func: F) -> F:
    """:func:`projector_options`, the resonance and the optional views."""
    return compose_options(
        projector_options,
        click.option(
            "--resonance",
            default="uniform",
            show_default=True,
            metavar="uniform|generate|FILE",
            callback=_check_resonance,
            help="Resonance weighting the slices: uniform, generate (a ResonanceGenerator "
            "with steps = depth) or a resonance file.",
        ),
        hidden_dim_option(" (with --resonance generate)"),
        click.option(
            "--views",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            default=None,
            help="Multi-view file: fuse views along depth (view count must equal the depth "
            "after refinement).",
        ),
    )(func)


def _check_resonance(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if value in ("uniform", "generate"):
        return value
    if not Path(value).is_file():
        raise click.BadParameter(
            f"{value!r} is neither 'uniform', 'generate' nor an existing resonance file",
            ctx,
            param,
        )
    return value
