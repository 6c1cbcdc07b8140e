"""Tests for stv_cli.model.projector.VisionProjector (SPEC A.7, D5)."""

from __future__ import annotations

import numpy as np
import pytest

from stv_cli import (
    AtlasFrame,
    AtlasMetric,
    ChronoSummary,
    DifferentialResonance,
    MultiViewFusion,
    SpectralWindow,
    TemporalResonanceBuffer,
    ViewDescriptor,
    VisionProjector,
    ZSpaceVolume,
)
from stv_cli.errors import EmptyInput, InvalidValue, ShapeMismatch
from stv_cli.model.floats import normalise
from tests.tolerances import ATOL

UNIFORM = DifferentialResonance.uniform()


def volume(rng, depth=5, channels=1) -> ZSpaceVolume:
    return ZSpaceVolume(rng.standard_normal((depth, 3, 4, channels)).astype(np.float32))


def closed_form(projector: VisionProjector, resonance, depth: int) -> np.ndarray:
    """w ∝ r * max(g, 1e-6) * max(win, 1e-6), in float64 (SPEC A.7's closed form)."""
    r = resonance.weights(depth).astype(np.float64)
    win = np.maximum(projector.window.weights(depth).astype(np.float64), 1e-6)
    pos = np.arange(depth) / (depth - 1)
    g = np.exp(-0.5 * ((pos - projector.focus) / projector.spread) ** 2)
    w = r * np.maximum(g, 1e-6) * win
    return w / w.sum()


def test_defaults_a16():
    p = VisionProjector()
    assert (p.focus, p.spread, p.energy_bias) == pytest.approx((0.5, 0.35, 0.0))
    assert p.window == SpectralWindow.hann()
    assert (p.temporal_focus, p.temporal_decay) == pytest.approx((1.0, 0.35))
    assert p.streaming_alpha() == pytest.approx(0.65)


@pytest.mark.parametrize(
    "args,expected",
    [
        ((2.0, 0.2, 0.1), (1.0, 0.2, 0.1)),
        ((-1.0, np.nan, np.inf), (0.0, 0.35, 0.0)),
        ((0.3, 1e-3, -np.inf), (0.3, 0.35, 0.0)),
        ((0.3, -1.0, 0.5), (0.3, 0.35, 0.5)),
    ],
)
def test_constructor_clamps_and_falls_back_without_error(args, expected):
    p = VisionProjector(*args)
    assert (p.focus, p.spread, p.energy_bias) == pytest.approx(expected)


def test_nan_focus_passes_and_makes_the_gaussian_uniform(rng):
    p = VisionProjector(np.nan, 0.1, 0.0)
    assert np.isnan(p.focus)
    v = volume(rng)
    expected = normalise(UNIFORM.weights(5) * np.fmax(p.window.weights(5), np.float32(1e-6)))
    np.testing.assert_allclose(p.depth_weights(v, UNIFORM), expected, atol=ATOL)


@pytest.mark.parametrize("focus,spread", [(0.5, 0.35), (0.0, 0.2), (0.8, 1.5), (1.0, 0.01)])
@pytest.mark.parametrize("window", [SpectralWindow.hann(), SpectralWindow.gaussian(0.7)])
def test_depth_weights_match_the_closed_form(rng, focus, spread, window):
    p = VisionProjector(focus, spread, 0.3).with_spectral_window(window)
    r = DifferentialResonance(infinity_energy=[1, 2, 3], recursive_objective=[0.1, -0.4])
    w = p.depth_weights(volume(rng, depth=7), r)
    assert w.dtype == np.float32 and w.shape == (7,)
    np.testing.assert_allclose(w, closed_form(p, r, 7), atol=ATOL)


def test_energy_bias_cancels_in_normalisation(rng):
    v = volume(rng, depth=6)
    a = VisionProjector(0.4, 0.3, 0.0).depth_weights(v, UNIFORM)
    b = VisionProjector(0.4, 0.3, 2.5).depth_weights(v, UNIFORM)
    np.testing.assert_allclose(a, b, atol=ATOL)


def test_depth_one_gives_weight_one(rng):
    p = VisionProjector(0.9, 0.05, -3.0)
    np.testing.assert_array_equal(p.depth_weights(volume(rng, depth=1), UNIFORM), [1.0])


def test_project_collapses_each_channel_with_the_same_weights(backend, rng):
    v = volume(rng, depth=5, channels=3)
    p = VisionProjector(0.7, 0.25, 0.0)
    w = p.depth_weights(v, UNIFORM)
    out = p.project(v, UNIFORM)
    assert out.shape == (3, 4, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, np.tensordot(w, v.voxels, axes=(0, 0)), atol=1e-5)


def test_project_with_temporal_applies_and_updates_the_buffer(backend, rng):
    v = volume(rng, depth=4)
    p = VisionProjector()
    buf = TemporalResonanceBuffer(0.5)
    first = p.project_with_temporal(v, UNIFORM, buf)
    np.testing.assert_allclose(first, p.project(v, UNIFORM), atol=1e-6)
    assert buf.frames == 1
    w2 = p.depth_weights_with_temporal(
        v, DifferentialResonance(infinity_energy=[1, 5], recursive_objective=[0]), buf
    )
    assert buf.frames == 2
    np.testing.assert_allclose(w2, buf.history, atol=0)


def test_temporal_weights_favour_the_latest_frames_by_default():
    p = VisionProjector()
    assert p.temporal_weights(0).size == 0
    np.testing.assert_array_equal(p.temporal_weights(1), [1.0])
    w = p.temporal_weights(5)
    assert abs(float(w.sum()) - 1) < 1e-6 and np.all(np.diff(w) > 0)
    k = np.arange(5) / 4
    g = np.exp(-0.5 * ((k - 1.0) / 0.35) ** 2)
    np.testing.assert_allclose(w, g / g.sum(), atol=ATOL)


def test_fuse_sequence_blends_with_temporal_weights(backend, rng):
    p = VisionProjector()
    vols = [volume(rng, depth=2, channels=3) for _ in range(3)]
    w = p.temporal_weights(3).astype(np.float64)
    expected = sum(wk * v.voxels for wk, v in zip(w, vols, strict=True)) / w.sum()
    np.testing.assert_allclose(p.fuse_sequence(vols).voxels, expected, atol=1e-5)
    with pytest.raises(EmptyInput, match="z_space_sequence"):
        p.fuse_sequence([])
    with pytest.raises(ShapeMismatch):
        p.fuse_sequence([vols[0], volume(rng, depth=3, channels=3)])


def test_accumulate_temporal_uses_streaming_alpha(rng):
    p = VisionProjector().with_temporal_decay(0.2)
    assert p.streaming_alpha() == pytest.approx(0.8)
    state, nxt = volume(rng), volume(rng)
    expected = state.accumulated(nxt, p.streaming_alpha())
    p.accumulate_temporal(state, nxt)
    assert state == expected


def test_streaming_alpha_is_clamped():
    assert VisionProjector().with_temporal_decay(1.0).streaming_alpha() == pytest.approx(0.05)
    assert VisionProjector().with_temporal_decay(0.05).streaming_alpha() == pytest.approx(0.95)


def test_builders_return_copies():
    p = VisionProjector()
    q = p.with_spectral_window(SpectralWindow.blackman()).with_temporal_focus(0.25)
    assert p.window == SpectralWindow.hann() and p.temporal_focus == 1.0
    assert q.window == SpectralWindow.blackman() and q.temporal_focus == 0.25
    assert VisionProjector().with_temporal_decay(np.nan).temporal_decay == pytest.approx(0.35)


def test_from_summary():
    s = ChronoSummary(
        frames=4,
        mean_energy=1.0,
        energy_std=0.5,
        min_energy=0.0,
        max_energy=2.0,
        mean_abs_drift=1.0,
        mean_decay=-0.05,
    )
    p = VisionProjector.from_summary(s)
    assert (p.focus, p.spread, p.energy_bias) == pytest.approx((0.5, 0.125, -0.05))
    assert (p.temporal_decay, p.temporal_focus) == pytest.approx((0.5, 1.0))
    nan_drift = VisionProjector.from_summary(
        ChronoSummary(mean_energy=3.0, energy_std=0.0, mean_abs_drift=np.nan)
    )
    # span falls back to 1e-3, focus clamps to 1, spread clamps to 0.05, decay keeps 0.35
    assert (nan_drift.focus, nan_drift.spread) == pytest.approx((1.0, 0.05))
    assert nan_drift.temporal_decay == pytest.approx(0.35)


def test_calibrate_from_atlas_reads_named_fields_in_place():
    p = VisionProjector().with_spectral_window(SpectralWindow.hamming())
    atlas = AtlasFrame(
        timestamp=1.0,
        z_signal=1.5,
        suggested_pressure=-64.0,
        collapse_total=0.5,
        metrics=[AtlasMetric("temporal_focus", 0.3), AtlasMetric("z_temporal_decay", -0.2)],
    )
    assert p.calibrate_from_atlas(atlas) is None
    assert (p.focus, p.spread) == pytest.approx((1.0, 2.0))
    assert p.energy_bias == pytest.approx(np.tanh(0.5))
    assert (p.temporal_focus, p.temporal_decay) == pytest.approx((0.3, 0.2))
    assert p.window == SpectralWindow.hamming()
    p.calibrate_from_atlas(AtlasFrame(0.0, suggested_pressure=1.0))
    assert p.spread == pytest.approx(0.05)


def test_calibrate_skips_missing_and_non_finite_and_ignores_district_d5():
    p = VisionProjector(0.2, 0.3, 0.1)
    atlas = AtlasFrame(
        timestamp=0.0,
        z_signal=np.nan,
        collapse_total=np.inf,
        metrics=[
            AtlasMetric("loop_gain", 0.9, district="Temporal"),
            AtlasMetric("temporal_decay", np.nan),
        ],
    )
    p.calibrate_from_atlas(atlas)
    assert (p.focus, p.spread, p.energy_bias) == pytest.approx((0.2, 0.3, 0.1))
    assert p.temporal_decay == pytest.approx(0.35)


def fusion_facing(count: int) -> MultiViewFusion:
    views = [ViewDescriptor(f"v{k}", [0, 0, 0], [np.sin(k), 0, np.cos(k)]) for k in range(count)]
    return MultiViewFusion(views)


def test_multi_view_weights_multiply_biases_then_normalise(backend, rng):
    p = VisionProjector()
    v = volume(rng, depth=4, channels=3)
    fusion = fusion_facing(4)
    base = p.depth_weights(v, UNIFORM).astype(np.float64)
    bias = fusion.normalised_biases().astype(np.float64)
    expected = base * np.maximum(bias, 1e-6)
    expected /= expected.sum()
    w = p.depth_weights_multi_view(fusion, v, UNIFORM)
    np.testing.assert_allclose(w, expected, atol=ATOL)
    np.testing.assert_allclose(
        p.project_multi_view(fusion, v, UNIFORM), v.collapse_with_weights(w), atol=ATOL
    )


def test_multi_view_temporal_variants_apply_the_buffer_after_the_biases(backend, rng):
    p = VisionProjector()
    v = volume(rng, depth=3)
    fusion = fusion_facing(3)
    buf = TemporalResonanceBuffer(0.5)
    w = p.depth_weights_multi_view_with_temporal(fusion, v, UNIFORM, buf)
    np.testing.assert_allclose(w, p.depth_weights_multi_view(fusion, v, UNIFORM), atol=ATOL)
    out = p.project_multi_view_with_temporal(fusion, v, UNIFORM, buf)
    assert buf.frames == 2
    np.testing.assert_allclose(out, v.collapse_with_weights(buf.history), atol=ATOL)


def test_multi_view_count_must_equal_depth(rng):
    with pytest.raises(
        ShapeMismatch, match="multi_view_fusion has 3 views but the volume has depth 4"
    ):
        VisionProjector().depth_weights_multi_view(fusion_facing(3), volume(rng, depth=4), UNIFORM)
    with pytest.raises(ShapeMismatch, match=r"one weight per view \(3 views\), got 2"):
        VisionProjector.apply_multi_view_biases([0.5, 0.5], fusion_facing(3))
    with pytest.raises(InvalidValue, match="multi-view weights must be a sequence of numbers"):
        VisionProjector.apply_multi_view_biases(["a", "b", "c"], fusion_facing(3))


def test_parameters_beyond_float32_range_are_not_finite_and_fall_back():
    # The reference receives f32 parameters: 1e39 arrives as inf, so "kept if finite,
    # otherwise the default" gives the defaults (spread 0.35, energy_bias 0), not inf.
    p = VisionProjector(0.5, 1e39, -1e39)
    assert (p.spread, p.energy_bias) == (pytest.approx(0.35), 0.0)
    assert p.with_temporal_decay(1e39).temporal_decay == pytest.approx(0.35)
    atlas = AtlasFrame(
        timestamp=0.0,
        z_signal=1e39,
        suggested_pressure=1e39,
        collapse_total=1e39,
        metrics=[AtlasMetric("temporal_decay", -1e39)],
    )
    q = VisionProjector(0.2, 0.3, 0.1)
    q.calibrate_from_atlas(atlas)
    assert (q.focus, q.spread, q.energy_bias) == pytest.approx((0.2, 0.3, 0.1))
    assert q.temporal_decay == pytest.approx(0.35)


def test_default_depth_weights_on_three_slices_by_hand(rng):
    # Hann(3) = [0, 1, 0] is floored to [1e-6, 1, 1e-6]; the focus Gaussian at pos 0 and 1 is
    # exp(-0.5 (0.5 / 0.35)^2) = 0.3604478; the uniform resonance and em = 1 cancel.
    g = np.exp(-0.5 * (0.5 / 0.35) ** 2)
    assert g == pytest.approx(0.3604478, rel=1e-6)
    edge = g * 1e-6 / (1 + 2 * g * 1e-6)
    w = VisionProjector().depth_weights(volume(rng, depth=3), UNIFORM)
    np.testing.assert_allclose(w, [edge, 1 - 2 * edge, edge], rtol=1e-5, atol=0)
    assert edge == pytest.approx(3.604475e-7, rel=1e-5)


def test_depth_weights_follow_calibration_and_window_changes(rng):
    # the projector keeps the last Gaussian and window; a change of focus, spread, window
    # or depth must give exactly what a fresh projector gives
    vol4, vol6 = volume(rng, depth=4), volume(rng, depth=6)
    projector = VisionProjector(0.5, 0.3)
    projector.depth_weights(vol4, UNIFORM)
    projector.calibrate_from_atlas(AtlasFrame(timestamp=0.0, z_signal=1.0))
    np.testing.assert_array_equal(
        projector.depth_weights(vol4, UNIFORM),
        VisionProjector(1.0, 0.3).depth_weights(vol4, UNIFORM),
    )
    projector.calibrate_from_atlas(AtlasFrame(timestamp=0.0, suggested_pressure=3.2))
    fresh = VisionProjector(1.0, 0.1)
    np.testing.assert_array_equal(
        projector.depth_weights(vol6, UNIFORM), fresh.depth_weights(vol6, UNIFORM)
    )
    gaussian = projector.with_spectral_window(SpectralWindow.gaussian(0.2))
    np.testing.assert_array_equal(
        gaussian.depth_weights(vol6, UNIFORM),
        fresh.with_spectral_window(SpectralWindow.gaussian(0.2)).depth_weights(vol6, UNIFORM),
    )
    assert not np.array_equal(
        gaussian.depth_weights(vol6, UNIFORM), projector.depth_weights(vol6, UNIFORM)
    )
