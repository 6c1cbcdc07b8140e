"""TIFF stacks through tifffile: series, axes, metadata, and exact values.

tifffile reads every TIFF flavour microscopes and cameras write (BigTIFF, ImageJ hyperstacks,
OME-TIFF, strips or tiles, chunky or planar samples, every compression imagecodecs decodes)
and says what the pages are: a *series* with *axes* such as ``ZCYX`` or ``TZYX`` or ``YXS``.
stv maps those axes onto its (D, H, W, C) volume by one rule, :func:`stv_cli.io.axes.plan_axes`:

* ``Y`` and ``X`` are a slice's rows and columns;
* ``Z`` is depth; without a ``Z``, a generic page axis (``I`` or ``Q``: pages without
  metadata) is depth;
* ``C`` (channels) and ``S`` (samples of a pixel, e.g. RGB) are channels, at most 4 in all;
  ``--channels`` picks some;
* ``T`` (time) is chosen with ``--timepoint`` (or each timepoint is its own input,
  ``--split-time``);
* an axis of length 1 is dropped, whatever it is; any other axis is refused, naming it.

Values: integers are divided by their dtype's maximum (8-bit by 255, 16-bit by 65535, ...) or
by ``2**bits - 1`` where OME metadata declares fewer significant bits (12-bit data in 16-bit
words); floats are kept as stored; ``--input-range LOW HIGH`` maps LOW..HIGH to 0..1 instead.
The physical voxel size (ImageJ, OME, resolution tags) comes with the plan. The axes and
values rules are shared with Zarr stores and live in :mod:`stv_cli.io.axes`.

Nothing here decodes pixels before :func:`read_tiff` (the probe reads headers only), so the
memory guard runs first. Pages are decoded in parallel (``threads``), each straight into its
slice of the float32 volume.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from .axes import (
    AxesPlan,
    Selection,
    ValueScale,
    gather,
    kept_plan,
    plan_axes,
    scale_into,
    value_scale,
)
from .metadata import PhysicalSize

__all__ = [
    "Selection",
    "TiffPlan",
    "open_tiff",
    "probe_tiff",
    "read_tiff",
]

#: float32 bytes one conversion task writes at most (values still in cache when written).
_CONVERT_BYTES = 8 * 2**20

# ----------------------------------------------------------------------------- TIFF


@dataclass(frozen=True)
class TiffPlan:
    """How to read one TIFF: the series (or, ``stacked``, every single-image series as a
    slice), the pyramid level, the axes plan, and how pages map onto it."""

    series: int
    level: int
    stacked: bool
    plan: AxesPlan
    dtype: np.dtype
    scale: ValueScale
    page_axes: str  # the axes each page holds (YX, YXS, SYX)
    physical: PhysicalSize | None
    #: bytes of the file memory-mapped while it is read (an uncompressed contiguous series,
    #: whose pages become resident as they are read), else 0
    mapped_bytes: int = 0


def _tifffile():
    import tifffile

    return tifffile


def open_tiff(path: Path):
    """A ``tifffile.TiffFile``; errors become :class:`InputError` naming the file."""
    tifffile = _tifffile()
    try:
        return tifffile.TiffFile(path)
    except (OSError, ValueError, tifffile.TiffFileError) as err:
        raise InputError(f"cannot read {str(path)!r} as TIFF: {err}") from None


class _Complaints(logging.Handler):
    """Collects what tifffile logs at ERROR while a file is parsed: it reports a file whose
    pages do not match its own metadata (a truncated stack, say) there and reads on with
    fewer pages, which would be a silent loss of slices."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def refusing_tifffile_errors(path: Path):
    """Raise :class:`InputError` naming ``path`` when tifffile logs an error in the block."""
    logger = logging.getLogger("tifffile")
    handler = _Complaints()
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    if handler.messages:
        detail = handler.messages[0].split("> ", 1)[-1]
        raise InputError(f"{str(path)!r} is damaged or inconsistent: {detail}")


def probe_tiff(path: Path, selection: Selection) -> TiffPlan:
    """Read a TIFF's headers and decide how it becomes a volume (nothing decoded)."""
    with refusing_tifffile_errors(path), open_tiff(path) as tif:
        return _plan(tif, path, selection)


def _plan(tif, path: Path, selection: Selection) -> TiffPlan:
    source = repr(str(path))
    series_list = tif.series
    if not series_list:
        raise InputError(f"{source} holds no images")
    first = series_list[0]
    stacked = len(series_list) > 1 and all(
        s.shape == first.shape and s.dtype == first.dtype and s.axes == first.axes
        and len(s.pages) == 1 and s.axes in ("YX", "YXS", "SYX")
        for s in series_list
    )  # fmt: skip
    if len(series_list) > 1 and not stacked:
        import warnings

        warnings.warn(
            f"{source} holds {len(series_list)} series (images of different shapes); series 0 "
            f"({first.axes} {first.shape}) is read",
            UserWarning,
            stacklevel=4,
        )
    levels = getattr(first, "levels", [first]) or [first]
    if not 0 <= selection.level < len(levels):
        raise InputError(f"{source}: --level {selection.level} is outside 0..{len(levels) - 1}")
    series = levels[selection.level]
    if stacked:
        axes, shape = "Q" + first.axes, (len(series_list), *first.shape)
    else:
        axes, shape = series.axes, series.shape
    plan = plan_axes(axes, shape, selection, source)
    keyframe = series.keyframe
    page_axes = keyframe.axes if keyframe is not None else first.axes
    lead = len(axes) - len(page_axes)
    if lead < 0 or axes[lead:] != page_axes:
        raise InputError(
            f"{source}: its pages ({page_axes}) do not tile its series ({axes}); not supported"
        )
    bits = _significant_bits(tif)
    native = tif.byteorder == ("<" if np.little_endian else ">")
    contiguous = not stacked and getattr(series, "dataoffset", None) is not None and native
    return TiffPlan(
        series=0,
        level=selection.level,
        stacked=stacked,
        plan=plan,
        dtype=np.dtype(series.dtype),
        scale=value_scale(series.dtype, selection, bits),
        page_axes=page_axes,
        physical=_physical(tif),
        mapped_bytes=int(series.nbytes) if contiguous else 0,
    )


def _significant_bits(tif) -> int | None:
    if not tif.is_ome:
        return None
    pixels = _ome_pixels(tif)
    try:
        return int(pixels.get("SignificantBits")) if pixels else None
    except (TypeError, ValueError):
        return None


def _ome_pixels(tif) -> dict | None:
    tifffile = _tifffile()
    try:
        ome = tifffile.xml2dict(tif.ome_metadata)["OME"]
    except Exception:  # noqa: BLE001 - broken OME-XML: the values are still read
        return None
    image = ome.get("Image")
    image = image[0] if isinstance(image, list) else image
    return image.get("Pixels") if isinstance(image, dict) else None


def _float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _physical(tif) -> PhysicalSize | None:
    """The voxel size from OME-XML, else ImageJ's description and the resolution tags."""
    if tif.is_ome:
        pixels = _ome_pixels(tif) or {}
        size = PhysicalSize(
            _float(pixels.get("PhysicalSizeX")),
            _float(pixels.get("PhysicalSizeY")),
            _float(pixels.get("PhysicalSizeZ")),
            pixels.get("PhysicalSizeXUnit", "um"),  # OME's default unit is the micrometre
        )
        return size if size.known else None
    shaped = tif.shaped_metadata if tif.is_shaped else None
    if shaped:  # tifffile's JSON description: stv writes {"physical": {...}} there
        size = PhysicalSize.from_record(shaped[0].get("physical"))
        if size is not None:
            return size
    page = tif.pages.first
    tags = page.tags
    x = _resolution(tags.get("XResolution"))
    y = _resolution(tags.get("YResolution"))
    unit = None
    z = None
    if tif.is_imagej:
        meta = tif.imagej_metadata or {}
        unit = meta.get("unit")
        z = _float(meta.get("spacing"))
    else:
        resolution_unit = tags.get("ResolutionUnit")
        code = int(resolution_unit.value) if resolution_unit is not None else 2
        unit = {2: "inch", 3: "cm"}.get(code)
        if unit is None or (x == 1.0 and y == 1.0):
            x = y = None  # no unit, or the 1 pixel-per-unit default: nothing is known
    size = PhysicalSize(x, y, z, unit)
    return size if size.known else None


def _resolution(tag) -> float | None:
    """A resolution tag (pixels per unit, a rational) as the size of one pixel."""
    if tag is None:
        return None
    value = tag.value
    if isinstance(value, tuple) and len(value) == 2:
        num, den = value
        return _float(den / num) if num else None
    return _float(1.0 / value) if value else None


def read_tiff(
    path: Path,
    plan: TiffPlan,
    out: np.ndarray,
    threads: int,
    tick: Callable[[int], object],
    run: Callable,
    first: int = 0,
) -> None:
    """Decode the planned pages of ``path`` into the float32 (D, H, W, C) ``out``: slices
    ``first .. first + len(out) - 1`` of the volume (all of it by default; a run streaming a
    stack larger than memory reads a few at a time).

    ``run(tasks, threads)`` runs ``(callable, args)`` tasks in parallel (the loader's pool);
    each task decodes whole slices and calls ``tick(1)`` per slice.
    """
    tifffile = _tifffile()
    with open_tiff(path) as tif:
        # pages are decoded on several threads that share one file handle: its seeks and
        # reads must be serialised (the decoding itself runs in parallel, outside the lock)
        tif.filehandle.set_lock(True)
        series = tif.series[plan.series]
        levels = getattr(series, "levels", [series]) or [series]
        if not plan.stacked:
            raw = _mapped(path, tif, levels[plan.level])
            if raw is not None:  # uncompressed and contiguous: no decoding, no raw copy
                _convert_mapped(raw, plan, out, threads, tick, run, first)
                return
        if plan.stacked:
            pages = [s.pages[0] for s in tif.series]
        else:
            pages = list(levels[plan.level].pages)
        axes = plan.plan.axes
        lead = len(axes) - len(plan.page_axes)
        lead_axes, lead_shape = axes[:lead], plan.plan.shape[:lead]
        if any(p is None for p in pages) or len(pages) != math.prod(lead_shape):
            # pages tifffile does not list one by one (an ImageJ file over 4 GB, say): read the
            # series as one array and gather from it
            data = tif.series[plan.series].asarray(level=plan.level, maxworkers=threads)
            values = gather(data, plan.plan, axes)
            if "Z" not in plan.plan.index:
                values = values[np.newaxis]
            scale_into(values[first : first + out.shape[0]], out, plan.scale)
            tick(out.shape[0])
            return
        # for each slice z: the pages that hold it (several when C runs across pages)
        slices = _slice_pages(plan.plan, lead_axes, lead_shape)

        def decode(zs: range, report) -> None:
            for z in zs:
                for page_index, channel_slice in slices[first + z]:
                    try:
                        values = pages[page_index].asarray(maxworkers=1)
                    except (
                        OSError,
                        ValueError,
                        RuntimeError,
                        tifffile.TiffFileError,
                    ) as err:  # a codec's error, a truncated file
                        raise InputError(
                            f"cannot decode page {page_index} of {str(path)!r}: {err}"
                        ) from None
                    plane = gather(values, plan.plan, plan.page_axes)
                    scale_into(plane, out[z, :, :, channel_slice], plan.scale)
                report(1)

        depth = out.shape[0]
        chunk = max(1, -(-depth // (threads * 4)))  # a few runs per thread: balanced
        tasks = [(decode, (range(s, min(s + chunk, depth)),)) for s in range(0, depth, chunk)]
        run(tasks, threads, tick)


def _mapped(path: Path, tif, series) -> np.ndarray | None:
    """The series' values memory-mapped from the file, where they lie there uncompressed, in
    one contiguous run and in this machine's byte order (tifffile.imread reads such files in
    one pass too); None otherwise."""
    offset = getattr(series, "dataoffset", None)
    dtype = np.dtype(series.dtype)
    if offset is None or tif.byteorder != ("<" if np.little_endian else ">"):
        return None
    try:
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=tuple(series.shape))
    except (OSError, ValueError):  # a file shorter than its headers say: decode page by page
        return None


def _convert_mapped(raw, plan: TiffPlan, out, threads: int, tick, run, first: int = 0) -> None:
    """Gather and scale the mapped values into ``out`` (slices ``first..``), a run of slices
    per task."""
    axes_plan = kept_plan(plan.plan)
    depth = out.shape[0]

    def convert(zs: range, report) -> None:
        key = tuple(
            slice(first + zs.start, first + zs.stop)
            if entry == "Z"
            else slice(entry, entry + 1)
            if isinstance(entry, int)
            else slice(None)
            for entry in plan.plan.index
        )
        values = gather(raw[key], axes_plan, plan.plan.axes)
        if "Z" not in plan.plan.index:
            values = values[np.newaxis]
        scale_into(values, out[zs.start : zs.stop], plan.scale)
        report(len(zs))

    # runs of whole slices, a few per thread: one conversion call each, cache-sized blocks
    # of ~8 MiB at most so that the values read are still in cache when they are written
    per_slice = max(1, int(np.prod(out.shape[1:])))
    chunk = max(1, min(-(-depth // (threads * 4)), _CONVERT_BYTES // (4 * per_slice) or 1))
    tasks = [(convert, (range(s, min(s + chunk, depth)),)) for s in range(0, depth, chunk)]
    run(tasks, threads, tick)


def _slice_pages(plan: AxesPlan, lead_axes: str, lead_shape) -> list[list[tuple[int, slice]]]:
    """Per output slice: ``(page number, channel slice of out)`` for every page it needs."""
    entries = dict(zip(plan.axes, plan.index, strict=True))
    ranges = []
    for axis, n in zip(lead_axes, lead_shape, strict=True):
        entry = entries[axis]
        if isinstance(entry, int):
            ranges.append([entry])
        elif entry == "C" and plan.channel_pick is not None and axis == plan.channel_axis:
            ranges.append(list(plan.channel_pick))
        else:
            ranges.append(list(range(n)))
    per_page_channels = plan.channels // max(
        1,
        math.prod(
            len(r) for axis, r in zip(lead_axes, ranges, strict=True) if entries[axis] == "C"
        ),
    )
    slices: list[list[tuple[int, slice]]] = [[] for _ in range(plan.depth)]
    counters = [0] * plan.depth
    for combo in np.ndindex(*[len(r) for r in ranges]) if ranges else [()]:
        index = [r[k] for r, k in zip(ranges, combo, strict=True)]
        z = 0
        for axis, value in zip(lead_axes, index, strict=True):
            if entries[axis] == "Z":
                z = value
        page = int(np.ravel_multi_index(index, lead_shape)) if lead_shape else 0
        start = counters[z]
        slices[z].append((page, slice(start, start + per_page_channels)))
        counters[z] += per_page_channels
    return slices
