"""Running statistics of a video stream's motion and resonance energies (SPEC A.14, D9).

:class:`TemporalStats` ingests one (timestamp, motion energy, resonance energy) sample per
frame and keeps running float32 sums, so its memory is constant; it gives the
:class:`~stv_cli.model.telemetry.ChronoSummary` the projector is calibrated with and two
:class:`TemporalDigest` views: every frame so far, and the last ``history`` frames.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ..floats import EPS, F32
from ..telemetry import ChronoSnapshot, ChronoSummary

__all__ = ["TemporalDigest", "TemporalStats"]


@dataclass(frozen=True)
class TemporalDigest:
    """Statistics of the motion and resonance energies over a run of frames (SPEC A.14).

    Means and stds are population, one-pass (``sqrt(max(E[x^2] - mean^2, 0))``); min/max are
    of the resonance energy; the peaks are the largest motion and resonance energies with the
    timestamps where they occurred; ``quiescence_ratio`` is the fraction of frames whose motion
    energy is at or below the threshold. All zeros for an empty run.
    """

    frames: int = 0
    duration: float = 0.0
    mean_motion: float = 0.0
    motion_std: float = 0.0
    mean_resonance: float = 0.0
    resonance_std: float = 0.0
    mean_resonance_decay: float = 0.0
    min_resonance: float = 0.0
    max_resonance: float = 0.0
    peak_motion: float = 0.0
    peak_motion_timestamp: float = 0.0
    peak_resonance: float = 0.0
    peak_resonance_timestamp: float = 0.0
    quiescence_ratio: float = 0.0


_ZERO = F32(0.0)


def _fmax(a: np.float32, b: np.float32) -> np.float32:
    """``np.fmax`` of two float32 scalars; a comparison decides the usual case (a ufunc call
    on scalars costs about 0.6 us), numpy only ties, signed zeros and NaN."""
    if a > b:
        return a
    if b > a:
        return b
    return np.fmax(a, b)


def _fmin(a: np.float32, b: np.float32) -> np.float32:
    """``np.fmin`` of two float32 scalars, as :func:`_fmax`."""
    if a < b:
        return a
    if b < a:
        return b
    return np.fmin(a, b)


def _mean_std(total, total_sq, n) -> tuple[np.float32, np.float32]:
    mean = F32(total) / F32(n)
    return mean, np.sqrt(_fmax(F32(total_sq) / F32(n) - mean * mean, _ZERO))


def _decay(previous_r, r) -> np.float32:
    """Relative drop of the resonance energy, 0 when the previous one is ~0."""
    if np.abs(previous_r) > EPS:
        return (previous_r - r) / np.abs(previous_r)
    return F32(0.0)


class TemporalStats:
    """Running statistics of (timestamp, motion energy, resonance energy) samples (SPEC A.14).

    Everything is a running float32 sum, so memory is constant; only the last ``history``
    samples are kept, for :meth:`digest_window` (D9: the reference keeps every sample but
    reads only the last window).

    Parameters
    ----------
    quiescence_threshold
        Motion energy at or below which a sample counts as quiescent.
    history
        Samples kept for :meth:`digest_window` (>= 1).
    """

    _SUMS = ("drift", "abs_drift", "drift_sq", "m", "m_sq", "r", "r_sq", "decay", "duration")

    def __init__(self, quiescence_threshold: float, history: int) -> None:
        self.threshold = F32(quiescence_threshold)
        # each kept sample (t, m, r) with m^2, r^2, and dt and decay from the sample before
        # it, the values digest_window would otherwise recompute for every window it covers
        self._derived: deque[tuple[np.float32, ...]] = deque(maxlen=max(int(history), 1))
        self.frames = 0
        self.quiescent = 0
        self.sums = {name: F32(0.0) for name in self._SUMS}
        self.last: tuple[np.float32, np.float32, np.float32] | None = None
        self.min_r = self.max_r = F32(0.0)
        self.peak_m = self.peak_m_t = self.peak_r = self.peak_r_t = F32(0.0)

    def ingest(self, timestamp, motion, resonance) -> ChronoSnapshot:
        """Add one sample and return the :class:`ChronoSnapshot` of the stream so far."""
        t, m, r = F32(timestamp), F32(motion), F32(resonance)
        s = self.sums
        if self.last is None:
            dt, drift, decay = F32(0.0), F32(0.0), F32(0.0)
            self.min_r = self.max_r = r
            self.peak_m, self.peak_m_t, self.peak_r, self.peak_r_t = m, t, r, t
        else:
            t_prev, m_prev, r_prev = self.last
            dt = _fmax(t - t_prev, _ZERO)
            drift = m - m_prev
            decay = _decay(r_prev, r)
            self.min_r, self.max_r = _fmin(self.min_r, r), _fmax(self.max_r, r)
            if m > self.peak_m:
                self.peak_m, self.peak_m_t = m, t
            if r > self.peak_r:
                self.peak_r, self.peak_r_t = r, t
        m_sq, r_sq = m * m, r * r
        s["duration"] = s["duration"] + dt
        s["drift"] = s["drift"] + drift
        s["abs_drift"] = s["abs_drift"] + np.abs(drift)
        s["drift_sq"] = s["drift_sq"] + drift * drift
        s["m"] = s["m"] + m
        s["m_sq"] = s["m_sq"] + m_sq
        s["r"] = s["r"] + r
        s["r_sq"] = s["r_sq"] + r_sq
        s["decay"] = s["decay"] + decay
        if m <= self.threshold:
            self.quiescent += 1
        self.frames += 1
        self.last = (t, m, r)
        self._derived.append((t, m, r, m_sq, r_sq, dt, decay))
        return ChronoSnapshot(self.summary(), float(dt))

    @property
    def samples(self) -> list[tuple[np.float32, np.float32, np.float32]]:
        """The kept (timestamp, motion energy, resonance energy) samples, oldest first."""
        return [row[:3] for row in self._derived]

    def summary(self) -> ChronoSummary:
        """The :class:`ChronoSummary` of every sample so far (all zeros before the first)."""
        n = self.frames
        if n == 0:
            return ChronoSummary()
        s = self.sums
        mean_drift, drift_std = _mean_std(s["drift"], s["drift_sq"], n)
        mean_energy, energy_std = _mean_std(s["r"], s["r_sq"], n)
        return ChronoSummary(
            frames=n,
            duration=float(s["duration"]),
            latest_timestamp=float(self.last[0]),
            mean_drift=float(mean_drift),
            mean_abs_drift=float(s["abs_drift"] / F32(n)),
            drift_std=float(drift_std),
            mean_energy=float(mean_energy),
            energy_std=float(energy_std),
            mean_decay=float(s["decay"] / F32(n)),
            min_energy=float(self.min_r),
            max_energy=float(self.max_r),
        )

    def digest(self) -> TemporalDigest:
        """Statistics of every sample so far, from the running sums."""
        n = self.frames
        if n == 0:
            return TemporalDigest()
        s = self.sums
        mean_m, std_m = _mean_std(s["m"], s["m_sq"], n)
        mean_r, std_r = _mean_std(s["r"], s["r_sq"], n)
        return TemporalDigest(
            frames=n,
            duration=float(s["duration"]),
            mean_motion=float(mean_m),
            motion_std=float(std_m),
            mean_resonance=float(mean_r),
            resonance_std=float(std_r),
            mean_resonance_decay=float(s["decay"] / F32(n)),
            min_resonance=float(self.min_r),
            max_resonance=float(self.max_r),
            peak_motion=float(self.peak_m),
            peak_motion_timestamp=float(self.peak_m_t),
            peak_resonance=float(self.peak_r),
            peak_resonance_timestamp=float(self.peak_r_t),
            quiescence_ratio=float(F32(self.quiescent) / F32(n)),
        )

    def digest_window(self, k: int) -> TemporalDigest:
        """Statistics of the last ``min(k, kept)`` samples, in time order.

        As :meth:`digest`, except: the peaks start at -inf; decay and duration are summed over
        consecutive pairs inside the window; mean_resonance_decay divides by frames - 1 (0 for
        one frame). k = 0 or no samples gives zeros.
        """
        k = min(int(k), len(self._derived))
        if k <= 0:
            return TemporalDigest()
        rows = list(self._derived)[len(self._derived) - k :]
        total_m = total_m_sq = total_r = total_r_sq = decay = duration = F32(0.0)
        quiescent = 0
        min_r = max_r = rows[0][2]
        peak_m = peak_r = F32(-np.inf)
        peak_m_t = peak_r_t = F32(0.0)
        threshold = self.threshold
        fmin, fmax = np.fmin, np.fmax
        for t, m, r, m_sq, r_sq, _, _ in rows:
            total_m, total_m_sq = total_m + m, total_m_sq + m_sq
            total_r, total_r_sq = total_r + r, total_r_sq + r_sq
            # fmin/fmax by comparison; numpy only for ties, signed zeros and NaN (_fmin)
            if r < min_r:
                min_r = r
            elif not min_r < r:
                min_r = fmin(min_r, r)
            if r > max_r:
                max_r = r
            elif not max_r > r:
                max_r = fmax(max_r, r)
            if m > peak_m:
                peak_m, peak_m_t = m, t
            if r > peak_r:
                peak_r, peak_r_t = r, t
            if m <= threshold:
                quiescent += 1
        for row in rows[1:]:  # dt and decay were taken from the sample before, in the window
            duration = duration + row[5]
            decay = decay + row[6]
        mean_m, std_m = _mean_std(total_m, total_m_sq, k)
        mean_r, std_r = _mean_std(total_r, total_r_sq, k)
        return TemporalDigest(
            frames=k,
            duration=float(duration),
            mean_motion=float(mean_m),
            motion_std=float(std_m),
            mean_resonance=float(mean_r),
            resonance_std=float(std_r),
            mean_resonance_decay=float(decay / F32(k - 1)) if k > 1 else 0.0,
            min_resonance=float(min_r),
            max_resonance=float(max_r),
            peak_motion=float(peak_m),
            peak_motion_timestamp=float(peak_m_t),
            peak_resonance=float(peak_r),
            peak_resonance_timestamp=float(peak_r_t),
            quiescence_ratio=float(F32(quiescent) / F32(k)),
        )
