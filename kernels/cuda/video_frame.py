"""numba.cuda kernels for the per-frame work of ``stv video`` (twins of the reference video_frame).

``_motion``: one frame of the VideoPipeline's state (SPEC A.14), element by element:
    motion  m = (F - P) * gain                      (zeros on the first frame)
    P <- F
    fused   V = V * (1 - alpha) + [F, m] * alpha     ([F, m] on the first frame)
    envelope E = E * (1 - momentum) + V * momentum   (a copy of V on the first frame)
for both slices (``motion_ema_step``) or the motion slice alone (``motion_slice_step``), with
``keep = 1 - w`` computed once and every product and sum rounded to float32 on its own
(:func:`mul`, :func:`add`, :func:`sub`: never a fused multiply-add), the reference's
operations in the reference's order. Integer pixels p (uint8/uint16) are divided by their
scale s (255 or 65535, :mod:`stv_kernels.pixel_scale`) as they are read, the float32 division
``float32(p) / s`` the reference does. So the states (previous, fused, envelope, motion) are
bit-exact with :func:`stv_kernels.reference.motion_ema_step` / ``motion_slice_step``.

``_ring_store`` / ``_ring_store_pixels``: a frame copied into two ring slots (bit-exact), with
its sum and sum of squares; ``_count_nonfinite``: how many values are NaN or infinite (exact).

The reductions (the energies: sums of |v| of the new states, the ring's sums) take no atomics.
The n values of a frame are cut into ``c = min(COLUMNS, n)`` interleaved columns: one thread per
column j (grid-stride) updates the values j, j + c, j + 2c, ... in that order (consecutive
threads touch consecutive values: coalesced) and sums them, in float64 through ``dadd``, into
its own partial in a device array; the host sums the c partials (NumPy, pairwise, a fixed
order). The order depends on n and ``COLUMNS`` alone, so the same frame always gives the same
energies, run after run and whatever the launch shape. The energies are summed in float64 on
purpose, as in the reference, but in another order than NumPy's pairwise sums: they agree with
the reference to about 1e-7 relative (the float32 energies of ``motion_ema_step`` may differ
by an ulp), not bit for bit. The ring's moments of integer pixels are exact int64 sums,
returned as ``sum p / s`` and ``sum p^2 / s^2`` as the reference computes them: bit-exact. Its
float32 frames' float64 sums agree with the reference to ~1e-15 relative.

Every public function takes host or device arrays (:mod:`.memory`). A device state (previous,
fused, envelope, motion, ring slots) is updated in place on the device with nothing copied:
``stv video`` uploads each frame once and keeps its state and frame ring there. A host state is
copied to the device, updated and copied back into the caller's arrays (in place, as the
reference updates them). The energies and sums always come back to the host.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from .._checks import check_frame_state, check_ring_slots
from .._checks import frame_rows as _rows
from .._frame_energies import ema_energies, slice_means
from ..pixel_scale import pixel_scale
from . import launch
from ._device import (
    F32,
    add,
    as_device,
    dadd,
    device_input,
    dmul,
    is_device_array,
    mul,
    sub,
    to_device,
)

F64 = np.float64

#: Columns (threads' partial sums) per frame; read at call time (tests patch it small so
#: that every column walks several values). 32768 partials of the five energies are 1.25 MiB.
COLUMNS = 32768

#: A signature per kernel (several where it runs on several dtypes), for compiling them to
#: PTX without a GPU (``cuda.compile_ptx``). _motion's arguments: frame, previous, fused,
#: envelope, motion, gain, alpha, momentum, scale, pixels, first, partial.
_MOTION = (
    "({0}[::1], {0}[::1], float32[:, ::1], float32[:, ::1], float32[::1], "
    "float32, float32, float32, float32, boolean, boolean, float64[:, ::1])"
)
PTX_SIGNATURES = {
    "_count_nonfinite": ["(float32[::1], int64[::1])"],
    "_motion": [_MOTION.format("float32"), _MOTION.format("uint8"), _MOTION.format("uint16")],
    "_ring_store": ["(float32[::1], float32[::1], float32[::1], float64[:, ::1])"],
    "_ring_store_pixels": [
        "(uint8[::1], uint8[::1], uint8[::1], int64[:, ::1])",
        "(uint16[::1], uint16[::1], uint16[::1], int64[:, ::1])",
    ],
}


@cuda.jit(cache=True)
def _count_nonfinite(values, partial):
    # values (N,) float32; partial (C,) int64: column j counts the non-finite values j, j + C, ...
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    n = values.shape[0]
    columns = partial.shape[0]
    for j in range(start, columns, stride):
        count = 0
        for i in range(j, n, columns):
            if not math.isfinite(values[i]):
                count += 1
        partial[j] = count


@cuda.jit(device=True, inline=True)
def _ema(state, incoming, weight, keep):
    # state * (1 - w) + incoming * w, each product rounded to float32 before the sum
    return add(mul(state, keep), mul(incoming, weight))


@cuda.jit(cache=True)
def _motion(
    frame, previous, fused, envelope, motion, gain, alpha, momentum, scale, pixels, first, partial
):
    # frame/previous (N,) float32 or integer pixels (divided by scale when pixels);
    # fused/envelope (S, N) float32 with S = 2, or S = 1 for the motion slice alone;
    # motion (N,) float32. partial (5, C) float64: column j's sums of |V0|, |V1|, |E0|, |E1|
    # and |m| over the values j, j + C, ...; with S = 1 of |F|, |V1|, 0, |E1| and |m|.
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    n = frame.shape[0]
    columns = partial.shape[1]
    alone = fused.shape[0] == 1
    last = fused.shape[0] - 1
    keep_a = sub(F32(1.0), alpha)
    keep_m = sub(F32(1.0), momentum)
    for j in range(start, columns, stride):
        s0 = F64(0.0)
        s1 = F64(0.0)
        s2 = F64(0.0)
        s3 = F64(0.0)
        s4 = F64(0.0)
        for i in range(j, n, columns):
            a = F32(frame[i])
            if pixels:
                a = a / scale
            m = F32(0.0)
            v0 = a
            v1 = m
            e0 = a
            e1 = m
            if not first:
                b = F32(previous[i])
                if pixels:
                    b = b / scale
                m = mul(sub(a, b), gain)
                v1 = _ema(fused[last, i], m, alpha, keep_a)
                e1 = _ema(envelope[last, i], v1, momentum, keep_m)
                if not alone:
                    v0 = _ema(fused[0, i], a, alpha, keep_a)
                    e0 = _ema(envelope[0, i], v0, momentum, keep_m)
            previous[i] = frame[i]
            motion[i] = m
            fused[last, i] = v1
            envelope[last, i] = e1
            if alone:
                s0 = dadd(s0, F64(abs(a)))
            else:
                fused[0, i] = v0
                envelope[0, i] = e0
                s0 = dadd(s0, F64(abs(v0)))
                s2 = dadd(s2, F64(abs(e0)))
            s1 = dadd(s1, F64(abs(v1)))
            s3 = dadd(s3, F64(abs(e1)))
            s4 = dadd(s4, F64(abs(m)))
        partial[0, j] = s0
        partial[1, j] = s1
        partial[2, j] = s2
        partial[3, j] = s3
        partial[4, j] = s4


@cuda.jit(cache=True)
def _ring_store(frame, slot_a, slot_b, partial):
    # frame/slots (N,) float32; partial (2, C) float64: column j's sums of v and v^2 over the
    # values j, j + C, ... (v^2 rounded to float64 before the add, as NumPy's v * v)
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    n = frame.shape[0]
    columns = partial.shape[1]
    for j in range(start, columns, stride):
        total = F64(0.0)
        squares = F64(0.0)
        for i in range(j, n, columns):
            p = frame[i]
            slot_a[i] = p
            slot_b[i] = p
            v = F64(p)
            total = dadd(total, v)
            squares = dadd(squares, dmul(v, v))
        partial[0, j] = total
        partial[1, j] = squares


@cuda.jit(cache=True)
def _ring_store_pixels(frame, slot_a, slot_b, partial):
    # frame/slots (N,) integer pixels; partial (2, C) int64: column j's exact sums of p and p^2
    # (int64: 2^31 values of 16 bits still fit)
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    n = frame.shape[0]
    columns = partial.shape[1]
    for j in range(start, columns, stride):
        total = 0
        squares = 0
        for i in range(j, n, columns):
            p = frame[i]
            slot_a[i] = p
            slot_b[i] = p
            q = np.int64(p)
            total += q
            squares += q * q
        partial[0, j] = total
        partial[1, j] = squares


def _flat(array):
    """A C-contiguous array as one run of values: a view, so writing it writes the caller's."""
    return array.reshape(int(np.prod(array.shape)))


def _on_device(array, needed: bool):
    """A state array on the device: a device array is itself (updated in place, nothing
    copied); a host one is copied over, or given an uninitialised device twin when the kernel
    only writes it (its old values are not ``needed``)."""
    if is_device_array(array):
        return as_device(array)
    return to_device(array) if needed else cuda.device_array(array.shape, dtype=array.dtype)


def _back(device, host) -> None:
    """Copy a state's new values back into the caller's ``host`` array (nothing for a device
    state, which the kernel updated in place)."""
    if device is not host and not is_device_array(host):
        device.copy_to_host(host)


def count_nonfinite(frame) -> int:
    """How many values of the float32 (H, W, C) ``frame`` are NaN or infinite (exact).

    ``frame`` may be a host or a device array (:mod:`.memory`).
    """
    if is_device_array(frame):
        values = _flat(device_input(frame, "frame", None))
    else:
        values = _flat(_rows(np.ascontiguousarray(frame, dtype=F32), "frame"))
    n = values.size
    if n == 0:
        return 0
    columns = max(1, min(int(COLUMNS), n))
    partial = cuda.device_array(columns, dtype=np.int64)
    blocks, threads = launch.grid(columns)
    _count_nonfinite[blocks, threads](to_device(values), partial)
    return int(partial.copy_to_host().sum())


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
    """One frame of the VideoPipeline state on the GPU; see the reference for the formulas.

    Parameters are those of :func:`stv_kernels.reference.video_frame.motion_ema_step`: every
    array C-contiguous of matching (H, W, C), float32, except that ``frame`` and ``previous``
    may both be integer pixels of one dtype (uint8 or uint16); ``previous``, ``fused``
    (2, H, W, C), ``envelope`` (2, H, W, C) and ``motion`` (when given) are updated in place,
    bit for bit as the reference updates them.

    Returns
    -------
    ndarray
        float32 (4,): mean |fused[0]|, mean |fused[1]|, mean |envelope|, mean |motion| (float64
        sums: within ~1e-7 relative of the reference).
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
        float64 (4,): mean |frame|, mean |fused[0]|, mean |envelope[0]|, mean |motion| (NaN
        for an empty frame, as the reference's mean of nothing).
    """
    return slice_means(
        *_step(frame, previous, fused, envelope, gain, alpha, momentum, first, motion, 1)
    )


def _step(frame, previous, fused, envelope, gain, alpha, momentum, first, motion, slices: int):
    """Check the arrays (the checks and messages of the CPU twin), run ``_motion`` and copy the
    new state back; return the five float64 sums and the frame's size."""
    h, w, c = check_frame_state(frame, previous, fused, envelope, motion, slices)
    n = h * w * c
    if n == 0:
        return np.zeros(5), 0
    first = bool(first)
    pixels = frame.dtype != F32
    scale = pixel_scale(frame.dtype) if pixels else F32(1.0)
    prev_flat = _flat(previous)
    fused_flat = fused.reshape(slices, n)
    envelope_flat = envelope.reshape(slices, n)
    d_prev = _on_device(prev_flat, not first)
    d_fused = _on_device(fused_flat, not first)
    d_envelope = _on_device(envelope_flat, not first)
    d_motion = (
        as_device(_flat(motion))
        if motion is not None and is_device_array(motion)
        else cuda.device_array(n, dtype=F32)
    )
    columns = max(1, min(int(COLUMNS), n))
    partial = cuda.device_array((5, columns), dtype=F64)
    blocks, threads = launch.grid(columns)
    _motion[blocks, threads](
        to_device(_flat(frame)),
        d_prev,
        d_fused,
        d_envelope,
        d_motion,
        F32(gain),
        F32(alpha),
        F32(momentum),
        scale,
        pixels,
        first,
        partial,
    )
    _back(d_prev, prev_flat)
    _back(d_fused, fused_flat)
    _back(d_envelope, envelope_flat)
    if motion is not None:
        _back(d_motion, _flat(motion))
    return partial.copy_to_host().sum(axis=1), n


def ring_store(
    frame: np.ndarray, slot_a: np.ndarray, slot_b: np.ndarray, columns: np.ndarray | None = None
) -> np.ndarray:
    """Copy ``frame`` into ``slot_a`` and ``slot_b``; return float64 [sum v, sum v^2].

    All three arrays are C-contiguous (H, W, C) of one dtype: float32, summed in float64 (within
    ~1e-15 relative of the reference), or integer pixels (uint8/uint16) standing for
    ``v = p / s`` (s = 255 or 65535), summed exactly in int64 and returned as ``sum p / s`` and
    ``sum p^2 / s^2`` (bit for bit the reference's). ``columns`` is ignored (scratch of the
    CPU twin).
    """
    check_ring_slots(frame, slot_a, slot_b)
    a_flat = _flat(_rows(slot_a, "slot_a", pixels=True))
    b_flat = _flat(_rows(slot_b, "slot_b", pixels=True))
    pixels = frame.dtype != F32
    values = _flat(_rows(frame, "frame", pixels=pixels))
    n = values.size
    if n == 0:
        return np.zeros(2)
    parts = max(1, min(int(COLUMNS), n))
    d_a = _on_device(a_flat, False)
    d_b = _on_device(b_flat, False)
    partial = cuda.device_array((2, parts), dtype=np.int64 if pixels else F64)
    blocks, threads = launch.grid(parts)
    kernel = _ring_store_pixels if pixels else _ring_store
    kernel[blocks, threads](to_device(values), d_a, d_b, partial)
    _back(d_a, a_flat)
    _back(d_b, b_flat)
    sums = partial.copy_to_host().sum(axis=1)
    if pixels:
        scale = float(pixel_scale(frame.dtype))
        return np.array([sums[0] / scale, sums[1] / (scale * scale)])
    return sums
