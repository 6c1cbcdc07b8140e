"""stv_cli.model.floats: normalise, directions and the Rust float rules (SPEC A.0, A.1)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stv_cli.errors import InvalidDimensions, InvalidValue, NonFiniteValue, ShapeMismatch
from stv_cli.model.floats import (
    EPS,
    clamp,
    finite_f32,
    integer_at_least,
    normalise,
    normalise_direction,
    require_finite,
    rust_max,
    rust_min,
    sequential_sum,
)
from tests.tolerances import ATOL


def test_eps_is_float32_machine_epsilon():
    assert EPS == np.float32(1.1920929e-7)
    assert EPS.dtype == np.float32


def test_normalise_divides_by_the_sum_and_returns_float32():
    out = normalise([1, 3])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [0.25, 0.75])


def test_normalise_skips_non_finite_entries_in_the_sum_and_keeps_them():
    out = normalise([np.nan, 1.0, 3.0, np.inf])
    assert np.isnan(out[0]) and np.isinf(out[3])
    np.testing.assert_array_equal(out[1:3], [0.25, 0.75])


def test_normalise_keeps_negative_entries():
    np.testing.assert_allclose(normalise([-1.0, 3.0]), [-0.5, 1.5], atol=ATOL)


@pytest.mark.parametrize("values", [[0, 0, 0], [1e-8, 1e-8], [1.0, -1.0], [np.nan, np.nan]])
def test_normalise_falls_back_to_uniform_when_total_is_tiny_or_not_finite(values):
    np.testing.assert_array_equal(normalise(values), np.full(len(values), 1 / len(values), "f4"))


def test_normalise_overflowing_total_falls_back_to_uniform():
    np.testing.assert_array_equal(normalise([3e38, 3e38]), [0.5, 0.5])


def test_normalise_empty_stays_empty_and_input_is_not_modified():
    assert normalise([]).size == 0
    w = np.array([[1.0, 1.0]], dtype=np.float32)
    out = normalise(w)
    assert out.shape == (2,)
    np.testing.assert_array_equal(w, [[1.0, 1.0]])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1e3, allow_nan=False, width=32), min_size=1, max_size=40))
def test_normalise_of_non_negative_weights_sums_to_one(values):
    out = normalise(values)
    assert abs(float(np.sum(out, dtype=np.float64)) - 1.0) < 1e-5
    assert np.all(out >= 0)


def test_sequential_sum_adds_left_to_right_in_float32():
    # (1e8 + 1) + ... loses the ones in float32 when added in order; pairwise sum would not
    values = np.array([1e8] + [1.0] * 20, dtype=np.float32)
    assert sequential_sum(values) == np.float32(1e8)
    assert sequential_sum(np.zeros(0, np.float32)) == 0.0


def test_normalise_direction_unit_length_and_fallback():
    np.testing.assert_allclose(normalise_direction([3, 0, 4]), [0.6, 0, 0.8], atol=ATOL)
    np.testing.assert_array_equal(normalise_direction([0, 0, 0]), [0, 0, 1])
    np.testing.assert_array_equal(normalise_direction([1e-7, 0, 0]), [0, 0, 1])
    np.testing.assert_array_equal(normalise_direction([np.nan, 1, 0]), [0, 0, 1])
    np.testing.assert_array_equal(normalise_direction([np.inf, 1, 0]), [0, 0, 1])


def test_normalise_direction_rejects_wrong_length_naming_the_parameter():
    with pytest.raises(ShapeMismatch, match=r"focus_direction must have 3 components.*got 2"):
        normalise_direction([1, 0], name="focus_direction")


def test_rust_max_min_return_the_other_argument_on_nan():
    assert rust_max(np.nan, 0.0) == 0.0
    assert rust_max(0.0, np.nan) == 0.0
    assert rust_min(np.nan, 2.0) == 2.0
    assert rust_max(1.0, 2.0) == 2.0 and rust_min(1.0, 2.0) == 1.0


def test_clamp_keeps_nan_and_pins_everything_else():
    assert np.isnan(clamp(np.nan, 0, 1))
    assert clamp(np.inf, 0, 1) == 1.0
    assert clamp(-np.inf, 0, 1) == 0.0
    assert clamp(0.25, 0, 1) == np.float32(0.25)
    assert clamp(2, 0, 1).dtype == np.float32


def test_require_finite_names_label_index_and_value():
    with pytest.raises(NonFiniteValue, match=r"z_space_weight must be finite, got nan at index 1"):
        require_finite(np.array([1.0, np.nan], np.float32), "z_space_weight")
    require_finite(np.array([1.0, -2.0], np.float32), "z_space_weight")


def test_non_numeric_weights_are_rejected_naming_the_value():
    with pytest.raises(InvalidValue, match="weights must be a sequence of numbers, got 'abc'"):
        normalise("abc")


def test_finite_f32_judges_the_float32_value():
    assert finite_f32(0.5) == np.float32(0.5) and finite_f32(0.5).dtype == np.float32
    assert finite_f32(3e38) == np.float32(3e38)
    for value in (None, np.nan, np.inf, 1e39, -1e39):
        assert finite_f32(value) is None


def test_clamp_pins_values_beyond_float32_range_quietly():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert clamp(1e39, 0, 1) == 1.0 and clamp(-1e39, 0, 1) == 0.0


def test_integer_at_least_names_the_parameter_and_takes_the_error_class():
    assert integer_at_least(np.int64(3), "passes", 0) == 3
    for bad in (-1, 1.0, True, "2"):
        with pytest.raises(InvalidValue, match=rf"passes must be an integer >= 0, got {bad!r}"):
            integer_at_least(bad, "passes", 0)
    with pytest.raises(InvalidDimensions, match="depth must be an integer >= 1, got 0"):
        integer_at_least(0, "depth", 1, InvalidDimensions)


def test_sequential_sum_of_short_vectors_has_cumsums_bits():
    # short vectors are summed in Python floats; every case must give np.cumsum's float32
    rng = np.random.default_rng(7)
    cases = [
        np.array([3e38, 3e38], np.float32),  # overflows to inf
        np.array([3e38, -3e38, 1.0], np.float32),
        np.array([-0.0], np.float32),
        np.array([-0.0, -0.0], np.float32),
        np.array([1e-45, 1e-45, -1e-45], np.float32),  # subnormals
        np.array([16777216.0, 1.0, 1.0], np.float32),  # ties to even
        np.array([1.0, np.nan, 2.0], np.float32),
        np.array([1.0, np.inf, -np.inf], np.float32),
    ]
    for _ in range(300):
        n = int(rng.integers(1, 40))
        scale = 10.0 ** rng.integers(-44, 38, size=n)
        with np.errstate(over="ignore", under="ignore"):
            cases.append((rng.standard_normal(n) * scale).astype(np.float32))
    for values in cases:
        with np.errstate(over="ignore", invalid="ignore"):  # inf - inf is the NaN case
            expected = np.cumsum(values, dtype=np.float32)[-1]
            got = sequential_sum(values)
        assert isinstance(got, np.float32)
        assert got.tobytes() == expected.tobytes(), values


def test_require_finite_finds_a_bad_entry_behind_huge_finite_ones():
    # 1e30 squared overflows the quick check, so the entry-by-entry search decides
    require_finite(np.array([1e30, -1e30], np.float32), "w")
    with pytest.raises(NonFiniteValue, match=r"w must be finite, got inf at index 1"):
        require_finite(np.array([1e30, np.inf], np.float32), "w")
