"""Where a command's inputs come from: the command line, a list file, globs, and a shard.

Thousands of inputs do not fit a command line ("Argument list too long"), so every batch
command also reads them from ``--files-from FILE`` (``-`` for stdin; one per line, or
NUL-separated with ``-0``, as ``find -print0`` writes them), after any given as arguments.
An argument holding ``*``, ``?`` or ``[`` that is no existing path is a glob, expanded by stv
in natural order (``z2`` before ``z10``), so a quoted ``'stacks/*'`` works where the shell's
expansion would not fit. ``--shard K/N`` keeps the K-th of N parts of that list (inputs
``K-1``, ``K-1+N``, ... counted from 0): the N shards partition it, and an input added at the
end never moves the others; ``--shard slurm`` takes K and N from a SLURM array job.

Arguments must exist (a usage error names the one that does not); entries of a list file
are each the batch's own business: one that does not exist fails alone, in the report.
"""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path

import click

_GLOB_CHARS = set("*?[")


def collect_inputs(arguments, options: dict, name: str = "INPUT") -> list[Path]:
    """The inputs of a batch command: ``arguments`` (globs expanded), then ``--files-from``,
    then ``--shard``. Raises a usage error (exit 2) for a missing argument, a glob without
    a match, an unreadable list, a bad shard, or no input at all."""
    from ..io.probe import natural_sort_key

    inputs: list[Path] = []
    for argument in arguments:
        text = str(argument)
        if not os.path.lexists(text) and _GLOB_CHARS & set(text):
            matches = sorted(glob.glob(text), key=natural_sort_key)
            if not matches:
                raise click.BadParameter(f"the pattern {text!r} matches nothing", param_hint=name)
            inputs.extend(Path(m) for m in matches)
        elif not os.path.lexists(text):
            raise click.BadParameter(f"Path {text!r} does not exist.", param_hint=name)
        else:
            inputs.append(Path(text))
    source = options.get("files_from")
    if source is not None:
        inputs.extend(Path(entry) for entry in read_list(source, options.get("null", False)))
    if not inputs:
        raise click.UsageError(f"no inputs: give {name}... or --files-from FILE")
    shard = options.get("shard")
    if shard is not None:
        k, n = parse_shard(shard)
        inputs = inputs[k - 1 :: n]
    return inputs


def read_list(source: str, null: bool = False) -> list[str]:
    """The entries of a list file (``-``: stdin): one per line (``\\n`` or ``\\r\\n``), or
    NUL-separated with ``null``; empty entries are skipped."""
    try:
        if source == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(source, "rb") as handle:
                data = handle.read()
    except OSError as error:
        raise click.BadParameter(
            f"cannot read {source!r}: {error.strerror or error}", param_hint="'--files-from'"
        ) from None
    try:
        text = os.fsdecode(data) if null else data.decode("utf-8")
    except UnicodeDecodeError:
        text = os.fsdecode(data)  # names that are not UTF-8, as the filesystem holds them
    if null:
        return [entry for entry in text.split("\0") if entry]
    return [line.rstrip("\r") for line in text.split("\n") if line.rstrip("\r")]


def parse_shard(spec: str, environ=None) -> tuple[int, int]:
    """``(K, N)`` of ``--shard``: ``K/N`` with 1 <= K <= N, or ``slurm`` (``K`` is
    ``SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN + 1``, ``N`` is ``SLURM_ARRAY_TASK_COUNT``, or
    ``MAX - MIN + 1``)."""
    environ = os.environ if environ is None else environ
    hint = "'--shard'"
    if spec == "slurm":
        try:
            task = int(environ["SLURM_ARRAY_TASK_ID"])
            low = int(environ.get("SLURM_ARRAY_TASK_MIN", 0))
            count = environ.get("SLURM_ARRAY_TASK_COUNT")
            n = int(count) if count else int(environ["SLURM_ARRAY_TASK_MAX"]) - low + 1
        except (KeyError, ValueError):
            raise click.BadParameter(
                "slurm needs SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_MIN with "
                "SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MAX (run it as an array job: "
                "sbatch --array=0-9 ...)",
                param_hint=hint,
            ) from None
        k = task - low + 1
    else:
        try:
            k_text, n_text = spec.split("/")
            k, n = int(k_text), int(n_text)
        except ValueError:
            raise click.BadParameter(
                f"{spec!r} is not K/N (e.g. 3/10) or slurm", param_hint=hint
            ) from None
    if not 1 <= k <= n:
        raise click.BadParameter(f"shard {k} of {n}: K must be in 1..N", param_hint=hint)
    return k, n
