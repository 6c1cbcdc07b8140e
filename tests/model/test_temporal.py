"""stv_cli.model.temporal: TemporalResonanceBuffer (SPEC A.4) and the slice-wise EMA/blend."""

from __future__ import annotations

import numpy as np
import pytest

from stv_cli import TemporalResonanceBuffer
from stv_cli.errors import NonFiniteValue
from stv_cli.model.temporal import blend_slices, ema_slices
from tests.tolerances import ATOL


@pytest.mark.parametrize(
    "given,kept",
    [(0.3, 0.3), (-1.0, 0.0), (2.0, 1.0), (np.nan, 0.5), (np.inf, 0.5), (-np.inf, 0.5)],
)
def test_decay_is_clamped_or_falls_back_to_half(given, kept):
    assert TemporalResonanceBuffer(given).decay == pytest.approx(kept)


def test_first_frame_is_normalised_and_later_frames_blend_with_decay_on_the_new_frame():
    buf = TemporalResonanceBuffer(0.1)
    np.testing.assert_allclose(buf.apply([1, 3]), [0.25, 0.75], atol=ATOL)
    out = buf.apply([1, 0])
    np.testing.assert_allclose(out, [0.9 * 0.25 + 0.1, 0.9 * 0.75], atol=ATOL)
    assert buf.frames == 2


def test_history_is_a_copy_and_apply_returns_a_copy():
    buf = TemporalResonanceBuffer(0.5)
    out = buf.apply([1.0, 1.0])
    out[0] = 42
    history = buf.history
    history[1] = 42
    np.testing.assert_allclose(buf.history, [0.5, 0.5])


def test_empty_weights_clear_the_buffer():
    buf = TemporalResonanceBuffer(0.5)
    buf.apply([1.0, 2.0])
    assert buf.apply([]).size == 0
    assert buf.history is None and buf.frames == 0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_are_rejected_and_state_is_unchanged(bad):
    buf = TemporalResonanceBuffer(0.5)
    buf.apply([0.2, 0.8])
    with pytest.raises(
        NonFiniteValue, match=rf"temporal_resonance_weight must be finite, got {bad}"
    ):
        buf.apply([0.5, bad])
    np.testing.assert_allclose(buf.history, [0.2, 0.8], atol=ATOL)
    assert buf.frames == 1


def test_ema_slices_in_place_and_blend_slices_match_the_formula(rng):
    a = rng.standard_normal((3, 2, 2, 3)).astype(np.float32)
    b = rng.standard_normal((3, 2, 2, 3)).astype(np.float32)
    alpha = np.float32(0.3)
    expected = a * (np.float32(1) - alpha) + b * alpha
    out = ema_slices(a, b, alpha, out=a)
    assert out is a
    np.testing.assert_array_equal(a, expected)
    blended = blend_slices([a, b], np.array([1, 3], np.float32), np.float32(4))
    np.testing.assert_allclose(blended, (a + 3 * b) / 4, atol=1e-6)


def test_decay_beyond_float32_range_is_inf_and_falls_back_to_half():
    # 1e39 is finite as a double but inf as the reference's f32, so it takes the fallback
    assert TemporalResonanceBuffer(1e39).decay == 0.5
    assert TemporalResonanceBuffer(-1e39).decay == 0.5
