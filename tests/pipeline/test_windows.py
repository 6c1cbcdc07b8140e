"""Refined stacks too large for memory are streamed in windows of slices: bit for bit.

``project_windowed`` reads a window of slices with a halo on each side, refines it band by
band and adds only its own refined slices into the picture (``accumulate``). With the halo
of ``window_halo`` the picture must equal the in-memory chain's for every refinement and
window size, down to one slice a window.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from stv_cli.io.images import probe_volume
from stv_cli.model import tiles
from stv_cli.model.volume import ZSpaceVolume
from stv_cli.pipeline.settings import ProjectionSettings, RefineSettings
from stv_cli.pipeline.slabs import project_windowed
from stv_cli.pipeline.stages import project_volume, refine
from stv_cli.pipeline.workspace import Workspace

REFINES = [
    RefineSettings(
        diffuse_iterations=k, diffuse_rate=0.3, interpolate=m, interpolate_passes=p, upscale=f
    )  # fmt: skip
    for k, (m, p), f in itertools.product(
        (0, 1, 2), ((None, 1), ("nearest", 2), ("linear", 1), ("cubic", 1), ("cubic", 2)), (1, 2)
    )
    if k or m or f > 1
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    path = tmp_path_factory.mktemp("w") / "v.npy"
    voxels = np.random.default_rng(3).standard_normal((9, 5, 6, 3)).astype(np.float32)
    voxels[4, 2, 2, 1] = np.nan
    np.save(path, voxels)
    return path, voxels


@pytest.mark.parametrize("refine_settings", REFINES, ids=lambda r: f"k{r.diffuse_iterations}-"
                         f"{r.interpolate}{r.interpolate_passes}-f{r.upscale}")  # fmt: skip
def test_windows_of_every_size_give_the_in_memory_picture(refine_settings, stack, monkeypatch):
    monkeypatch.setattr(tiles, "BAND_BYTES", 1)
    path, voxels = stack
    info = probe_volume(path)
    want, want_weights = project_volume(
        refine(ZSpaceVolume(voxels), refine_settings), ProjectionSettings(), Workspace()
    )
    for chunk in (1, 2, 4, 9):
        got, weights, _ = project_windowed(
            info, refine_settings, ProjectionSettings(), Workspace(), chunk, threads=1
        )
        np.testing.assert_array_equal(weights, want_weights)
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32), f"chunk {chunk}")


def test_statistics_of_windows_agree_to_1e_7(stack):
    path, voxels = stack
    voxels = np.nan_to_num(voxels)
    np.save(path.with_name("clean.npy"), voxels)
    info = probe_volume(path.with_name("clean.npy"))
    settings = RefineSettings(diffuse_iterations=1, interpolate="cubic", upscale=2)
    projection = ProjectionSettings(resonance="generate")
    refined = refine(ZSpaceVolume(voxels), settings)
    want, want_weights = project_volume(refined, projection, Workspace())
    got, weights, report = project_windowed(
        info, settings, projection, Workspace(), 2, threads=1, telemetry=True
    )
    np.testing.assert_allclose(weights, want_weights, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    expected = refined.telemetry_report().as_dict()
    for key, value in expected.items():
        if isinstance(value, float):
            assert report[key] == pytest.approx(value, rel=1e-6, abs=1e-7), key
