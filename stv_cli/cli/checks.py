"""The checks a command makes on its options before any work (usage errors, exit 2)."""

from __future__ import annotations

from pathlib import Path

import click

from .options import IMAGE_FORMATS


def check_output_mode(overwrite: bool, skip_existing: bool) -> None:
    """Refuse ``--overwrite`` together with ``--skip-existing`` (a usage error, exit 2)."""
    if overwrite and skip_existing:
        raise click.UsageError("--overwrite and --skip-existing exclude each other; pick one")


def resolve_output(out: str | Path, input_count: int, image_format: str | None) -> tuple[bool, str]:
    """Decide whether ``-o`` is a directory or a file; return (to_directory, format).

    ``-o`` is a directory when it exists as one, ends with a path separator, or has no
    extension; otherwise it is a file and its extension decides the format. With several
    inputs it must be a directory.
    """
    text, out = str(out), Path(out)
    is_dir = out.is_dir() or text.endswith(("/", "\\")) or out.suffix == ""
    if is_dir and out.exists() and not out.is_dir():
        raise click.BadParameter(
            f"{text!r} is an existing file, not a directory; give a directory, or an image "
            f"file name with one of the extensions {', '.join(IMAGE_FORMATS)}",
            param_hint="'-o' / '--output'",
        )
    if is_dir:
        return True, (image_format or "png").lower()
    if input_count > 1:
        raise click.BadParameter(
            f"with {input_count} inputs -o must be a directory, got the file name {text!r} "
            "(end it with / to use it as a directory)",
            param_hint="'-o' / '--output'",
        )
    ext = out.suffix.lower().lstrip(".")
    if ext not in IMAGE_FORMATS:
        raise click.BadParameter(
            f"cannot write images with extension {out.suffix!r}; use one of "
            f"{', '.join(IMAGE_FORMATS)}, or end it with / to make it a directory",
            param_hint="'-o' / '--output'",
        )
    if (
        image_format
        and image_format.lower() != ext
        and {image_format.lower(), ext}
        not in (
            {"tif", "tiff"},
            {"jpg", "jpeg"},
        )
    ):
        raise click.BadParameter(
            f"--format {image_format} contradicts the extension of {text!r}; "
            "drop --format or change the extension",
            param_hint="'--format'",
        )
    return False, ext


def check_bit_depth(bit_depth: int, image_format: str, param_hint: str = "'--bit-depth'") -> None:
    """16-bit images exist only as PNG and TIFF, float32 (32) ones only as TIFF."""
    if bit_depth == 16 and image_format not in ("png", "tif", "tiff"):
        raise click.BadParameter(
            f"16-bit images need png or tif, not {image_format}", param_hint=param_hint
        )
    if bit_depth == 32 and image_format not in ("tif", "tiff"):
        raise click.BadParameter(
            f"32-bit (float32) images need tif or tiff, not {image_format}; use a .tif "
            "output (or --format tif), or --bit-depth 8 or 16",
            param_hint=param_hint,
        )


def check_unique_names(inputs: list[Path], names: list[str]) -> None:
    """Two inputs that would write the same output names are a usage error."""
    seen: dict[str, Path] = {}
    for path, name in zip(inputs, names, strict=True):
        if name in seen:
            raise click.UsageError(
                f"inputs {str(seen[name])!r} and {str(path)!r} would both write outputs named "
                f"{name!r}; process them in separate runs or rename one"
            )
        seen[name] = path


def check_outputs_outside_inputs(inputs: list[Path], out: Path, to_directory: bool) -> None:
    """Refuse to write into a folder being read: the next run would take the outputs as slices."""
    folder = (out if to_directory else out.parent).resolve()
    for path in inputs:
        if Path(path).is_dir() and Path(path).resolve() == folder:
            raise click.BadParameter(
                f"{str(out)!r} would put the outputs inside the input folder {str(path)!r}, "
                "where the next run would read them as slices; write them to another folder",
                param_hint="'-o' / '--output'",
            )


def check_image_path(value: str, flag: str, bit_depth: int) -> None:
    """An image file named by an option (``--contact-sheet FILE``) needs an image extension."""
    ext = Path(value).suffix.lower().lstrip(".")
    if ext not in IMAGE_FORMATS:
        raise click.BadParameter(
            f"{value!r} needs an image extension ({', '.join(IMAGE_FORMATS)})",
            param_hint=f"'{flag}'",
        )
    check_bit_depth(bit_depth, ext, f"'{flag}'")
