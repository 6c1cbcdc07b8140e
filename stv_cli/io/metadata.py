"""Physical metadata of a stack: the size of a voxel and its unit, read and written.

Microscopy stacks carry the size of a pixel (and the step between slices) in their metadata:
TIFF resolution tags, ImageJ's description (``unit=micron``, ``spacing=0.5``), OME-XML
(``PhysicalSizeX``...), OME-Zarr's ``scale`` transformations and axis units. stv reads it
with the stack (:class:`PhysicalSize`, in :class:`stv_cli.io.probe.VolumeInfo`), follows it
through the refinement (an upscale by f divides the pixel size by f; each interpolation pass
halves the slice step) and writes it into TIFF outputs, so a projection keeps its scale bar.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

#: Units as OME and ImageJ spell them -> the spelling written (OME's, ASCII "um" for micron).
_UNITS = {
    "micron": "um",
    "microns": "um",
    "micrometer": "um",
    "micrometre": "um",
    "µm": "um",
    "\u03bcm": "um",
    "um": "um",
    "nm": "nm",
    "nanometer": "nm",
    "nanometre": "nm",
    "mm": "mm",
    "millimeter": "mm",
    "millimetre": "mm",
    "cm": "cm",
    "centimeter": "cm",
    "centimetre": "cm",
    "m": "m",
    "meter": "m",
    "metre": "m",
    "inch": "inch",
    "in": "inch",
    "pixel": "pixel",
    "px": "pixel",
}

#: Length of one unit in centimetres (TIFF's RESOLUTIONUNIT is inch or centimetre).
CENTIMETRES = {"nm": 1e-7, "um": 1e-4, "mm": 0.1, "cm": 1.0, "m": 100.0, "inch": 2.54}


def normalise_unit(unit: str | None) -> str | None:
    """A unit as stv writes it (``micron`` -> ``um``), or None when unknown or empty."""
    if unit is None:
        return None
    text = str(unit).strip()
    if not text:
        return None
    return _UNITS.get(text.lower(), _UNITS.get(text, text))


@dataclass(frozen=True)
class PhysicalSize:
    """The size of one voxel: ``x`` and ``y`` (a pixel's width and height) and ``z`` (the step
    between slices), in ``unit``; any may be None when the file does not say."""

    x: float | None = None
    y: float | None = None
    z: float | None = None
    unit: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "unit", normalise_unit(self.unit))

    @classmethod
    def from_record(cls, record) -> PhysicalSize | None:
        """The size :meth:`as_dict` wrote (stv's saved volumes and TIFF descriptions: ``{"x":
        0.2, "unit": "um", ...}``), or None for anything else."""
        if not isinstance(record, dict):
            return None
        try:
            sizes = [None if record.get(k) is None else float(record[k]) for k in ("x", "y", "z")]
        except (TypeError, ValueError):
            return None
        size = cls(*sizes, record.get("unit"))
        return size if size.known else None

    @property
    def known(self) -> bool:
        """Whether any size is known."""
        return any(v is not None for v in (self.x, self.y, self.z))

    def refined(self, upscale: int = 1, passes: int = 0) -> PhysicalSize:
        """The voxel after refinement: an upscale by ``upscale`` divides x and y by it, each of
        ``passes`` interpolation passes halves z (D slices become 2D - 1 over the same span)."""
        return replace(
            self,
            x=None if self.x is None else self.x / upscale,
            y=None if self.y is None else self.y / upscale,
            z=None if self.z is None else self.z / 2**passes,
        )

    def as_dict(self) -> dict:
        """JSON-ready, for reports: the sizes known and the unit."""
        return {k: v for k, v in vars(self).items() if v is not None}
