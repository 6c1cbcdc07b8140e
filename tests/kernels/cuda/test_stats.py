"""CUDA slice statistics (SPEC A.2.8) against the NumPy reference, in numba's simulator."""

from __future__ import annotations

import numpy as np
import pytest

from stv_kernels import reference

stats = pytest.importorskip("stv_kernels.cuda.stats")

F32 = np.float32
KEYS = ("mean", "std", "std_one_pass", "energy", "abs_mean")


@pytest.fixture(autouse=True)
def few_columns(monkeypatch):
    """16 partial sums per slice: each sums several values, each thread takes several."""
    monkeypatch.setattr(stats, "COLUMNS", 16)


def _volume(shape, seed=3, offset=0.5):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) + offset).astype(F32)


def _assert_matches_reference(vol):
    got = stats.slice_statistics(vol)
    with np.errstate(all="ignore"):
        want = reference.slice_statistics(vol)
    assert set(got) == set(KEYS)
    for key in KEYS:
        assert got[key].dtype == F32 and got[key].shape == want[key].shape, key
        # float64 sums in another order than NumPy's pairwise ones: ~1e-7 relative
        np.testing.assert_allclose(got[key], want[key], rtol=1e-6, atol=0, err_msg=key)
    return got


@pytest.mark.parametrize("channels", [1, 3])
def test_slice_statistics_equals_the_reference(channels):
    got = _assert_matches_reference(_volume((3, 4, 5, channels)))
    assert np.all(got["std"] > 0.5)  # not trivially zero


def test_more_columns_than_values_one_value_each(monkeypatch):
    monkeypatch.setattr(stats, "COLUMNS", 2048)
    _assert_matches_reference(_volume((2, 3, 5, 1), seed=4))


def test_a_large_mean_keeps_the_two_pass_std():
    # std is two-pass (deviations from the mean summed again), so it survives a mean of 1000
    # where the one-pass formula cancels: both must still follow the reference
    vol = _volume((2, 4, 5, 1), seed=5, offset=1000.0)
    got = _assert_matches_reference(vol)
    want = np.std(vol.astype(np.float64).reshape(2, -1), axis=1)
    np.testing.assert_allclose(got["std"], want, rtol=1e-6)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the simulator's inf - inf
def test_nan_and_inf_voxels_follow_the_spec():
    vol = _volume((4, 3, 5, 1), seed=6)
    vol[0, 1, 2, 0] = np.nan
    vol[1, 0, 0, 0] = np.inf
    vol[2, 2, 4, 0] = -np.inf
    vol[3, 0, 1, 0] = np.inf
    vol[3, 1, 1, 0] = -np.inf
    got = _assert_matches_reference(vol)
    assert np.isnan(got["mean"][0]) and np.isnan(got["mean"][3])
    assert got["mean"][1] == np.inf and got["mean"][2] == -np.inf
    assert got["abs_mean"][3] == np.inf
    np.testing.assert_array_equal(got["std"], 0.0)  # max(NaN, 0) gives 0
    np.testing.assert_array_equal(got["std_one_pass"], 0.0)


def test_empty_slices_and_no_slices_give_zeros():
    got = stats.slice_statistics(np.zeros((2, 0, 4, 1), F32))
    for key in KEYS:
        np.testing.assert_array_equal(got[key], np.zeros(2, F32))
    got = stats.slice_statistics(np.zeros((0, 3, 4, 1), F32))
    assert all(got[key].shape == (0,) for key in KEYS)


def test_other_dtypes_and_layouts_are_copied_once():
    vol = np.asfortranarray(_volume((2, 3, 4, 2), seed=7).astype(np.float64))
    _assert_matches_reference(vol)


def test_the_same_volume_gives_the_same_bits_whatever_the_launch(monkeypatch):
    from stv_kernels.cuda import launch

    vol = _volume((3, 4, 5, 1), seed=8)
    first = stats.slice_statistics(vol)
    monkeypatch.setattr(launch, "THREADS", 5)
    monkeypatch.setattr(launch, "MAX_BLOCKS", 2)
    again = stats.slice_statistics(vol)
    for key in KEYS:
        assert first[key].tobytes() == again[key].tobytes(), key


def test_a_volume_that_is_not_4d_is_refused_as_the_reference_does():
    bad = np.zeros((3, 4, 5), F32)
    with pytest.raises(ValueError) as want:
        reference.slice_statistics(bad)
    with pytest.raises(ValueError) as got:
        stats.slice_statistics(bad)
    assert str(got.value) == str(want.value)
