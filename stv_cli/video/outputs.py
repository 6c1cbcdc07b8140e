"""Where a clip's outputs go, and how they are published only when the clip succeeded.

``plan_outputs`` names them (see :mod:`stv_cli.video.clip`); ``open_temporaries`` gives every
output a temporary path beside its target, published together when the clip is done;
``atomic_folder`` does that for a folder of frames.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

from ..io.atomic import OutputExists, atomic_output
from ..io.video_writer import CODEC_SUFFIX
from ..pipeline.outputs import input_name
from .settings import VideoOutputSettings

# The umask can only be read by setting it: read it once, at import, before any thread runs.
_UMASK = os.umask(0)
os.umask(_UMASK)


def video_suffix(codec: str) -> str:
    """The container of a codec's output when ``-o`` is a directory."""
    return CODEC_SUFFIX.get(codec, ".mp4")


def plan_outputs(path: Path, out: VideoOutputSettings) -> dict[str, Path]:
    """The files (and frames folder) one clip writes, by kind; see the module docstring."""
    name = input_name(Path(path))
    if out.to_directory:
        paths = {"video": out.out / f"{name}{video_suffix(out.codec)}"}
    else:
        paths = {"video": out.out}
    for kind in ("frames", "contact_sheet", "long_exposure", "telemetry"):
        template = getattr(out, kind)
        if template:
            paths[kind] = Path(template.replace("{name}", name))
    return paths


_FRAME_FILE = re.compile(r"^\d{6}\.[A-Za-z]+$")


@contextlib.contextmanager
def atomic_folder(target: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a hidden temporary folder beside ``target``; rename it onto ``target`` on success.

    An existing ``target`` is refused unless ``overwrite``, and even then only replaced when it
    holds nothing but frame files (``000123.png``...), so a mistyped path never costs a folder
    of someone's files. On any exception the temporary folder is removed.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield temp
        if target.exists():
            if not overwrite:
                raise OutputExists(f"output {str(target)!r} exists; pass --overwrite to replace it")
            foreign = [p.name for p in target.iterdir() if not _FRAME_FILE.match(p.name)]
            if not target.is_dir() or foreign:
                raise OutputExists(
                    f"refusing to replace {str(target)!r}: it is not a folder of frame files "
                    f"(holds {foreign[:3]})"
                )
            shutil.rmtree(target)
        os.chmod(temp, 0o777 & ~_UMASK)  # mkdtemp makes it owner-only
        os.replace(temp, target)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def open_temporaries(stack: ExitStack, paths: dict[str, Path], replace: bool) -> dict:
    """Temporary paths for every output, published together when the block succeeds."""
    temp = {}
    for kind, target in paths.items():
        if kind == "frames":
            temp[kind] = stack.enter_context(atomic_folder(target, replace))
        else:
            temp[kind] = stack.enter_context(atomic_output(target, overwrite=replace))
    return temp
