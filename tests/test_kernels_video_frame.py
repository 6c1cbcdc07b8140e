"""The per-frame video kernels: numba twins against the NumPy reference, and by hand."""

from __future__ import annotations

import numpy as np
import pytest
from stv_kernels import video_frame as fast
from stv_kernels import video_frame_reference as ref

F32 = np.float32


def _state(shape):
    return (
        np.zeros(shape, F32),
        np.zeros((2, *shape), F32),
        np.zeros((2, *shape), F32),
    )


@pytest.mark.parametrize("shape", [(7, 5, 3), (3, 17, 1), (1, 1, 4)])
@pytest.mark.parametrize("keep_motion", [True, False])
def test_motion_ema_step_equals_the_reference(shape, keep_motion):
    rng = np.random.default_rng(7)
    frames = [(rng.random(shape, dtype=F32) * F32(4.0) - F32(1.0)) for _ in range(5)]
    a, b = _state(shape), _state(shape)
    params = (F32(1.7), F32(0.35), F32(0.25))
    for k, frame in enumerate(frames):
        ma = np.empty(shape, F32) if keep_motion else None
        mb = np.empty(shape, F32) if keep_motion else None
        ea = ref.motion_ema_step(frame, *a, *params, k == 0, ma)
        eb = fast.motion_ema_step(frame, *b, *params, k == 0, mb)
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)  # the same float32 operations, bit for bit
        if keep_motion:
            np.testing.assert_array_equal(ma, mb)
        np.testing.assert_allclose(ea, eb, rtol=1e-6, atol=0)
        assert eb.dtype == F32


def test_motion_ema_step_by_hand():
    prev, fused, env = _state((1, 2, 1))
    energies = fast.motion_ema_step(
        np.array([[[1.0], [3.0]]], F32), prev, fused, env, F32(1.0), F32(0.35), F32(0.25), True
    )
    np.testing.assert_allclose(energies, [2.0, 0.0, 1.0, 0.0])
    motion = np.empty((1, 2, 1), F32)
    energies = fast.motion_ema_step(
        np.array([[[2.0], [2.0]]], F32), prev, fused, env, F32(2.0), F32(0.35), F32(0.25), False,
        motion,
    )  # fmt: skip
    np.testing.assert_allclose(motion.ravel(), [2.0, -2.0])
    # fused = 0.65 [1, 3 | 0, 0] + 0.35 [2, 2 | 2, -2]
    np.testing.assert_allclose(fused.ravel(), [1.35, 2.65, 0.7, -0.7], rtol=1e-6)
    np.testing.assert_allclose(prev.ravel(), [2.0, 2.0])
    env_want = 0.75 * np.array([1.0, 3.0, 0.0, 0.0]) + 0.25 * fused.ravel()
    np.testing.assert_allclose(env.ravel(), env_want, rtol=1e-6)
    np.testing.assert_allclose(energies, [2.0, 0.7, np.abs(env_want).mean(), 2.0], rtol=1e-6)


def test_motion_ema_step_rejects_mismatched_state():
    prev, fused, env = _state((2, 3, 1))
    with pytest.raises(ValueError, match="fused/envelope"):
        fast.motion_ema_step(
            np.zeros((2, 4, 1), F32), prev, fused, env, F32(1), F32(0.5), F32(0.5), True
        )


@pytest.mark.parametrize("shape", [(5, 9, 3), (2, 3, 1)])
def test_ring_store_copies_twice_and_sums_like_the_reference(shape):
    frame = np.random.default_rng(3).random(shape, dtype=F32) - F32(0.5)
    slots = np.full((4, *shape), np.nan, F32)
    got = fast.ring_store(frame, slots[1], slots[3])
    want = ref.ring_store(frame, slots[0], slots[2])
    np.testing.assert_array_equal(slots[1], frame)
    np.testing.assert_array_equal(slots[3], frame)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    flat = frame.astype(np.float64).ravel()
    np.testing.assert_allclose(got, [flat.sum(), (flat * flat).sum()], rtol=1e-12)


def test_count_nonfinite_both_backends():
    frame = np.zeros((3, 5, 3), F32)
    assert fast.count_nonfinite(frame) == ref.count_nonfinite(frame) == 0
    frame[0, 1, 2] = np.nan
    frame[2, 4, 0] = np.inf
    frame[1, 0, 1] = -np.inf
    assert fast.count_nonfinite(frame) == ref.count_nonfinite(frame) == 3
