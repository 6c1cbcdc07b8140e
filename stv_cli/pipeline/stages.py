"""The stages every input goes through: refine the volume, then project it to one picture.

``stv project``, ``stv decode`` and (through its stream projector) ``stv video`` share these:
:func:`refine` (diffuse, interpolate along Z, upscale), :func:`make_projector`,
:func:`project_volume` (resonance, views, depth weights, collapse) and the checks made before
any input is loaded (:func:`check_refined_memory`, :func:`check_views`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..backend import device_memory
from ..errors import InvalidDimensions, ShapeMismatch
from ..model.diffuser import ZDiffuser
from ..model.generator import ResonanceGenerator
from ..model.memory import describe_bytes, estimate_volume_bytes, format_bytes, memory_limit
from ..model.projector import VisionProjector
from ..model.refine import refined_depth
from ..model.resonance import DifferentialResonance
from ..model.windows import SpectralWindow
from .settings import ProjectionSettings, RefineSettings
from .workspace import Workspace

F32 = np.float32


def refine(volume, settings: RefineSettings, workspace: Workspace | None = None):
    """Diffuse, interpolate along Z and upscale ``volume`` as ``settings`` say (new volume).

    With a ``workspace`` each stage writes into the workspace's buffer for that stage, kept
    from the previous input of the batch when the shape agrees: fresh pages cost a first-touch
    fault here, which made fresh outputs 1.5-2x slower than reused ones in the benchmark. The
    result then lives in those buffers until the next input is refined. A volume on a GPU
    (:attr:`ZSpaceVolume.on_device`) is refined there, stage after stage, into the workspace's
    device buffers: nothing comes back to the host.
    """
    place = "device" if volume.on_device else "host"

    def buffer(stage: str, shape):
        return None if workspace is None else workspace.buffer(stage, shape, place)

    d, h, w, c = volume.shape
    if settings.diffuse_iterations > 0:
        diffuser = ZDiffuser(settings.diffuse_iterations, settings.diffuse_rate)
        volume = diffuser.diffuse(volume, out=buffer("diffuse", (d, h, w, c)))
    if settings.interpolate and settings.interpolate_passes > 0 and d > 1:
        passes = settings.interpolate_passes
        d = refined_depth(d, passes)
        out = buffer("interpolate", (d, h, w, c))
        volume = volume.interpolate(settings.interpolate, passes, out=out)
    if settings.upscale > 1:
        shape = (d, h * settings.upscale, w * settings.upscale, c)
        volume = volume.upscale(settings.upscale, out=buffer("upscale", shape))
    return volume


def make_projector(settings: ProjectionSettings):
    """The VisionProjector of ``settings`` with its spectral window."""
    window = (
        SpectralWindow.gaussian(settings.sigma)
        if settings.window == "gaussian"
        else getattr(SpectralWindow, settings.window)()
    )
    projector = VisionProjector(settings.focus, settings.spread, settings.energy_bias)
    return projector.with_spectral_window(window)


def view_count(fusion) -> int:
    """Number of views of a MultiViewFusion."""
    count = getattr(fusion, "view_count", None)
    if count is None:
        return len(fusion.views)
    return int(count() if callable(count) else count)


def check_views(fusion, depth: int, source) -> None:
    """Refuse a view file whose view count is not the depth it will weight."""
    count = view_count(fusion)
    if count != depth:
        raise ShapeMismatch(
            f"--views {source} has {count} views, but the refined volume has depth {depth}: "
            "the view count must equal the depth (mind --interpolate, which changes the depth)"
        )


def projection_weights(volume, settings: ProjectionSettings, workspace: Workspace, profile=None):
    """The normalised float32 (D,) depth weights of ``settings`` for ``volume``.

    ``volume`` is the refined volume, or its shape alone (:class:`RefinedShape`) for a tiled
    run, which then gives the refined volume's ``slice_profile()`` as ``profile`` when the
    resonance is generated.
    """
    projector = make_projector(settings)
    if settings.resonance == "uniform":
        resonance = DifferentialResonance.uniform()
    elif settings.resonance == "generate":
        generator = ResonanceGenerator("stv", settings.hidden_dim, max(volume.depth, 1))
        resonance = generator.generate(volume, projector, profile=profile)
    else:
        resonance = workspace.resonance_file(settings.resonance)
    if settings.views is not None:
        fusion = workspace.views_file(settings.views)
        check_views(fusion, volume.depth, settings.views)
        weights = projector.depth_weights_multi_view(fusion, volume, resonance)
    else:
        weights = projector.depth_weights(volume, resonance)
    return np.ascontiguousarray(np.asarray(weights, dtype=F32).reshape(-1))


def project_volume(volume, settings: ProjectionSettings, workspace: Workspace | None = None):
    """Collapse ``volume`` to one image with the projector, resonance and views of ``settings``.

    Returns
    -------
    image : numpy.ndarray
        (H, W, C) float32. With a ``workspace`` it is the workspace's reused buffer (page-locked
        for a volume on a GPU, the one copy that comes back): copy it if it must outlive the
        next input.
    weights : numpy.ndarray
        (D,) float32 depth weights, normalised.
    """
    workspace = workspace or Workspace()
    weights = projection_weights(volume, settings, workspace)
    place = "pinned" if volume.on_device else "host"
    out = workspace.buffer("image", (volume.height, volume.width, volume.channels), place)
    image = volume.collapse_with_weights(weights, out=out)
    return image, weights


def tiles_apply(on_device: bool, refine_settings: RefineSettings, needs_volume: bool) -> bool:
    """Whether a run refines and collapses band by band (:func:`project_tiled`): there is a
    refinement to spare, no output needs the whole refined volume (``needs_volume``: a grid, a
    saved volume, ``--no-tiles``), and the volume lives on the host (not ``on_device``)."""
    return refine_settings.refines and not needs_volume and not on_device


def tile_plan(shape, refine_settings: RefineSettings, statistics: bool = False):
    """The :class:`~stv_cli.model.tiles.TilePlan` of refining ``shape`` as ``refine_settings``
    say (interpolation passes run only for D > 1)."""
    from ..model.tiles import plan_tiles

    interpolates = refine_settings.interpolate and shape[0] > 1
    return plan_tiles(
        shape,
        refine_settings.diffuse_iterations,
        refine_settings.interpolate_passes if interpolates else 0,
        refine_settings.upscale,
        statistics=statistics,
    )


def project_tiled(
    volume,
    refine_settings: RefineSettings,
    settings: ProjectionSettings,
    workspace: Workspace,
    telemetry: bool = False,
    progress=None,
):
    """Refine and collapse ``volume`` band by band (SPEC A.2.1-A.2.4 without the refined volume).

    The picture is bit for bit :func:`project_volume` of :func:`refine` (the same operations
    per voxel, :mod:`stv_cli.model.tiled`); with ``--resonance generate`` or ``telemetry`` a
    statistics pass comes first, whose sums agree with the whole volume's to ~1e-7 relative.

    Returns
    -------
    image, weights, report
        As :func:`project_volume`, and the refined volume's telemetry report (a dict) when
        ``telemetry``, else None.
    """
    from ..model.diffuser import ZDiffuser
    from ..model.tiled import TiledChain

    generate = settings.resonance == "generate"
    plan = tile_plan(volume.shape, refine_settings, statistics=generate or telemetry)
    passes = plan.interpolate_passes
    rate = ZDiffuser(refine_settings.diffuse_iterations, refine_settings.diffuse_rate).rate
    method = refine_settings.interpolate.lower() if passes else None
    chain = TiledChain(volume.voxels, plan, rate, method)
    profile = report = None
    if plan.statistics:
        statistics = chain.statistics(two_pass=telemetry, progress=progress)
        if generate:
            profile = TiledChain.profile(statistics, two_pass=False)
        if telemetry:
            report = TiledChain.profile(statistics, two_pass=True).report().as_dict()
    weights = projection_weights(chain.refined, settings, workspace, profile=profile)
    out = workspace.buffer("image", plan.refined_shape[1:])
    image = chain.collapse(weights, out=out, progress=progress)
    return image, weights, report


@dataclass(frozen=True)
class MemoryEstimate:
    """The memory one input's run holds at once, phase by phase (bytes).

    ``loading``: the float32 volume and each decoding thread's raw page or chunk;
    ``refining``: the input, every stage's output (the workspace keeps them for the next input
    of the batch) and the largest transient of a stage (the diffusion's scratch, the previous
    pass of a multi-pass interpolation); ``writing``: what is alive while the outputs are made
    (the refined volume and its stage buffers, the picture, a grid and its quantised copy).
    """

    loading: int
    refining: int
    writing: int

    @property
    def peak(self) -> int:
        return max(self.loading, self.refining, self.writing)

    def describe(self) -> str:
        phases = {"loading": self.loading, "refining": self.refining, "writing": self.writing}
        worst = max(phases, key=phases.get)
        return (
            f"an estimated {describe_bytes(self.peak)} at its peak (while {worst}; loading "
            f"{format_bytes(self.loading)}, refining {format_bytes(self.refining)}, writing "
            f"{format_bytes(self.writing)})"
        )


def estimate_run_memory(
    shape: tuple[int, ...],
    refine_settings: RefineSettings,
    *,
    decode_scratch: int = 0,
    threads: int = 1,
    mapped: int = 0,
    grid: bool = False,
    bit_depth: int = 8,
    tiled: bool = False,
) -> MemoryEstimate:
    """What one input of ``shape`` (D, H, W, C) holds at once (see :class:`MemoryEstimate`).

    ``decode_scratch``: raw bytes one loading thread holds besides the volume (a decoded page
    or chunk row, ``VolumeInfo.scratch_bytes``), for ``threads`` threads; ``mapped``: bytes of
    a memory-mapped source, resident once read (``VolumeInfo.mapped_bytes``); ``grid``: a grid
    of the refined slices is written (make_grid's float32 picture, RGB for grey slices, and
    its quantised copy); ``bit_depth``: of the pictures written (their quantised array and the
    encoder's copy of it); ``tiled``: the run refines and collapses band by band
    (:func:`project_tiled`), holding one band's working set instead of the stages.
    """
    shapes = refine_settings.stage_shapes(tuple(shape))
    sizes = [estimate_volume_bytes(*s) for s in shapes]
    volume = sizes[0]
    loading = volume + max(1, int(threads)) * int(decode_scratch) + int(mapped)
    # the workspace keeps the diffusion, the last interpolation pass and the upscale
    kept, transient = [], 0
    if refine_settings.diffuse_iterations > 0:
        kept.append(volume)
        transient = max(transient, volume)  # the kernel's second buffer between passes
    d = shape[0]
    if refine_settings.interpolate and d > 1 and refine_settings.interpolate_passes > 0:
        passes = refine_settings.interpolate_passes
        depths = [refined_depth(d, k) for k in range(1, passes + 1)]
        per_slice = estimate_volume_bytes(1, *shape[1:])
        kept.append(depths[-1] * per_slice)
        if passes > 1:  # pass k is made while pass k - 1 is alive
            transient = max(transient, depths[-2] * per_slice)
    if refine_settings.upscale > 1:
        kept.append(sizes[-1])
    refining = volume + sum(kept) + transient
    if tiled:
        from ..model.tiles import plan_tiles

        d_ = shape[0]
        passes = refine_settings.interpolate_passes if refine_settings.interpolate and d_ > 1 else 0
        plan = plan_tiles(
            shape, refine_settings.diffuse_iterations, passes, refine_settings.upscale
        )
        kept = []  # nothing of the refinement is kept: one band at a time
        refining = volume + plan.band_bytes() + estimate_volume_bytes(1, *shapes[-1][1:])
    final = sizes[-1]
    picture = estimate_volume_bytes(1, *shapes[-1][1:])
    channels = shapes[-1][3]
    writing = volume + sum(kept) + picture + _encoded(picture, channels, bit_depth)
    if grid:
        colour = 3 if channels == 1 else 1  # grey slices are gridded as RGB
        # make_grid's float32 picture, its quantised pixels and the encoder's copy of them
        writing += final * colour + _encoded(final * colour, 3 if colour == 3 else channels,
                                             bit_depth)  # fmt: skip
    return MemoryEstimate(loading, max(refining, loading), writing)


def _encoded(float_bytes: int, channels: int, bit_depth: int) -> int:
    """Bytes a picture of ``float_bytes`` float32 bytes takes while it is written: its quantised
    pixels, and the encoder's copy of them (Pillow holds 8-bit RGB as 4 bytes a pixel)."""
    values = float_bytes // 4
    if bit_depth == 32:
        return values * 4  # tifffile's compressed copy, at most the picture's size
    pixels = values * (bit_depth // 8)
    copy = (values // 3) * 4 if channels == 3 and bit_depth == 8 else pixels
    return pixels + copy


def check_refined_memory(
    shape: tuple[int, ...],
    refine_settings: RefineSettings,
    what: str | None = None,
    *,
    decode_scratch: int = 0,
    threads: int = 1,
    mapped: int = 0,
    grid: bool = False,
    bit_depth: int = 8,
    tiled: bool = False,
) -> MemoryEstimate:
    """Refuse, before loading, a run whose buffers would exceed the memory limit.

    The estimate (:func:`estimate_run_memory`) counts every buffer the run holds at once, not
    only the volume: the decoded pages, each refinement stage and its scratch, the outputs.
    ``what`` (the input) starts the message when given; a batch names the input itself, so the
    pipeline leaves it out. Returns the estimate.
    """
    shapes = refine_settings.stage_shapes(tuple(shape))
    estimate = estimate_run_memory(
        shape,
        refine_settings,
        decode_scratch=decode_scratch,
        threads=threads,
        mapped=mapped,
        grid=grid,
        bit_depth=bit_depth,
        tiled=tiled,
    )
    check_device_memory(shapes, max(estimate_volume_bytes(*s) for s in shapes), what)
    limit = memory_limit()
    if limit is not None and estimate.peak > limit:
        raise InvalidDimensions(
            f"{what + ': ' if what else ''}refining {shapes[0]} to {shapes[-1]} needs "
            f"{estimate.describe()}, more than the memory limit of {describe_bytes(limit)}; "
            "use a smaller --upscale, fewer --interpolate-passes or a smaller input (decode: "
            "smaller --depth, --height, --width), fewer --threads, "
            "or raise --memory-limit"
        )
    return estimate


def check_device_memory(shapes: list[tuple[int, ...]], peak: int, what: str | None) -> None:
    """With a GPU backend in force, refuse a refinement whose stages cannot all be on the device.

    The device holds the uploaded input, one buffer per stage and the diffusion's scratch at
    once (the buffers are kept across the batch), so the sum of the stages, not the peak pair,
    must fit the device's memory.
    """
    memory = device_memory()
    if memory is None:
        return
    _, total = memory.memory_info()
    sizes = [estimate_volume_bytes(*s) for s in shapes]
    needed = max(peak, sum(sizes) + sizes[0])  # + the diffusion's scratch, at the input's size
    if needed > total:
        raise InvalidDimensions(
            f"{what + ': ' if what else ''}refining {shapes[0]} to {shapes[-1]} on the GPU needs "
            f"an estimated {describe_bytes(needed)} of device memory, more than the device's "
            f"{describe_bytes(total)}; use a smaller --upscale, fewer --interpolate-passes or "
            "a smaller input, or --device cpu"
        )


def settings_record(settings) -> dict:
    """A frozen settings object as a JSON-ready dict (paths as text), for the weights file."""
    record = asdict(settings)
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in record.items()}
