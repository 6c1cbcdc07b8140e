"""The work behind ``stv project`` and ``stv decode``, one input at a time (no click in here).

A command builds frozen settings (:class:`ProjectSettings`, :class:`DecodeSettings`), makes one
:class:`Workspace` for the batch and calls :func:`run_project_input` /
:func:`run_decode_input` per input through :func:`stv_cli.batch.run_batch`. Each call plans its
output paths first (:func:`output_paths`), refuses or skips existing ones, checks the memory
the refined volume will need *before* loading anything, then loads, refines
(:func:`refine`), projects (:func:`project_volume`) and writes every output atomically.

The settings live in :mod:`stv_cli.pipeline_settings` (re-exported here); output naming and the
atomic writers in :mod:`stv_cli.pipeline_outputs`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .pipeline_outputs import (
    claim_outputs,
    decode_output_paths,
    input_name,
    output_paths,
    write_grid,
    write_image,
    write_json,
    write_weights_plot,
)
from .pipeline_settings import (  # re-exported: the settings are part of this module's API
    DecodeSettings,
    GridSettings,
    OutputSettings,
    ProjectionSettings,
    ProjectSettings,
    RefineSettings,
)

F32 = np.float32


# ----------------------------------------------------------------------------- workspace


class Workspace:
    """What the inputs of one batch share: reusable buffers and files loaded once.

    On these machines freshly touched memory is slow, so the projection image is collapsed into
    a buffer kept from the previous input when the shapes agree (HOUSE_STYLE, performance).
    """

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}
        self._loaded: dict[tuple[str, str], object] = {}

    def buffer(self, key: str, shape: tuple[int, ...]) -> np.ndarray:
        """A float32 C-contiguous array of ``shape``, reused when the last one fits."""
        array = self._buffers.get(key)
        if array is None or array.shape != tuple(shape):
            array = np.empty(shape, dtype=F32)
            self._buffers[key] = array
        return array

    def preload(self, projection: ProjectionSettings) -> None:
        """Read the resonance and views files now, so a bad one stops the run before any input."""
        if projection.resonance not in ("uniform", "generate"):
            self.resonance_file(projection.resonance)
        if projection.views is not None:
            self.views_file(projection.views)

    def resonance_file(self, path: str):
        """The resonance in ``path``, read once per batch."""
        return self._load_once("--resonance", path)

    def views_file(self, path: Path):
        """The MultiViewFusion in ``path``, read once per batch."""
        return self._load_once("--views", path)

    def _load_once(self, option: str, path) -> object:
        from .errors import StvError
        from .latent_io import load_resonance, load_views

        key = (option, str(path))
        if key not in self._loaded:
            load = load_resonance if option == "--resonance" else load_views
            try:
                self._loaded[key] = load(path)
            except StvError as error:  # say which option the file came from
                raise type(error)(f"{option} {error}") from None
        return self._loaded[key]


# ------------------------------------------------------------------------- the model part


def refine(volume, settings: RefineSettings, workspace: Workspace | None = None):
    """Diffuse, interpolate along Z and upscale ``volume`` as ``settings`` say (new volume).

    With a ``workspace`` each stage writes into the workspace's buffer for that stage, kept
    from the previous input of the batch when the shape agrees: fresh pages cost a first-touch
    fault here, which made fresh outputs 1.5-2x slower than reused ones in the benchmark. The
    result then lives in those buffers until the next input is refined.
    """
    from .diffuser import ZDiffuser

    def buffer(stage: str, shape):
        return None if workspace is None else workspace.buffer(stage, shape)

    d, h, w, c = volume.shape
    if settings.diffuse_iterations > 0:
        diffuser = ZDiffuser(settings.diffuse_iterations, settings.diffuse_rate)
        volume = diffuser.diffuse(volume, out=buffer("diffuse", (d, h, w, c)))
    if settings.interpolate and settings.interpolate_passes > 0 and d > 1:
        passes = settings.interpolate_passes
        d = (2**passes) * (d - 1) + 1
        out = buffer("interpolate", (d, h, w, c))
        volume = volume.interpolate(settings.interpolate, passes, out=out)
    if settings.upscale > 1:
        shape = (d, h * settings.upscale, w * settings.upscale, c)
        volume = volume.upscale(settings.upscale, out=buffer("upscale", shape))
    return volume


def make_projector(settings: ProjectionSettings):
    """The VisionProjector of ``settings`` with its spectral window."""
    from .projector import VisionProjector
    from .windows import SpectralWindow

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
    from .errors import ShapeMismatch

    count = view_count(fusion)
    if count != depth:
        raise ShapeMismatch(
            f"--views {source} has {count} views, but the refined volume has depth {depth}: "
            "the view count must equal the depth (mind --interpolate, which changes the depth)"
        )


def project_volume(volume, settings: ProjectionSettings, workspace: Workspace | None = None):
    """Collapse ``volume`` to one image with the projector, resonance and views of ``settings``.

    Returns
    -------
    image : numpy.ndarray
        (H, W, C) float32. With a ``workspace`` it is the workspace's reused buffer: copy it
        if it must outlive the next input.
    weights : numpy.ndarray
        (D,) float32 depth weights, normalised.
    """
    from .resonance import DifferentialResonance

    workspace = workspace or Workspace()
    projector = make_projector(settings)
    if settings.resonance == "uniform":
        resonance = DifferentialResonance.uniform()
    elif settings.resonance == "generate":
        from .generator import ResonanceGenerator

        generator = ResonanceGenerator("stv", settings.hidden_dim, max(volume.depth, 1))
        resonance = generator.generate(volume, projector)
    else:
        resonance = workspace.resonance_file(settings.resonance)
    if settings.views is not None:
        fusion = workspace.views_file(settings.views)
        check_views(fusion, volume.depth, settings.views)
        weights = projector.depth_weights_multi_view(fusion, volume, resonance)
    else:
        weights = projector.depth_weights(volume, resonance)
    weights = np.ascontiguousarray(np.asarray(weights, dtype=F32).reshape(-1))
    out = workspace.buffer("image", (volume.height, volume.width, volume.channels))
    image = volume.collapse_with_weights(weights, out=out)
    return image, weights


def check_refined_memory(
    shape: tuple[int, ...], refine_settings: RefineSettings, what: str | None = None
) -> None:
    """Refuse, before loading, a run whose refinement would exceed the memory limit.

    The peak is the largest input-plus-output pair of consecutive stages (each stage reads one
    volume and writes the next). ``what`` (the input) starts the message when given; a batch
    names the input itself, so the pipeline leaves it out.
    """
    from .errors import InvalidDimensions
    from .volume import estimate_volume_bytes, memory_limit

    shapes = refine_settings.stage_shapes(tuple(shape))
    sizes = [estimate_volume_bytes(*s) for s in shapes]
    peak = max([sizes[0]] + [a + b for a, b in zip(sizes, sizes[1:], strict=False)])
    limit = memory_limit()
    if limit is not None and peak > limit:
        raise InvalidDimensions(
            f"{what + ': ' if what else ''}refining {shapes[0]} to {shapes[-1]} needs an estimated "
            f"{_size(peak)} at its peak, more than the memory limit of {_size(limit)}; "
            "use a smaller --upscale, fewer --interpolate-passes or a smaller input (decode: "
            "smaller --depth, --height, --width), "
            "or raise --memory-limit"
        )


def _size(nbytes: int) -> str:
    return f"{nbytes / 2**20:.1f} MiB ({nbytes} bytes)"


def _settings_record(settings) -> dict:
    from dataclasses import asdict

    record = asdict(settings)
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in record.items()}


# --------------------------------------------------------------------------- per input


def run_project_input(
    path: Path, settings: ProjectSettings, workspace: Workspace | None = None
) -> list[Path]:
    """Load one stack, refine, project and write its outputs; return the paths written.

    Raises
    ------
    SkipInput
        With ``--skip-existing`` when every output exists.
    StvError
        Bad input, an existing output (without overwrite), a refined volume over the memory
        limit, a view count that differs from the depth.
    """
    from .image_io import probe_volume
    from .volume import ZSpaceVolume

    workspace = workspace or Workspace()
    path = Path(path)
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

    voxels = _load_with_progress(info, settings)
    volume = refine(ZSpaceVolume(voxels), settings.refine, workspace)
    image, weights = project_volume(volume, settings.projection, workspace)

    written = [write_image(paths["image"], image, out, replace)]
    if "grid" in paths:
        written.append(write_grid(paths["grid"], volume.voxels, settings.grid, out, replace))
    if "weights" in paths:
        record = {
            "input": str(path),
            "depth": volume.depth,
            "weights": weights,
            "projection": _settings_record(settings.projection),
            "refine": _settings_record(settings.refine),
        }
        written.append(write_json(paths["weights"], record, replace))
    if "weights_plot" in paths:
        written.append(write_weights_plot(paths["weights_plot"], weights, replace))
    if "telemetry" in paths:
        report = {"input": str(path), **volume.telemetry_report().as_dict()}
        written.append(write_json(paths["telemetry"], report, replace))
    if "volume" in paths:
        from .atomic import save_npy

        written.append(save_npy(paths["volume"], volume.voxels, overwrite=replace))
    return written


def _load_with_progress(info, settings: ProjectSettings) -> np.ndarray:
    """Load the probed volume, with a tqdm bar over its slices on stderr when asked."""
    import sys

    from tqdm import tqdm

    from .image_io import load_volume

    with tqdm(
        total=info.depth,
        desc=input_name(info.path),
        unit="slice",
        file=sys.stderr,
        disable=not settings.progress,
        leave=False,
    ) as bar:
        return load_volume(
            info,
            threads=settings.load_threads,
            progress=bar.update,
            memory_limit=settings.memory_limit,
        )


def run_decode_input(
    path: Path, settings: DecodeSettings, workspace: Workspace | None = None
) -> list[Path]:
    """Decode every latent of one file, refine, project, and write the images; return paths.

    Each file gets a fresh ``ZDecoder(depth, height, width, seed)``, so its pictures do not
    depend on the other files of the batch; the latents of one file are decoded in order from
    one decoder (whose random stream advances per call, SPEC A.6).
    """
    from .decoder import ZDecoder
    from .latent_io import load_latents
    from .volume import ZSpaceVolume

    workspace = workspace or Workspace()
    path = Path(path)
    out = settings.output
    shape = (settings.depth, settings.height, settings.width, 1)
    check_refined_memory(shape, settings.refine)
    final_depth = settings.refine.stage_shapes(shape)[-1][0]
    if settings.projection.views is not None:
        fusion = workspace.views_file(settings.projection.views)
        check_views(fusion, final_depth, settings.projection.views)

    latents = load_latents(path)
    paths = decode_output_paths(out, input_name(path), len(latents))
    replace = claim_outputs(list(paths.values()), out)

    low, high = settings.value_range
    decoder = ZDecoder(settings.depth, settings.height, settings.width, settings.seed)
    images, weight_rows, reports = [], [], []
    for latent in latents:
        decoded = ZSpaceVolume(_decoded_voxels(decoder.decode(latent)))
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


def _decoded_voxels(decoded) -> np.ndarray:
    """The (D, H, W, C) voxels of a decoder result (a volume or an array)."""
    voxels = getattr(decoded, "voxels", decoded)
    voxels = np.asarray(voxels, dtype=F32)
    return voxels[..., None] if voxels.ndim == 3 else voxels


# -------------------------------------------------------------------------------- grid


def run_grid(paths: list[Path], grid: GridSettings, output: OutputSettings) -> Path:
    """Tile the image files ``paths`` into one grid and write it; return its path.

    An existing output is refused (without ``overwrite``) before any image is read.
    """
    from .atomic import OutputExists
    from .image_io import load_same_size_images

    if Path(output.out).exists() and not output.overwrite:
        raise OutputExists(f"output {str(output.out)!r} exists; pass --overwrite to replace it")
    images = load_same_size_images(paths)
    return write_grid(output.out, images, grid, output, output.overwrite)
