"""``stv grid``: tile image files into one grid picture and write it (no click)."""

from __future__ import annotations

from pathlib import Path

from ..io.atomic import OutputExists
from ..io.images import load_same_size_images
from .outputs import write_grid
from .settings import GridSettings, OutputSettings


def run_grid(paths: list[Path], grid: GridSettings, output: OutputSettings) -> Path:
    """Tile the image files ``paths`` into one grid and write it; return its path.

    An existing output is refused (without ``overwrite``) before any image is read.
    """
    if Path(output.out).exists() and not output.overwrite:
        raise OutputExists(f"output {str(output.out)!r} exists; pass --overwrite to replace it")
    images = load_same_size_images(paths)
    return write_grid(output.out, images, grid, output, output.overwrite)
