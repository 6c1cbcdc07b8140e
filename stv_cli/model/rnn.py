"""SpiralRnn: the small gated recurrent core of the resonance generator (SPEC A.10).

The weights are filled by fixed recurrences (no random numbers, no seed), so every instance
with the same sizes is the same network. The work is a few matrix products on vectors of
``hidden_dim`` values per step, so plain NumPy float32 is the right tool; nothing here touches
voxels. Every intermediate is sanitised as in the reference when no hypergradient is attached:
non-finite values become 0 and the rest is clamped to +-1e6.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidDimensions, InvalidValue, NonFiniteValue, ShapeMismatch
from .floats import F32, integer_at_least

#: Bound of every sanitised intermediate.
SANITISE_LIMIT = F32(1e6)


def recurrence_fill(rows: int, cols: int, first: float, factor: float, modulus: float):
    """A (rows, cols) float32 matrix filled row-major by ``s <- max(fmod(s * factor, modulus),
    1e-4)``, starting at ``first`` (SPEC A.10's deterministic initialisation).

    Each step is float32 arithmetic; fmod is exact, so this is the reference's sequence.
    """
    factor, modulus, floor = F32(factor), F32(modulus), F32(1e-4)
    values = np.empty(rows * cols, dtype=F32)
    s = F32(first)
    for i in range(values.size):
        values[i] = s
        s = np.fmax(np.fmod(s * factor, modulus), floor)
    return values.reshape(rows, cols)


def sanitise(values: np.ndarray) -> np.ndarray:
    """Non-finite entries become 0, the rest are clamped to [-1e6, 1e6] (a new array)."""
    clean = np.where(np.isfinite(values), values, F32(0.0))
    if clean.dtype != F32:  # cast after zeroing: a finite float64 above float32's range -> 1e6
        return np.clip(clean.astype(F32), -SANITISE_LIMIT, SANITISE_LIMIT)
    # the ufuncs in place: np.clip's Python wrapper costs more than the clamp on these small
    # arrays, and forward calls this 6 times per step (same values: nothing here is NaN)
    np.minimum(clean, SANITISE_LIMIT, out=clean)
    return np.maximum(clean, -SANITISE_LIMIT, out=clean)


#: Below this float32 sum of squares every value is finite and inside +-1e6, so sanitising
#: changes nothing. A value beyond 1e6 alone makes the true sum >= 1e12, and a sum of a few
#: thousand float32 squares is off by far less than 1% (NaN and inf fail the test).
_CLEAN_SUM_OF_SQUARES = 0.99e12


def _sanitised(values: np.ndarray) -> np.ndarray:
    """:func:`sanitise`'s values, possibly ``values`` itself (for fresh intermediates).

    One dot product (about a microsecond) proves the usual case, finite values well inside
    the bound, needs no change; only other arrays pay for the masks and the clamp.
    """
    if values.dtype == F32 and np.vdot(values, values) < _CLEAN_SUM_OF_SQUARES:
        return values
    return sanitise(values)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        # exp(-x) overflows to inf for x < -88; 1 / (1 + inf) = 0 is the right limit
        return F32(1.0) / (F32(1.0) + np.exp(-x))


class SpiralRnn:
    """A gated recurrent network over ``steps`` time steps of ``input_dim`` features.

    Parameters
    ----------
    name
        Labels the network (the reference uses it to name parameters); not used otherwise.
    input_dim, hidden_dim, steps
        I, Hd and T, each >= 1.

    Attributes
    ----------
    input_weights : ndarray, (I, 2 Hd)
        Wx, filled from 0.0027 by ``s <- max(fmod(1.873 s, 0.05), 1e-4)``.
    hidden_weights : ndarray, (Hd, 2 Hd)
        Wh, filled from 0.0013 by ``s <- max(fmod(1.619 s, 0.04), 1e-4)``.
    phase_weights : ndarray, (Hd, Hd)
        P: 0.5 on the diagonal, ``0.01 sin(r - c)`` elsewhere.
    bias : ndarray, (2 Hd,)
        b = 0.
    phase_bias : ndarray, (Hd,)
        pb = 0.
    anchor : ndarray, (Hd,)
        a_c = ``0.05 sin(ln(c + 1))``; the initial hidden state.

    Raises
    ------
    InvalidDimensions
        If a size is not an integer >= 1.
    """

    def __init__(self, name: str, input_dim: int, hidden_dim: int, steps: int) -> None:
        self.name = str(name)
        self.input_dim = integer_at_least(input_dim, "spiral_rnn input_dim", 1, InvalidDimensions)
        self.hidden_dim = integer_at_least(
            hidden_dim, "spiral_rnn hidden_dim", 1, InvalidDimensions
        )
        self.steps = integer_at_least(steps, "spiral_rnn steps", 1, InvalidDimensions)
        hd = self.hidden_dim
        self.input_weights = recurrence_fill(self.input_dim, 2 * hd, 0.0027, 1.873, 0.05)
        self.hidden_weights = recurrence_fill(hd, 2 * hd, 0.0013, 1.619, 0.04)
        r = np.arange(hd, dtype=F32)[:, None]
        c = np.arange(hd, dtype=F32)[None, :]
        phase = np.sin(r - c) * F32(0.01)
        np.fill_diagonal(phase, F32(0.5))
        self.phase_weights = phase.astype(F32, copy=False)
        self.bias = np.zeros(2 * hd, dtype=F32)
        self.phase_bias = np.zeros(hd, dtype=F32)
        self.anchor = (np.sin(np.log(np.arange(1, hd + 1, dtype=F32))) * F32(0.05)).astype(F32)

    @property
    def input_width(self) -> int:
        """Columns ``forward`` expects: ``input_dim * steps``."""
        return self.input_dim * self.steps

    def forward(self, x) -> np.ndarray:
        """Run the recurrence over each row of ``x`` and return the final hidden states.

        Parameters
        ----------
        x
            (batch, input_dim * steps) numbers; columns ``[t I, (t + 1) I)`` are step t. A 1-D
            vector of that width is taken as a batch of one.

        Returns
        -------
        ndarray
            A new float32 (batch, hidden_dim) array: h after ``steps`` updates of
            ``[d | r] = x_t Wx + h Wh + b``, ``gate = sigmoid(h P + r + pb)``,
            ``h <- h * gate + tanh(d) * (1 - gate) + a * tanh(r)``, from ``h = a``.

        Raises
        ------
        ShapeMismatch
            If ``x`` is not 1-D or 2-D, or has the wrong number of columns.
        NonFiniteValue
            If an input is NaN or infinite (spiral_rnn_input).
        InvalidValue
            If ``x`` cannot be read as numbers.
        """
        try:
            x = np.asarray(x, dtype=F32)
        except (TypeError, ValueError) as exc:
            raise InvalidValue(f"spiral_rnn_input must be numbers: {exc}") from None
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.input_width:
            raise ShapeMismatch(
                f"spiral_rnn_input must have shape (batch, {self.input_width}) "
                f"(input_dim {self.input_dim} x steps {self.steps}), got {x.shape}"
            )
        if not np.isfinite(np.vdot(x, x)):  # one dot product; the search only when it fails
            bad = np.argwhere(~np.isfinite(x))
            if bad.size:
                row, col = (int(i) for i in bad[0])
                raise NonFiniteValue(
                    f"spiral_rnn_input must be finite, got {x[row, col]} at row {row}, column {col}"
                )
        hd, width = self.hidden_dim, self.input_dim
        wx, wh, phase = self.input_weights, self.hidden_weights, self.phase_weights
        bias, phase_bias, anchor = self.bias, self.phase_bias, self.anchor
        # h is never written in place, so one row may start as a view of the anchor
        h = anchor[None, :] if x.shape[0] == 1 else np.repeat(anchor[None, :], x.shape[0], 0)
        one = F32(1.0)
        # np.dot reaches the same BLAS gemv/gemm as @ (same bits) with less dispatch, for
        # contiguous float32 matrices; anything else (a user's own) keeps @'s own loops
        blas_ready = all(m.dtype == F32 and m.flags.c_contiguous for m in (wx, wh, phase))
        dot = np.dot if blas_ready and x.flags.c_contiguous else np.matmul
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(self.steps):
                x_t = x[:, t * width : (t + 1) * width]
                pre = _sanitised(_sanitised(dot(x_t, wx)) + _sanitised(dot(h, wh)) + bias)
                drive_pre, reset_pre = pre[:, :hd], pre[:, hd:]
                drive = np.tanh(drive_pre)
                # _sigmoid's arithmetic inline: this block already ignores the overflow
                gate = one / (
                    one + np.exp(-_sanitised(_sanitised(dot(h, phase)) + reset_pre + phase_bias))
                )
                h = _sanitised(h * gate + drive * (one - gate) + anchor * np.tanh(reset_pre))
        return h.astype(F32, copy=False)

    def __repr__(self) -> str:
        return (
            f"SpiralRnn(name={self.name!r}, input_dim={self.input_dim}, "
            f"hidden_dim={self.hidden_dim}, steps={self.steps})"
        )
