"""What a batch command prints as it goes, and the exit code it ends with.

stdout carries data (the paths written, or the ``--json`` report); stderr carries messages for
people. A batch exits 0 when every input was done or skipped, 1 when one failed.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import click


def batch_printer(command: str, json_report: bool, quiet: bool, verbose: bool):
    """The ``on_result`` of a batch: paths on stdout, failures and notes on stderr.

    Lines go through ``tqdm.write``, which lifts the progress bars out of the way first, so a
    path or a message never lands in the middle of a bar on a shared terminal.
    """
    from tqdm import tqdm

    def say(text: str, err: bool = False) -> None:
        tqdm.write(text, file=sys.stderr if err else sys.stdout)

    def on_result(result) -> None:
        if result.status == "failed":
            say(f"stv {command}: failed: {result.input}: {result.error}", err=True)
        elif result.status == "skipped":
            if not quiet:
                say(f"stv {command}: skipped {result.input}: {result.error}", err=True)
        else:
            if verbose:
                say(f"stv {command}: {result.input}: {result.seconds:.3f} s", err=True)
            if not json_report:
                for output in result.outputs:
                    say(output)

    return on_result


def finish_batch(ctx: click.Context, report, json_report: bool) -> None:
    """Print the JSON report (if asked) and a failure summary, then exit with its code."""
    if json_report:
        click.echo(report.to_json())
    failed = report.count("failed")
    if failed:
        click.echo(
            f"stv {report.command}: {failed} of {len(report.results)} inputs failed", err=True
        )
    ctx.exit(report.exit_code)


def run_inputs(
    ctx: click.Context,
    command: str,
    inputs: Sequence[Path],
    process: Callable[[Path], Sequence[Path]],
    options: dict,
    executor=None,
) -> None:
    """Run ``process`` over ``inputs`` as a batch, print as it goes, and exit with its code.

    With ``--report FILE`` (``-``: stdout) each input's record is written to FILE as one JSON
    line, flushed, as soon as it finishes, so a long batch can be followed (``tail -f``) and
    an interrupted one leaves the lines of every input it finished.
    """
    from ..executors.batch import run_batch

    printer = batch_printer(
        command,
        options["json_report"] or options.get("report_file") == "-",
        options["quiet"],
        options["verbose"],
    )
    with _report_lines(options.get("report_file"), command) as write_line:

        def on_result(result) -> None:
            printer(result)
            write_line(result)

        report = run_batch(
            inputs,
            process,
            command=command,
            quiet=options["quiet"],
            on_result=on_result,
            executor=executor,
        )
    finish_batch(ctx, report, options["json_report"])


@contextlib.contextmanager
def _report_lines(target: str | None, command: str):
    """A writer of one JSON line per input result into ``target`` (None: nothing)."""
    import json
    from dataclasses import asdict

    if target is None:
        yield lambda result: None
        return
    if target == "-":
        handle, close = sys.stdout, False
    else:
        try:
            handle, close = open(target, "a", encoding="utf-8"), True  # noqa: SIM115
        except OSError as error:
            raise click.BadParameter(
                f"cannot write {target!r}: {error.strerror or error}", param_hint="'--report'"
            ) from None

    def write(result) -> None:
        handle.write(json.dumps({"command": command, **asdict(result)}) + "\n")
        handle.flush()

    try:
        yield write
    finally:
        if close:
            handle.close()


def announce(command: str, count: int, backend: str, verbose: bool) -> None:
    """With ``-v``: say on stderr how many inputs run on which backend."""
    if verbose:
        click.echo(f"stv {command}: {count} input(s), backend {backend}", err=True)


def run_projection_batch(ctx, command: str, inputs, run_input, settings, options: dict) -> None:
    """The batch of ``project`` and ``decode``: run context, files read once, then every input.

    ``run_input(path, settings=, workspace=, context=)`` is the pipeline's per-input function.
    A bad ``--resonance`` or ``--views`` file stops the run (exit 1) before any input. With
    ``--scheduler`` the inputs run as tasks on a Dask cluster: each worker makes its own
    workspace, and numba's threads per worker default to this machine's cores / workers.
    """
    from ..pipeline.workspace import Workspace
    from .device import run_context

    context = run_context(options)
    if options.get("dry_run"):
        from ..pipeline.decode import plan_decode_input
        from ..pipeline.project import plan_project_input

        plan = plan_project_input if command == "project" else plan_decode_input
        dry_run(ctx, inputs, functools.partial(plan, settings=settings, context=context))
        return
    announce(command, len(inputs), context.backend, options["verbose"])
    workspace = Workspace()
    workspace.preload(settings.projection)
    spec = options.get("scheduler")
    if spec is None:
        process = functools.partial(
            run_input, settings=settings, workspace=workspace, context=context
        )
        run_inputs(ctx, command, inputs, process, options)
        return
    from dataclasses import replace

    from ..errors import StvError
    from ..executors.dask import DaskExecutor

    try:
        executor = DaskExecutor(spec)
    except StvError as error:
        raise click.BadParameter(str(error), param_hint="'--scheduler'") from None
    import time

    with executor:
        threads = context.threads or executor.threads_per_worker()
        remote = replace(context, threads=threads, progress=False)
        # an input may run twice (its worker died after publishing): its own outputs are
        # recognised by their time (the batch's start, less the file clock's coarse tick)
        output = replace(settings.output, batch_started=time.time() - 0.1)
        process = functools.partial(
            run_input, settings=replace(settings, output=output), context=remote
        )
        run_inputs(ctx, command, inputs, process, options, executor=executor)


def dry_run(ctx, inputs, plan) -> None:
    """``--dry-run``: one JSON line per input on stdout, ``plan(path)``'s record (what would
    run, be skipped or refused, its outputs, shape and memory estimate), from headers alone;
    exit 0."""
    import json

    for path in inputs:
        click.echo(json.dumps(plan(path)))
    ctx.exit(0)
