"""Zarr v2/v3 arrays and OME-Zarr (NGFF) images as stacks, read chunk by chunk.

An input ending in ``.zarr`` (or any folder holding ``.zarray``, ``.zgroup`` or
``zarr.json``) is opened with the ``zarr`` package:

* an OME-Zarr image (a group whose attributes hold ``multiscales``, NGFF 0.4, or
  ``ome.multiscales``, 0.5): the axes are named by its metadata (t, c, z, y, x), ``--level``
  picks the resolution level (0, the full resolution, by default), and the ``scale``
  transformation and axis units give the voxel size;
* a plain array: axes from xarray's ``_ARRAY_DIMENSIONS`` when present, else as a ``.npy``
  is read: (Y, X), (Z, Y, X) or (Z, Y, X, C) with C <= 4;
* a plain group holding exactly one array: that array.

The axes become (D, H, W, C) by the rule TIFF stacks follow (:func:`stv_cli.io.axes.plan_axes`)
and values are scaled the same way. Slices are read a chunk row at a time, so the memory held
besides the volume is one chunk's depth of raw values per thread.
"""

from __future__ import annotations

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

#: NGFF axis names -> the letters the axes rule uses.
_NAMES = {"t": "T", "time": "T", "c": "C", "channel": "C", "z": "Z", "y": "Y", "x": "X"}


@dataclass(frozen=True)
class ZarrPlan:
    """How to read a store: the array's path inside it, the axes plan and the value scale."""

    array_path: str
    plan: AxesPlan
    dtype: np.dtype
    scale: ValueScale
    chunk_depth: int
    physical: PhysicalSize | None
    description: str  # what was found, for messages and reports


def is_zarr(path: Path) -> bool:
    """Whether ``path`` is a Zarr store (a ``.zarr`` folder, or one with Zarr metadata)."""
    if not path.is_dir():
        return False
    return path.suffix.lower() == ".zarr" or any(
        (path / name).exists() for name in (".zarray", ".zgroup", "zarr.json")
    )


def _zarr():
    try:
        import zarr
    except ImportError:  # pragma: no cover - zarr is a dependency
        raise InputError(
            "reading Zarr stores needs the zarr package: pip install 'zarr>=2.18'"
        ) from None
    return zarr


def _open(path: Path):
    zarr = _zarr()
    try:
        return zarr.open(str(path), mode="r")
    except Exception as err:  # noqa: BLE001 - zarr raises many kinds for a broken store
        raise InputError(f"cannot open {str(path)!r} as a Zarr store: {err}") from None


def _letters(names: list[str]) -> str:
    letters = []
    for name in names:
        letter = _NAMES.get(str(name).lower())
        if letter is None:  # another axis: named by its first letter, never one of ours
            letter = next(
                (c for c in str(name).upper() if c.isalpha() and c not in "TZCYXSIQ"), "A"
            )
        letters.append(letter)
    return "".join(letters)


def _multiscales(attrs: dict) -> dict | None:
    ome = attrs.get("ome")
    found = (ome or {}).get("multiscales") if isinstance(ome, dict) else None
    found = found or attrs.get("multiscales")
    return found[0] if isinstance(found, list) and found else None


def probe_zarr(path: Path, selection: Selection) -> ZarrPlan:
    """Read a store's metadata and decide how it becomes a volume (no chunk is read)."""
    array, array_path, axes, physical, description = locate(path, selection.level)
    plan = plan_axes(axes, array.shape, selection, repr(str(path)))
    depth_position = [k for k, entry in enumerate(plan.index) if entry == "Z"]
    chunk_depth = int(array.chunks[depth_position[0]]) if depth_position else 1
    return ZarrPlan(
        array_path,
        plan,
        np.dtype(array.dtype),
        value_scale(array.dtype, selection),
        max(1, chunk_depth),
        physical,
        description,
    )


def locate(path: Path, level: int = 0):
    """``(array, its path in the store, axes letters, PhysicalSize or None, description)``
    of the image a store holds at ``level`` (metadata only)."""
    zarr = _zarr()
    node = _open(path)
    source = repr(str(path))
    physical = None
    if isinstance(node, zarr.Group):
        attrs = dict(node.attrs)
        multiscales = _multiscales(attrs)
        if multiscales is not None:
            datasets = multiscales.get("datasets") or []
            if not 0 <= level < len(datasets):
                raise InputError(
                    f"{source}: --level {level} is outside 0..{len(datasets) - 1} "
                    "(the multiscale levels of this OME-Zarr image)"
                )
            dataset = datasets[level]
            array_path = str(dataset["path"])
            axes_meta = multiscales.get("axes") or []
            names = [a["name"] if isinstance(a, dict) else str(a) for a in axes_meta]
            array = _child(node, array_path, source)
            if len(names) != array.ndim:
                raise InputError(
                    f"{source}: its multiscales name {len(names)} axes but level "
                    f"{level} has {array.ndim}"
                )
            axes = _letters(names)
            physical = _ngff_physical(axes_meta, dataset, axes)
            description = f"OME-Zarr level {level} ({array_path})"
        else:
            arrays = [name for name, _ in node.arrays()]
            if len(arrays) != 1:
                listed = ", ".join(sorted(arrays)[:8]) or "none"
                raise InputError(
                    f"{source} is a Zarr group without OME multiscales metadata holding "
                    f"{len(arrays)} arrays ({listed}); give the array itself as the input, "
                    f"e.g. {str(path / (sorted(arrays)[0] if arrays else 'array'))}"
                )
            array_path = arrays[0]
            array = _child(node, array_path, source)
            axes = _plain_axes(array, source)
            description = f"Zarr array {array_path}"
        if level and multiscales is None:
            raise InputError(f"{source}: --level needs an OME-Zarr multiscale image")
    else:
        array, array_path = node, ""
        if level:
            raise InputError(f"{source}: --level needs an OME-Zarr multiscale image")
        axes = _plain_axes(array, source)
        description = "Zarr array"
    if physical is None:
        physical = PhysicalSize.from_record(array.attrs.get("physical"))
    return array, array_path, axes, physical, description


def _child(group, name: str, source: str):
    try:
        return group[name]
    except KeyError:
        raise InputError(f"{source}: its metadata names array {name!r}, which is missing") from None


def _plain_axes(array, source: str) -> str:
    names = array.attrs.get("_ARRAY_DIMENSIONS")
    if isinstance(names, list) and len(names) == array.ndim:
        return _letters(names)
    axes = array.attrs.get("axes")  # stv's own --save-volume --volume-format zarr: "ZYXC"
    if isinstance(axes, str) and len(axes) == array.ndim and axes.isalpha():
        return axes.upper()
    shape = tuple(array.shape)
    if array.ndim == 2:
        return "YX"
    if array.ndim == 3:
        return "ZYX"
    if array.ndim == 4 and 1 <= shape[3] <= 4:
        return "ZYXC"
    raise InputError(
        f"{source} is a Zarr array of shape {shape} without axis names; stv reads (Y, X), "
        "(Z, Y, X) or (Z, Y, X, C) with C <= 4, or axes named by OME-Zarr metadata or "
        "xarray's _ARRAY_DIMENSIONS"
    )


def _ngff_physical(axes_meta: list, dataset: dict, axes: str) -> PhysicalSize | None:
    scale = None
    for transform in dataset.get("coordinateTransformations") or []:
        if transform.get("type") == "scale":
            scale = transform.get("scale")
    if not scale or len(scale) != len(axes):
        return None
    sizes = dict(zip(axes, scale, strict=True))
    unit = None
    for meta, letter in zip(axes_meta, axes, strict=True):
        if letter in "XY" and isinstance(meta, dict) and meta.get("unit"):
            unit = meta["unit"]
    size = PhysicalSize(
        float(sizes["X"]) if "X" in sizes else None,
        float(sizes["Y"]) if "Y" in sizes else None,
        float(sizes["Z"]) if "Z" in sizes else None,
        unit,
    )
    return size if size.known else None


def read_zarr(
    path: Path,
    plan: ZarrPlan,
    out: np.ndarray,
    threads: int,
    tick: Callable[[int], object],
    run: Callable,
    first: int = 0,
) -> None:
    """Read the planned array into the float32 (D, H, W, C) ``out``, a chunk row at a time:
    slices ``first .. first + len(out) - 1`` (all of them by default)."""
    node = _open(path)
    array = node[plan.array_path] if plan.array_path else node
    axes_plan = plan.plan
    depth = out.shape[0]

    def read(blocks: list[range], report) -> None:
        for zs in blocks:
            key = []
            for entry in axes_plan.index:
                if isinstance(entry, int):
                    key.append(slice(entry, entry + 1))
                elif entry == "Z":
                    key.append(slice(first + zs.start, first + zs.stop))
                else:
                    key.append(slice(None))
            try:
                block = np.asarray(array[tuple(key)])
            except Exception as err:  # noqa: BLE001 - a codec's or a store's error
                raise InputError(
                    f"cannot read slices {zs.start}..{zs.stop - 1} of {str(path)!r}: {err}"
                ) from None
            values = gather(block, kept_plan(axes_plan), axes_plan.axes)
            if "Z" not in axes_plan.index:
                values = values[np.newaxis]
            scale_into(values, out[zs.start : zs.stop], plan.scale)
            report(len(zs))

    # blocks aligned to the store's chunks along Z (counted in the whole array)
    step = plan.chunk_depth
    edges = sorted({0, depth, *(c - first for c in range(0, first + depth, step) if c > first)})
    blocks = [range(a, b) for a, b in zip(edges, edges[1:], strict=False) if b > a]
    groups = [blocks[k::threads] for k in range(min(threads, len(blocks)))]
    run([(read, (group,)) for group in groups], threads, tick)
