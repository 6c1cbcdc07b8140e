"""Volumes out: a (D, H, W, C) float32 volume as .npy, a Zarr store or a TIFF hyperstack.

``stv project --save-volume`` writes the refined volume with :func:`save_volume`, in the
format ``--volume-format`` names:

* ``npy``: NumPy's format, the array as it is (no metadata);
* ``zarr``: a Zarr array (format 3 with zarr >= 3, else 2) at the store's root, chunked one
  slice per chunk in tiles of at most 512 x 512 pixels, compressed with zarr's default
  codecs (zstd for format 3), with attributes ``{"axes": "ZYXC", "physical": {...}}`` and,
  for format 3, the dimension names z, y, x, c. It is not an OME-Zarr image: OME-NGFF puts
  channels before the spatial axes and the arrays below a group, while this store keeps
  stv's channels-last layout so that ``zarr.open_array(path)[:]`` is the ``.npy``'s array;
* ``tif``: a float32 ImageJ hyperstack, compressed (:func:`stv_cli.io.tiff_write.
  write_tiff_volume`), with the voxel size in the resolution tags and ImageJ's unit and
  spacing.

Every format is written atomically (a file, or for Zarr a folder, beside the target, then
renamed) and an existing output is replaced only when asked.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InvalidDimensions, InvalidValue
from .atomic import OutputExists, atomic_directory, atomic_output, save_npy
from .metadata import PhysicalSize
from .tiff_write import check_compression, physical_record, write_tiff_volume

__all__ = ["VOLUME_FORMATS", "resolve_volume_format", "save_volume", "save_zarr_volume"]

#: The formats :func:`save_volume` writes, by name (``--volume-format``).
VOLUME_FORMATS = ("npy", "zarr", "tif")
_SUFFIXES = {".npy": "npy", ".zarr": "zarr", ".tif": "tif", ".tiff": "tif"}

#: Largest chunk side in Y and X: a chunk is one slice, in tiles of at most this size.
ZARR_TILE = 512

#: The axes of a saved volume, as Zarr attributes and TIFF axes name them.
AXES = "ZYXC"


def resolve_volume_format(path, volume_format: str | None = None) -> str:
    """The format to write: ``volume_format`` when given, else the extension of ``path``.

    Raises
    ------
    InvalidValue
        If neither names one of :data:`VOLUME_FORMATS`.
    """
    choices = ", ".join(VOLUME_FORMATS)
    if volume_format is not None:
        name = str(volume_format).lower().lstrip(".")
        name = "tif" if name == "tiff" else name
        if name not in VOLUME_FORMATS:
            raise InvalidValue(f"volume_format must be one of {choices}, got {volume_format!r}")
        return name
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise InvalidValue(
            f"volume {str(path)!r} has extension {suffix!r}; use .npy, .zarr or .tif, "
            "or pass volume_format="
        )
    return _SUFFIXES[suffix]


def _checked_volume(voxels) -> np.ndarray:
    values = np.asarray(voxels)
    if values.ndim != 4 or 0 in values.shape:
        raise InvalidDimensions(
            f"a volume must be (D, H, W, C) with every size >= 1, got shape {values.shape}"
        )
    return values


def save_volume(
    path: str | os.PathLike,
    voxels,
    volume_format: str | None = None,
    *,
    physical: PhysicalSize | None = None,
    compression: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a (D, H, W, C) volume as .npy, Zarr or TIFF (see the module docstring).

    Parameters
    ----------
    path : str or os.PathLike
        The file (npy, tif) or folder (zarr) to write, exactly as named.
    voxels : array_like
        (D, H, W, C). npy keeps its dtype; zarr and tif write float32.
    volume_format : {None, 'npy', 'zarr', 'tif'}
        Default: from the extension of ``path`` (.npy, .zarr, .tif/.tiff).
    physical : PhysicalSize, optional
        The voxel size, written into Zarr attributes and TIFF tags; npy has no place for it.
    compression : {None, 'none', 'zlib', 'zstd', 'lzw'}
        TIFF's compression (default zlib); ignored by npy and zarr.
    overwrite : bool
        Replace an existing output; otherwise :class:`~stv_cli.io.atomic.OutputExists`.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InvalidValue
        Unknown format or compression.
    InvalidDimensions
        ``voxels`` is not (D, H, W, C).
    OutputExists
        The output exists and ``overwrite`` is False, or it is a folder that is not a Zarr
        store (never removed).
    """
    name = resolve_volume_format(path, volume_format)
    values = _checked_volume(voxels)
    compression = check_compression(compression)
    target = Path(path)
    if name == "npy":
        return save_npy(target, values, overwrite=overwrite)
    if name == "zarr":
        return save_zarr_volume(target, values, physical=physical, overwrite=overwrite)
    with atomic_output(target, overwrite=overwrite) as tmp:
        write_tiff_volume(tmp, values, compression, physical)
    return target


def _is_zarr_store(folder: Path) -> bool:
    return any((folder / name).is_file() for name in ("zarr.json", ".zarray", ".zgroup"))


def save_zarr_volume(
    path: str | os.PathLike,
    voxels,
    *,
    physical: PhysicalSize | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a (D, H, W, C) volume as a float32 Zarr array, atomically.

    The array is the store's root, chunked (1, min(H, 512), min(W, 512), C), compressed with
    zarr's default codecs, with the attributes ``axes`` (``"ZYXC"``) and ``physical`` (the
    voxel size, when known). The store is written into a hidden folder beside ``path``,
    then renamed; a failure removes it.

    Raises
    ------
    OutputExists
        ``path`` exists and ``overwrite`` is False; or it is a file, or a folder that is not
        a Zarr store (stv does not delete folders it did not write).
    """
    import zarr

    values = np.asarray(_checked_volume(voxels), dtype=np.float32)
    target = Path(path)
    if overwrite and target.is_dir() and not _is_zarr_store(target):
        raise OutputExists(
            f"output {str(target)!r} is a folder but not a Zarr store; stv replaces only "
            "stores it could have written: remove it or choose another output"
        )
    depth, height, width, channels = values.shape
    chunks = (1, min(height, ZARR_TILE), min(width, ZARR_TILE), channels)
    attributes: dict = {"axes": AXES}
    record = physical_record(physical)
    if record is not None:
        attributes["physical"] = record
    version3 = int(zarr.__version__.split(".")[0]) >= 3
    with atomic_directory(target, overwrite=overwrite) as tmp:
        options = {"shape": values.shape, "chunks": chunks, "dtype": "float32"}
        if version3:
            options.update(
                zarr_format=3, dimension_names=tuple(AXES.lower()), attributes=attributes
            )
        array = zarr.open_array(store=str(tmp), mode="w", **options)
        if not version3:
            array.attrs.update(attributes)
        array[...] = values
    return target
