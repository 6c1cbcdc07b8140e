"""Inputs that are part of a file: one timepoint of a time series (``--split-time``).

``stv project --split-time`` makes each timepoint of a TIFF or Zarr stack with a T axis its own
input. Such an input is written as the file's path with a fragment, ``movie.tif#t=3``, the
way it appears in reports; the pipeline reads timepoint 3 of ``movie.tif`` and names its
outputs ``movie_t003``. A real file whose name happens to end in ``#t=3`` is read as itself.
"""

from __future__ import annotations

import re
from pathlib import Path

_FRAGMENT = re.compile(r"^(?P<base>.+)#t=(?P<t>\d+)$")


def split_timepoint(path) -> tuple[Path, int | None]:
    """``(file, timepoint)`` of an input: ``movie.tif#t=3`` -> ``(movie.tif, 3)``; a plain
    path (or a file that exists under the full name) -> ``(path, None)``."""
    text = str(path)
    match = _FRAGMENT.match(text)
    if match is None or Path(text).exists():
        return Path(path), None
    return Path(match["base"]), int(match["t"])


def with_timepoint(path: Path, timepoint: int) -> Path:
    """The input that stands for ``timepoint`` of ``path``."""
    return Path(f"{path}#t={int(timepoint)}")


def timepoint_suffix(timepoint: int) -> str:
    """What a timepoint adds to its outputs' names: ``_t003``."""
    return f"_t{int(timepoint):03d}"


def timepoint_count(path: Path, selection=None) -> int:
    """How many timepoints a TIFF or Zarr stack holds (1 without a T axis, and for every
    other kind of input). Reads headers only."""
    from .axes import Selection
    from .probe import _TIFF_SUFFIXES
    from .tiff import open_tiff
    from .zarr_store import is_zarr, locate

    selection = selection or Selection()
    path = Path(path)
    if path.suffix.lower() in _TIFF_SUFFIXES and path.is_file():
        with open_tiff(path) as tif:
            series = tif.series[0] if tif.series else None
            if series is None or "T" not in series.axes:
                return 1
            return int(series.shape[series.axes.index("T")])
    if is_zarr(path):
        array, _, axes, _, _ = locate(path, selection.level)
        return int(array.shape[axes.index("T")]) if "T" in axes else 1
    return 1
