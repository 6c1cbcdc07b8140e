"""VideoStreamProjector: the order of operations of SPEC A.12, step by step."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from stv_cli import (
    AtlasFrame,
    ChronoSummary,
    DataLength,
    InvalidDimensions,
    InvalidValue,
    ResonanceGenerator,
    TemporalResonanceBuffer,
    VideoStreamProjector,
    VisionProjector,
    ZDiffuser,
    ZSpaceVolume,
)
from tests.tolerances import ATOL


def _volume(seed: int, depth: int = 2, size: int = 4, channels: int = 1) -> ZSpaceVolume:
    rng = np.random.default_rng(seed)
    return ZSpaceVolume(rng.random((depth, size, size, channels), dtype=np.float32))


def _stream(steps: int = 8, decay: float = 0.5) -> VideoStreamProjector:
    return VideoStreamProjector(
        VisionProjector(0.4, 0.3, 0.1), ResonanceGenerator("g", 5, steps), decay
    )


def test_step_without_options_is_generate_then_project_with_temporal(backend):
    stream = _stream()
    volume = _volume(1)
    before = volume.voxels.copy()
    image, resonance = stream.step(volume)
    projector = VisionProjector(0.4, 0.3, 0.1)
    want_r = ResonanceGenerator("g", 5, 8).generate(volume, projector)
    want = projector.project_with_temporal(volume, want_r, TemporalResonanceBuffer(0.5))
    assert resonance == want_r
    np.testing.assert_allclose(image, want, atol=ATOL)
    np.testing.assert_array_equal(volume.voxels, before)  # the input is never modified
    assert stream.last_resonance() is resonance


def test_full_step_order_calibrate_diffuse_interpolate_upscale_generate_project(backend):
    diffuser = ZDiffuser(1, 0.5)
    stream = _stream().with_diffuser(diffuser).with_super_resolution("cubic", 2)
    volume = _volume(2, depth=3)
    atlas = AtlasFrame(timestamp=1.0, z_signal=0.8, suggested_pressure=16.0, collapse_total=0.3)
    chrono = ChronoSummary(frames=2, mean_energy=0.4, energy_std=0.1, mean_drift=0.05)

    # by hand: (1) calibrate a copy, (2)-(3) refine, (4) generate, (5) smooth and collapse
    projector = VisionProjector(0.4, 0.3, 0.1)
    projector.calibrate_from_atlas(atlas)
    refined = diffuser.diffuse(volume).interpolate("cubic").upscale(2)
    generator = ResonanceGenerator("g", 5, 8)
    want_r = generator.generate(refined, projector, chrono, atlas, None)
    buffer = TemporalResonanceBuffer(0.5)
    want = projector.project_with_temporal(refined, want_r, buffer)

    image, resonance = stream.step(volume, chrono, atlas)
    assert image.shape == (8, 8, 1)
    assert resonance.infinity_energy.shape == (5,)  # generated from the 2D - 1 slices
    assert resonance == want_r
    np.testing.assert_allclose(image, want, atol=ATOL)
    assert stream.projector.focus == pytest.approx(0.8)

    # a second step feeds the previous resonance and blends the weights in the buffer
    volume2 = _volume(3, depth=3)
    refined2 = diffuser.diffuse(volume2).interpolate("cubic").upscale(2)
    want_r2 = generator.generate(refined2, projector, None, None, want_r)
    want2 = projector.project_with_temporal(refined2, want_r2, buffer)
    image2, resonance2 = stream.step(volume2)
    assert resonance2 == want_r2
    np.testing.assert_allclose(image2, want2, atol=ATOL)
    assert stream.smoothing.frames == 2


@pytest.mark.parametrize("factor", [0, 1])
def test_super_resolution_always_interpolates_and_ignores_factor_0_1(backend, factor):
    stream = _stream().with_super_resolution("linear", factor)
    image, resonance = stream.step(_volume(4, depth=2, size=3))
    assert image.shape == (3, 3, 1)
    assert resonance.recursive_objective.shape == (3,)


def test_calibration_happens_first_and_persists_when_the_step_fails(backend):
    stream = _stream(steps=2).with_super_resolution("linear", 1)  # depth 2 -> 3 > steps
    with pytest.raises(InvalidDimensions, match="steps"):
        stream.step(_volume(5, depth=2), atlas=AtlasFrame(timestamp=0.0, z_signal=0.9))
    assert stream.projector.focus == pytest.approx(0.9)
    assert stream.last_resonance() is None and stream.smoothing.history is None


def test_reset_clears_history_and_previous_but_keeps_calibration(backend):
    stream = _stream()
    stream.step(_volume(6), atlas=AtlasFrame(timestamp=0.0, z_signal=0.1))
    stream.step(_volume(7))
    stream.reset()
    assert stream.last_resonance() is None and stream.smoothing.frames == 0
    assert stream.projector.focus == pytest.approx(0.1)
    fresh = VideoStreamProjector(
        copy.deepcopy(stream.projector), ResonanceGenerator("g", 5, 8), 0.5
    )
    a = stream.step(_volume(8))
    b = fresh.step(_volume(8))
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]


def test_project_sequence_equals_steps(backend):
    volumes = [_volume(s) for s in range(3)]
    atlases = [AtlasFrame(timestamp=float(k), z_signal=0.2 * k) for k in range(3)]
    stepped = _stream()
    want = [stepped.step(v, None, a)[0] for v, a in zip(volumes, atlases, strict=True)]
    got = _stream().project_sequence(volumes, [], atlases)
    assert len(got) == 3
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_project_sequence_checks_lengths_first_and_keeps_state_on_error(backend):
    stream = _stream(steps=2)
    with pytest.raises(DataLength, match=r"chronos.*\(2\), got 1"):
        stream.project_sequence([_volume(0), _volume(1)], [ChronoSummary()])
    with pytest.raises(DataLength, match="atlases"):
        stream.project_sequence([_volume(0)], None, [None, None])
    assert stream.smoothing.frames == 0
    with pytest.raises(InvalidDimensions):
        stream.project_sequence([_volume(0), _volume(1), _volume(2, depth=3)])
    assert stream.smoothing.frames == 2
    assert stream.last_resonance() is not None


def test_colour_volumes_project_to_colour_images(backend):
    image, _ = _stream().step(_volume(9, channels=3))
    assert image.shape == (4, 4, 3)


def test_bad_super_resolution_options():
    with pytest.raises(InvalidValue, match="factor"):
        _stream().with_super_resolution("linear", -1)
    with pytest.raises(InvalidValue, match="interpolation"):
        _stream().with_super_resolution("sinc", 2)


def test_a_given_profile_and_out_buffer_give_the_same_step(backend):
    volume = _volume(10, depth=3, channels=3)
    plain = _stream().step(volume)
    out = np.full((4, 4, 3), np.nan, np.float32)
    image, resonance = _stream().step(volume, profile=volume.slice_profile(), out=out)
    assert image is out
    np.testing.assert_array_equal(image, plain[0])
    assert resonance == plain[1]
    # a refined volume has statistics of its own: the profile given is not used
    other = _volume(11, depth=3, channels=3).slice_profile()
    refined = _stream().with_diffuser(ZDiffuser(1, 0.5))
    want = _stream().with_diffuser(ZDiffuser(1, 0.5)).step(volume)
    assert refined.step(volume, profile=other)[1] == want[1]
