"""TIFF out, through tifffile: pictures and volumes, compressed, with their physical scale.

What every TIFF stv writes carries:

* **compression**: ``zlib`` (deflate) by default, or ``zstd``, ``lzw`` or ``none``; integer
  samples with the horizontal predictor (2), float32 samples with the floating-point
  predictor (3), except where ImageJ reads the file (see below);
* **the pixel size**, when the input declared one (:class:`~stv_cli.io.metadata.PhysicalSize`),
  as XResolution / YResolution, and ImageJ's or a JSON description:

  - where ImageJ's TIFF format holds the layout (8/16-bit and float32 grey, 8-bit RGB, and
    the float32 volume hyperstacks), as ImageJ writes it itself (``ij.io.TiffEncoder``):
    ``unit=um`` (the input's unit) and ``spacing=`` (the slice step) in the description, the
    resolution tags in pixels per that unit, RESOLUTIONUNIT centimetre or inch for those
    units and none for the others. Fiji, tifffile and Bio-Formats read the scale from that;
  - 16-bit RGB, RGBA and float RGB(A), which ImageJ does not take: the resolution tags in
    pixels per centimetre (RESOLUTIONUNIT centimetre) for a length unit stv knows, in pixels
    per unit (none) for pixels or an unknown unit, and ``{"physical": {...}}`` as tifffile's
    JSON description.

ImageJ's own reader (``ij.io.TiffDecoder``, 1.54) decodes the predictor 2 of integers but not
the floating-point predictor 3 (it logs "unsupported predictor value of 3" and returns
garbage), nor zstd. Float32 files in ImageJ's format are therefore compressed without a
predictor, so Fiji opens them; float RGB(A), which ImageJ cannot open anyway, keeps
predictor 3.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..errors import InvalidValue
from .metadata import CENTIMETRES, PhysicalSize

__all__ = [
    "DEFAULT_TIFF_COMPRESSION",
    "TIFF_COMPRESSIONS",
    "check_compression",
    "image_arguments",
    "physical_record",
    "write_tiff_image",
    "write_tiff_volume",
]

#: The compressions ``--compression`` offers (TIFF only), and the default.
TIFF_COMPRESSIONS = ("none", "zlib", "zstd", "lzw")
DEFAULT_TIFF_COMPRESSION = "zlib"

#: A classic (not Big-) TIFF holds 4 GiB; tifffile keeps 32 MiB for its tags. ImageJ's format
#: has no BigTIFF, so a larger volume is written as OME-TIFF (BigTIFF) instead.
IMAGEJ_MAX_BYTES = 2**32 - 2**25

#: RESOLUTIONUNIT ImageJ writes beside ``unit=``: these two, else none (1).
_IMAGEJ_RESOLUTION_UNITS = {"cm": "CENTIMETER", "inch": "INCH"}


def check_compression(compression: str | None) -> str:
    """The TIFF compression to use: ``compression`` checked, or the default (``zlib``).

    Raises
    ------
    InvalidValue
        If ``compression`` is not one of :data:`TIFF_COMPRESSIONS`.
    """
    if compression is None:
        return DEFAULT_TIFF_COMPRESSION
    name = str(compression).lower()
    if name not in TIFF_COMPRESSIONS:
        raise InvalidValue(
            f"compression must be one of {', '.join(TIFF_COMPRESSIONS)} (TIFF only), "
            f"got {compression!r}"
        )
    return name


def _codec(dtype: np.dtype, compression: str, imagej: bool) -> dict:
    """tifffile's ``compression`` and ``predictor`` for samples of ``dtype``."""
    if compression == "none":
        return {"compression": None, "predictor": None}
    if np.dtype(dtype).kind == "f":
        predictor = None if imagej else 3  # ImageJ reads no predictor 3 (module docstring)
    else:
        predictor = 2
    return {"compression": compression, "predictor": predictor}


def _size(value) -> float | None:
    """A usable size: finite and positive, else None (nothing to write)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) and number > 0 else None


def _physical_arguments(physical: PhysicalSize | None, imagej: bool, axes: str | None) -> dict:
    """tifffile's ``resolution``, ``resolutionunit`` and ``metadata`` for ``physical``.

    ImageJ's layouts follow ImageJ's own writer (``ij.io.TiffEncoder``): pixels per the unit
    the description names, RESOLUTIONUNIT centimetre or inch for those units, else none.
    The others get pixels per centimetre (RESOLUTIONUNIT centimetre) for a length unit stv
    knows, pixels per unit (none) otherwise, and the size as JSON in the description.
    """
    x, y, z = (_size(getattr(physical, k, None)) for k in ("x", "y", "z"))
    x, y = x or y, y or x  # one side known: square pixels
    unit = getattr(physical, "unit", None)
    if unit is not None and not unit.isascii():  # a TIFF description is ASCII
        unit = None
    args: dict = {}
    if imagej:
        metadata: dict = {} if axes is None else {"axes": axes}
        if unit is not None and (x is not None or z is not None):
            metadata["unit"] = unit
        if z is not None:
            metadata["spacing"] = z
        if x is not None:
            args["resolution"] = (1 / x, 1 / y)
            args["resolutionunit"] = _IMAGEJ_RESOLUTION_UNITS.get(unit, "NONE")
        return {"imagej": True, "metadata": metadata, **args}
    scale = CENTIMETRES.get(unit)  # cm per unit, or None for pixels / an unknown unit
    if x is not None:
        if scale is not None:
            args["resolution"] = (1 / (x * scale), 1 / (y * scale))
            args["resolutionunit"] = "CENTIMETER"
        else:
            args["resolution"] = (1 / x, 1 / y)
            args["resolutionunit"] = "NONE"
    record = physical_record(physical)
    args["metadata"] = None if record is None else {"physical": record}
    return args


def physical_record(physical: PhysicalSize | None) -> dict | None:
    """``physical.as_dict()`` with plain floats (JSON takes no NumPy float32), or None when
    no size is known: what TIFF descriptions and Zarr attributes hold."""
    if physical is None or not physical.known:
        return None
    return {k: v if isinstance(v, str) else float(v) for k, v in physical.as_dict().items()}


def image_arguments(
    pixels: np.ndarray, compression: str | None = None, physical: PhysicalSize | None = None
) -> dict:
    """Keyword arguments of ``tifffile.imwrite`` for one picture (see the module docstring).

    Parameters
    ----------
    pixels : numpy.ndarray
        (H, W) grey or (H, W, 3|4) RGB/RGBA; uint8, uint16 or float32.
    compression : str, optional
        One of :data:`TIFF_COMPRESSIONS`; default ``zlib``.
    physical : PhysicalSize, optional
        The size of a pixel; nothing is written about it when None.

    Returns
    -------
    dict
        photometric, extrasamples (RGBA: unassociated alpha), compression, predictor,
        resolution, resolutionunit, metadata and, for ImageJ's layouts, ``imagej=True``.
    """
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    imagej = channels == 1 or (channels == 3 and pixels.dtype == np.uint8)
    args = {"photometric": "minisblack" if channels == 1 else "rgb"}
    if channels == 4:
        args["extrasamples"] = ("unassalpha",)
    args.update(_codec(pixels.dtype, check_compression(compression), imagej))
    args.update(_physical_arguments(physical, imagej, None))
    return args


def write_tiff_image(
    file, pixels: np.ndarray, compression: str | None = None, physical: PhysicalSize | None = None
) -> None:
    """Encode one picture (:func:`image_arguments`) into a path or a binary file object.

    A file object that cannot seek (a pipe) gets the encoded bytes in one write.
    """
    import io

    import tifffile

    args = image_arguments(pixels, compression, physical)
    seekable = isinstance(file, (str, bytes)) or hasattr(file, "__fspath__")
    if not seekable:
        seekable = getattr(file, "seekable", lambda: False)()
    if seekable:
        tifffile.imwrite(file, pixels, **args)
        return
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, pixels, **args)
    file.write(buffer.getvalue())


def write_tiff_volume(
    path, voxels: np.ndarray, compression: str | None = None, physical: PhysicalSize | None = None
) -> None:
    """Write a float32 (D, H, W, C) volume as one TIFF: an ImageJ hyperstack, compressed.

    One channel is written as ZYX (D pages), several as ZCYX (the channels become ImageJ's
    channels, D*C pages), with the pixel size and the slice step (``spacing``) as for a
    picture. A volume over :data:`IMAGEJ_MAX_BYTES` (ImageJ's format has no BigTIFF) is
    written as an OME-TIFF BigTIFF instead, its sizes in OME's PhysicalSizeX/Y/Z, with a
    warning.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (the caller makes it atomic).
    voxels : numpy.ndarray
        (D, H, W, C), written as float32.
    compression : str, optional
        One of :data:`TIFF_COMPRESSIONS`; default ``zlib``.
    physical : PhysicalSize, optional
        The voxel size.
    """
    import tifffile

    values = np.asarray(voxels, dtype=np.float32)
    depth, height, width, channels = values.shape
    if channels == 1:
        data, axes = values[..., 0], "ZYX"
    else:
        data, axes = np.moveaxis(values, 3, 1), "ZCYX"
    name = check_compression(compression)
    if data.nbytes <= IMAGEJ_MAX_BYTES:
        args = {"photometric": "minisblack", **_codec(data.dtype, name, True)}
        args.update(_physical_arguments(physical, True, axes))
        tifffile.imwrite(path, data, **args)
        return
    warnings.warn(
        f"{str(path)!r}: the volume ({data.nbytes} bytes) is too large for ImageJ's TIFF "
        "format; it is written as an OME-TIFF (BigTIFF), which Fiji opens with Bio-Formats",
        stacklevel=2,
    )
    metadata = {"axes": axes, **_ome_sizes(physical)}
    args = {"photometric": "minisblack", **_codec(data.dtype, name, False)}
    tifffile.imwrite(path, data, bigtiff=True, ome=True, metadata=metadata, **args)


def _ome_sizes(physical: PhysicalSize | None) -> dict:
    """OME's PhysicalSizeX/Y/Z and their units (lengths stv knows only)."""
    unit = getattr(physical, "unit", None)
    if unit not in CENTIMETRES:
        return {}
    ome_unit = {"um": "µm", "inch": "in"}.get(unit, unit)
    sizes = {}
    for key in ("x", "y", "z"):
        value = _size(getattr(physical, key, None))
        if value is not None:
            sizes[f"PhysicalSize{key.upper()}"] = value
            sizes[f"PhysicalSize{key.upper()}Unit"] = ome_unit
    return sizes
