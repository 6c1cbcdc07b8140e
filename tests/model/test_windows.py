"""SpectralWindow (SPEC A.3); the B.1 vectors are in test_spec_vectors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stv_cli import SpectralWindow
from stv_cli.errors import InvalidValue
from stv_cli.model.windows import WindowKind

ALL = [
    SpectralWindow.rectangular(),
    SpectralWindow.hann(),
    SpectralWindow.hamming(),
    SpectralWindow.blackman(),
    SpectralWindow.gaussian(0.4),
    SpectralWindow.gaussian(2.5),
]


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(ALL), st.integers(1, 300))
def test_weights_sum_to_one_are_non_negative_float32_and_symmetric(window, n):
    w = window.weights(n)
    assert w.dtype == np.float32 and w.shape == (n,)
    assert abs(float(np.sum(w, dtype=np.float64)) - 1.0) < 1e-5
    assert np.all(w >= 0)
    np.testing.assert_allclose(w, w[::-1], atol=1e-6)


@pytest.mark.parametrize("window", ALL, ids=lambda w: f"{w.kind.value}-{w.sigma}")
def test_n_zero_is_empty_and_n_one_is_one(window):
    assert window.weights(0).size == 0
    np.testing.assert_array_equal(window.weights(1), [1.0])


@pytest.mark.parametrize("sigma", [0.0, -1.0, 1e-3, np.nan, np.inf, None])
def test_gaussian_sigma_falls_back_to_0_4(sigma):
    assert SpectralWindow.gaussian(sigma).sigma == pytest.approx(0.4)
    np.testing.assert_array_equal(
        SpectralWindow.gaussian(sigma).weights(7), SpectralWindow.gaussian(0.4).weights(7)
    )


def test_gaussian_sigma_is_kept_when_valid_and_wider_sigma_is_flatter():
    assert SpectralWindow.gaussian(1.5).sigma == pytest.approx(1.5)
    narrow = SpectralWindow.gaussian(0.25).weights(9)
    wide = SpectralWindow.gaussian(2.0).weights(9)
    assert narrow[4] > wide[4] and narrow[0] < wide[0]


def test_sigma_is_ignored_for_other_kinds_and_windows_compare_by_value():
    assert SpectralWindow("hann", 3.0).sigma is None
    assert SpectralWindow.hann() == SpectralWindow.from_name("HANN")
    assert SpectralWindow.gaussian(1.0) != SpectralWindow.gaussian(2.0)
    assert SpectralWindow.from_name("gaussian").sigma == pytest.approx(0.4)
    assert SpectralWindow().kind is WindowKind.HANN


def test_unknown_kind_is_rejected_naming_the_value_and_choices():
    with pytest.raises(InvalidValue, match=r"window kind must be one of .*hann.*got 'kaiser'"):
        SpectralWindow.from_name("kaiser")


@pytest.mark.parametrize("n", [-1, 2.5, True])
def test_bad_length_is_rejected(n):
    with pytest.raises(InvalidValue, match=r"window length n must be an integer >= 0"):
        SpectralWindow.hann().weights(n)


def test_hann_and_blackman_endpoints_are_exactly_zero():
    for window in (SpectralWindow.hann(), SpectralWindow.blackman()):
        w = window.weights(16)
        assert w[0] == 0.0 and w[-1] == 0.0


def test_gaussian_sigma_beyond_float32_range_falls_back_without_a_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert SpectralWindow.gaussian(1e39).sigma == pytest.approx(0.4)


def test_weights_are_a_fresh_copy_each_call_so_a_caller_cannot_change_the_next():
    window = SpectralWindow.hamming()
    first = window.weights(5)
    expected = first.copy()
    first[:] = -1.0  # the window keeps computed weights; a caller's array must not be them
    again = window.weights(5)
    np.testing.assert_array_equal(again, expected)
    assert again.flags.writeable and again is not window.weights(5)
