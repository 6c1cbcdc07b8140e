"""The one rule that turns a stack's named axes into stv's (D, H, W, C), and its values into
float32: shared by TIFF stacks (:mod:`stv_cli.io.tiff`) and Zarr stores
(:mod:`stv_cli.io.zarr_store`), whatever reads their bytes.

:func:`plan_axes` maps axis letters (tifffile's; OME-Zarr names are mapped to them):

* ``Y`` and ``X`` are a slice's rows and columns;
* ``Z`` is depth; without a ``Z``, a generic page axis (``I`` or ``Q``: pages without
  metadata) is depth;
* ``C`` (channels) and ``S`` (samples of a pixel, e.g. RGB) are channels, at most 4 in all;
  ``--channels`` picks some;
* ``T`` (time) is chosen with ``--timepoint`` (or each timepoint is its own input,
  ``--split-time``);
* an axis of length 1 is dropped, whatever it is; any other axis is refused, naming it.

:func:`value_scale` and :func:`scale_into`: integers are divided by their dtype's maximum or by
``2**bits - 1`` where metadata declares fewer significant bits; floats are kept as stored;
``--input-range LOW HIGH`` maps LOW..HIGH to 0..1 instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from stv_kernels.pixel_scale import PIXEL_DTYPES, pixel_values

from ..errors import InputError

F32 = np.float32

#: Axis letters tifffile uses for a generic sequence of pages (no metadata).
PAGE_SEQUENCE = "IQ"
#: At most this many channels are kept (grey, grey+alpha... RGBA).
MAX_CHANNELS = 4
#: Values converted at once where a conversion needs float64 temporaries.
_BLOCK = 2**20


@dataclass(frozen=True)
class Selection:
    """What to take from a stack whose axes hold more than one volume.

    ``timepoint``: the index along T (None: T must have length 1); ``channels``: indices along
    C (or S without C), at most 4 (None: all, at most 4); ``level``: the resolution level of a
    pyramid (OME-TIFF sub-resolutions, OME-Zarr multiscales), 0 the full resolution;
    ``value_range``: raw values (LOW, HIGH) mapped to (0, 1) instead of the dtype's scale.
    """

    timepoint: int | None = None
    channels: tuple[int, ...] | None = None
    level: int = 0
    value_range: tuple[float, float] | None = None


@dataclass(frozen=True)
class AxesPlan:
    """How a source's axes become (D, H, W, C).

    ``index`` has one entry per source axis: an int (the one index taken), or one of "Z", "Y",
    "X", "C" (the axis becomes that axis of the volume; "C" may appear twice, C then S, whose
    product is the channels). ``channels`` lists the channel indices kept along the channel
    axis (C if present, else S).
    """

    axes: str
    shape: tuple[int, ...]
    index: tuple
    depth: int
    height: int
    width: int
    channels: int
    channel_axis: str | None  # "C" or "S": the axis --channels selects on
    channel_pick: tuple[int, ...] | None  # indices kept along it (None: all)


def _describe(axes: str, shape) -> str:
    return ", ".join(f"{a}={n}" for a, n in zip(axes, shape, strict=True))


def plan_axes(axes: str, shape, selection: Selection, source: str) -> AxesPlan:
    """Decide how the axes of ``source`` map onto (D, H, W, C), or refuse naming the axes.

    ``axes`` are tifffile's letters (OME-Zarr names are mapped to them first), one per entry
    of ``shape``.
    """
    axes = axes.upper()
    shape = tuple(int(n) for n in shape)
    what = f"{source} has axes {axes} ({_describe(axes, shape)})"
    if "Y" not in axes or "X" not in axes:
        raise InputError(f"{what}: no Y and X axes, so no image to read")
    index: list = [None] * len(axes)
    depth_axis = "Z" if "Z" in axes else None
    if depth_axis is None:
        candidates = [a for a, n in zip(axes, shape, strict=True) if a in PAGE_SEQUENCE and n > 1]
        if len(candidates) > 1:
            raise InputError(f"{what}: more than one unnamed page axis; cannot tell which is depth")
        depth_axis = candidates[0] if candidates else None
    for k, (axis, n) in enumerate(zip(axes, shape, strict=True)):
        if axis in "YX":
            index[k] = axis
        elif axis == depth_axis:
            index[k] = "Z"
        elif axis == "T":
            if selection.timepoint is None:
                if n > 1:
                    raise InputError(
                        f"{what}: it holds {n} timepoints; choose one with --timepoint N "
                        f"(0..{n - 1}) or read each as its own input with --split-time"
                    )
                index[k] = 0
            else:
                if not 0 <= selection.timepoint < n:
                    raise InputError(
                        f"{what}: --timepoint {selection.timepoint} is outside 0..{n - 1}"
                    )
                index[k] = selection.timepoint
        elif axis in "CS":
            index[k] = "C"
        elif n == 1:
            index[k] = 0
        else:
            raise InputError(
                f"{what}: axis {axis} of length {n} is not one stv reads (Z is depth, C and S "
                "are channels, T is chosen with --timepoint; others must have length 1); "
                "select a single volume from the file first"
            )
    if selection.timepoint is not None and "T" not in axes:
        raise InputError(f"{what}: --timepoint was given but it has no T axis")
    sizes = dict(zip(axes, shape, strict=True))
    channel_axes = [a for a in axes if a in "CS" and sizes[a] > 1]
    channel_axis = channel_axes[0] if channel_axes else ("C" if "C" in axes else None)
    pick = selection.channels
    if pick is not None:
        if channel_axis is None:
            raise InputError(f"{what}: --channels was given but it has no C or S axis")
        if len(channel_axes) > 1:
            raise InputError(f"{what}: --channels cannot select from both C and S axes")
        count = sizes[channel_axis]
        bad = [c for c in pick if not 0 <= c < count]
        if bad:
            raise InputError(
                f"{what}: --channels {','.join(map(str, pick))} has indices outside "
                f"0..{count - 1} of axis {channel_axis}"
            )
    channels = math.prod(
        (len(pick) if (pick is not None and a == channel_axis) else sizes[a])
        for a in axes
        if a in "CS"
    )
    if channels > MAX_CHANNELS:
        raise InputError(
            f"{what}: {channels} channels, at most {MAX_CHANNELS} are kept; choose up to "
            f"{MAX_CHANNELS} of axis {channel_axis} with --channels, e.g. --channels 0,1,2"
        )
    depth = sizes[depth_axis] if depth_axis is not None else 1
    return AxesPlan(
        axes,
        shape,
        tuple(index),
        depth,
        sizes["Y"],
        sizes["X"],
        max(channels, 1),
        channel_axis,
        None if pick is None else tuple(int(c) for c in pick),
    )


def gather(block: np.ndarray, plan: AxesPlan, axes: str) -> np.ndarray:
    """A block of the source (``axes`` a sub-sequence of the plan's: those present in it) as
    (Z, Y, X, C) or (Y, X, C) when it holds no depth axis: selections taken, channels last."""
    keep, order = [], []
    take: list = []
    for axis, entry in zip(plan.axes, plan.index, strict=True):
        if axis not in axes:
            continue
        if isinstance(entry, int):
            take.append(entry)
        else:
            take.append(slice(None))
            keep.append((entry, axis))
    values = block[tuple(take)]
    if plan.channel_pick is not None and plan.channel_axis in axes:
        position = [axis for _, axis in keep].index(plan.channel_axis)
        values = np.take(values, plan.channel_pick, axis=position)
    names = [name for name, _ in keep]
    # Z, Y, X first, then every channel axis (C before S, as stored), merged into one
    order = [names.index(n) for n in ("Z", "Y", "X") if n in names]
    order += [k for k, n in enumerate(names) if n == "C"]
    values = np.transpose(values, order)
    spatial = sum(1 for n in names if n in "ZYX")
    values = values.reshape(*values.shape[:spatial], -1)
    return values


# ----------------------------------------------------------------------------- values


@dataclass(frozen=True)
class ValueScale:
    """How raw values become float32: ``(v - low) / (high - low)``; pixels by the exact rule."""

    low: float
    high: float
    exact_pixels: bool  # uint8/uint16 over 0..max: stv_kernels.pixel_scale's division

    def describe(self) -> str:
        if self.low == 0.0 and self.high == 1.0:
            return "as stored"
        return f"{self.low:g}..{self.high:g} -> 0..1"


def value_scale(dtype, selection: Selection, significant_bits: int | None = None) -> ValueScale:
    """The scale of a source dtype: integers by their maximum (or ``2**bits - 1``), floats and
    bools as stored, ``--input-range`` over both."""
    dtype = np.dtype(dtype)
    if selection.value_range is not None:
        low, high = (float(v) for v in selection.value_range)
        return ValueScale(low, high, False)
    if dtype.kind in "ui":
        top = float(np.iinfo(dtype).max)
        if significant_bits and 0 < significant_bits < dtype.itemsize * 8:
            top = float(2**significant_bits - 1)
        exact = dtype in PIXEL_DTYPES and top == float(np.iinfo(dtype).max)
        return ValueScale(0.0, top, exact)
    if dtype.kind in "fb":
        return ValueScale(0.0, 1.0, False)
    raise InputError(
        f"data of type {dtype} cannot be read as image values (use integers or floats)"
    )


def scale_into(values: np.ndarray, out: np.ndarray, scale: ValueScale) -> None:
    """Write raw ``values`` (same shape as ``out``, or broadcastable) into float32 ``out``; an
    integer ``out`` (a raw slab of pixels, for a streamed run) gets the values as they are."""
    if out.dtype != F32:
        np.copyto(out, values, casting="unsafe")
    elif scale.exact_pixels and values.dtype in PIXEL_DTYPES:
        pixel_values(values, out=out)
    elif scale.low == 0.0 and scale.high == 1.0:
        np.copyto(out, values, casting="unsafe")
    else:
        # (v - low) / span in float64, rounded once to float32; a block of rows at a time so
        # that the float64 temporaries stay small (~8 MiB), whatever the page's size
        span = scale.high - scale.low
        values = np.broadcast_to(values, out.shape)
        rows = max(1, _BLOCK // max(1, int(np.prod(out.shape[1:]))))
        for start in range(0, out.shape[0], rows):
            block = values[start : start + rows].astype(np.float64)
            block -= scale.low
            block /= span
            np.copyto(out[start : start + rows], block, casting="unsafe")


def kept_plan(plan: AxesPlan) -> AxesPlan:
    """The plan of a block read with every selected index kept as a length-1 axis."""
    return replace(plan, index=tuple(0 if isinstance(e, int) else e for e in plan.index))
