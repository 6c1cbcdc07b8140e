"""SpiralRnn: deterministic initialisation, gated update and guards (SPEC A.10)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stv_cli import InvalidDimensions, InvalidValue, NonFiniteValue, ShapeMismatch, SpiralRnn
from stv_cli.model.rnn import recurrence_fill, sanitise
from tests.tolerances import ATOL_RNN


def test_input_weights_follow_the_recurrence_by_hand():
    rnn = SpiralRnn("t", 2, 3, 1)
    assert rnn.input_weights.shape == (2, 6) and rnn.input_weights.dtype == np.float32
    # 0.0027, then x 1.873 while below 0.05, then the fmod wraps: 0.0622375 -> 0.0122375
    expected = [0.0027, 0.0050571, 0.00947195, 0.01774096, 0.03322882, 0.01223757]
    np.testing.assert_allclose(rnn.input_weights[0], expected, rtol=1e-5)
    assert rnn.input_weights[1, 0] == pytest.approx(0.01223757 * 1.873, rel=1e-5)


def test_hidden_weights_start_at_0_0013_with_factor_1_619():
    rnn = SpiralRnn("t", 1, 2, 1)
    assert rnn.hidden_weights.shape == (2, 4)
    np.testing.assert_allclose(
        rnn.hidden_weights[0, :3], [0.0013, 0.0013 * 1.619, 0.0013 * 1.619**2], rtol=1e-5
    )


def test_recurrence_floor_replaces_an_exact_zero():
    # 0.025 * 2 is exactly float32(0.05), so fmod gives 0 and the floor 1e-4 takes over
    values = recurrence_fill(1, 4, 0.025, 2.0, 0.05)
    np.testing.assert_allclose(values[0], [0.025, 1e-4, 2e-4, 4e-4], rtol=1e-6)


def test_phase_matrix_anchor_and_biases_by_hand():
    rnn = SpiralRnn("t", 1, 3, 1)
    p = rnn.phase_weights
    np.testing.assert_allclose(np.diag(p), [0.5, 0.5, 0.5])
    assert p[1, 0] == pytest.approx(0.01 * math.sin(1.0), rel=1e-6)
    assert p[0, 2] == pytest.approx(0.01 * math.sin(-2.0), rel=1e-6)
    np.testing.assert_allclose(
        rnn.anchor, [0.0, 0.05 * math.sin(math.log(2)), 0.05 * math.sin(math.log(3))], atol=1e-8
    )
    assert not rnn.bias.any() and rnn.bias.shape == (6,)
    assert not rnn.phase_bias.any() and rnn.phase_bias.shape == (3,)


def test_one_step_one_unit_by_hand():
    # Hd = 1: anchor 0, so h = tanh(0.0027 x) * (1 - sigmoid(0.0050571 x))
    rnn = SpiralRnn("t", 1, 1, 1)
    x = 100.0
    expected = math.tanh(0.0027 * x) * (1 - 1 / (1 + math.exp(-0.0050571 * x)))
    out = rnn.forward([[x]])
    assert out.shape == (1, 1) and out.dtype == np.float32
    assert out[0, 0] == pytest.approx(expected, abs=ATOL_RNN)


def _naive_forward(rnn: SpiralRnn, row: np.ndarray) -> np.ndarray:
    """The update of SPEC A.10 written element by element in float64."""
    wx, wh, p = (
        m.astype(np.float64) for m in (rnn.input_weights, rnn.hidden_weights, rnn.phase_weights)
    )
    a = rnn.anchor.astype(np.float64)
    hd, i_dim = rnn.hidden_dim, rnn.input_dim
    h = a.copy()
    for t in range(rnn.steps):
        x_t = row[t * i_dim : (t + 1) * i_dim]
        pre = [
            sum(x_t[i] * wx[i, j] for i in range(i_dim)) + sum(h[r] * wh[r, j] for r in range(hd))
            for j in range(2 * hd)
        ]
        new = np.empty(hd)
        for j in range(hd):
            drive = math.tanh(pre[j])
            g_in = sum(h[r] * p[r, j] for r in range(hd)) + pre[hd + j]
            gate = 1 / (1 + math.exp(-g_in))
            new[j] = h[j] * gate + drive * (1 - gate) + a[j] * math.tanh(pre[hd + j])
        h = new
    return h


def test_forward_matches_a_naive_float64_implementation():
    rnn = SpiralRnn("t", 3, 4, 5)
    x = np.random.default_rng(7).normal(0, 20, size=(2, 15)).astype(np.float32)
    out = rnn.forward(x)
    assert out.shape == (2, 4)
    for b in range(2):
        np.testing.assert_allclose(
            out[b], _naive_forward(rnn, x[b].astype(np.float64)), atol=ATOL_RNN
        )


def test_rows_are_independent_and_there_is_no_state_between_calls():
    rnn = SpiralRnn("t", 2, 3, 2)
    x = np.array([[1, 2, 3, 4], [-5, 0.5, 0, 9]], np.float32)
    both = rnn.forward(x)
    np.testing.assert_array_equal(both[1], rnn.forward(x[1:])[0])
    np.testing.assert_array_equal(rnn.forward(x), both)
    np.testing.assert_array_equal(rnn.forward(x[0]), both[:1])  # 1-D = a batch of one


def test_saturated_inputs_stay_bounded():
    rnn = SpiralRnn("t", 1, 2, 1)
    a = rnn.anchor
    # huge positive drive: tanh -> 1, gate -> 1, so h = a * 1 + 0 + a * 1
    np.testing.assert_allclose(rnn.forward([[3e38]])[0], 2 * a, atol=ATOL_RNN)
    # huge negative: gate -> 0, h = 0 + (-1) * 1 + a * (-1)
    np.testing.assert_allclose(rnn.forward([[-3e38]])[0], -1 - a, atol=ATOL_RNN)


def test_sanitise_zeroes_non_finite_and_clamps():
    got = sanitise(np.array([np.nan, np.inf, -np.inf, 2e6, -3e7, -3.0], np.float32))
    np.testing.assert_array_equal(got, [0, 0, 0, 1e6, -1e6, -3])


def test_guards():
    rnn = SpiralRnn("t", 2, 3, 2)
    with pytest.raises(NonFiniteValue, match=r"spiral_rnn_input.*row 0, column 2"):
        rnn.forward([[1, 2, np.nan, 4]])
    with pytest.raises(ShapeMismatch, match=r"\(batch, 4\).*\(1, 3\)"):
        rnn.forward([[1, 2, 3]])
    with pytest.raises(ShapeMismatch):
        rnn.forward(np.zeros((1, 1, 4)))
    for sizes in [(0, 1, 1), (1, 0, 1), (1, 1, 0)]:
        with pytest.raises(InvalidDimensions, match="spiral_rnn"):
            SpiralRnn("t", *sizes)


def test_non_numeric_input_is_rejected_naming_the_parameter():
    with pytest.raises(InvalidValue, match="spiral_rnn_input must be numbers"):
        SpiralRnn("t", 1, 1, 1).forward([["x"]])


def _fully_sanitised_forward(rnn: SpiralRnn, x: np.ndarray) -> np.ndarray:
    """SPEC A.10 with sanitise() on every intermediate (what forward skips when it can
    prove an intermediate clean)."""
    hd, width = rnn.hidden_dim, rnn.input_dim
    h = np.repeat(rnn.anchor[None, :], x.shape[0], axis=0)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(rnn.steps):
            x_t = x[:, t * width : (t + 1) * width]
            pre = sanitise(
                sanitise(x_t @ rnn.input_weights) + sanitise(h @ rnn.hidden_weights) + rnn.bias
            )
            drive, reset = np.tanh(pre[:, :hd]), pre[:, hd:]
            g_in = sanitise(sanitise(h @ rnn.phase_weights) + reset + rnn.phase_bias)
            gate = np.float32(1.0) / (np.float32(1.0) + np.exp(-g_in))
            h = sanitise(h * gate + drive * (np.float32(1.0) - gate) + rnn.anchor * np.tanh(reset))
    return h


@pytest.mark.parametrize("scale", [0.0, 1.0, 1e5, 1e6, 1e8, 1e30])
def test_forward_has_the_bits_of_sanitising_everything(scale):
    rng = np.random.default_rng(11)
    rnn = SpiralRnn("t", 3, 8, 4)
    x = (rng.standard_normal((2, 12)) * scale).astype(np.float32)
    np.testing.assert_array_equal(rnn.forward(x), _fully_sanitised_forward(rnn, x))
    rnn.bias[:] = np.array([np.nan, np.inf, -np.inf, 3e6] * 4, np.float32)  # dirty sums
    np.testing.assert_array_equal(rnn.forward(x), _fully_sanitised_forward(rnn, x))
