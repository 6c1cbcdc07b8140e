"""slice_statistics: numba kernel against the NumPy reference (SPEC A.2.8, D1, B.3)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stv_kernels import cpu, reference
from tests.kernels.strategies import volumes

BACKENDS = [reference, cpu]
F32 = np.float32


KEYS = ("mean", "std", "std_one_pass", "energy", "abs_mean")


def assert_stats_close(actual, expected):
    assert set(actual) == set(KEYS)
    for key in KEYS:
        assert actual[key].dtype == F32
        np.testing.assert_allclose(actual[key], expected[key], rtol=2e-6, atol=1e-6, err_msg=key)


@settings(max_examples=40, deadline=None)
@given(vol=volumes(), offset=st.sampled_from([0.0, 100.0]))
def test_cpu_matches_reference(vol, offset):
    vol = vol + offset
    assert_stats_close(cpu.slice_statistics(vol), reference.slice_statistics(vol))


@pytest.mark.parametrize("ops", BACKENDS)
def test_spec_b3_two_pass_profile(ops):
    vol = np.array([[[1, 2], [3, 4]], [[0, 1], [0, 1]]], F32)[..., None]
    s = ops.slice_statistics(vol)
    np.testing.assert_allclose(s["mean"], [2.5, 0.5], atol=1e-6)
    np.testing.assert_allclose(s["std"], [1.118034, 0.5], atol=1e-6)
    np.testing.assert_allclose(s["energy"], [7.5, 0.5], atol=1e-6)


@pytest.mark.parametrize("ops", BACKENDS)
def test_spec_b3_one_pass_profile(ops):
    vol = np.array([[[1, 3]], [[2, 4]]], F32)[..., None]
    s = ops.slice_statistics(vol)
    np.testing.assert_allclose(s["mean"], [2, 3], atol=1e-6)
    np.testing.assert_allclose(s["std_one_pass"], [1, 1], atol=1e-6)
    np.testing.assert_allclose(s["energy"], [5, 10], atol=1e-6)


@pytest.mark.parametrize("ops", BACKENDS)
def test_spec_b3_frame_stats_and_abs_mean(ops):
    vol = np.array([[[1, 1], [1, 1]], [[0, 2], [0, 2]], [[-1, 1], [-3, 3]]], F32)[..., None]
    s = ops.slice_statistics(vol)
    np.testing.assert_allclose(s["std"], [0, 1, np.sqrt(5)], atol=1e-6)
    np.testing.assert_allclose(s["abs_mean"], [1, 1, 2], atol=1e-6)


@pytest.mark.parametrize("ops", BACKENDS)
def test_both_std_variants_survive_a_large_mean(ops):
    vol = (np.array([[[1, 3]]], F32) + F32(4096))[..., None]
    s = ops.slice_statistics(vol)
    assert s["std"][0] == pytest.approx(1.0, abs=1e-6)
    assert s["std_one_pass"][0] == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("ops", BACKENDS)
def test_statistics_cover_every_channel(ops):
    vol = np.array([[[[0, 2, 4]]]], F32)
    s = ops.slice_statistics(vol)
    np.testing.assert_allclose([s["mean"][0], s["energy"][0]], [2, 20 / 3], atol=1e-6)


@pytest.mark.parametrize("ops", BACKENDS)
def test_nan_slice_has_nan_mean_and_zero_std(ops):
    vol = np.ones((2, 2, 2, 1), F32)
    vol[1, 0, 1, 0] = np.nan
    s = ops.slice_statistics(vol)
    assert np.isnan(s["mean"][1]) and np.isnan(s["energy"][1]) and np.isnan(s["abs_mean"][1])
    assert s["std"][1] == 0 and s["std_one_pass"][1] == 0
    assert s["mean"][0] == 1 and s["std"][0] == 0


@pytest.mark.parametrize("ops", BACKENDS)
def test_empty_slices_give_zeros(ops):
    s = ops.slice_statistics(np.zeros((3, 0, 4, 1), F32))
    for key in KEYS:
        np.testing.assert_array_equal(s[key], np.zeros(3, F32))


def test_row_ranges_crossing_slices_match_reference(rng):
    # several slices per task and several tasks per slice: the column sums must be flushed
    # into the right slice at every boundary
    for shape in [(5, 37, 3, 2), (1, 50, 4, 1), (40, 1, 3, 3)]:
        vol = (rng.standard_normal(shape) * 3 + rng.uniform(-50, 50, (shape[0], 1, 1, 1))).astype(
            F32
        )
        assert_stats_close(cpu.slice_statistics(vol), reference.slice_statistics(vol))
