"""Telemetry records: slice profiles, volume reports, chrono summaries and atlas frames.

These are plain values (SPEC A.2.8, A.7, A.13). A :class:`ZSliceProfile` is computed from a
volume by :meth:`stv_cli.ZSpaceVolume.profile` or :meth:`~stv_cli.ZSpaceVolume.slice_profile`;
the chrono and atlas records are produced by the video pipeline and read by
:meth:`stv_cli.VisionProjector.from_summary` and
:meth:`~stv_cli.VisionProjector.calibrate_from_atlas`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ..backend import ops
from ..errors import DataLength, EmptyInput, InvalidDimensions
from .floats import EPS, F32, as_vector, rust_max, rust_min, sequential_sum


@dataclass(frozen=True)
class ZSpaceTelemetryReport:
    """Summary of a volume's slice statistics (SPEC A.2.8); all floats are float32 values.

    Attributes
    ----------
    depth
        Number of slices.
    mean_intensity, mean_std, mean_energy
        Arithmetic means over slices of the per-slice mean, std and energy (mean of v^2).
    total_energy
        Sum of the per-slice energies.
    max_energy
        Largest per-slice energy (a fold of max from 0.0, so NaN is ignored and it is >= 0).
    energy_entropy
        Shannon entropy, in bits, of the energies seen as a distribution over depth.
    """

    depth: int
    mean_intensity: float
    mean_std: float
    mean_energy: float
    total_energy: float
    max_energy: float
    energy_entropy: float

    def as_dict(self) -> dict[str, float | int]:
        """The report as a plain dict (for ``--json`` output)."""
        return asdict(self)


class ZSliceProfile:
    """Per-slice mean, std and energy of a volume (SPEC A.2.8).

    Parameters
    ----------
    means, stds, energies
        One value per slice; stored as new flat float32 arrays.

    Raises
    ------
    EmptyInput
        If ``means`` is empty.
    DataLength
        If the three lengths differ.
    """

    def __init__(self, means, stds, energies) -> None:
        self.means = as_vector(means, "means")
        self.stds = as_vector(stds, "stds")
        self.energies = as_vector(energies, "energies")
        if self.means.size == 0:
            raise EmptyInput("z_slice_profile must have at least one slice, got 0 means")
        if not (self.means.size == self.stds.size == self.energies.size):
            raise DataLength(
                "z_slice_profile needs means, stds and energies of equal length, got "
                f"{self.means.size}, {self.stds.size} and {self.energies.size}"
            )

    @property
    def depth(self) -> int:
        """Number of slices."""
        return int(self.means.size)

    def slice(self, z: int) -> tuple[float, float, float]:
        """(mean, std, energy) of slice ``z``."""
        return float(self.means[z]), float(self.stds[z]), float(self.energies[z])

    @property
    def average_mean(self) -> float:
        """Arithmetic mean of the per-slice means (float32, summed in order)."""
        return float(sequential_sum(self.means) / F32(self.depth))

    @property
    def average_std(self) -> float:
        """Arithmetic mean of the per-slice standard deviations."""
        return float(sequential_sum(self.stds) / F32(self.depth))

    @property
    def average_energy(self) -> float:
        """Arithmetic mean of the per-slice energies."""
        return float(sequential_sum(self.energies) / F32(self.depth))

    @property
    def total_energy(self) -> float:
        """Sum of the per-slice energies."""
        return float(sequential_sum(self.energies))

    @property
    def max_energy(self) -> float:
        """max over energies folded from 0.0 with Rust's max (NaN ignored)."""
        return float(np.fmax.reduce(self.energies, initial=F32(0.0)))

    @property
    def energy_entropy(self) -> float:
        """Entropy in bits of p = e / sum(e) over the finite, positive energies; 0 if sum <= EPS."""
        total = sequential_sum(self.energies)
        if total <= EPS:
            return 0.0
        e = self.energies[np.isfinite(self.energies) & (self.energies > 0)]
        p = e / total
        return float(-sequential_sum(p * np.log2(p)))

    def report(self) -> ZSpaceTelemetryReport:
        """The :class:`ZSpaceTelemetryReport` of this profile."""
        return ZSpaceTelemetryReport(
            depth=self.depth,
            mean_intensity=self.average_mean,
            mean_std=self.average_std,
            mean_energy=self.average_energy,
            total_energy=self.total_energy,
            max_energy=self.max_energy,
            energy_entropy=self.energy_entropy,
        )

    def __repr__(self) -> str:
        return f"ZSliceProfile(depth={self.depth})"


# --------------------------------------------------------------------------- of voxels
# The statistics behind ZSpaceVolume.profile/slice_profile/spectral_response/total_energy,
# on a (D, H, W, C) float32 array, all taken over the H*W*C values of each slice (D1).


def two_pass_profile(voxels: np.ndarray) -> ZSliceProfile:
    """Per-slice mean, two-pass population std and energy (SPEC A.2.8); zeros for H*W = 0."""
    s = ops().slice_statistics(voxels)
    return ZSliceProfile(s["mean"], s["std"], s["energy"])


def one_pass_profile(voxels: np.ndarray) -> ZSliceProfile:
    """Like :func:`two_pass_profile` but with the one-pass std sqrt(max(E[v^2] - mean^2, 0)).

    Raises
    ------
    InvalidDimensions
        If H*W = 0.
    """
    _, h, w, _ = voxels.shape
    if h * w == 0:
        raise InvalidDimensions(f"slice_profile needs non-empty slices, got H = {h}, W = {w}")
    s = ops().slice_statistics(voxels)
    return ZSliceProfile(s["mean"], s["std_one_pass"], s["energy"])


def spectral_response(voxels: np.ndarray, window) -> np.ndarray:
    """Per-slice mean |v| times ``window.weights(D)`` (SPEC A.2.5); empty when H*W = 0."""
    d, h, w, _ = voxels.shape
    if h * w == 0:
        return np.zeros(0, dtype=F32)
    abs_mean = ops().slice_statistics(voxels)["abs_mean"]
    return (abs_mean * window.weights(d)).astype(F32, copy=False)


def total_energy(voxels: np.ndarray) -> float:
    """Mean of v^2 over every value of the array (0 for an empty one)."""
    if voxels.size == 0:
        return 0.0
    # every slice has the same count, so the mean of per-slice energies is the global mean
    energies = ops().slice_statistics(voxels)["energy"]
    return float(F32(np.mean(energies, dtype=np.float64)))


# --------------------------------------------------------------------------- over time


@dataclass(frozen=True)
class ChronoSummary:
    """Statistics of a stream of frames over time (produced by the video pipeline, A.14).

    All fields are keywords with defaults (an empty stream). Read by
    :meth:`stv_cli.VisionProjector.from_summary`.
    """

    frames: int = 0
    duration: float = 0.0
    latest_timestamp: float = 0.0
    mean_drift: float = 0.0
    mean_abs_drift: float = 0.0
    drift_std: float = 0.0
    mean_energy: float = 0.0
    energy_std: float = 0.0
    mean_decay: float = 0.0
    min_energy: float = 0.0
    max_energy: float = 0.0

    def merged(self, other: ChronoSummary) -> ChronoSummary:
        """Pool two summaries as the stream-frame aggregator does (SPEC A.13).

        A summary with 0 frames contributes nothing. Otherwise the means (energy, drift,
        absolute drift, decay) are frame-weighted, the stds pooled as
        ``sqrt(sum n_i (s_i^2 + (m_i - m)^2) / sum n_i)``, frames and duration summed, and
        min/max energy and the latest timestamp take the min/max with Rust's rules (a NaN on
        one side gives the other side's value, SPEC A.0).
        """
        if other.frames <= 0:
            return self
        if self.frames <= 0:
            return other
        n1, n2 = float(self.frames), float(other.frames)
        n = n1 + n2

        def mean(a: float, b: float) -> float:
            return float(F32((n1 * a + n2 * b) / n))

        def pooled(s1: float, m1: float, s2: float, m2: float, m: float) -> float:
            var = (n1 * (s1 * s1 + (m1 - m) ** 2) + n2 * (s2 * s2 + (m2 - m) ** 2)) / n
            return float(F32(math.sqrt(max(var, 0.0))))

        energy = mean(self.mean_energy, other.mean_energy)
        drift = mean(self.mean_drift, other.mean_drift)
        return ChronoSummary(
            frames=self.frames + other.frames,
            duration=float(F32(self.duration + other.duration)),
            latest_timestamp=float(rust_max(self.latest_timestamp, other.latest_timestamp)),
            mean_drift=drift,
            mean_abs_drift=mean(self.mean_abs_drift, other.mean_abs_drift),
            drift_std=pooled(
                self.drift_std, self.mean_drift, other.drift_std, other.mean_drift, drift
            ),
            mean_energy=energy,
            energy_std=pooled(
                self.energy_std, self.mean_energy, other.energy_std, other.mean_energy, energy
            ),
            mean_decay=mean(self.mean_decay, other.mean_decay),
            min_energy=float(rust_min(self.min_energy, other.min_energy)),
            max_energy=float(rust_max(self.max_energy, other.max_energy)),
        )


@dataclass(frozen=True)
class ChronoSnapshot:
    """A :class:`ChronoSummary` with the time step that produced it (SPEC A.13).

    ``dt`` is kept if finite and >= 0, otherwise 0. ``timestamp`` (not an argument) is the
    summary's ``latest_timestamp``, or 0 when that is not finite.
    """

    summary: ChronoSummary
    dt: float = 0.0
    timestamp: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        dt = float(self.dt) if math.isfinite(float(self.dt)) and float(self.dt) >= 0 else 0.0
        object.__setattr__(self, "dt", dt)
        latest = float(self.summary.latest_timestamp)
        object.__setattr__(self, "timestamp", latest if math.isfinite(latest) else 0.0)

    def merged(self, other: ChronoSnapshot) -> ChronoSnapshot:
        """Aggregator merge (SPEC A.13): summaries pooled, dt summed, latest timestamp kept."""
        snapshot = ChronoSnapshot(self.summary.merged(other.summary), self.dt + other.dt)
        object.__setattr__(snapshot, "timestamp", max(self.timestamp, other.timestamp))
        return snapshot


@dataclass(frozen=True)
class AtlasMetric:
    """A named value reported by an atlas; ``district`` labels where it came from."""

    name: str
    value: float
    district: str | None = None


@dataclass
class AtlasFrame:
    """A calibration message for :meth:`stv_cli.VisionProjector.calibrate_from_atlas` (D5).

    Only ``z_signal`` (focus), ``suggested_pressure`` (spread), ``collapse_total``
    (energy bias) and the metrics named ``temporal_focus``/``z_temporal_focus`` and
    ``temporal_decay``/``z_temporal_decay`` are read; a field that is None is left alone.
    """

    timestamp: float
    z_signal: float | None = None
    suggested_pressure: float | None = None
    collapse_total: float | None = None
    chrono_summary: ChronoSummary | None = None
    loop_support: float | None = None
    metrics: list[AtlasMetric] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
