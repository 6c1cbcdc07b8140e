"""``stv decode``, one latent file: decode each latent, refine, project, write (no click)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..backend import device_memory
from ..context import RunContext, applied
from .outputs import (
    claim_outputs,
    decode_output_paths,
    input_name,
    write_grid,
    write_image,
    write_json,
    write_weights_plot,
)
from .settings import DecodeSettings
from .stages import check_refined_memory, check_views, project_volume, refine
from .workspace import Workspace

F32 = np.float32


def run_decode_input(
    path: Path,
    settings: DecodeSettings,
    workspace: Workspace | None = None,
    context: RunContext | None = None,
) -> list[Path]:
    """Decode every latent of one file, refine, project, and write the images; return paths.

    Each file gets a fresh ``ZDecoder(depth, height, width, seed)``, so its pictures do not
    depend on the other files of the batch; the latents of one file are decoded in order from
    one decoder (whose random stream advances per call, SPEC A.6). ``context`` is put in
    force for the file (None: the caller's settings).
    """
    with applied(context):
        return _decode_input(Path(path), settings, workspace or Workspace())


def _decode_input(path: Path, settings: DecodeSettings, workspace: Workspace) -> list[Path]:
    from ..io.latents import load_latents
    from ..model.decoder import ZDecoder

    out = settings.output
    shape = (settings.depth, settings.height, settings.width, 1)
    check_refined_memory(shape, settings.refine)
    final_depth = settings.refine.stage_shapes(shape)[-1][0]
    if settings.projection.views is not None:
        fusion = workspace.views_file(settings.projection.views)
        check_views(fusion, final_depth, settings.projection.views)

    latents = load_latents(path)
    paths = decode_output_paths(out, input_name(path), len(latents), path)
    replace = claim_outputs(list(paths.values()), out)

    low, high = settings.value_range
    decoder = ZDecoder(settings.depth, settings.height, settings.width, settings.seed)
    images, weight_rows, reports = [], [], []
    # with a GPU backend in force each latent is decoded into one device buffer, reused
    device = device_memory() is not None
    for latent in latents:
        buffer = workspace.buffer("decode", shape, "device") if device else None
        decoded = decoder.decode(latent, out=buffer)
        volume = refine(decoded, settings.refine, workspace)
        image, weights = project_volume(volume, settings.projection, workspace)
        images.append((image - F32(low)) / F32(high - low))
        weight_rows.append(weights)
        if out.telemetry:
            reports.append(volume.telemetry_report().as_dict())

    written = []
    image_keys = [k for k in paths if k.startswith("image_")]
    for key, image in zip(image_keys, images, strict=True):
        written.append(write_image(paths[key], image, out, replace))
    if "grid" in paths:
        written.append(write_grid(paths["grid"], np.stack(images), settings.grid, out, replace))
    if "weights" in paths:
        record = {"input": str(path), "weights": weight_rows}
        written.append(write_json(paths["weights"], record, replace))
    if "weights_plot" in paths:
        written.append(write_weights_plot(paths["weights_plot"], weight_rows[0], replace))
    if "telemetry" in paths:
        written.append(
            write_json(paths["telemetry"], {"input": str(path), "latents": reports}, replace)
        )
    return written


def plan_decode_input(path, settings: DecodeSettings, context: RunContext | None = None) -> dict:
    """What :func:`run_decode_input` would do with ``path`` (``--dry-run``): the record of
    :func:`stv_cli.pipeline.project.plan_project_input`, the latents counted from the file
    (``shape`` is the decoded volume's)."""
    from ..errors import StvError
    from ..io.latents import load_latents
    from .stages import estimate_run_memory

    out = settings.output
    shape = (settings.depth, settings.height, settings.width, 1)
    record = {"input": str(path), "outputs": [], "action": "run", "shape": list(shape),
              "mode": "whole", "memory_estimate": None, "error": None}  # fmt: skip
    with applied(context):
        try:
            latents = load_latents(Path(path))
            paths = decode_output_paths(out, input_name(path), len(latents), path)
            record["outputs"] = [str(p) for p in paths.values()]
            existing = [p for p in paths.values() if p.exists()]
            if out.skip_existing and existing and len(existing) == len(paths):
                record["action"] = "skip"
            elif existing and not out.overwrite and not out.skip_existing:
                record["action"], record["error"] = "refuse", f"output {str(existing[0])!r} exists"
            record["memory_estimate"] = estimate_run_memory(shape, settings.refine).peak
            check_refined_memory(shape, settings.refine)
        except (StvError, OSError) as error:
            record["action"], record["error"] = "fail", str(error)
    return record
