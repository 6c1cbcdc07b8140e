"""``stv info``: version, the compute backends (from the registry) and numba's set-up."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--json", "json_report", is_flag=True, help="Print the facts as JSON.")
def info(json_report: bool) -> None:
    """Version, compute backends available, threads, numba version and cache location."""
    facts = gather_info()
    if json_report:
        click.echo(json.dumps(facts, indent=2))
        return
    notes = facts.pop("unavailable", {})
    width = max(len(k) for k in facts)
    for key, value in facts.items():
        if key == "backends":
            value = ", ".join(
                f"{k}: yes" if v else f"{k}: no ({notes.get(k, 'unavailable')})"
                for k, v in value.items()
            )
        click.echo(f"{key:<{width}}  {value}")


def gather_info() -> dict:
    """The facts ``stv info`` reports (imports the backends to ask them, numba included).

    ``backends`` maps every backend of the registry, in ``auto``'s order, to whether it can
    run here; ``unavailable`` says why each one that cannot, cannot; each backend that runs
    adds its own facts (the cpu backend: numba's version, threads and kernel cache).
    """
    import platform

    from .. import __version__, backend
    from ..backend import choices

    names = choices()[1:]
    reasons = {name: backend.unavailable_reason(name) for name in names}
    facts: dict = {
        "version": __version__,
        "python": platform.python_version(),
        "backends": {name: reasons[name] is None for name in names},
        "unavailable": {name: why for name, why in reasons.items() if why is not None},
        "default_backend": backend.get_backend(),
    }
    for name in names:  # numba's version, threads and cache come from the cpu backend
        facts.update(backend.facts(name))
    return facts
