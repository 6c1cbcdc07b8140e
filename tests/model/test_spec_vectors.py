"""SPEC Part B test vectors B.1-B.7, on every backend where voxels are involved.

Harmonic and decay-buffer parts are skipped (D2). Of the stream-frame aggregator vectors of B.3
only the metadata merge exists in stv (ChronoSnapshot.merged, asserted in test_telemetry.py);
stv has no aggregator with max_depth/prune_oldest. Values are float32; tolerance abs 1e-6
unless the spec says exact.
"""

from __future__ import annotations

import numpy as np
import pytest

from stv_cli import (
    DifferentialResonance,
    SpectralWindow,
    TemporalResonanceBuffer,
    ZDiffuser,
    ZSpaceVolume,
)
from stv_cli.errors import DataLength, EmptyInput, InvalidValue, NonFiniteValue, ShapeMismatch
from tests.tolerances import ATOL

nan = float("nan")


def vol(nested) -> ZSpaceVolume:
    """Volume from nested [slice][row][col] lists (C = 1)."""
    return ZSpaceVolume(np.array(nested, dtype=np.float32))


def flat(v: ZSpaceVolume) -> np.ndarray:
    return v.voxels.reshape(-1)


def toy_resonance(depth: int) -> DifferentialResonance:
    z = np.arange(depth, dtype=np.float32)
    objective = np.float32(0.1) * z - np.float32(0.2)
    return DifferentialResonance(
        infinity_energy=np.float32(1.0) + z,
        recursive_objective=objective,
        homotopy_flow=np.sin(np.float32(0.05) * z),
        functor_linearisation=objective,
        infinity_projection=objective,
    )


# --------------------------------------------------------------------------- B.1 windows

B1 = [
    (SpectralWindow.rectangular(), 3, [1 / 3] * 3),
    (SpectralWindow.rectangular(), 5, [0.2] * 5),
    (SpectralWindow.hann(), 2, [0.5, 0.5]),
    (SpectralWindow.hann(), 3, [0, 1, 0]),
    (SpectralWindow.hann(), 4, [0, 0.5, 0.5, 0]),
    (SpectralWindow.hann(), 5, [0, 0.25, 0.5, 0.25, 0]),
    (
        SpectralWindow.hann(),
        8,
        [0, 0.0537872, 0.1746459, 0.2715670, 0.2715670, 0.1746458, 0.0537872, 0],
    ),
    (SpectralWindow.hamming(), 2, [0.5, 0.5]),
    (SpectralWindow.hamming(), 3, [0.0689655, 0.8620689, 0.0689655]),
    (SpectralWindow.hamming(), 4, [0.0470588, 0.4529412, 0.4529412, 0.0470588]),
    (SpectralWindow.hamming(), 5, [0.0357143, 0.2410714, 0.4464286, 0.2410714, 0.0357143]),
    (SpectralWindow.blackman(), 3, [0, 1, 0]),
    (SpectralWindow.blackman(), 4, [0, 0.5, 0.5, 0]),
    (SpectralWindow.blackman(), 5, [0, 0.2023810, 0.5952381, 0.2023810, 0]),
    (
        SpectralWindow.blackman(),
        8,
        [0, 0.0307665, 0.1561847, 0.3130489, 0.3130489, 0.1561846, 0.0307665, 0],
    ),
    (SpectralWindow.gaussian(0.4), 3, [0.2389943, 0.5220115, 0.2389943]),
    (SpectralWindow.gaussian(0.4), 4, [0.1344707, 0.3655293, 0.3655293, 0.1344707]),
    (SpectralWindow.gaussian(0.4), 5, [0.0856292, 0.2426676, 0.3434065, 0.2426676, 0.0856292]),
    (
        SpectralWindow.gaussian(0.4),
        8,
        [0.0343044, 0.0865913, 0.1605303, 0.2185740, 0.2185740, 0.1605303, 0.0865913, 0.0343044],
    ),
    (SpectralWindow.gaussian(0.25), 5, [0.0151996, 0.2187517, 0.5320973, 0.2187517, 0.0151996]),
    (SpectralWindow.gaussian(1.0), 5, [0.1782032, 0.2105223, 0.2225489, 0.2105223, 0.1782032]),
]


@pytest.mark.parametrize("window,n,expected", B1, ids=[f"{w.kind.value}-{n}" for w, n, _ in B1])
def test_b1_window_weights(window, n, expected):
    np.testing.assert_allclose(window.weights(n), expected, atol=ATOL, rtol=0)


@pytest.mark.parametrize("sigma", [0.0, nan, 1e-3, -2.0])
def test_b1_gaussian_fallback_sigma_gives_the_default_vectors(sigma):
    expected = [0.0856292, 0.2426676, 0.3434065, 0.2426676, 0.0856292]
    np.testing.assert_allclose(SpectralWindow.gaussian(sigma).weights(5), expected, atol=ATOL)


def test_b1_any_kind_n1_and_n0():
    for window, _, _ in B1:
        assert window.weights(1).tolist() == [1.0]
        assert window.weights(0).tolist() == []


# --------------------------------------------------------------------------- B.2 resonance


def test_b2_resonance_projection_matches_manual_weighting(backend):
    v = vol([[[1, 2], [3, 4]], [[2, 3], [4, 5]], [[3, 4], [5, 6]]])
    r = DifferentialResonance(
        infinity_energy=[1, 1, 1], recursive_objective=[0, 0, 0], homotopy_flow=[0, 0, 0]
    )
    w = v.resonance_weights(r)
    np.testing.assert_allclose(w, [1 / 3] * 3, atol=ATOL)
    assert abs(float(w.sum()) - 1.0) < ATOL
    projected = v.project_resonance(r)
    manual = sum(w[z] * v.slice(z) for z in range(3))
    np.testing.assert_allclose(projected, manual, atol=ATOL)
    np.testing.assert_allclose(projected[..., 0], [[2, 3], [4, 5]], atol=ATOL)


@pytest.mark.parametrize(
    "depth,expected", [(2, [0.2980180, 0.7019820]), (3, [0.1339557, 0.3155330, 0.5505113])]
)
def test_b2_toy_resonance_weights(depth, expected):
    v = ZSpaceVolume.zeros(depth, 1, 1)
    np.testing.assert_allclose(v.resonance_weights(toy_resonance(depth)), expected, atol=ATOL)


@pytest.mark.parametrize(
    "depth,energy,objective,expected",
    [
        (5, [1, 2], [0], [0.1428572, 0.2857142, 0.1428572, 0.2857142, 0.1428572]),
        (3, [nan, 1, 1], [0], [0, 0.5, 0.5]),
        (2, [1, 1], [-50, 0], [0, 1]),
    ],
    ids=["tiling", "nan-energy", "saturated-objective"],
)
def test_b2_resonance_weight_cases(depth, energy, objective, expected):
    r = DifferentialResonance(infinity_energy=energy, recursive_objective=objective)
    np.testing.assert_allclose(
        ZSpaceVolume.zeros(depth, 1, 1).resonance_weights(r), expected, atol=ATOL
    )


def test_b2_errors(backend):
    v = ZSpaceVolume.zeros(3, 2, 2)
    with pytest.raises(EmptyInput, match="differential_resonance"):
        v.resonance_weights(DifferentialResonance(infinity_energy=[], recursive_objective=[0]))
    with pytest.raises(EmptyInput, match="differential_resonance"):
        v.resonance_weights(DifferentialResonance(infinity_energy=[1], recursive_objective=[]))
    with pytest.raises(DataLength, match="D = 3.*got 2"):
        v.collapse_with_weights([0.5, 0.5])
    with pytest.raises(NonFiniteValue, match="z_space_weight must be finite, got nan at index 1"):
        v.collapse_with_weights([0.5, nan, 0.5])


# --------------------------------------------------------------------------- B.3 statistics


def test_b3_slice_profile_summary_computes_entropy(backend):
    report = vol([[[1, 1], [1, 1]], [[0, 2], [0, 2]]]).telemetry_report()
    assert report.depth == 2
    assert report.mean_intensity == pytest.approx(1.0, abs=ATOL)
    assert report.mean_std == pytest.approx(0.5, abs=ATOL)
    assert report.mean_energy == pytest.approx(1.5, abs=ATOL)
    assert report.total_energy == pytest.approx(3.0, abs=ATOL)
    assert report.max_energy == pytest.approx(2.0, abs=ATOL)
    assert report.energy_entropy == pytest.approx(0.9182958, abs=ATOL)
    p = vol([[[1, 1], [1, 1]], [[0, 2], [0, 2]]]).profile()
    np.testing.assert_allclose(p.means, [1, 1], atol=ATOL)
    np.testing.assert_allclose(p.stds, [0, 1], atol=ATOL)
    np.testing.assert_allclose(p.energies, [1, 2], atol=ATOL)


def test_b3_volume_profile_matches_slice_statistics(backend):
    p = vol([[[1, 2], [3, 4]], [[0, 1], [0, 1]]]).profile()
    np.testing.assert_allclose(p.means, [2.5, 0.5], atol=ATOL)
    np.testing.assert_allclose(p.stds, [1.118034, 0.5], atol=ATOL)
    np.testing.assert_allclose(p.energies, [7.5, 0.5], atol=ATOL)


def test_b3_slice_profile_matches_manual_stats_one_pass(backend):
    p = vol([[[1, 3]], [[2, 4]]]).slice_profile()
    np.testing.assert_allclose(p.means, [2, 3], atol=ATOL)
    np.testing.assert_allclose(p.stds, [1, 1], atol=ATOL)
    np.testing.assert_allclose(p.energies, [5, 10], atol=ATOL)


def test_b3_single_slice_report(backend):
    r = vol([[[0.25, 0.75], [1.25, 1.75]]]).telemetry_report()
    got = [r.mean_intensity, r.mean_std, r.mean_energy, r.total_energy, r.max_energy]
    np.testing.assert_allclose(got, [1.0, 0.5590170, 1.3125, 1.3125, 1.3125], atol=ATOL)
    assert r.energy_entropy == 0.0


def test_b3_volume_from_slices_respects_shapes():
    v = ZSpaceVolume.from_slices([np.array([[0, 1], [2, 3]]), np.array([[4, 5], [6, 7]])])
    assert (v.depth, v.height, v.width) == (2, 2, 2)
    assert v.slice(1).reshape(-1).tolist() == [4, 5, 6, 7]


def test_b3_zeros_voxel_count_ignores_channels():
    # volume_zeros_with_temporal_allocates_expected_buffers: (2, 3, 4) -> voxel_count 24; the
    # harmonics part is dropped (D2), and C = 3 channels do not count as voxels (D1)
    v = ZSpaceVolume.zeros(2, 3, 4, 3)
    assert v.voxel_count == 24 and v.shape == (2, 3, 4, 3)
    assert not v.voxels.any()


def test_b3_image_tensor_roundtrip():
    image = np.arange(12, dtype=np.float32).reshape(3, 2, 2)
    v = ZSpaceVolume.from_image_tensor(image)
    assert (v.depth, v.height, v.width) == (3, 2, 2)
    assert flat(v).tolist() == list(range(12))
    np.testing.assert_array_equal(v.to_image_tensor(), image)


# --------------------------------------------------------------------------- B.4 refine

V22 = [[[0, 1], [2, 3]], [[4, 5], [6, 7]]]


def test_b4_interpolation_and_upscale_refine_geometry(backend):
    v = vol(V22)
    lin = v.interpolate("linear")
    assert lin.depth == 3
    np.testing.assert_array_equal(lin.slice(1)[..., 0], [[2, 3], [4, 5]])
    np.testing.assert_allclose(flat(lin), [0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7], atol=ATOL)
    up = v.upscale(2)
    assert (up.height, up.width) == (4, 4)
    assert up.voxels[0, 0, 0, 0] == 0
    s0 = np.array(
        [
            [0, 1 / 3, 2 / 3, 1],
            [2 / 3, 1, 4 / 3, 5 / 3],
            [4 / 3, 5 / 3, 2, 7 / 3],
            [2, 7 / 3, 8 / 3, 3],
        ]
    )
    np.testing.assert_allclose(up.voxels[0, ..., 0], s0, atol=ATOL)
    np.testing.assert_allclose(up.voxels[1, ..., 0], s0 + 4, atol=2e-6)


def test_b4_upscale_of_the_interpolated_volume(backend):
    # [D] slice 1 = slice 0 + 2 and slice 2 = slice 0 + 4 of interpolate(Linear).upscale(2)
    up = vol(V22).interpolate("linear").upscale(2)
    assert up.shape == (3, 4, 4, 1)
    s0 = np.array(
        [
            [0, 1 / 3, 2 / 3, 1],
            [2 / 3, 1, 4 / 3, 5 / 3],
            [4 / 3, 5 / 3, 2, 7 / 3],
            [2, 7 / 3, 8 / 3, 3],
        ]
    )
    for z, offset in enumerate([0, 2, 4]):
        np.testing.assert_allclose(up.voxels[z, ..., 0], s0 + offset, atol=2e-6)


@pytest.mark.parametrize(
    "method,expected",
    [
        ("nearest", [0, 0, 1, 1, 4, 4, 9]),
        ("linear", [0, 0.5, 1, 2.5, 4, 6.5, 9]),
        ("cubic", [0, 0.3125, 1, 2.25, 4, 6.6875, 9]),
    ],
)
def test_b4_interpolate_1x1_columns(backend, method, expected):
    v = vol(np.array([0, 1, 4, 9]).reshape(4, 1, 1))
    np.testing.assert_allclose(flat(v.interpolate(method)), expected, atol=ATOL)


@pytest.mark.parametrize(
    "values,expected", [([1, 2, 0], [1, 1.625, 2, 1.0625, 0]), ([1, 3], [1, 2, 3])]
)
def test_b4_cubic_other_inputs(backend, values, expected):
    v = vol(np.array(values).reshape(-1, 1, 1))
    np.testing.assert_allclose(flat(v.interpolate("cubic")), expected, atol=ATOL)


def test_b4_cubic_3x2x2(backend):
    v = vol([[[0, 1], [2, 3]], [[4, 5], [6, 7]], [[1, 1], [1, 1]]])
    expected = [0, 1, 2, 3, 2.1875, 3.25, 4.3125, 5.375, 4, 5, 6, 7]
    expected += [2.75, 3.25, 3.75, 4.25, 1, 1, 1, 1]
    np.testing.assert_allclose(flat(v.interpolate("cubic")), expected, atol=ATOL)


def test_b4_upscale_row_and_square(backend):
    row = vol([[[1, 2, 3]]]).upscale(2)
    assert row.shape == (1, 2, 6, 1)
    for y in range(2):
        np.testing.assert_allclose(row.voxels[0, y, :, 0], [1, 1.4, 1.8, 2.2, 2.6, 3], atol=ATOL)
    sq = vol([[[1, 2], [3, 4]]]).upscale(3)
    yy, xx = np.mgrid[0:6, 0:6]
    np.testing.assert_allclose(sq.voxels[0, ..., 0], 1 + 0.2 * xx + 0.4 * yy, atol=2e-6)


def test_b4_edge_cases(backend):
    v = vol(V22)
    with pytest.raises(InvalidValue, match="z_upscale_factor"):
        v.upscale(0)
    same = v.upscale(1)
    assert same == v and same.voxels is not v.voxels
    one = vol([[[1, 2]]])
    clone = one.interpolate("cubic")
    assert clone == one and clone.voxels is not one.voxels


# --------------------------------------------------------------------------- B.5 diffuser

SPIKE = [[[10, 0], [0, 0]], [[0, 0], [0, 0]]]


@pytest.mark.parametrize(
    "iterations,rate,expected",
    [
        (1, 0.5, [5, 1.6666666, 1.6666666, 0, 1.6666666, 0, 0, 0]),
        (2, 0.5, [3.3333333, 1.6666666, 1.6666666, 0.5555555, 1.6666666, 0.5555555, 0.5555555, 0]),
        (1, nan, [7.5, 0.8333333, 0.8333333, 0, 0.8333333, 0, 0, 0]),
    ],
)
def test_b5_diffuser(backend, iterations, rate, expected):
    out = ZDiffuser(iterations, rate).diffuse(vol(SPIKE))
    assert out.voxels[0, 0, 0, 0] < 10 and out.voxels[0, 0, 1, 0] > 0
    np.testing.assert_allclose(flat(out), expected, atol=ATOL)


# --------------------------------------------------------------------------- B.6 EMA, blend


def test_b6_volume_accumulate_performs_temporal_ema(backend):
    base = vol(V22)
    nxt = vol([[[8, 6], [4, 2]], [[1, 3], [5, 7]]])
    expected = [2, 2.25, 2.5, 2.75, 3.25, 4.5, 5.75, 7]
    copy = base.accumulated(nxt, 0.25)
    np.testing.assert_allclose(flat(copy), expected, atol=ATOL)
    np.testing.assert_array_equal(flat(base), np.arange(8))
    base.accumulate(nxt, 0.25)
    np.testing.assert_array_equal(flat(base), flat(copy))
    with pytest.raises(ShapeMismatch):
        base.accumulate(vol([[[1, 2], [3, 4]]]), 0.25)
    with pytest.raises(InvalidValue, match="temporal_alpha.*1.5"):
        base.accumulated(nxt, 1.5)


def test_b6_blend_sequence_respects_weights(backend):
    a, b = vol([[[1, 2]]]), vol([[[3, 5]]])
    out = ZSpaceVolume.blend_sequence([a, b], [0.25, 0.75])
    assert flat(out).tolist() == [2.5, 4.25]
    np.testing.assert_allclose(flat(ZSpaceVolume.blend_sequence([a, b], [1, 1])), [2, 3.5])


def test_b6_blend_zero_total_is_an_error_d4():
    a, b = vol([[[1, 2]]]), vol([[[3, 5]]])
    with pytest.raises(InvalidValue, match=r"temporal weights must sum to a positive total.*0\.0"):
        ZSpaceVolume.blend_sequence([a, b], [0, 0])


# --------------------------------------------------------------------------- B.7 buffer


def test_b7_temporal_buffer_applies_decay_and_handles_resets():
    buf = TemporalResonanceBuffer(0.5)
    np.testing.assert_allclose(buf.apply([0.2, 0.8]), [0.2, 0.8], atol=ATOL)
    assert buf.frames == 1
    np.testing.assert_allclose(buf.apply([0.6, 0.4]), [0.4, 0.6], atol=ATOL)
    assert buf.frames == 2
    np.testing.assert_allclose(buf.apply([0.1, 0.2, 0.7]), [0.1, 0.2, 0.7], atol=ATOL)
    assert buf.frames == 1
    buf.clear()
    assert buf.history is None and buf.frames == 0
    with pytest.raises(NonFiniteValue, match="temporal_resonance_weight"):
        buf.apply([nan, 0.5])


def test_b7_decay_quarter():
    buf = TemporalResonanceBuffer(0.25)
    np.testing.assert_allclose(buf.apply([2, 2]), [0.5, 0.5], atol=ATOL)
    np.testing.assert_allclose(buf.apply([1, 3]), [0.3571429, 0.6428571], atol=ATOL)
