"""``stv project``, one input: load a stack, refine, project, write its outputs (no click).

:func:`run_project_input` plans its output paths first (refusing or skipping existing ones),
checks the memory the refined volume will need *before* loading anything, then loads, refines
and projects (:mod:`.stages`) and writes every output atomically (:mod:`.outputs`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..context import RunContext, applied
from .outputs import (
    claim_outputs,
    input_name,
    output_paths,
    write_grid,
    write_image,
    write_json,
    write_weights_plot,
)
from .settings import ProjectSettings
from .stages import check_refined_memory, check_views, project_volume, refine, settings_record
from .workspace import Workspace


def run_project_input(
    path: Path,
    settings: ProjectSettings,
    workspace: Workspace | None = None,
    context: RunContext | None = None,
) -> list[Path]:
    """Load one stack, refine, project and write its outputs; return the paths written.

    ``context`` (backend, threads, memory limit, progress bars) is put in force for the
    input; None leaves the caller's settings in force. ``workspace`` carries the buffers and
    files a batch shares.

    Raises
    ------
    SkipInput
        With ``--skip-existing`` when every output exists.
    StvError
        Bad input, an existing output (without overwrite), a refined volume over the memory
        limit, a view count that differs from the depth.
    """
    with applied(context):
        return _project_input(Path(path), settings, workspace or Workspace(), context)


def _project_input(path: Path, settings, workspace: Workspace, context) -> list[Path]:
    from ..io.images import probe_volume

    out = settings.output
    paths = output_paths(out, input_name(path))
    replace = claim_outputs(list(paths.values()), out)

    info = probe_volume(path)
    shape = (info.depth, info.height, info.width, info.channels)
    check_refined_memory(shape, settings.refine)
    final_depth = settings.refine.stage_shapes(shape)[-1][0]
    if settings.projection.views is not None:
        fusion = workspace.views_file(settings.projection.views)
        check_views(fusion, final_depth, settings.projection.views)

    volume = _load(info, shape, workspace, context or RunContext())
    volume = refine(volume, settings.refine, workspace)
    image, weights = project_volume(volume, settings.projection, workspace)

    written = [write_image(paths["image"], image, out, replace)]
    if "grid" in paths:
        written.append(write_grid(paths["grid"], volume.voxels, settings.grid, out, replace))
    if "weights" in paths:
        record = {
            "input": str(path),
            "depth": volume.depth,
            "weights": weights,
            "projection": settings_record(settings.projection),
            "refine": settings_record(settings.refine),
        }
        written.append(write_json(paths["weights"], record, replace))
    if "weights_plot" in paths:
        written.append(write_weights_plot(paths["weights_plot"], weights, replace))
    if "telemetry" in paths:
        report = {"input": str(path), **volume.telemetry_report().as_dict()}
        written.append(write_json(paths["telemetry"], report, replace))
    if "volume" in paths:
        from ..io.atomic import save_npy

        written.append(save_npy(paths["volume"], volume.voxels, overwrite=replace))
    return written


def _load(info, shape, workspace: Workspace, context: RunContext):
    """The probed stack as a volume: on the host, or with a GPU backend in force uploaded once
    to the device (decoded into the workspace's page-locked staging buffer, then copied into
    its device buffer; both are reused across the batch)."""
    from ..backend import device_memory
    from ..model.volume import ZSpaceVolume

    memory = device_memory()
    if memory is None:
        return ZSpaceVolume(_load_with_progress(info, context))
    staging = _load_with_progress(info, context, out=workspace.buffer("load", shape, "pinned"))
    device = memory.to_device(staging, out=workspace.buffer("input", shape, "device"))
    return ZSpaceVolume(device)


def _load_with_progress(info, context: RunContext, out=None) -> np.ndarray:
    """Load the probed volume, with a tqdm bar over its slices on stderr when asked."""
    import sys

    from tqdm import tqdm

    from ..io.images import load_volume

    with tqdm(
        total=info.depth,
        desc=input_name(info.path),
        unit="slice",
        file=sys.stderr,
        disable=not context.progress,
        leave=False,
    ) as bar:
        return load_volume(
            info,
            threads=context.threads,
            progress=bar.update,
            memory_limit=context.memory_limit,
            out=out,
        )
