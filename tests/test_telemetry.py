"""Tests for stv_cli.telemetry: slice profiles, reports, chrono and atlas records."""

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
