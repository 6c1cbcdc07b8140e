"""ResonanceGenerator: turns a volume's statistics into a DifferentialResonance (SPEC A.11).

The volume's per-slice mean, one-pass std and energy, the projector's state, and optional
chrono/atlas telemetry and the previous resonance are encoded as ``steps`` time steps of
features, run through a :class:`~stv_cli.rnn.SpiralRnn`, and the final hidden state is decoded
into the five per-depth fields. Deterministic: the same inputs give the same resonance.
"""

from __future__ import annotations

import numpy as np

from .errors import EmptyInput, InvalidDimensions
from .resonance import DifferentialResonance
from .rnn import SpiralRnn
from .weights import F32

#: Features encoded per slice by default (the reference's RESONANCE_FEATURES_PER_SLICE).
RESONANCE_FEATURES_PER_SLICE = 10
#: Slots the encoder knows how to fill; with more features per slice the rest stay 0.
_KNOWN_SLOTS = 12


def _option(record, name: str):
    """``record.name`` as float32, or None when the record or the field is absent."""
    if record is None:
        return None
    value = getattr(record, name, None)
    return None if value is None else F32(value)


def _summary(chrono):
    """Accept a ChronoSummary, or a ChronoSnapshot (whose ``summary`` is used), or None."""
    return getattr(chrono, "summary", chrono)


def _previous_field(previous: DifferentialResonance | None, name: str) -> np.ndarray | None:
    """A previous resonance's field, or None when absent or empty (decision D6)."""
    if previous is None:
        return None
    values = getattr(previous, name)
    return values if values.size else None


def total_energy(profile) -> np.float32:
    """``ZSpaceVolume.total_energy()`` from a slice profile: the mean of the slice energies.

    Every slice holds the same number of values, so the mean of the per-slice means of v^2
    is the volume's; the same float64 mean of the same float32 energies as the volume's
    method, so the value is identical.
    """
    return F32(np.mean(profile.energies, dtype=np.float64))


def _tiled(values: np.ndarray | None, z: int, fallback) -> np.float32:
    return F32(fallback) if values is None else values[z % values.size]


class ResonanceGenerator:
    """Generates the resonance that steers a projection, from the volume it will project.

    Parameters
    ----------
    name
        Labels the recurrent core.
    hidden_dim
        Width of the recurrent state (latent) the resonance is decoded from.
    steps
        Time steps of the recurrence; the deepest volume it accepts has ``steps`` slices.
    features_per_slice
        Features encoded per slice (default 10; see :meth:`with_features`).

    Raises
    ------
    InvalidDimensions
        If any size is not an integer >= 1.
    """

    def __init__(
        self,
        name: str,
        hidden_dim: int,
        steps: int,
        features_per_slice: int = RESONANCE_FEATURES_PER_SLICE,
    ) -> None:
        self._rnn = SpiralRnn(name, features_per_slice, hidden_dim, steps)

    @classmethod
    def with_features(
        cls, name: str, features_per_slice: int, hidden_dim: int, steps: int
    ) -> ResonanceGenerator:
        """A generator encoding ``features_per_slice`` values per slice (argument order of the
        reference's ``with_features(name, features, hidden, steps)``)."""
        return cls(name, hidden_dim, steps, features_per_slice)

    @property
    def rnn(self) -> SpiralRnn:
        """The recurrent core."""
        return self._rnn

    @property
    def features_per_slice(self) -> int:
        return self._rnn.input_dim

    @property
    def hidden_dim(self) -> int:
        return self._rnn.hidden_dim

    @property
    def steps(self) -> int:
        return self._rnn.steps

    def generate(self, volume, projector, chrono=None, atlas=None, previous=None, *, profile=None):
        """The resonance of ``volume`` under ``projector`` (SPEC A.11).

        Parameters
        ----------
        volume : ZSpaceVolume
            Depth D <= steps. Slice statistics are over all H*W*C values of a slice (D1).
        projector : VisionProjector
            Its ``focus``, ``spread`` and ``energy_bias`` are read, never changed.
        chrono : ChronoSummary or ChronoSnapshot, optional
            Supplies mean_energy, energy_std, mean_drift and drift_std.
        atlas : AtlasFrame, optional
            Supplies z_signal, suggested_pressure and collapse_total when they are set.
        previous : DifferentialResonance, optional
            The last resonance; an empty field counts as absent (D6).
        profile : ZSliceProfile, optional
            ``volume.slice_profile()`` when the caller already has it (a frame ring keeps the
            statistics of each frame it holds); taken from the volume otherwise.

        Returns
        -------
        DifferentialResonance
            All five fields have length D.

        Raises
        ------
        InvalidDimensions
            If D > steps, or a slice is empty.
        """
        depth = volume.depth
        if depth > self.steps:
            raise InvalidDimensions(
                f"resonance generator has steps = {self.steps} but the volume has depth "
                f"{depth}; build the generator with steps >= {depth} (depth after any "
                "interpolation)"
            )
        if profile is None:
            profile = volume.slice_profile()
        elif profile.depth != depth:
            raise InvalidDimensions(
                f"profile has {profile.depth} slices but the volume has depth {depth}"
            )
        chrono = _summary(chrono)
        x = self.encode(volume, profile, projector, chrono, atlas, previous)
        latent = self._rnn.forward(x)[0]
        return self.decode(latent, profile, projector, chrono, atlas, previous)

    def encode(self, volume, profile, projector, chrono, atlas, previous) -> np.ndarray:
        """The (1, steps * features_per_slice) float32 input of the recurrence (SPEC A.11).

        ``profile`` is ``volume.slice_profile()``; the volume's total energy (the mean of
        v^2 over every value) is the mean of its per-slice energies, so it comes from the
        profile too (the statistics are taken once).
        """
        fp = self.features_per_slice
        x = np.zeros(self.steps * fp, dtype=F32)
        focus, spread, bias = (
            F32(projector.focus),
            F32(projector.spread),
            F32(projector.energy_bias),
        )
        signal = _option(atlas, "z_signal")
        pressure = _option(atlas, "suggested_pressure")
        total = _option(atlas, "collapse_total")
        signal = focus if signal is None else signal
        pressure = spread if pressure is None else pressure  # raw pressure, not / 32
        total = bias if total is None else total
        chrono_mean = _option(chrono, "mean_energy")
        chrono_mean = total if chrono_mean is None else chrono_mean
        chrono_std = _option(chrono, "energy_std")
        chrono_std = F32(0.0) if chrono_std is None else chrono_std
        global_energy = total_energy(profile)
        aspect = F32(volume.height) / F32(volume.width)
        prev_energy = _previous_field(previous, "infinity_energy")
        prev_objective = _previous_field(previous, "recursive_objective")
        for z in range(volume.depth):
            mean, std, energy = profile.means[z], profile.stds[z], profile.energies[z]
            slots = (
                mean,
                std,
                energy,
                focus,
                spread,
                bias,
                signal,
                pressure,
                _tiled(prev_energy, z, chrono_mean),
                _tiled(prev_objective, z, chrono_std),
                global_energy,
                aspect,
            )
            n = min(fp, _KNOWN_SLOTS)
            x[z * fp : z * fp + n] = slots[:n]
        return x[None, :]

    def decode(self, latent, profile, projector, chrono, atlas, previous) -> DifferentialResonance:
        """The five per-depth fields from the recurrence's final state (SPEC A.11)."""
        latent = np.asarray(latent, dtype=F32).reshape(-1)
        if latent.size == 0:
            raise EmptyInput("spiral_resonance_latent must not be empty, got 0 values")
        focus, bias = F32(projector.focus), F32(projector.energy_bias)
        drift = _option(chrono, "mean_drift")
        drift = F32(0.0) if drift is None else drift
        energy_std = _option(chrono, "energy_std")
        energy_std = F32(0.0) if energy_std is None else energy_std
        drift_std = _option(chrono, "drift_std")
        drift_std = F32(0.0) if drift_std is None else drift_std
        collapse = _option(atlas, "collapse_total")
        collapse = bias if collapse is None else collapse
        prev = {
            name: _previous_field(previous, name)
            for name in ("infinity_energy", "recursive_objective", "homotopy_flow")
        }
        prev_projection = _previous_field(previous, "infinity_projection")
        depth = profile.depth
        fields = {name: np.empty(depth, dtype=F32) for name in _OUTPUT_FIELDS}
        with np.errstate(invalid="ignore", over="ignore"):
            for z in range(depth):
                b = latent[z % latent.size]
                m, s, e = profile.means[z], profile.stds[z], profile.energies[z]
                pe = _tiled(prev["infinity_energy"], z, e)
                po = _tiled(prev["recursive_objective"], z, m)
                ph = _tiled(prev["homotopy_flow"], z, 0.0)
                pp = _tiled(prev_projection, z, np.tanh(e))
                intensity = (np.abs(m) + s) + e
                objective = np.tanh(((b + po) + bias) + drift)
                fields["infinity_energy"][z] = np.abs(((b + intensity) + pe) + collapse) + F32(1e-3)
                fields["recursive_objective"][z] = objective
                fields["homotopy_flow"][z] = np.tanh(((b + ph) + focus) - F32(0.5))
                fields["infinity_projection"][z] = np.tanh(((b + pp) + e) - energy_std)
                fields["functor_linearisation"][z] = (
                    objective * F32(0.5) + e * F32(0.1)
                ) + drift_std * F32(0.05)
        return DifferentialResonance(**fields)

    def __repr__(self) -> str:
        return (
            f"ResonanceGenerator(features_per_slice={self.features_per_slice}, "
            f"hidden_dim={self.hidden_dim}, steps={self.steps})"
        )


_OUTPUT_FIELDS = (
    "homotopy_flow",
    "functor_linearisation",
    "recursive_objective",
    "infinity_projection",
    "infinity_energy",
)
