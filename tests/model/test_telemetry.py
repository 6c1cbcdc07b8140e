"""Tests for stv_cli.model.telemetry: slice profiles, reports, chrono and atlas records."""

from __future__ import annotations

import numpy as np
import pytest

from stv_cli import AtlasFrame, ChronoSnapshot, ChronoSummary, ZSliceProfile
from stv_cli.errors import DataLength, EmptyInput


def test_profile_rejects_empty_and_mismatched_lengths():
    with pytest.raises(EmptyInput, match="z_slice_profile must have at least one slice, got 0"):
        ZSliceProfile([], [], [])
    with pytest.raises(DataLength, match="equal length, got 2, 1 and 2"):
        ZSliceProfile([1, 2], [1], [1, 2])


def test_averages_totals_and_max():
    p = ZSliceProfile([1, 3], [0.5, 1.5], [2, 6])
    assert (p.depth, p.average_mean, p.average_std, p.average_energy) == (2, 2.0, 1.0, 4.0)
    assert (p.total_energy, p.max_energy) == (8.0, 6.0)
    assert p.slice(1) == (3.0, 1.5, 6.0)


def test_max_energy_folds_from_zero_and_ignores_nan():
    assert ZSliceProfile([0, 0], [0, 0], [-1, -2]).max_energy == 0.0
    assert ZSliceProfile([0, 0], [0, 0], [np.nan, 3]).max_energy == 3.0


def test_entropy_is_in_bits_and_zero_for_tiny_totals():
    assert ZSliceProfile([0] * 4, [0] * 4, [1] * 4).energy_entropy == pytest.approx(2.0)
    assert ZSliceProfile([0, 0], [0, 0], [0, 0]).energy_entropy == 0.0
    # non-positive energies count in the total but not in the sum
    assert ZSliceProfile([0] * 3, [0] * 3, [1, 1, 0]).energy_entropy == pytest.approx(1.0)


def test_report_as_dict():
    report = ZSliceProfile([1], [0], [1]).report()
    d = report.as_dict()
    assert d["depth"] == 1 and d["total_energy"] == 1.0 and d["energy_entropy"] == 0.0


@pytest.mark.parametrize("dt,kept", [(0.5, 0.5), (-1.0, 0.0), (np.nan, 0.0), (np.inf, 0.0)])
def test_snapshot_dt_rule(dt, kept):
    assert ChronoSnapshot(ChronoSummary(latest_timestamp=2.0), dt).dt == kept


def test_snapshot_timestamp_comes_from_summary_or_zero():
    assert ChronoSnapshot(ChronoSummary(latest_timestamp=2.5), 0.1).timestamp == 2.5
    assert ChronoSnapshot(ChronoSummary(latest_timestamp=np.nan), 0.1).timestamp == 0.0


def test_chrono_summary_defaults_and_atlas_lists_are_independent():
    s = ChronoSummary()
    assert s.frames == 0 and s.mean_energy == 0.0 and s.max_energy == 0.0
    a, b = AtlasFrame(0.0), AtlasFrame(1.0)
    a.metrics.append("x")
    assert b.metrics == [] and b.notes == [] and b.z_signal is None


def stream_summary(frames, mean, std, drift, drift_std, latest) -> ChronoSummary:
    return ChronoSummary(
        frames=frames,
        duration=0.05 * frames,
        latest_timestamp=latest,
        mean_drift=drift,
        mean_abs_drift=drift,
        drift_std=drift_std,
        mean_energy=mean,
        energy_std=std,
        mean_decay=-0.05,
        min_energy=mean - std,
        max_energy=mean + std,
    )


def test_b3_snapshots_merge_like_the_stream_frame_aggregator():
    a = ChronoSnapshot(stream_summary(2, 1.0, 0.1, 0.05, 0.02, 0.5), 0.05)
    b = ChronoSnapshot(stream_summary(4, 2.0, 0.3, 0.1, 0.04, 1.0), 0.1)
    m = a.merged(b)
    s = m.summary
    assert s.frames == 6
    assert m.dt == pytest.approx(0.15) and m.timestamp == 1.0
    got = [s.mean_energy, s.duration, s.energy_std, s.mean_drift, s.mean_abs_drift, s.drift_std]
    expected = [10 / 6, 0.3, 0.534374, 0.0833333, 0.0833333, 0.0418994]
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert (s.mean_decay, s.min_energy, s.max_energy, s.latest_timestamp) == pytest.approx(
        (-0.05, 0.9, 2.3, 1.0)
    )


def test_summary_with_no_frames_is_ignored_or_replaced():
    full = stream_summary(2, 1.0, 0.1, 0.05, 0.02, 0.5)
    assert full.merged(ChronoSummary()) is full
    assert ChronoSummary().merged(full) is full


def test_merge_min_max_follow_rust_rules_nan_gives_the_other_side():
    # SPEC A.0/A.13: min/max of f32 return the other argument when one is NaN; Python's
    # min/max would keep the NaN when it comes first.
    nan_side = ChronoSummary(
        frames=1, min_energy=np.nan, max_energy=np.nan, latest_timestamp=np.nan
    )
    full = stream_summary(2, 1.0, 0.1, 0.05, 0.02, 0.5)
    for merged in (nan_side.merged(full), full.merged(nan_side)):
        assert (merged.min_energy, merged.max_energy) == pytest.approx((0.9, 1.1))
        assert merged.latest_timestamp == 0.5
