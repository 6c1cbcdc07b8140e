"""From ``--device``, ``--threads``, ``--memory-limit`` and ``--quiet`` to the run context.

The context is put in force for the running command only: the click context restores the
previous backend, thread count and memory limit when the command ends, so several commands run
in one process (tests, or stv called from Python) do not leak settings into each other. numba
is imported here, inside a command, never when the CLI is imported.
"""

from __future__ import annotations

import click


def run_context(options: dict, threads: int | None = None):
    """The :class:`~stv_cli.context.RunContext` of a command's options, put in force.

    ``threads`` replaces ``--threads`` when that was not given (``stv video``'s default).

    Raises
    ------
    click.BadParameter
        A device that cannot run here (saying why), or more threads than it has (exit 2).
    """
    from .. import backend
    from ..context import RunContext
    from ..executors.batch import progress_enabled

    ctx = click.get_current_context()
    device = options["device"].lower()
    reason = None if device == "auto" else backend.unavailable_reason(device)
    if reason is not None:
        raise click.BadParameter(
            f"{device} is not available on this machine: {reason}; use --device auto",
            param_hint="'--device'",
        )
    with backend.use_backend(device) as resolved:
        most = backend.max_threads()
    wanted = options["threads"]
    if wanted is not None and most is not None and wanted > most:
        raise click.BadParameter(
            f"{wanted} is more than the {most} threads the {resolved} backend has here; "
            f"expected an integer in [1, {most}]",
            param_hint="'--threads'",
        )
    context = RunContext(
        backend=device,
        threads=options["threads"] or threads,
        memory_limit=options.get("memory_limit"),
        progress=progress_enabled(options["quiet"]),
    )
    ctx.with_resource(context.applied())
    return context
