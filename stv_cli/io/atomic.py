"""Atomic output files: write to a temporary file beside the target, then rename.

A reader never sees half a file, an interrupted run (an exception, Ctrl-C) leaves no debris,
and an existing file is never replaced unless the caller asks (docs/architecture.md: outputs).
:func:`atomic_directory` does the same for outputs that are folders (a Zarr store).

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "out" / "a.txt"
>>> with atomic_output(target) as tmp:
...     _ = tmp.write_text("hello")
>>> target.read_text()
'hello'
"""

from __future__ import annotations

import contextlib
import glob
import json
import math
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import StvError

__all__ = ["OutputExists", "atomic_directory", "atomic_output", "save_npy", "save_json"]

# mkstemp creates files readable by the owner only; give the finished file the permissions an
# ordinary open() would. The umask can only be read by setting it, so read it once, at import.
_UMASK = os.umask(0)
os.umask(_UMASK)


class OutputExists(StvError, FileExistsError):
    """The output file exists and overwriting was not asked for."""


def _refuse_existing(target: Path, overwrite: bool) -> None:
    if target.is_dir():
        raise OutputExists(f"output {str(target)!r} is a directory, not a file")
    if target.exists() and not overwrite:
        raise OutputExists(
            f"output {str(target)!r} exists; pass overwrite=True (--overwrite) to replace it"
        )


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not possible on every platform (e.g. Windows); the rename still happened
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp: Path, target: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, target)
        return
    # Without overwrite, a hard link is an atomic "rename unless the target exists", so a file
    # created by someone else since our first check is not clobbered.
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise OutputExists(
            f"output {str(target)!r} appeared while it was being written; it was left unchanged"
        ) from None
    except OSError:  # file systems without hard links: check, then rename
        _refuse_existing(target, overwrite)
        os.replace(tmp, target)
        return
    tmp.unlink()


@contextlib.contextmanager
def atomic_output(
    path: str | os.PathLike, overwrite: bool = False, fsync: bool = False
) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` when the block succeeds.

    Parameters
    ----------
    path : str or os.PathLike
        The file to produce. Missing parent folders are created.
    overwrite : bool
        Replace an existing ``path``. Without it an existing file raises
        :class:`OutputExists` before the block runs (and again if one appears meanwhile).
    fsync : bool
        Flush the file and its folder to disk before returning (slower; for crash safety).

    Yields
    ------
    pathlib.Path
        ``<folder>/.<name>.tmp-<host>~<pid>-XXXXXXXX<ext>``: hidden, in the same folder (so
        the rename is atomic) and with the target's extension (so writers such as Pillow pick
        the format). The block writes it; on any exception, KeyboardInterrupt included, it is
        removed. A process killed while writing (a Dask worker lost mid-input) leaves its
        temporary file behind: the next write of the same target on the same host removes
        those whose process no longer runs.
    """
    target = Path(path)
    _refuse_existing(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(target)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.stem}.tmp-{_WRITER}-", suffix=target.suffix, dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if not tmp.exists():
            raise StvError(f"nothing was written to the temporary file for {str(target)!r}")
        os.chmod(tmp, 0o666 & ~_UMASK)
        if fsync:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        _publish(tmp, target, overwrite)
        if fsync:
            _fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


#: Who writes a temporary file: this host and process (a name part without "-" or ".").
_WRITER = f"{socket.gethostname().replace('-', '_').replace('.', '_')}~{os.getpid()}"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host. A killed process that its parent has not
    yet reaped (a zombie: a Dask worker just lost) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _remove_orphans(target: Path) -> None:
    """Remove temporary files of ``target`` left by processes of this host that are gone."""
    host = _WRITER.split("~")[0]
    for orphan in target.parent.glob(f".{glob.escape(target.stem)}.tmp-{host}~*"):
        pid_text = orphan.name[len(f".{target.stem}.tmp-{host}~") :].split("-", 1)[0]
        try:
            alive = _alive(int(pid_text))
        except ValueError:
            continue
        if not alive:  # its writer is gone: the file will never be published
            with contextlib.suppress(OSError):
                shutil.rmtree(orphan) if orphan.is_dir() else orphan.unlink()


def _refuse_existing_directory(target: Path, overwrite: bool) -> None:
    if target.exists() and not target.is_dir():
        raise OutputExists(f"output {str(target)!r} is a file, not a directory")
    if target.exists() and not overwrite:
        raise OutputExists(
            f"output {str(target)!r} exists; pass overwrite=True (--overwrite) to replace it"
        )


def _publish_directory(tmp: Path, target: Path, overwrite: bool) -> None:
    """Move the finished folder ``tmp`` onto ``target``.

    A folder cannot be renamed over a folder that holds files, so an existing ``target`` is
    first renamed aside, then removed once the new one is in place (put back if the move
    fails): a reader sees the old folder or the new one, never a mixture, and at worst, for a
    moment, neither. Without ``overwrite`` the name is claimed by creating it (fails if
    anything appeared meanwhile), and the rename replaces that empty folder.
    """
    if not overwrite:
        try:
            os.mkdir(target)
        except FileExistsError:
            raise OutputExists(
                f"output {str(target)!r} appeared while it was being written; it was left unchanged"
            ) from None
        try:
            try:
                os.replace(tmp, target)  # POSIX replaces the empty folder just made
            except OSError:  # platforms that do not (Windows): remove it, then rename
                os.rmdir(target)
                os.rename(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):  # give the claimed name back (if still empty)
                os.rmdir(target)
            raise
        return
    _refuse_existing_directory(target, overwrite)
    if not target.exists():
        os.replace(tmp, target)
        return
    old = target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
    os.rename(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; move it onto ``path`` when the block succeeds.

    The folder variant of :func:`atomic_output`, for outputs that are directories (a Zarr
    store): a reader never sees a half-written store and a failure leaves nothing behind.

    Parameters
    ----------
    path : str or os.PathLike
        The folder to produce. Missing parent folders are created.
    overwrite : bool
        Replace an existing folder ``path`` (its old content is removed once the new one is in
        place). Without it an existing ``path`` raises :class:`OutputExists` before the block
        runs (and again if one appears meanwhile). A file at ``path`` is always refused.

    Yields
    ------
    pathlib.Path
        ``<folder>/.<name>.tmp-XXXXXXXX<ext>``: an empty hidden folder in the same folder (so
        the rename is atomic). The block fills it; on any exception, KeyboardInterrupt
        included, it is removed with everything in it.
    """
    target = Path(path)
    _refuse_existing_directory(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(target)
    tmp = Path(
        tempfile.mkdtemp(
            prefix=f".{target.stem}.tmp-{_WRITER}-", suffix=target.suffix, dir=target.parent
        )
    )
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp makes it owner-only, as mkdir would not
        _publish_directory(tmp, target, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def save_npy(path: str | os.PathLike, array, overwrite: bool = False) -> Path:
    """Write ``array`` as a .npy file atomically (never pickled).

    Parameters
    ----------
    path : str or os.PathLike
        Output file, written exactly as named (no ``.npy`` is appended).
    array : array_like
        Numeric array; object arrays are refused by ``allow_pickle=False``.
    overwrite : bool
        Replace an existing file; otherwise :class:`OutputExists`.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    target = Path(path)
    with atomic_output(target, overwrite=overwrite) as tmp, open(tmp, "wb") as handle:
        np.save(handle, np.asarray(array), allow_pickle=False)
    return target


def _plain(value):
    """numpy scalars/arrays and paths -> JSON values; non-finite floats -> None (JSON null)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def save_json(path: str | os.PathLike, data, overwrite: bool = False, indent: int = 2) -> Path:
    """Write ``data`` as UTF-8 JSON atomically.

    numpy scalars and arrays become numbers and lists, paths become strings, and NaN or
    infinite floats become ``null`` (JSON has no NaN; strict parsers reject it).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    target = Path(path)
    text = json.dumps(_plain(data), indent=indent, allow_nan=False, ensure_ascii=False)
    with atomic_output(target, overwrite=overwrite) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return target
