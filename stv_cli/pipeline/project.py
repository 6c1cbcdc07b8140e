"""``stv project``, one input: load a stack, refine, project, write its outputs (no click).

:func:`run_project_input` plans its output paths first (refusing or skipping existing ones),
checks the memory the refined volume will need *before* loading anything, then loads, refines
and projects (:mod:`.stages`) and writes every output atomically (:mod:`.outputs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace as replace_fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..context import RunContext, applied
from ..model.memory import estimate_volume_bytes
from .outputs import (
    claim_outputs,
    input_name,
    output_paths,
    write_grid,
    write_image,
    write_json,
    write_volume,
    write_weights_plot,
)
from .settings import ProjectSettings
from .slabs import slab_depth, slice_bytes
from .stages import (
    check_refined_memory,
    check_views,
    project_tiled,
    project_volume,
    refine,
    settings_record,
    tiles_apply,
)
from .workspace import Workspace

if TYPE_CHECKING:
    from ..io.metadata import PhysicalSize


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
        return _project_input(path, settings, workspace or Workspace(), context)


def _project_input(path, settings, workspace: Workspace, context) -> list[Path]:
    from ..io.images import probe_volume
    from ..io.inputs import split_timepoint

    out = settings.output
    paths = output_paths(out, input_name(path), path)
    replace = claim_outputs(list(paths.values()), out)

    path, timepoint = split_timepoint(path)
    selection = settings.selection
    if timepoint is not None:  # one timepoint of --split-time
        selection = replace_fields(selection, timepoint=timepoint)
    info = probe_volume(path, selection)
    shape = (info.depth, info.height, info.width, info.channels)
    context = context or RunContext()
    holding = _holding(info, settings, paths, context)
    tiled, threads, streaming = holding.tiled, holding.threads, holding.streaming
    if streaming is None:
        check_refined_memory(shape, settings.refine, **holding.memory)
    final_depth = settings.refine.stage_shapes(shape)[-1][0]
    if settings.projection.views is not None:
        fusion = workspace.views_file(settings.projection.views)
        check_views(fusion, final_depth, settings.projection.views)

    report = volume = None
    telemetry = "telemetry" in paths
    if streaming is not None:  # larger than memory: read a slab or a window at a time
        from .slabs import project_streamed, project_windowed

        mode, size = streaming
        common = {"telemetry": telemetry, "progress": context.progress, "name": input_name(path)}
        if mode == "slabs":
            image, weights, report = project_streamed(
                info, settings.projection, workspace, size, threads, **common
            )
        else:
            image, weights, report = project_windowed(
                info, settings.refine, settings.projection, workspace, size, threads, **common
            )
    elif tiled:  # refined and collapsed band by band
        volume = _load(info, shape, workspace, context)
        image, weights, report = project_tiled(
            volume, settings.refine, settings.projection, workspace, telemetry=telemetry
        )
    else:  # every stage whole: an output needs the refined volume, or --no-tiles
        volume = refine(_load(info, shape, workspace, context), settings.refine, workspace)
        image, weights = project_volume(volume, settings.projection, workspace)
        if telemetry:
            report = volume.telemetry_report().as_dict()
    physical = refined_physical(info, settings.refine)

    written = [write_image(paths["image"], image, out, replace, physical=physical)]
    if "grid" in paths:
        cells = None if physical is None else replace_fields(physical, z=None)  # no slice step
        written.append(
            write_grid(paths["grid"], volume.voxels, settings.grid, out, replace, physical=cells)
        )
    if "weights" in paths:
        record = {
            "input": str(path),
            "depth": int(len(weights)),
            "weights": weights,
            "projection": settings_record(settings.projection),
            "refine": settings_record(settings.refine),
        }
        if physical is not None and physical.known:
            record["physical"] = physical.as_dict()  # the refined voxel the weights describe
        written.append(write_json(paths["weights"], record, replace))
    if "weights_plot" in paths:
        written.append(write_weights_plot(paths["weights_plot"], weights, replace))
    if "telemetry" in paths:
        written.append(write_json(paths["telemetry"], {"input": str(path), **report}, replace))
    if "volume" in paths:
        written.append(
            write_volume(paths["volume"], volume.voxels, out, replace, physical=physical)
        )
    return written


def _streaming(info, settings, needs_volume: bool, threads: int, bit_depth: int):
    """How to stream a stack whose run does not fit the memory limit: ``("slabs", n)`` (a
    plain projection, n slices at a time), ``("windows", n)`` (a refinement, windows of n
    slices and their halos), or None: the stack is loaded whole (it fits, an output needs
    the refined volume, or it will live on a GPU), and the memory check refuses it if it
    must."""
    from ..model.memory import memory_limit
    from .slabs import window_halo, window_memory
    from .stages import estimate_run_memory

    refines = settings.refine.refines
    limit = memory_limit()
    if needs_volume or limit is None or device_memory_in_force():
        return None
    shape = info.shape
    whole = estimate_run_memory(
        shape,
        settings.refine,
        decode_scratch=info.scratch_bytes,
        threads=threads,
        mapped=info.mapped_bytes,
        bit_depth=bit_depth,
        tiled=refines,
    )
    if whole.peak <= limit:
        return None
    # what a streamed run holds besides its slices: the picture and what writing it takes
    held = whole.writing - estimate_volume_bytes(*shape)
    decoding = threads * info.scratch_bytes
    if refines:
        halo = window_halo(settings.refine, info.depth)
        chunk = 0
        for size in (64, 32, 16, 8, 4, 2, 1):
            if held + decoding + window_memory(info, settings.refine, size, halo) <= limit:
                chunk = min(size, info.depth)
                break
        return ("windows", chunk) if chunk else None
    if info.kind == "folder":  # a slice per file: threads + 1 slices decoded ahead
        slab = threads + 1
    else:
        slab = slab_depth(info, limit, threads, held)
    needed = held + slab * slice_bytes(info) + decoding
    return ("slabs", slab) if needed <= limit else None


@dataclass(frozen=True)
class _Holding:
    """How one input will be held, decided from its headers before anything is loaded:
    band by band (``tiled``), streamed (``streaming``: ``("slabs" | "windows", n)``) or whole;
    with how many loading threads, and the arguments of its memory estimate."""

    tiled: bool
    threads: int
    streaming: tuple[str, int] | None
    memory: dict


def _holding(info, settings, paths: dict, context: RunContext) -> _Holding:
    """Band by band (never the whole refined volume) unless an output needs that volume,
    ``--no-tiles``, or it will live on a GPU; streamed when even that does not fit."""
    out = settings.output
    needs_volume = "grid" in paths or "volume" in paths or not settings.tiles
    tiled = tiles_apply(device_memory_in_force(), settings.refine, needs_volume)
    threads = _load_threads(context, info)
    memory = {
        "decode_scratch": info.scratch_bytes,
        "threads": threads,
        "mapped": info.mapped_bytes,
        "grid": out.grid,
        "bit_depth": out.bit_depth,
        "tiled": tiled,
    }
    streaming = _streaming(info, settings, needs_volume, threads, out.bit_depth)
    return _Holding(tiled, threads, streaming, memory)


def device_memory_in_force() -> bool:
    """Whether the backend in force keeps volumes on a GPU (the pipeline uploads them)."""
    from ..backend import device_memory

    return device_memory() is not None


def refined_physical(info, refine_settings) -> PhysicalSize | None:
    """The voxel size of the refined volume: the input's (``info.physical``) after the
    upscale (x, y divided by it) and the interpolation passes along Z (each halves z; none
    run on a single slice, as :meth:`RefineSettings.stage_shapes` says). None when the input
    declares no size."""
    physical = getattr(info, "physical", None)
    if physical is None:
        return None
    interpolates = refine_settings.interpolate and info.depth > 1
    passes = refine_settings.interpolate_passes if interpolates else 0
    return physical.refined(refine_settings.upscale, passes)


def _load_threads(context: RunContext, info) -> int:
    """How many threads decode the stack: ``--threads``, else min(8, CPUs), at most D."""
    import os

    threads = context.threads or min(8, os.cpu_count() or 1)
    return max(1, min(int(threads), info.depth))


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


def plan_project_input(path, settings: ProjectSettings, context: RunContext | None = None) -> dict:
    """What :func:`run_project_input` would do with ``path``, from headers alone (``--dry-run``).

    Returns a record: ``input``, ``outputs`` (resolved), ``action`` (``run``, ``skip``: all
    outputs exist with ``--skip-existing``, ``refuse``: one exists without ``--overwrite``,
    ``fail``: the input cannot be read or does not fit), ``shape`` (D, H, W, C), ``mode``
    (``whole``, ``tiles``, ``slabs`` or ``windows``: how it would be held), ``memory_estimate``
    (bytes at the run's peak) and ``error``.
    """
    from ..errors import StvError
    from ..io.images import probe_volume
    from ..io.inputs import split_timepoint
    from .stages import estimate_run_memory

    context = context or RunContext()
    out = settings.output
    record = {"input": str(path), "outputs": [], "action": "run", "shape": None, "mode": None,
              "memory_estimate": None, "error": None}  # fmt: skip
    with applied(context):
        try:
            paths = output_paths(out, input_name(path), path)
            record["outputs"] = [str(p) for p in paths.values()]
            existing = [p for p in paths.values() if p.exists()]
            if out.skip_existing and existing and len(existing) == len(paths):
                record["action"] = "skip"
            elif existing and not out.overwrite and not out.skip_existing:
                record["action"] = "refuse"
                record["error"] = f"output {str(existing[0])!r} exists"
            file, timepoint = split_timepoint(path)
            selection = settings.selection
            if timepoint is not None:
                selection = replace_fields(selection, timepoint=timepoint)
            info = probe_volume(file, selection)
            record["shape"] = list(info.shape)
            holding = _holding(info, settings, paths, context)
            streaming = holding.streaming
            record["mode"] = streaming[0] if streaming else ("tiles" if holding.tiled else "whole")
            estimate = estimate_run_memory(info.shape, settings.refine, **holding.memory)
            record["memory_estimate"] = estimate.peak
            if streaming is None:
                check_refined_memory(info.shape, settings.refine, **holding.memory)
        except (StvError, OSError) as error:
            record["action"], record["error"] = "fail", str(error)
    return record
