"""TemporalStats: running sums, the summary and the two digests at their edges (SPEC A.14)."""

from __future__ import annotations

from stv_cli.model.video.stats import TemporalStats


def test_temporal_stats_edges():
    stats = TemporalStats(0.05, history=8)
    assert stats.digest().frames == 0 and stats.digest_window(3).frames == 0
    assert stats.summary().frames == 0
    stats.ingest(1.0, 0.2, 0.0)
    stats.ingest(0.5, 0.1, 2.0)  # time going back: dt clamps to 0; |r_prev| <= EPS: decay 0
    s = stats.summary()
    assert s.duration == 0.0 and s.mean_decay == 0.0 and s.latest_timestamp == 0.5
    assert stats.digest_window(0).frames == 0
    assert stats.digest_window(100).frames == 2
    one = stats.digest_window(1)
    assert one.mean_resonance_decay == 0.0 and one.peak_resonance == 2.0
