"""NumPy reference of the per-frame video kernels (:mod:`stv_kernels.video_frame`).

Written for clarity, with exactly the float32 operations the video pipeline was specified
with (SPEC A.14), so the NumPy backend keeps those semantics to the bit; the numba twins are
tested against these functions.

``motion_ema_step``: one frame of the VideoPipeline's state, in order
    motion  m = (F - P) * gain                      (zeros on the first frame)
    P <- F
    fused   V = [V0, V1] * (1 - alpha) + [F, m] * alpha   ([F, m] on the first frame)
    envelope E = E * (1 - momentum) + V * momentum          (a copy of V on the first frame)
and its energies: mean |V0|, mean |V1|, mean |E| over both slices and mean |m|, each summed
in float64 on purpose (a frame has ~10^6 values) and rounded to float32.

``motion_slice_step``: the same for the motion slice alone, with the frame's mean value (a
pipeline that keeps the image slice's energies as running means, not voxels).

``ring_store``: a frame copied into two slots of a frame ring, with its sum and sum of
squares (float64) for the slice statistics of the ring's volume.

Frames may be float32 or integer pixels standing for ``pixels / (2**bits - 1)``
(:mod:`stv_kernels.pixel_scale`). The collapse of a ring of pixels and the quantiser are in
:mod:`stv_kernels.reference.pixels`.
"""

from __future__ import annotations

import numpy as np

from ..pixel_scale import pixel_scale, pixel_values

F32 = np.float32


def values(frame: np.ndarray) -> np.ndarray:
    """The float32 values of a frame: float32 as it is, uint8/uint16 pixels / 255 or 65535."""
    if frame.dtype == F32:
        return frame
    return pixel_values(frame)


def abs_mean(values: np.ndarray) -> np.float32:
    """Mean |v| summed in float64, rounded to float32 (0 for an empty array)."""
    if values.size == 0:
        return F32(0.0)
    return F32(np.abs(values).mean(dtype=np.float64))


def count_nonfinite(frame: np.ndarray) -> int:
    """How many values of ``frame`` are NaN or infinite."""
    return int(frame.size - np.count_nonzero(np.isfinite(frame)))


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
    """Advance the pipeline state by one frame, in place; return its four energies.

    Parameters
    ----------
    frame : ndarray
        float32 (H, W, C) frame, finite (the caller checks), or uint8/uint16 pixels standing
        for :func:`values` of them.
    previous : ndarray
        (H, W, C) of the frame's dtype: the previous frame; overwritten with ``frame``.
    fused, envelope : ndarray
        float32 (2, H, W, C) running volume and its envelope, updated in place.
    gain, alpha, momentum : float32
        Motion scale (already ``max(gain, EPS)``), the fused EMA's new-frame weight and the
        envelope's, both in [0, 1].
    first : bool
        The first frame of the stream: the state is initialised instead of blended.
    motion : ndarray, optional
        float32 (H, W, C) that receives the motion (for callers that keep it).

    Returns
    -------
    ndarray
        float32 (4,): mean |fused[0]|, mean |fused[1]|, mean |envelope|, mean |motion|.
    """
    frame, m = _motion(frame, previous, gain, first, motion)
    if first:
        fused[0] = frame
        fused[1] = m
        envelope[...] = fused
    else:
        _ema(fused[0], frame, alpha)
        _ema(fused[1], m, alpha)
        _ema(envelope[0], fused[0], momentum)
        _ema(envelope[1], fused[1], momentum)
    return np.array(
        [abs_mean(fused[0]), abs_mean(fused[1]), abs_mean(envelope), abs_mean(m)], dtype=F32
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
    """:func:`motion_ema_step` for the motion slice alone (a pipeline that keeps no image
    slice: see :class:`stv_cli.model.video.pipeline.VideoPipeline`'s ``keep_image_slice``).

    ``fused`` and ``envelope`` are float32 (1, H, W, C): slice 1 of the full state, updated
    with the same float32 operations. Returns float64 (4,): mean |frame values|, mean
    |fused[0]|, mean |envelope[0]|, mean |motion|, from which the caller advances the image
    slice's energies.
    """
    frame, m = _motion(frame, previous, gain, first, motion)
    if first:
        fused[0] = m
        envelope[0] = m
    else:
        _ema(fused[0], m, alpha)
        _ema(envelope[0], fused[0], momentum)
    return np.array(
        [float(np.abs(a).mean(dtype=np.float64)) for a in (frame, fused[0], envelope[0], m)]
    )


def _motion(frame, previous, gain, first: bool, motion):
    """The frame's values and its motion ``(F - P) * gain`` (zeros on the first frame);
    ``previous`` becomes the frame and ``motion``, when given, receives the motion."""
    values_now = values(frame)
    if first:
        m = np.zeros_like(values_now)
    else:
        m = np.subtract(values_now, values(previous), dtype=F32)
        m *= gain
    np.copyto(previous, frame)
    if motion is not None:
        np.copyto(motion, m)
    return values_now, m


def _ema(state: np.ndarray, incoming: np.ndarray, weight: np.float32) -> None:
    # state * (1 - w) + incoming * w, each product rounded to float32 before the sum
    scratch = np.multiply(incoming, weight, dtype=F32)
    state *= F32(1.0) - weight
    state += scratch


def ring_store(
    frame: np.ndarray, slot_a: np.ndarray, slot_b: np.ndarray, columns: np.ndarray | None = None
) -> np.ndarray:
    """Copy ``frame`` into ``slot_a`` and ``slot_b``; return float64 [sum v, sum v^2].

    float32 frames: the sums of :func:`stv_kernels.reference.slice_statistics` (pairwise
    float64), so the mean, energy and one-pass std derived from them match it to the bit.
    Integer pixels p standing for v = p / s: the exact moments ``sum p / s`` and
    ``sum p^2 / s^2`` from integer sums (summing the float32 values instead would differ by
    up to ~6e-8 relative). ``columns`` is ignored (scratch of the numba twin).
    """
    np.copyto(slot_a, frame)
    np.copyto(slot_b, frame)
    if frame.dtype != F32:
        p = frame.astype(np.int64)
        scale = float(pixel_scale(frame.dtype))
        return np.array([p.sum() / scale, (p * p).sum() / (scale * scale)])
    flat = frame.reshape(1, -1).astype(np.float64)
    return np.array([flat.sum(axis=1)[0], (flat * flat).sum(axis=1)[0]])
