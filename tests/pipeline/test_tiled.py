"""Tiled refine-and-collapse: bit for bit the materialised chain, band by band.

``project_tiled`` refines and collapses a volume band by band (``stv_cli.model.tiles`` plans
the bands and halos, ``stv_cli.model.tiled`` runs them); ``project_volume(refine(...))`` makes
every stage whole. The pictures must be identical for every refinement, odd sizes, C in
{1, 3, 4}, NaN and inf voxels, and bands as small as one row. Statistics taken band by band
(``--resonance generate``, telemetry) agree to ~1e-7 relative.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from stv_cli import backend
from stv_cli.model import tiles
from stv_cli.model.tiles import plan_tiles
from stv_cli.model.volume import ZSpaceVolume
from stv_cli.pipeline.settings import ProjectionSettings, RefineSettings
from stv_cli.pipeline.stages import project_tiled, project_volume, refine
from stv_cli.pipeline.workspace import Workspace

REFINES = [
    RefineSettings(
        diffuse_iterations=k, diffuse_rate=0.3, interpolate=m, interpolate_passes=p, upscale=f
    )  # fmt: skip
    for k, (m, p), f in itertools.product(
        (0, 1, 3), ((None, 1), ("nearest", 1), ("linear", 2), ("cubic", 1), ("cubic", 2)), (1, 2, 3)
    )
    if k or m or f > 1
]


def _volume(shape, seed=0) -> ZSpaceVolume:
    voxels = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    voxels[0, 0, 0, 0], voxels[-1, -1, -1, -1] = np.nan, np.inf
    return ZSpaceVolume(voxels)


def _materialised(volume, refine_settings, projection):
    return project_volume(refine(volume, refine_settings), projection, Workspace())


@pytest.fixture(params=["cpu", "numpy"])
def kernels(request):
    with backend.use_backend(request.param):
        yield request.param


@pytest.mark.parametrize("refine_settings", REFINES, ids=lambda r: f"k{r.diffuse_iterations}-"
                         f"{r.interpolate}{r.interpolate_passes}-f{r.upscale}")  # fmt: skip
def test_tiled_pictures_are_the_materialised_ones_bit_for_bit(
    refine_settings, kernels, monkeypatch
):
    monkeypatch.setattr(tiles, "BAND_BYTES", 1)  # one projection row per band: every halo cut
    projection = ProjectionSettings(focus=0.4, spread=0.3, window="hann")
    for shape, seed in (((4, 7, 5, 1), 1), ((3, 5, 6, 3), 2), ((5, 6, 3, 4), 3)):
        volume = _volume(shape, seed)
        want, want_weights = _materialised(volume, refine_settings, projection)
        got, weights, report = project_tiled(volume, refine_settings, projection, Workspace())
        assert report is None
        np.testing.assert_array_equal(weights, want_weights)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


def test_bands_of_the_default_size_too(kernels):
    settings = RefineSettings(diffuse_iterations=2, interpolate="cubic", upscale=2)
    volume = _volume((6, 61, 37, 3))
    want, _ = _materialised(volume, settings, ProjectionSettings())
    got, _, _ = project_tiled(volume, settings, ProjectionSettings(), Workspace())
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


def test_statistics_taken_band_by_band_agree_to_1e_7(kernels, monkeypatch):
    monkeypatch.setattr(tiles, "BAND_BYTES", 2000)
    settings = RefineSettings(diffuse_iterations=1, interpolate="linear", upscale=2)
    projection = ProjectionSettings(resonance="generate")
    volume = ZSpaceVolume(np.random.default_rng(5).random((5, 9, 11, 3), dtype=np.float32))
    refined = refine(volume, settings)
    want, want_weights = project_volume(refined, projection, Workspace())
    got, weights, report = project_tiled(volume, settings, projection, Workspace(), telemetry=True)
    np.testing.assert_allclose(weights, want_weights, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    expected = refined.telemetry_report().as_dict()
    assert report.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, float):
            assert report[key] == pytest.approx(value, rel=1e-6, abs=1e-7), key


def test_the_plan_covers_every_row_once_with_the_halos_it_needs():
    plan = plan_tiles((4, 50, 30, 3), diffuse_iterations=3, interpolate_passes=1, upscale=3,
                      band_bytes=200_000)  # fmt: skip
    assert len(plan.bands) > 1
    assert plan.bands[0].start == 0 and plan.bands[-1].stop == 150
    for band, following in zip(plan.bands, plan.bands[1:], strict=False):
        assert band.stop == following.start
    for band in plan.bands:
        assert band.halo_first == max(0, band.first - 3)
        assert band.halo_last == min(50, band.last + 3)
    assert plan.refined_shape == (7, 150, 90, 3)
    assert 0 < plan.band_bytes() < 400_000
