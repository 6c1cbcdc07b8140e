"""numba kernels for the per-frame work of ``stv video`` (twins of the reference video_frame).

``motion_ema_step`` does the VideoPipeline's whole per-frame update (motion, fused EMA,
envelope EMA and the four energies) in one pass over memory, where the NumPy formulation
takes about fifteen; ``ring_store`` copies a frame into a frame ring and takes its sums in
the same pass; ``count_nonfinite`` checks a frame before any state changes. The ring's
collapse and the quantiser for the encoder are :mod:`stv_kernels.cpu.pixels`.

Frames may be float32 or integer *pixels* (uint8 or uint16) standing for the float32 values
``pixels / (2**bits - 1)``, the very division :mod:`stv_kernels.pixel_scale` does. A
decoded clip stays in pixels: the ring holds a quarter of the bytes, the motion kernel reads
the frame and the previous frame a quarter as wide, and nobody writes the float copy; each
value is divided as it is read, right before the float arithmetic, so the results are those
of the float frame bit for bit. The ring's statistics of pixels are their
exact integer moments (see ``ring_store``).

The element-wise float32 arithmetic is the reference's, operation for operation (no
fused multiply-add), so the states agree with it bit for bit. The energies accumulate in
float64 on purpose: each row's sum of |v| in vector registers, in the loop that makes the
values (the three row loops compiled with fast-math's 'reassoc' flag alone, see the comment
above them), then the rows in order; the ring's
float sums column-wise over the rows, then over the columns. Those orders differ from NumPy's
pairwise sums, so they agree with the reference to about 1e-15 relative before the float32
rounding; they are fixed when the kernels compile, so the same frame always gives the same
sums.

The kernels are serial and release the GIL (``nogil=True``): ``stv video`` runs them on its
compute thread beside the decoder and encoder threads, which need the GIL between FFmpeg
calls, and on a small machine those threads already keep the other cores busy.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

from .._checks import check_frame_state, check_ring_slots
from .._checks import frame_rows as _rows
from .._frame_energies import ema_energies, slice_means
from ..pixel_scale import pixel_scale

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


def _value(x, scale):
    """The float32 value of one element: itself, or an integer pixel / scale."""
    raise NotImplementedError  # compiled only, through the overload below


@overload(_value, inline="always")
def _value_overload(x, scale):
    if isinstance(x, types.Integer):
        return lambda x, scale: np.float32(x) / scale
    return lambda x, scale: x


# The three row loops below are the only functions compiled with fast-math, and with its
# 'reassoc' flag alone: it lets LLVM keep the float64 sums of |v| in several vector
# accumulators (in registers, summed at the end of the row) instead of one sequential chain.
# No other flag is on, so NaN and inf keep their IEEE meaning, and no float32 expression of
# the EMAs is a chain of one associative operation that 'reassoc' could regroup: the states
# stay bit-exact with the reference (the tests check wide rows, where the loops vectorise).
# The sums' order is fixed when the kernel compiles, so the same row always gives the same
# sums. Taking each sum in the loop that makes its values, while they are in registers,
# costs about a third of the kernel against summing each finished row again.


@njit(cache=True, nogil=True, fastmath={"reassoc"})
def _motion_row(raw, kept, f, m, scale, gain):
    # f <- values(raw) (unless f is empty: no image slice keeps them);
    # m <- (values(raw) - values(kept)) * gain; kept <- raw. Returns (sum |m|, sum |values|).
    total = 0.0
    values = 0.0
    for i in range(raw.size):
        a = _value(raw[i], scale)
        d = (a - _value(kept[i], scale)) * gain
        if f.size:
            f[i] = a
        m[i] = d
        kept[i] = raw[i]
        total += np.float64(abs(d))
        values += np.float64(abs(a))
    return total, values


@njit(cache=True, nogil=True, fastmath={"reassoc"})
def _ema_pair(state, incoming, weight, envelope, momentum):
    # state <- state (1 - w) + incoming w; envelope <- envelope (1 - m) + state m (one row).
    # Returns (sum |state|, sum |envelope|) of the new values.
    keep = np.float32(1.0) - weight
    stay = np.float32(1.0) - momentum
    sum_state = 0.0
    sum_envelope = 0.0
    for i in range(state.size):
        v = state[i] * keep + incoming[i] * weight
        e = envelope[i] * stay + v * momentum
        state[i] = v
        envelope[i] = e
        sum_state += np.float64(abs(v))
        sum_envelope += np.float64(abs(e))
    return sum_state, sum_envelope


@njit(cache=True, nogil=True, fastmath={"reassoc"})
def _abs_sum(values):
    # sum |v| of one row in float64 (the first frame's rows)
    total = 0.0
    for i in range(values.size):
        total += np.float64(abs(values[i]))
    return total


@njit(cache=True, nogil=True)
def _first_rows(raw, kept, m, v0, v1, e0, e1, scale):
    # the first frame: no motion yet; each EMA starts at its input. Returns sum |v0|.
    for i in range(raw.size):
        a = _value(raw[i], scale)
        kept[i] = raw[i]
        m[i] = np.float32(0.0)
        v0[i] = a
        e0[i] = a
        v1[i] = np.float32(0.0)
        e1[i] = np.float32(0.0)
    return _abs_sum(v0)


@njit(cache=True, nogil=True)
def _motion_ema_rows(frame, previous, fused, envelope, motion, row, params, scale, first, sums):
    # frame/previous (H, R) float32, or integer pixels of one dtype; fused/envelope
    # (S, H, R) with S = 2, or S = 1 for the motion slice alone; motion (H, R), or (1, R)
    # scratch when the caller does not keep it; row (R,) float32 scratch for the frame's
    # values. params = [gain, alpha, momentum]. Fills sums (5,) with float64 sums of |V0|,
    # |V1|, |E0|, |E1| and |m|, row by row; with S = 1, of |F|, |V1|, 0, |E1| and |m|.
    # Each row goes through three short loops, each touching at most four arrays: a row is
    # 8-30 KiB, so it stays in L1 between them (one pass over memory), and loops over few
    # arrays are ones LLVM can prove free of aliasing and vectorise.
    gain = params[0]
    alpha = params[1]
    momentum = params[2]
    height = frame.shape[0]
    alone = fused.shape[0] == 1  # no image slice: the scratch row stands in for it
    for k in range(5):
        sums[k] = 0.0
    for y in range(height):
        m = motion[y % motion.shape[0]]  # one scratch row when the motion is not kept
        v0 = row if alone else fused[0, y]
        e0 = row if alone else envelope[0, y]
        v1 = fused[-1, y]
        e1 = envelope[-1, y]
        if first:
            s0 = _first_rows(frame[y], previous[y], m, v0, v1, e0, e1, scale)
            t0 = 0.0 if alone else s0
            s1 = t1 = 0.0
        else:
            f = row[:0] if alone else row
            moved, s0 = _motion_row(frame[y], previous[y], f, m, scale, gain)
            sums[4] += moved
            t0 = 0.0
            if not alone:
                s0, t0 = _ema_pair(v0, row, alpha, e0, momentum)
            s1, t1 = _ema_pair(v1, m, alpha, e1, momentum)
        sums[0] += s0
        sums[1] += s1
        sums[2] += t0
        sums[3] += t1


@njit(cache=True, nogil=True)
def _copy_twice(row, a, b):
    # one frame row into both of its ring slots (two loops: each vectorises on its own)
    for i in range(row.size):
        a[i] = row[i]
    for i in range(row.size):
        b[i] = row[i]


@njit(cache=True, nogil=True)
def _ring_store_rows(frame, slot_a, slot_b, columns, sums):
    # frame/slots (H, R) float32; columns (2, R) float64 scratch. Fills sums with
    # [sum v, sum v^2], accumulated in float64 on purpose, column-wise then over columns.
    height, run = frame.shape
    total = columns[0]
    squares = columns[1]
    for i in range(run):
        total[i] = 0.0
        squares[i] = 0.0
    for y in range(height):
        f = frame[y]
        _copy_twice(f, slot_a[y], slot_b[y])
        for i in range(run):
            w = np.float64(f[i])
            total[i] += w
            squares[i] += w * w
    sums[0] = 0.0
    sums[1] = 0.0
    for i in range(run):
        sums[0] += total[i]
        sums[1] += squares[i]


@njit(cache=True, nogil=True)
def _ring_store_pixel_rows(frame, slot_a, slot_b, moments):
    # frame/slots (H, R) integer pixels. Fills moments with the exact integer sums
    # [sum p, sum p^2] (int64: 2^31 values of 16 bits still fit), which integer addition
    # lets LLVM vectorise: several times cheaper than float64 sums of the values.
    height, run = frame.shape
    total = 0
    squares = 0
    for y in range(height):
        f = frame[y]
        _copy_twice(f, slot_a[y], slot_b[y])
        for i in range(run):
            p = np.int64(f[i])
            total += p
            squares += p * p
    moments[0] = total
    moments[1] = squares


def _scale(frame: np.ndarray) -> np.float32:
    return F32(1.0) if frame.dtype == F32 else pixel_scale(frame.dtype)


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
) -> np.ndarray:
    """One frame of the VideoPipeline state in one pass; see the reference for the formulas.

    Parameters are those of :func:`stv_kernels.reference.video_frame.motion_ema_step`.
    Every array must be C-contiguous of matching (H, W, C): float32, except that ``frame``
    and ``previous`` may both be integer pixels of one dtype (uint8 or uint16).

    Returns
    -------
    ndarray
        float32 (4,): mean |fused[0]|, mean |fused[1]|, mean |envelope|, mean |motion|.
    """
    return ema_energies(
        *_step(frame, previous, fused, envelope, gain, alpha, momentum, first, motion, 2)
    )


def motion_slice_step(
    frame: np.ndarray,
    previous: np.ndarray,
    fused: np.ndarray,
    envelope: np.ndarray,
    gain: np.float32,
    alpha: np.float32,
    momentum: np.float32,
    first: bool,
    motion: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`motion_ema_step` for the motion slice alone: ``fused``/``envelope`` (1, H, W, C).

    Parameters are those of :func:`stv_kernels.reference.video_frame.motion_slice_step`.

    Returns
    -------
    ndarray
        float64 (4,): mean |frame|, mean |fused[0]|, mean |envelope[0]|, mean |motion|.
    """
    return slice_means(
        *_step(frame, previous, fused, envelope, gain, alpha, momentum, first, motion, 1)
    )


def _step(frame, previous, fused, envelope, gain, alpha, momentum, first, motion, slices: int):
    """Check the arrays and run ``_motion_ema_rows``; return its sums and the frame's size."""
    h, w, c = check_frame_state(frame, previous, fused, envelope, motion, slices)
    run = w * c
    if motion is None:
        motion = np.empty((1, 1, run), dtype=F32)  # one row of scratch
    params = np.array([gain, alpha, momentum], dtype=F32)
    sums = np.empty(5, dtype=np.float64)
    _motion_ema_rows(
        _rows(frame, "frame", pixels=True),
        _rows(previous, "previous", pixels=True),
        _rows(fused, "fused"),
        _rows(envelope, "envelope"),
        _rows(motion, "motion"),
        np.empty(run, dtype=F32),
        params,
        _scale(frame),
        bool(first),
        sums,
    )
    return sums, h * run


def ring_store(
    frame: np.ndarray, slot_a: np.ndarray, slot_b: np.ndarray, columns: np.ndarray | None = None
) -> np.ndarray:
    """Copy ``frame`` into ``slot_a`` and ``slot_b`` in one pass; return float64 [sum, sum v^2].

    ``columns``: optional float64 (2, W*C) scratch reused by the caller. All three arrays are
    C-contiguous (H, W, C) of one dtype: float32, summed in float64, or integer pixels
    (uint8/uint16) standing for ``v = p / s`` (s = 255 or 65535), whose sums are taken
    exactly in integers and returned as ``sum p / s`` and ``sum p^2 / s^2``: the exact
    moments of the values p / s, where summing their float32 roundings would differ by up to
    ~6e-8 relative (the reference does that: the two agree to ~1e-7).
    """
    check_ring_slots(frame, slot_a, slot_b)
    slots = _rows(slot_a, "slot_a", pixels=True), _rows(slot_b, "slot_b", pixels=True)
    if frame.dtype != F32:
        moments = np.empty(2, dtype=np.int64)
        _ring_store_pixel_rows(_rows(frame, "frame", pixels=True), *slots, moments)
        scale = float(pixel_scale(frame.dtype))
        return np.array([moments[0] / scale, moments[1] / (scale * scale)])
    run = frame.shape[1] * frame.shape[2]
    if columns is None or columns.shape != (2, run) or columns.dtype != np.float64:
        columns = np.empty((2, run), dtype=np.float64)
    sums = np.empty(2, dtype=np.float64)
    _ring_store_rows(_rows(frame, "frame"), *slots, columns, sums)
    return sums
