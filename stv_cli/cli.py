"""The ``stv`` command line: the click group, global options, ``info``, and error handling.

Layers: a command parses options, builds frozen settings, runs the pipeline through a batch and
reports (HOUSE_STYLE). Exit codes: 0 every input done, 1 an input failed (or an stv error
outside a batch), 2 a usage error (bad option value, missing file), 130 interrupted (Ctrl-C).
Options also come from environment variables ``STV_<COMMAND>_<OPTION>`` (for example
``STV_PROJECT_FOCUS=0.3``); shell completion is click's (``_STV_COMPLETE=bash_source stv``).

Nothing here imports numba or the model at import time: ``stv --help`` stays instant.
"""

from __future__ import annotations

import gc
import json
import warnings
from pathlib import Path

import click

from . import __version__
from .cli_options import IMAGE_FORMATS
from .errors import StvError

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


@main.command()
@click.option("--json", "json_report", is_flag=True, help="Print the facts as JSON.")
def info(json_report: bool) -> None:
    """Version, compute backends available, threads, numba version and cache location."""
    facts = gather_info()
    if json_report:
        click.echo(json.dumps(facts, indent=2))
        return
    width = max(len(k) for k in facts)
    for key, value in facts.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in value.items())
        click.echo(f"{key:<{width}}  {value}")


def gather_info() -> dict:
    """The facts ``stv info`` reports (imports numba to ask it)."""
    import platform

    from . import backend

    backends = {name: backend.is_available(name) for name in backend.BACKENDS}
    backends["cuda"] = False
    facts: dict = {
        "version": __version__,
        "python": platform.python_version(),
        "backends": backends,
        "default_backend": backend.get_backend(),
    }
    try:
        import numba
    except ImportError:
        facts.update(numba=None, threads=None, numba_cache=None)
        return facts
    import stv_kernels

    cache = numba.config.CACHE_DIR or str(Path(stv_kernels.__file__).parent / "__pycache__")
    facts.update(
        numba=numba.__version__,
        threads=numba.config.NUMBA_NUM_THREADS,
        threading_layer=numba.config.THREADING_LAYER,
        numba_cache=cache,
    )
    return facts


# ----------------------------------------------------------------- applying options


def apply_device(device: str, threads: int | None, memory_limit: int | None = None) -> str:
    """Put ``--device``, ``--threads`` and ``--memory-limit`` in force; return the backend.

    They hold for the running command only: the click context restores the previous backend,
    thread count and memory limit when the command ends, so several commands run in one process
    (tests, or stv called from Python) do not leak settings into each other. numba is imported
    here, inside a command, never when the CLI is imported.
    """
    from .backend import is_available, use_backend
    from .volume import set_memory_limit

    ctx = click.get_current_context()
    device = device.lower()
    if device == "cuda":
        raise click.BadParameter(
            "cuda is not available: this version of stv has no CUDA backend; "
            "use --device auto or --device cpu",
            param_hint="'--device'",
        )
    if device != "auto" and not is_available(device):
        raise click.BadParameter(
            f"{device} is not available on this machine (is numba installed?); use --device auto",
            param_hint="'--device'",
        )
    backend = ctx.with_resource(use_backend(device))
    if threads is not None and backend == "cpu":
        import numba

        most = numba.config.NUMBA_NUM_THREADS
        if threads > most:
            raise click.BadParameter(
                f"{threads} is more than the {most} threads numba has here; "
                f"expected an integer in [1, {most}]",
                param_hint="'--threads'",
            )
        previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        ctx.call_on_close(lambda: numba.set_num_threads(previous))
    if memory_limit is not None:
        set_memory_limit(memory_limit)
        ctx.call_on_close(lambda: set_memory_limit(None))
    return backend


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


def check_bit_depth(bit_depth: int, image_format: str) -> None:
    """16-bit images exist only as PNG and TIFF."""
    if bit_depth == 16 and image_format not in ("png", "tif", "tiff"):
        raise click.BadParameter(
            f"16-bit images need png or tif, not {image_format}", param_hint="'--bit-depth'"
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


def batch_printer(command: str, json_report: bool, quiet: bool, verbose: bool):
    """The ``on_result`` of a batch: paths on stdout, failures and notes on stderr.

    Lines go through ``tqdm.write``, which lifts the progress bars out of the way first, so a
    path or a message never lands in the middle of a bar on a shared terminal.
    """
    import sys

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


def finish_batch(ctx: click.Context, report, json_report: bool, quiet: bool) -> None:
    """Print the JSON report (if asked) and a failure summary, then exit with its code."""
    if json_report:
        click.echo(report.to_json())
    failed = report.count("failed")
    if failed:
        click.echo(
            f"stv {report.command}: {failed} of {len(report.results)} inputs failed", err=True
        )
    ctx.exit(report.exit_code)


def _register() -> None:
    # The command modules import only click and cli_options, so this stays cheap.
    import importlib.util

    from .cli_decode import decode
    from .cli_grid import grid
    from .cli_project import project

    for command in (project, decode, grid):
        main.add_command(command)
    # `stv video` lives in its own module, written alongside; register it once it exists.
    if importlib.util.find_spec(f"{__package__}.cli_video") is not None:
        from .cli_video import video

        main.add_command(video)


_register()
