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
from ..model.memory import estimate_volume_bytes
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


def window_halo(refine_settings, depth: int) -> int:
    """Input slices a window of a streamed refinement reads on each side of its own: k
    diffusion passes reach k slices, and each interpolation pass reads up to two slices of
    its own input beyond a gap (cubic), which is at most two input slices for the first pass
    and fewer for the finer ones after it."""
    passes = refine_settings.interpolate_passes if refine_settings.interpolate and depth > 1 else 0
    return refine_settings.diffuse_iterations + 2 * passes + (1 if passes else 0)


def window_memory(info, refine_settings, chunk: int, halo: int) -> int:
    """Bytes one window of ``chunk`` slices (and its halos) holds: its float32 slices and
    the working set of its bands."""
    from .stages import tile_plan

    depth = min(info.depth, chunk + 2 * halo)
    shape = (depth, info.height, info.width, info.channels)
    return estimate_volume_bytes(*shape) + tile_plan(shape, refine_settings).band_bytes()


def project_windowed(
    info,
    refine_settings,
    settings: ProjectionSettings,
    workspace: Workspace,
    chunk: int,
    threads: int,
    telemetry: bool = False,
    progress: bool = False,
    name: str = "",
):
    """Refine and collapse a stack too large for memory a window of slices at a time.

    Window i reads input slices ``z0 - h .. z1 - 1 + h`` (clipped), refines them band by band
    (:class:`~stv_cli.model.tiled.TiledChain`) and adds only the refined slices that belong to
    its own slices ``z0..z1-1`` (refined ``z0 * 2**p`` up to ``z1 * 2**p``, the last window up
    to the last slice) into the picture, in z order, continuing the sums
    (``accumulate``): with the halo h of :func:`window_halo` those slices are the whole
    refinement's, so the picture is bit for bit the in-memory one. The statistics for
    ``--resonance generate`` and telemetry take a first pass over the windows.

    Returns ``(image, weights, report)`` as :func:`stv_cli.pipeline.stages.project_tiled`.
    """
    from tqdm import tqdm

    from ..io.images import load_slices
    from ..model.diffuser import ZDiffuser
    from ..model.tiled import TiledChain
    from .stages import tile_plan

    d, h, w, c = info.shape
    halo = window_halo(refine_settings, d)
    passes = refine_settings.interpolate_passes if refine_settings.interpolate and d > 1 else 0
    scale = 2**passes
    refined_depth = (d - 1) * scale + 1
    rate = ZDiffuser(refine_settings.diffuse_iterations, refine_settings.diffuse_rate).rate
    method = refine_settings.interpolate.lower() if passes else None
    buffer = np.empty((min(d, chunk + 2 * halo), h, w, c), dtype=F32)

    def windows(desc: str):
        with tqdm(total=d, desc=desc, unit="slice", file=sys.stderr, disable=not progress,
                  leave=False) as bar:  # fmt: skip
            for z0 in range(0, d, chunk):
                z1 = min(z0 + chunk, d)
                a, b = max(0, z0 - halo), min(d, z1 + halo)
                block = buffer[: b - a]
                load_slices(info, a, block, threads)
                plan = tile_plan(block.shape, refine_settings, statistics=False)
                chain = TiledChain(block, plan, rate, method)
                first = z0 * scale
                last = refined_depth if z1 == d else z1 * scale
                bar.update(z1 - z0)
                yield chain, (first - a * scale, last - a * scale), first, last

    profile = report = None
    if settings.resonance == "generate" or telemetry:
        parts: dict[str, list] = {}
        for chain, local, _, _ in windows(f"{name} statistics"):
            stats = chain.statistics(two_pass=telemetry, slices=local)
            for key, values in stats.items():
                parts.setdefault(key, []).append(values)
        merged = {key: np.concatenate(values) for key, values in parts.items()}
        profile = ZSliceProfile(merged["mean"], merged["std_one_pass"], merged["energy"])
        if telemetry:
            report = ZSliceProfile(merged["mean"], merged["std"], merged["energy"])
            report = report.report().as_dict()
    refined = RefinedShape((refined_depth, h * refine_settings.upscale,
                            w * refine_settings.upscale, c))  # fmt: skip
    weights = projection_weights(refined, settings, workspace, profile=profile)
    image = workspace.buffer("image", refined.shape[1:])
    for chain, local, first, last in windows(name):
        chain.collapse(weights[first:last], out=image, slices=local, accumulate=first > 0)
    return image, weights, report
