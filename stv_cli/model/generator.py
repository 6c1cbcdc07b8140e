"""ResonanceGenerator: turns a volume's statistics into a DifferentialResonance (SPEC A.11).

The volume's per-slice mean, one-pass std and energy, the projector's state, and optional
chrono/atlas telemetry and the previous resonance are encoded as ``steps`` time steps of
features, run through a :class:`~stv_cli.model.rnn.SpiralRnn`, and the final hidden state is decoded
into the five per-depth fields. Deterministic: the same inputs give the same resonance.
"""

from __future__ import annotations

import numpy as np

from ..errors import EmptyInput, InvalidDimensions
from .floats import F32
from .resonance import DifferentialResonance
from .rnn import SpiralRnn

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
    energies = profile.energies
    # np.mean's own arithmetic (float64 add.reduce, then / count) without its Python wrapper
    return F32(np.add.reduce(energies, axis=None, dtype=np.float64) / energies.size)


def _tiled(values: np.ndarray | None, depth: int, fallback):
    """``values[z % len]`` for z < depth, or ``fallback`` (a scalar or a (depth,) array)."""
    if values is None:
        return fallback
    if values.size >= depth:
        return values[:depth]  # z % len == z for every z < depth
    return values[np.arange(depth) % values.size]


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
        self._check_depth(depth)
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

    def _check_depth(self, depth: int) -> None:
        if depth > self.steps:
            raise InvalidDimensions(
                f"resonance generator has steps = {self.steps} but the volume has depth "
                f"{depth}; build the generator with steps >= {depth} (depth after any "
                "interpolation)"
            )

    def encode(self, volume, profile, projector, chrono, atlas, previous) -> np.ndarray:
        """The (1, steps * features_per_slice) float32 input of the recurrence (SPEC A.11).

        ``profile`` is ``volume.slice_profile()``; the volume's total energy (the mean of
        v^2 over every value) is the mean of its per-slice energies, so it comes from the
        profile too (the statistics are taken once).

        Raises
        ------
        InvalidDimensions
            If the volume is deeper than ``steps`` or than the profile.
        """
        fp, depth = self.features_per_slice, volume.depth
        self._check_depth(depth)
        if profile.depth < depth:
            raise InvalidDimensions(
                f"profile has {profile.depth} slices but the volume has depth {depth}"
            )
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
        # slot by slot for all slices at once: every value is a float32 copied, not computed
        slots = np.empty((depth, _KNOWN_SLOTS), dtype=F32)
        slots[:, 0] = profile.means[:depth]
        slots[:, 1] = profile.stds[:depth]
        slots[:, 2] = profile.energies[:depth]
        slots[:, 3:8] = (focus, spread, bias, signal, pressure)
        slots[:, 8] = _tiled(_previous_field(previous, "infinity_energy"), depth, chrono_mean)
        slots[:, 9] = _tiled(_previous_field(previous, "recursive_objective"), depth, chrono_std)
        slots[:, 10:] = (total_energy(profile), F32(volume.height) / F32(volume.width))
        x = np.zeros((self.steps, fp), dtype=F32)  # steps z >= D stay 0, and so do slots 12+
        n = min(fp, _KNOWN_SLOTS)
        x[:depth, :n] = slots[:, :n]
        return x.reshape(1, -1)

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
        depth = profile.depth
        m, s, e = profile.means, profile.stds, profile.energies
        # the per-slice formulas on whole (D,) vectors: the same float32 operations in the
        # same order per element, so the same bits as one slice at a time
        with np.errstate(invalid="ignore", over="ignore"):
            b = _tiled(latent, depth, None)
            pe = _tiled(_previous_field(previous, "infinity_energy"), depth, e)
            po = _tiled(_previous_field(previous, "recursive_objective"), depth, m)
            ph = _tiled(_previous_field(previous, "homotopy_flow"), depth, F32(0.0))
            pp = _previous_field(previous, "infinity_projection")
            pp = np.tanh(e) if pp is None else _tiled(pp, depth, None)
            intensity = (np.abs(m) + s) + e
            objective = np.tanh(((b + po) + bias) + drift)
            fields = {
                "homotopy_flow": np.tanh(((b + ph) + focus) - F32(0.5)),
                "functor_linearisation": (objective * F32(0.5) + e * F32(0.1))
                + drift_std * F32(0.05),
                "recursive_objective": objective,
                "infinity_projection": np.tanh(((b + pp) + e) - energy_std),
                "infinity_energy": np.abs(((b + intensity) + pe) + collapse) + F32(1e-3),
            }
        return DifferentialResonance._adopt(**fields)  # fresh arrays: no copies

    def __repr__(self) -> str:
        return (
            f"ResonanceGenerator(features_per_slice={self.features_per_slice}, "
            f"hidden_dim={self.hidden_dim}, steps={self.steps})"
        )
