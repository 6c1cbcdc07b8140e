"""ResonanceGenerator: encode, decode, fallbacks, D1 statistics and D6 (SPEC A.11)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stv_cli import (
    AtlasFrame,
    ChronoSnapshot,
    ChronoSummary,
    DifferentialResonance,
    EmptyInput,
    InvalidDimensions,
    ResonanceGenerator,
    SpiralRnn,
    VisionProjector,
    ZSpaceVolume,
)
from tests.tolerances import ATOL, ATOL_RNN

FIELDS = (
    "homotopy_flow",
    "functor_linearisation",
    "recursive_objective",
    "infinity_projection",
    "infinity_energy",
)


@pytest.fixture
def volume():
    # SPEC B.3 one-pass example: means [2, 3], stds [1, 1], energies [5, 10]; total energy 7.5
    return ZSpaceVolume.from_slices([np.array([[1.0, 3.0]]), np.array([[2.0, 4.0]])])


def _encode(gen, volume, projector, chrono=None, atlas=None, previous=None):
    return gen.encode(volume, volume.slice_profile(), projector, chrono, atlas, previous)[0]


def test_construction_and_defaults():
    gen = ResonanceGenerator("g", 6, 4)
    assert (gen.features_per_slice, gen.hidden_dim, gen.steps) == (10, 6, 4)
    assert isinstance(gen.rnn, SpiralRnn)
    assert (gen.rnn.input_dim, gen.rnn.hidden_dim, gen.rnn.steps) == (10, 6, 4)
    other = ResonanceGenerator.with_features("g", 12, 3, 2)
    assert (other.features_per_slice, other.hidden_dim, other.steps) == (12, 3, 2)
    for sizes in [(0, 1, 1), (1, 0, 1), (1, 1, 0)]:
        with pytest.raises(InvalidDimensions):
            ResonanceGenerator.with_features("g", *sizes)


def test_encode_without_telemetry_by_hand(backend, volume):
    gen = ResonanceGenerator.with_features("g", 12, 3, 3)
    x = _encode(gen, volume, VisionProjector())
    assert x.shape == (36,) and x.dtype == np.float32
    # mean, std, energy, focus, spread, bias, sig=focus, pres=spread, cm=tot=bias, cs=0, G, H/W
    np.testing.assert_allclose(
        x[:12], [2, 1, 5, 0.5, 0.35, 0, 0.5, 0.35, 0, 0, 7.5, 0.5], atol=ATOL
    )
    np.testing.assert_allclose(
        x[12:24], [3, 1, 10, 0.5, 0.35, 0, 0.5, 0.35, 0, 0, 7.5, 0.5], atol=ATOL
    )
    assert not x[24:].any()  # steps beyond the depth stay 0


def test_encode_with_telemetry_and_previous_by_hand(backend, volume):
    gen = ResonanceGenerator.with_features("g", 12, 3, 2)
    projector = VisionProjector(0.3, 0.2, 0.4)
    atlas = AtlasFrame(timestamp=1.0, z_signal=0.9, suggested_pressure=64.0, collapse_total=1.5)
    chrono = ChronoSummary(frames=3, mean_energy=0.7, energy_std=0.1)
    previous = DifferentialResonance(infinity_energy=[9.0], recursive_objective=[-1.0, -2.0])
    x = _encode(gen, volume, projector, chrono, atlas, previous)
    # pressure is the raw atlas value (not divided by 32); previous tiles over depth
    np.testing.assert_allclose(x[3:10], [0.3, 0.2, 0.4, 0.9, 64.0, 9.0, -1.0], atol=ATOL)
    np.testing.assert_allclose(x[15:22], [0.3, 0.2, 0.4, 0.9, 64.0, 9.0, -2.0], atol=ATOL)
    # without a previous resonance, slots 8 and 9 fall back to the chrono values
    x = _encode(gen, volume, projector, chrono, atlas, None)
    np.testing.assert_allclose(x[8:10], [0.7, 0.1], atol=ATOL)
    # without chrono: cm falls back to the atlas collapse_total, cs to 0
    x = _encode(gen, volume, projector, None, atlas, None)
    np.testing.assert_allclose(x[8:10], [1.5, 0.0], atol=ATOL)


def test_encode_slot_count_follows_features_per_slice(backend, volume):
    ten = _encode(ResonanceGenerator("g", 2, 2), volume, VisionProjector())
    assert ten.shape == (20,)
    np.testing.assert_allclose(ten[10:13], [3, 1, 10], atol=ATOL)  # slots 10, 11 not written
    wide = _encode(ResonanceGenerator.with_features("g", 14, 2, 2), volume, VisionProjector())
    np.testing.assert_allclose(wide[10:14], [7.5, 0.5, 0, 0], atol=ATOL)


def test_decode_without_telemetry_by_hand(backend, volume):
    gen = ResonanceGenerator("g", 2, 2)
    r = gen.decode([0.1, -0.2], volume.slice_profile(), VisionProjector(), None, None, None)
    t = math.tanh
    np.testing.assert_allclose(r.infinity_energy, [13.101, 23.801], atol=1e-5)
    np.testing.assert_allclose(r.recursive_objective, [t(2.1), t(2.8)], atol=ATOL)
    np.testing.assert_allclose(r.homotopy_flow, [t(0.1), t(-0.2)], atol=ATOL)
    np.testing.assert_allclose(
        r.infinity_projection, [t(0.1 + t(5) + 5), t(-0.2 + t(10) + 10)], atol=ATOL
    )
    np.testing.assert_allclose(
        r.functor_linearisation, [t(2.1) * 0.5 + 0.5, t(2.8) * 0.5 + 1.0], atol=ATOL
    )


def test_decode_with_telemetry_and_previous_by_hand(backend, volume):
    gen = ResonanceGenerator("g", 1, 2)
    projector = VisionProjector(0.25, 0.35, 0.5)
    chrono = ChronoSummary(mean_drift=0.2, energy_std=0.3, drift_std=0.4)
    atlas = AtlasFrame(timestamp=0.0, collapse_total=-30.0)
    previous = DifferentialResonance(
        infinity_energy=[1.0],
        recursive_objective=[0.5],
        homotopy_flow=[-0.1, 0.1],
        infinity_projection=[2.0],
    )
    r = gen.decode([0.1], volume.slice_profile(), projector, chrono, atlas, previous)
    t = math.tanh
    # energy = |((b + (|m| + s + e)) + pe) + fb| + 1e-3 with fb from the atlas
    np.testing.assert_allclose(
        r.infinity_energy, [abs(0.1 + 8 + 1 - 30) + 1e-3, abs(0.1 + 14 + 1 - 30) + 1e-3], atol=1e-5
    )
    np.testing.assert_allclose(r.recursive_objective, [t(0.1 + 0.5 + 0.5 + 0.2)] * 2, atol=ATOL)
    np.testing.assert_allclose(
        r.homotopy_flow, [t(0.1 - 0.1 + 0.25 - 0.5), t(0.1 + 0.1 - 0.25)], atol=ATOL
    )
    np.testing.assert_allclose(
        r.infinity_projection, [t(0.1 + 2 + 5 - 0.3), t(0.1 + 2 + 10 - 0.3)], atol=ATOL
    )
    objective = t(1.3)
    np.testing.assert_allclose(
        r.functor_linearisation,
        [objective * 0.5 + 0.5 + 0.02, objective * 0.5 + 1.0 + 0.02],
        atol=ATOL,
    )


def test_decode_rejects_an_empty_latent(volume):
    gen = ResonanceGenerator("g", 1, 2)
    with pytest.raises(EmptyInput, match="spiral_resonance_latent"):
        gen.decode([], volume.slice_profile(), VisionProjector(), None, None, None)


def test_generate_is_encode_rnn_decode_and_deterministic(backend, volume):
    gen = ResonanceGenerator("g", 4, 3)
    projector = VisionProjector()
    r = gen.generate(volume, projector)
    for name in FIELDS:
        assert getattr(r, name).shape == (2,)
    x = gen.encode(volume, volume.slice_profile(), projector, None, None, None)
    latent = gen.rnn.forward(x)[0]
    want = gen.decode(latent, volume.slice_profile(), projector, None, None, None)
    for name in FIELDS:
        np.testing.assert_allclose(getattr(r, name), getattr(want, name), atol=ATOL_RNN)
    assert gen.generate(volume, projector) == r


def test_generate_accepts_a_snapshot_as_chrono(backend, volume):
    gen = ResonanceGenerator("g", 4, 3)
    summary = ChronoSummary(frames=2, mean_energy=0.5, energy_std=0.2, mean_drift=0.1)
    a = gen.generate(volume, VisionProjector(), chrono=summary)
    b = gen.generate(volume, VisionProjector(), chrono=ChronoSnapshot(summary, 0.1))
    assert a == b
    assert a != gen.generate(volume, VisionProjector())


def test_generate_rejects_depth_above_steps(volume):
    gen = ResonanceGenerator("g", 4, 1)
    with pytest.raises(InvalidDimensions, match=r"steps = 1.*depth 2.*steps >= 2"):
        gen.generate(volume, VisionProjector())


def test_d6_empty_previous_fields_count_as_absent(backend, volume):
    gen = ResonanceGenerator("g", 4, 2)
    projector = VisionProjector()
    none = gen.generate(volume, projector, previous=None)
    assert gen.generate(volume, projector, previous=DifferentialResonance()) == none
    # one field given, the others empty: only that field is read
    partial = DifferentialResonance(infinity_projection=[3.0])
    got = gen.generate(volume, projector, previous=partial)
    np.testing.assert_array_equal(got.infinity_energy, none.infinity_energy)
    np.testing.assert_array_equal(got.homotopy_flow, none.homotopy_flow)
    assert not np.array_equal(got.infinity_projection, none.infinity_projection)


def test_d1_colour_statistics_are_over_all_values(backend):
    # an RGB volume and a grey one holding the same values per slice give the same resonance
    # (features_per_slice 10 leaves out the aspect ratio, the one thing that differs)
    rgb = np.random.default_rng(3).random((2, 2, 3, 3), dtype=np.float32)
    grey = rgb.reshape(2, 2, 9)
    gen = ResonanceGenerator("g", 4, 2)
    a = gen.generate(ZSpaceVolume(rgb), VisionProjector())
    b = gen.generate(ZSpaceVolume(grey), VisionProjector())
    for name in FIELDS:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), atol=ATOL_RNN)


def test_projector_is_read_not_changed(volume):
    projector = VisionProjector(0.2, 0.3, 0.1)
    ResonanceGenerator("g", 2, 2).generate(volume, projector, atlas=AtlasFrame(0.0, z_signal=0.9))
    assert (projector.focus, projector.spread) == pytest.approx((0.2, 0.3))


def test_a_given_profile_replaces_the_volume_statistics(backend, volume):
    gen = ResonanceGenerator("g", 4, 3)
    projector = VisionProjector()
    own = gen.generate(volume, projector)
    assert gen.generate(volume, projector, profile=volume.slice_profile()) == own
    # the profile is what is read: another volume's statistics give another resonance
    other = ZSpaceVolume.from_slices([np.array([[5.0, 1.0]]), np.array([[0.0, 2.0]])])
    assert gen.generate(volume, projector, profile=other.slice_profile()) != own
    # the total energy (slot 10) comes from the profile, equal to the volume's own
    wide = ResonanceGenerator.with_features("g", 12, 3, 2)
    x = wide.encode(volume, volume.slice_profile(), projector, None, None, None)[0]
    assert x[10] == np.float32(volume.total_energy())
    with pytest.raises(InvalidDimensions, match="profile has 1 slices"):
        gen.generate(volume, projector, profile=ZSpaceVolume(other.voxels[:1]).slice_profile())
