"""Project a stack larger than memory: read it in slabs of slices, collapse, drop.

A plain projection (no refinement) sums each pixel's slices in z order. Read in order, a
slab of slices at a time, and added into the picture with ``collapse_weighted(...,
accumulate=True)``, the sum goes through the very same float32 operations as over the whole
volume, so the picture is bit for bit the in-memory one, while only one slab, the picture and
the decoders' buffers are held. The weights depend on the depth alone, unless the resonance is
generated (or telemetry is asked for): then a first pass reads the slabs once for the
statistics of each slice (a slice's statistics need that slice alone: the same numbers as the
whole volume's, up to the thread split of the float64 sums).

Files (a folder's slices, TIFF pages, Zarr chunks, a ``.npy``) are decoded a slab at a time
(:func:`stv_cli.io.images.load_slices`), in parallel within the slab.
"""

from __future__ import annotations

import sys

import numpy as np

from stv_kernels.pixel_scale import pixel_values

from ..backend import ops
from ..model.telemetry import ZSliceProfile
from ..model.tiled import RefinedShape
from .settings import ProjectionSettings
from .stages import projection_weights
from .workspace import Workspace

F32 = np.float32


def slice_bytes(info) -> int:
    """Bytes one slice of a slab takes: raw pixels (1 or 2 bytes a value) where the stack
    holds exact 8/16-bit pixels, which a streamed run collapses as they are, else float32."""
    values = info.height * info.width * info.channels
    return values * (np.dtype(info.pixel_dtype).itemsize if info.pixel_dtype else 4)


def slab_depth(info, limit: int, threads: int, held: int) -> int:
    """Slices per slab: as many as fit ``limit`` beside ``held`` bytes (the picture and what
    writing it takes) and the decoders' scratch; at least 1, at most D."""
    each = slice_bytes(info)
    room = limit - held - min(threads, info.depth) * info.scratch_bytes
    return max(1, min(info.depth, room // max(each, 1)))


def project_streamed(
    info,
    settings: ProjectionSettings,
    workspace: Workspace,
    slab: int,
    threads: int,
    telemetry: bool = False,
    progress: bool = False,
    name: str = "",
):
    """Collapse the probed stack ``info`` slab by slab (see the module docstring).

    Returns ``(image, weights, report)`` as :func:`stv_cli.pipeline.stages.project_tiled`.
    """
    from tqdm import tqdm

    from ..io.images import iter_folder_slices, load_slices

    d, h, w, c = info.shape
    raw = info.pixel_dtype is not None  # 8/16-bit pixels: collapsed as they are read
    mapped = raw and info.kind == "npy"  # read straight from the file's mapping
    folder = info.kind == "folder"
    buffer = None if mapped or folder else np.empty((slab, h, w, c), dtype=info.pixel_dtype or F32)
    starts = range(0, d, slab)

    def slabs(desc: str):
        with tqdm(total=d, desc=desc, unit="slice", file=sys.stderr, disable=not progress,
                  leave=False) as bar:  # fmt: skip
            if info.kind == "folder":  # one file a slice: decoded ahead while one is summed
                yield from iter_folder_slices(info, threads, info.pixel_dtype or F32, bar.update)
                return
            for first in starts:
                count = min(slab, d - first)
                if mapped:
                    # mapped afresh per slab and unmapped after: the pages read do not stay
                    # resident for the whole run
                    source = np.load(info.path, mmap_mode="r", allow_pickle=False)
                    block = source[first : first + count].reshape(count, h, w, c)
                    yield first, np.ascontiguousarray(block)
                    del block, source
                    bar.update(count)
                else:
                    block = buffer[:count]
                    load_slices(info, first, block, threads, bar.update)
                    yield first, block

    profile = report = None
    if settings.resonance == "generate" or telemetry:
        stats: dict[str, list] = {}
        for _, block in slabs(f"{name} statistics"):
            values = pixel_values(block) if raw else block
            for key, part in ops().slice_statistics(values).items():
                stats.setdefault(key, []).append(part)
        merged = {key: np.concatenate(parts) for key, parts in stats.items()}
        profile = ZSliceProfile(merged["mean"], merged["std_one_pass"], merged["energy"])
        if telemetry:
            report = ZSliceProfile(merged["mean"], merged["std"], merged["energy"])
            report = report.report().as_dict()
    weights = projection_weights(RefinedShape(info.shape), settings, workspace, profile=profile)
    image = workspace.buffer("image", (h, w, c))
    collapse = ops().collapse_scaled if raw else ops().collapse_weighted
    for first, block in slabs(name):
        count = block.shape[0]
        collapse(block, weights[first : first + count], out=image, accumulate=first > 0)
    return image, weights, report
