"""Where the pipeline's outputs go and how they are written (no click in here).

Output naming (``name`` is a folder's name or a file's stem; ``EXT`` the image format):

==================  =========================  ==============================
output              -o DIR                     -o FILE.EXT (one input)
==================  =========================  ==============================
projection          DIR/name.EXT               FILE.EXT
slice grid          DIR/name_grid.EXT          FILE_grid.EXT
depth weights       DIR/name_weights.json      FILE_weights.json
weights bar chart   DIR/name_weights.png       FILE_weights.png
telemetry           DIR/name_telemetry.json    FILE_telemetry.json
refined volume      DIR/name_volume.VOL        FILE_volume.VOL
==================  =========================  ==============================

``VOL`` is ``--volume-format``: ``npy`` (default), ``zarr`` (a folder) or ``tif``.

``decode`` writes one image per latent, ``name_000.EXT``, ``name_001.EXT``, ... (``-o FILE``
with a single latent: ``FILE`` itself), and ``name_grid.EXT`` holds all of a file's latents.
Every writer here is atomic (a temporary file or folder beside the target, then a rename)
and refuses an existing output unless told it may replace it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..executors.batch import SkipInput

if TYPE_CHECKING:
    from ..io.metadata import PhysicalSize
    from .settings import GridSettings, OutputSettings

F32 = np.float32


def input_name(path: Path) -> str:
    """The name outputs of ``path`` are called after: a folder's name, a file's stem (a
    ``.zarr`` store's stem too); one timepoint of a stack (``movie.tif#t=3``) adds
    ``_t003``."""
    from ..io.inputs import split_timepoint, timepoint_suffix

    path, timepoint = split_timepoint(path)
    if timepoint is not None:
        return input_name(path) + timepoint_suffix(timepoint)
    if path.name in ("", ".", ".."):  # "." or "..": the folder's own name, not ".png"
        path = path.resolve()
    if path.is_dir() and path.suffix.lower() != ".zarr":
        return path.name
    return path.stem


#: The fields an ``-o`` template may use.
TEMPLATE_FIELDS = ("name", "stem", "parent", "index")


def resolve_template(template: str, path, index: int, count: int) -> str:
    """``-o`` for one input: ``{name}`` (what its outputs are called after: a folder's name, a
    file's stem, ``_t003`` for a timepoint), ``{stem}`` (the input's own stem), ``{parent}``
    (the name of the folder holding it), ``{index}`` (its position in the full input list,
    zero-padded to the list's width)."""
    from ..io.inputs import split_timepoint

    base, _ = split_timepoint(path)
    base = Path(base)
    width = max(1, len(str(max(count - 1, 0))))
    return template.format(
        name=input_name(path),
        stem=base.stem if base.suffix else base.name,
        parent=base.resolve().parent.name,
        index=f"{index:0{width}d}",
    )


_INDEX: list = [None, {}]  # the last ``indices`` seen and its dict (20,000 inputs: built once)


def _index_of(indices: tuple) -> dict:
    if _INDEX[0] is not indices:
        _INDEX[:] = [indices, dict(indices)]
    return _INDEX[1]


def resolved_output(output: OutputSettings, path) -> OutputSettings:
    """``output`` with its ``-o`` template resolved for the input ``path`` (a plain ``-o``:
    ``output`` itself). A resolved ``-o`` is a folder when it ends with ``/`` or has no
    extension, as a plain one is."""
    if output.template is None or path is None:
        return output
    indices = _index_of(output.indices)
    text = resolve_template(output.template, path, indices.get(str(path), 0), len(indices) or 1)
    is_dir = text.endswith(("/", "\\")) or Path(text).suffix == "" or Path(text).is_dir()
    return replace(output, out=Path(text), to_directory=is_dir, template=None)


def output_paths(output: OutputSettings, name: str, path=None) -> dict[str, Path]:
    """The files one input writes, by kind (see the module docstring for the naming); with
    an ``-o`` template, those of ``path``'s resolved ``-o``."""
    output = resolved_output(output, path)
    if output.to_directory:
        folder, stem, ext = output.out, name, "." + output.image_format
        image = folder / f"{stem}{ext}"
    else:
        image = output.out
        folder, stem, ext = image.parent, image.stem, image.suffix
    paths = {"image": image}
    extras = {
        "grid": (output.grid, f"_grid{ext}"),
        "weights": (output.weights, "_weights.json"),
        "weights_plot": (output.weights_plot, "_weights.png"),
        "telemetry": (output.telemetry, "_telemetry.json"),
        "volume": (output.save_volume, f"_volume.{output.volume_format}"),
    }
    for kind, (wanted, suffix) in extras.items():
        if wanted:
            paths[kind] = folder / f"{stem}{suffix}"
    return paths


def claim_outputs(paths: list[Path], output: OutputSettings) -> bool:
    """Skip (all exist, ``--skip-existing``) or refuse (one exists) before any work.

    Returns whether the input's files may be replaced: with ``--overwrite``, and with
    ``--skip-existing`` when only some exist (an interrupted input is redone whole).
    """
    from ..io.atomic import OutputExists

    existing = [p for p in paths if p.exists()]
    since = getattr(output, "batch_started", None)  # video outputs have none
    if since is not None and existing:
        # a batch whose inputs may run twice (a Dask worker lost after it published some
        # outputs): files this batch wrote are its own, done or to be replaced
        ours = [p for p in existing if p.stat().st_mtime >= since]
        if len(ours) == len(paths):
            raise SkipInput(paths, "written by an earlier attempt of this batch", status="ok")
        if len(ours) == len(existing):
            return True
    if output.skip_existing:
        if existing and len(existing) == len(paths):
            raise SkipInput(paths, "outputs exist (--skip-existing)")
        return True
    if existing and not output.overwrite:
        raise OutputExists(
            f"output {str(existing[0])!r} exists; pass --overwrite to replace it "
            "or --skip-existing to skip inputs already done"
        )
    return output.overwrite


def without_alpha(images: np.ndarray, path: Path) -> np.ndarray:
    """Drop the alpha channel, with a warning, when ``path`` is a JPEG or BMP file.

    Those formats hold no alpha. The library's writer refuses RGBA there; on the command line
    the user asked for that format, so stv does what image converters (ImageMagick, ffmpeg)
    do and keeps the colour.
    """
    import warnings

    suffix = Path(path).suffix.lower().lstrip(".")
    if images.shape[-1] != 4 or suffix not in ("jpg", "jpeg", "bmp"):
        return images
    warnings.warn(
        f"{str(path)!r}: {suffix.upper()} has no alpha channel; the alpha was dropped "
        "(write png, tif or webp to keep it)",
        stacklevel=3,
    )
    return images[..., :3]


def write_image(
    path: Path,
    image: np.ndarray,
    output: OutputSettings,
    replace: bool,
    *,
    physical: PhysicalSize | None = None,
) -> Path:
    """Write one float image, atomically: in [0, 1] quantised as SPEC Part G step 5 at 8 or
    16 bits, or its float32 values at 32 (TIFF); TIFF compressed as ``output.compression``
    says and, with ``physical`` (the size of a pixel), carrying the scale."""
    from ..io.image_write import save_array_image

    save_array_image(
        path,
        without_alpha(np.asarray(image), path),
        bit_depth=output.bit_depth,
        compress_level=output.compress_level,
        overwrite=replace,
        compression=output.compression,
        physical=physical,
    )
    return Path(path)


def write_grid(
    path,
    images,
    grid: GridSettings,
    output: OutputSettings,
    replace: bool,
    *,
    physical: PhysicalSize | None = None,
) -> Path:
    """Write the grid of ``images`` (B, H, W, C), atomically, as :func:`write_image` writes.

    ``physical`` is the size of one pixel of the cells (tiling does not rescale them); give
    it only when every cell has that scale, without a slice step that means nothing here.
    """
    from ..io.grid import save_image

    save_image(
        without_alpha(np.asarray(images), path),
        path,
        bit_depth=output.bit_depth,
        compress_level=output.compress_level,
        overwrite=replace,
        compression=output.compression,
        physical=physical,
        **grid.options(),
    )
    return Path(path)


def write_volume(
    path: Path,
    voxels: np.ndarray,
    output: OutputSettings,
    replace: bool,
    *,
    physical: PhysicalSize | None = None,
) -> Path:
    """Write the refined (D, H, W, C) volume as ``output.volume_format`` (npy, zarr, tif),
    atomically; zarr and tif carry ``physical`` (the voxel size), tif is compressed as
    ``output.compression`` says."""
    from ..io.volume_write import save_volume

    return save_volume(
        path,
        voxels,
        output.volume_format,
        physical=physical,
        compression=output.compression,
        overwrite=replace,
    )


def write_json(path: Path, data, replace: bool) -> Path:
    """Write ``data`` as JSON, atomically (NaN becomes null)."""
    from ..io.atomic import save_json

    return save_json(path, data, overwrite=replace)


def write_weights_plot(path: Path, weights: np.ndarray, replace: bool) -> Path:
    """Draw the depth weights as a bar chart (PNG) with Pillow, atomically."""
    from PIL import Image, ImageDraw

    from ..io.atomic import atomic_output

    values = np.nan_to_num(np.asarray(weights, dtype=np.float64), nan=0.0)
    count = max(values.size, 1)
    bar = max(2, min(24, 640 // count))
    margin, plot_h = 24, 160
    width, height = count * bar + 2 * margin, plot_h + 2 * margin
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    top = float(values.max()) if values.size and values.max() > 0 else 1.0
    for z, value in enumerate(values):
        h = int(round(plot_h * max(value, 0.0) / top))
        x0 = margin + z * bar
        draw.rectangle([x0, margin + plot_h - h, x0 + bar - 2, margin + plot_h], fill=(40, 90, 200))
    draw.line([margin, margin + plot_h, width - margin, margin + plot_h], fill="black")
    draw.text((margin, 4), f"depth weights (D = {values.size}, max {top:.4g})", fill="black")
    draw.text((margin, margin + plot_h + 6), "z = 0", fill="black")
    last = f"z = {values.size - 1}"
    draw.text((width - margin - 6 * len(last), margin + plot_h + 6), last, fill="black")
    with atomic_output(path, overwrite=replace) as tmp:
        image.save(tmp, format="PNG")
    return Path(path)


def decode_output_paths(
    output: OutputSettings, name: str, count: int, path=None
) -> dict[str, Path]:
    """The files of one latent file with ``count`` latents: ``image_000`` ..., then extras."""
    output = resolved_output(output, path)
    base = output_paths(output, name)
    image = base.pop("image")
    base.pop("volume", None)  # decode writes no volume
    if count == 1 and not output.to_directory:
        return {"image_000": image, **base}
    digits = max(3, len(str(count - 1)))
    paths = {
        f"image_{i:0{digits}d}": image.with_name(f"{image.stem}_{i:0{digits}d}{image.suffix}")
        for i in range(count)
    }
    return {**paths, **base}
