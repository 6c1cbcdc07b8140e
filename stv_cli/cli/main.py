"""The ``stv`` group: global options, the commands registered on it, and error handling.

A command parses options, builds frozen settings and a run context, runs the pipeline through
a batch and reports (docs/architecture.md). Exit codes: 0 every input done, 1 an input failed
(or an stv error outside a batch), 2 a usage error (bad option value, missing file), 130
interrupted (Ctrl-C).
Options also come from environment variables ``STV_<COMMAND>_<OPTION>`` (for example
``STV_PROJECT_FOCUS=0.3``); shell completion is click's (``_STV_COMPLETE=bash_source stv``).

Nothing here imports numba or the model at import time: ``stv --help`` stays instant.
"""

from __future__ import annotations

import gc
import warnings

import click

from .. import __version__
from ..errors import StvError

EXIT_INTERRUPTED = 130


class StvGroup(click.Group):
    """A click group that maps stv's errors and Ctrl-C to their exit codes."""

    def __call__(self, *args, **kwargs):
        # The console script's way in (tests go through main()). When the command is done,
        # the interpreter's last garbage collection walks every object numba made: ~0.2 s
        # of every stv process here. Every output is closed and flushed by then, so move the
        # survivors out of the collector's reach (gc.freeze) and let the process exit.
        try:
            return super().__call__(*args, **kwargs)
        finally:
            gc.freeze()

    def invoke(self, ctx: click.Context):
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _show_warning
                return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("stv: interrupted; finished outputs are kept, no partial file", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except StvError as error:
            # An stv error outside a batch (a bad resonance file, ...): a message, exit 1.
            raise click.ClickException(str(error)) from error


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # A library warning (a skipped non-image file, lost precision) is a note for people, and
    # -q/--quiet promises no notes on stderr: the running command's context says if it is on.
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.params.get("quiet"):
        return
    click.echo(f"stv: warning: {message}", err=True)


@click.group(
    cls=StvGroup,
    context_settings={"auto_envvar_prefix": "STV", "help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "--version", prog_name="stv")
def main() -> None:
    """stv: turn image stacks and latents into Z-space volumes and pictures.

    \b
    Commands:
      project  collapse image stacks into one picture each
      decode   decode latent vectors into volumes and pictures
      grid     tile image files into one grid image
      video    project every frame of video clips
      info     version, backends, threads, numba cache

    Exit codes: 0 all inputs done, 1 an input failed, 2 usage error, 130 interrupted.
    Every option can also be set as STV_<COMMAND>_<OPTION> (e.g. STV_PROJECT_FOCUS=0.3).
    """


def _register() -> None:
    # The command modules import only click and the shared options, so this stays cheap.
    from .decode import decode
    from .grid import grid
    from .info import info
    from .project import project
    from .video import video

    for command in (project, decode, grid, video, info):
        main.add_command(command)


_register()
