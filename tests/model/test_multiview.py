"""Tests for stv_cli.model.multiview: ViewDescriptor and MultiViewFusion (SPEC A.8)."""

from __future__ import annotations

import numpy as np
import pytest

from stv_cli import MultiViewFusion, ViewDescriptor
from stv_cli.errors import EmptyInput, ShapeMismatch
from tests.tolerances import ATOL


def test_view_forward_is_normalised_and_degenerate_becomes_z():
    v = ViewDescriptor("a", [1, 2, 3], [0, 3, 4])
    np.testing.assert_allclose(v.forward, [0, 0.6, 0.8], atol=ATOL)
    np.testing.assert_array_equal(ViewDescriptor("b", [0, 0, 0], [0, 0, 0]).forward, [0, 0, 1])
    np.testing.assert_array_equal(v.origin, [1, 2, 3])
    assert v.baseline_weight == 1.0


@pytest.mark.parametrize("given,kept", [(2.5, 2.5), (-1.0, 0.0), (np.nan, 0.0)])
def test_baseline_weight_is_max_of_value_and_zero(given, kept):
    v = ViewDescriptor("a", [0, 0, 0], [0, 0, 1])
    assert v.with_baseline_weight(given).baseline_weight == kept
    assert v.baseline_weight == 1.0  # builder returns a copy


def test_view_rejects_vectors_without_three_components():
    with pytest.raises(ShapeMismatch, match=r"forward of view 'a' must have 3 components.*got 2"):
        ViewDescriptor("a", [0, 0, 0], [0, 1])
    with pytest.raises(ShapeMismatch, match="origin must have 3 components"):
        ViewDescriptor("a", [0, 0], [0, 0, 1])


def test_alignment_is_clamped_cosine():
    v = ViewDescriptor("a", [0, 0, 0], [0, 0, 1])
    assert v.alignment([0, 0, 5]) == pytest.approx(1.0)
    assert v.alignment([0, 0, -1]) == 0.0
    assert v.alignment([0, 1, 1]) == pytest.approx(np.sqrt(0.5), abs=ATOL)
    assert v.with_forward([1, 0, 0]).alignment([1, 0, 0]) == pytest.approx(1.0)


def test_fusion_rejects_no_views():
    with pytest.raises(EmptyInput, match="multi_view_fusion needs at least one view, got 0"):
        MultiViewFusion([])


@pytest.mark.parametrize("gamma,kept", [(2.0, 2.0), (0.0, 0.25), (100, 8.0), (np.nan, 1.0)])
def test_gamma_is_clamped_or_falls_back_to_one(gamma, kept):
    fusion = MultiViewFusion([ViewDescriptor("a", [0, 0, 0], [0, 0, 1])])
    assert fusion.with_alignment_gamma(gamma).alignment_gamma == kept
    assert fusion.alignment_gamma == 1.0


def test_biases_floor_alignment_and_baseline_at_1e_3():
    front = ViewDescriptor("front", [0, 0, 0], [0, 0, 1])
    side = ViewDescriptor("side", [0, 0, 0], [1, 0, 0])
    muted = front.with_baseline_weight(0.0)
    fusion = MultiViewFusion([front, side, muted])
    np.testing.assert_allclose(fusion.raw_biases(), [1.0, 1e-3, 1e-3], rtol=1e-6)
    np.testing.assert_allclose(
        fusion.normalised_biases(), np.array([1, 1e-3, 1e-3]) / 1.002, rtol=1e-6
    )
    sharp = fusion.with_alignment_gamma(2.0)
    np.testing.assert_allclose(sharp.raw_biases(), [1.0, 1e-6, 1e-3], rtol=1e-5)
    profile = sharp.view_bias_profile()
    assert [name for name, _ in profile] == ["front", "side", "front"]
    np.testing.assert_allclose([b for _, b in profile], sharp.normalised_biases())


def test_focus_direction_changes_which_view_leads():
    views = [ViewDescriptor("x", [0, 0, 0], [1, 0, 0]), ViewDescriptor("z", [0, 0, 0], [0, 0, 1])]
    fusion = MultiViewFusion(views)
    assert fusion.normalised_biases()[1] > fusion.normalised_biases()[0]
    turned = fusion.with_focus_direction([2, 0, 0])
    np.testing.assert_allclose(turned.focus_direction, [1, 0, 0])
    assert turned.normalised_biases()[0] > turned.normalised_biases()[1]
    np.testing.assert_array_equal(fusion.with_focus_direction([0, 0, 0]).focus_direction, [0, 0, 1])
    assert fusion.view_count == 2 and len(fusion.views) == 2


def test_gamma_beyond_float32_range_falls_back_to_one():
    fusion = MultiViewFusion([ViewDescriptor("a", [0, 0, 0], [0, 0, 1])])
    assert fusion.with_alignment_gamma(1e39).alignment_gamma == 1.0
    assert fusion.with_alignment_gamma(-1e39).alignment_gamma == 1.0
