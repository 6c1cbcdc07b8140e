"""numba kernels for the per-frame work of ``stv video`` (twins of :mod:`.video_frame_reference`).

``motion_ema_step`` does the VideoPipeline's whole per-frame update (motion, fused EMA,
envelope EMA and the four energies) in one pass over memory, where the NumPy formulation
takes about fifteen; ``ring_store`` copies a frame into a frame ring and takes its sums in
the same pass; ``count_nonfinite`` checks a frame before any state changes.

The element-wise float32 arithmetic is the reference's, operation for operation (no
fastmath, so no fused multiply-add), so the states agree with it bit for bit. The energies and
sums accumulate in float64 on purpose, column-wise over each row (so the loop vectorises
without reassociating anything), then over rows; that order differs from NumPy's pairwise
sums, so they agree with the reference to about 1e-15 relative before the float32 rounding,
and the order depends on the frame only: the same frame always gives the same sums.

The kernels are serial and release the GIL (``nogil=True``): ``stv video`` runs them on its
compute thread beside the decoder and encoder threads, which need the GIL between FFmpeg
calls, and on a small machine those threads already keep the other cores busy.
"""

from __future__ import annotations

import numpy as np
from numba import njit

F32 = np.float32


@njit(cache=True, nogil=True)
def _count_nonfinite(rows):
    count = 0
    for y in range(rows.shape[0]):
        row = rows[y]
        for i in range(row.size):
            if not np.isfinite(row[i]):
                count += 1
    return count


@njit(cache=True, nogil=True)
def _ema_pair(state, incoming, weight, envelope, momentum):
    # state <- state (1 - w) + incoming w; envelope <- envelope (1 - m) + state m (one row)
    keep = np.float32(1.0) - weight
    stay = np.float32(1.0) - momentum
    for i in range(state.size):
        v = state[i] * keep + incoming[i] * weight
        state[i] = v
        envelope[i] = envelope[i] * stay + v * momentum


@njit(cache=True, nogil=True)
def _add_abs(total, values):
    for i in range(values.size):
        total[i] += np.float64(abs(values[i]))


@njit(cache=True, nogil=True)
def _motion_ema_rows(frame, previous, fused, envelope, motion, columns, params, first, sums):
    # frame/previous (H, R); fused/envelope (2, H, R); motion (H, R), or (1, R) scratch when
    # the caller does not keep it; columns (5, R) float64 scratch.
    # params = [gain, alpha, momentum]. Fills sums (5,) with float64 sums of |V0|, |V1|,
    # |E0|, |E1| and |m|.
    # Each row goes through a few short loops, each touching at most four arrays: a row is
    # 8-30 KiB, so it stays in L1 between them (one pass over memory), and loops over few
    # arrays are ones LLVM can prove free of aliasing and vectorise.
    gain = params[0]
    alpha = params[1]
    momentum = params[2]
    height, run = frame.shape
    for k in range(5):
        for i in range(run):
            columns[k, i] = 0.0
    for y in range(height):
        f = frame[y]
        p = previous[y]
        m = motion[y % motion.shape[0]]  # one scratch row when the motion is not kept
        v0 = fused[0, y]
        v1 = fused[1, y]
        e0 = envelope[0, y]
        e1 = envelope[1, y]
        if first:
            for i in range(run):
                p[i] = f[i]
                m[i] = np.float32(0.0)
            for i in range(run):
                v0[i] = f[i]
                e0[i] = f[i]
            for i in range(run):
                v1[i] = np.float32(0.0)
                e1[i] = np.float32(0.0)
        else:
            for i in range(run):
                m[i] = (f[i] - p[i]) * gain
            for i in range(run):
                p[i] = f[i]
            _ema_pair(v0, f, alpha, e0, momentum)
            _ema_pair(v1, m, alpha, e1, momentum)
        _add_abs(columns[0], v0)
        _add_abs(columns[1], v1)
        _add_abs(columns[2], e0)
        _add_abs(columns[3], e1)
        _add_abs(columns[4], m)
    for k in range(5):
        total = 0.0
        for i in range(run):
            total += columns[k, i]
        sums[k] = total


@njit(cache=True, nogil=True)
def _ring_store_rows(frame, slot_a, slot_b, columns, sums):
    # frame/slots (H, R); columns (2, R) float64 scratch. Fills sums with [sum v, sum v^2].
    height, run = frame.shape
    total = columns[0]
    squares = columns[1]
    for i in range(run):
        total[i] = 0.0
        squares[i] = 0.0
    for y in range(height):
        f = frame[y]
        a = slot_a[y]
        b = slot_b[y]
        for i in range(run):
            a[i] = f[i]
        for i in range(run):
            b[i] = f[i]
        for i in range(run):
            w = np.float64(a[i])
            total[i] += w
            squares[i] += w * w
    sums[0] = 0.0
    sums[1] = 0.0
    for i in range(run):
        sums[0] += total[i]
        sums[1] += squares[i]


def _rows(array: np.ndarray, name: str) -> np.ndarray:
    """A C-contiguous float32 (..., H, W, C) array viewed as (..., H, W*C) rows."""
    if array.dtype != F32 or not array.flags.c_contiguous:
        raise ValueError(f"{name} must be a C-contiguous float32 array, got {array.dtype}")
    return array.reshape(*array.shape[:-2], array.shape[-2] * array.shape[-1])


def count_nonfinite(frame: np.ndarray) -> int:
    """How many values of the float32 (H, W, C) ``frame`` are NaN or infinite."""
    return int(_count_nonfinite(_rows(np.ascontiguousarray(frame, dtype=F32), "frame")))


def motion_ema_step(
    frame: np.ndarray,
    previous: np.ndarray,
    fused: np.ndarray,
    envelope: np.ndarray,
    gain: np.float32,
    alpha: np.float32,
    momentum: np.float32,
    first: bool,
    motion: np.ndarray | None = None,
    columns: np.ndarray | None = None,
) -> np.ndarray:
    """One frame of the VideoPipeline state in one pass; see the reference for the formulas.

    Parameters are those of :func:`stv_kernels.video_frame_reference.motion_ema_step`, plus
    ``columns``: optional float64 (5, W*C) scratch, reused across frames by the caller.
    Every array must be C-contiguous float32 of matching (H, W, C).

    Returns
    -------
    ndarray
        float32 (4,): mean |fused[0]|, mean |fused[1]|, mean |envelope|, mean |motion|.
    """
    h, w, c = frame.shape
    shape = (h, w, c)
    if previous.shape != shape or fused.shape != (2, *shape) or envelope.shape != (2, *shape):
        raise ValueError(
            f"motion_ema_step needs previous {shape} and fused/envelope {(2, *shape)}, got "
            f"{previous.shape}, {fused.shape}, {envelope.shape}"
        )
    run = w * c
    if motion is None:
        motion = np.empty((1, 1, run), dtype=F32)  # one row of scratch
    elif motion.shape != shape:
        raise ValueError(f"motion must have shape {shape}, got {motion.shape}")
    if columns is None or columns.shape != (5, run) or columns.dtype != np.float64:
        columns = np.empty((5, run), dtype=np.float64)
    params = np.array([gain, alpha, momentum], dtype=F32)
    sums = np.empty(5, dtype=np.float64)
    _motion_ema_rows(
        _rows(frame, "frame"),
        _rows(previous, "previous"),
        _rows(fused, "fused"),
        _rows(envelope, "envelope"),
        _rows(motion, "motion"),
        columns,
        params,
        bool(first),
        sums,
    )
    n = h * run
    out = np.empty(4, dtype=F32)
    out[0] = sums[0] / n
    out[1] = sums[1] / n
    out[2] = (sums[2] + sums[3]) / (2 * n)
    out[3] = sums[4] / n
    return out


def ring_store(
    frame: np.ndarray, slot_a: np.ndarray, slot_b: np.ndarray, columns: np.ndarray | None = None
) -> np.ndarray:
    """Copy ``frame`` into ``slot_a`` and ``slot_b`` in one pass; return float64 [sum, sum v^2].

    ``columns``: optional float64 (2, W*C) scratch reused by the caller. All three arrays are
    C-contiguous float32 (H, W, C).
    """
    if slot_a.shape != frame.shape or slot_b.shape != frame.shape:
        raise ValueError(
            f"ring slots must have the frame's shape {frame.shape}, got {slot_a.shape}, "
            f"{slot_b.shape}"
        )
    run = frame.shape[1] * frame.shape[2]
    if columns is None or columns.shape != (2, run) or columns.dtype != np.float64:
        columns = np.empty((2, run), dtype=np.float64)
    sums = np.empty(2, dtype=np.float64)
    _ring_store_rows(
        _rows(frame, "frame"), _rows(slot_a, "slot_a"), _rows(slot_b, "slot_b"), columns, sums
    )
    return sums
