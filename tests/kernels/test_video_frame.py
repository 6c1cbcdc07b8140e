"""The per-frame video kernels: numba twins against the NumPy reference, and by hand."""

from __future__ import annotations

import numpy as np
import pytest

from stv_kernels.cpu import pixels as pixel_collapse
from stv_kernels.cpu import video_frame as fast
from stv_kernels.reference import pixels as ref_pixels
from stv_kernels.reference import video_frame as ref

F32 = np.float32


def _state(shape):
    return (
        np.zeros(shape, F32),
        np.zeros((2, *shape), F32),
        np.zeros((2, *shape), F32),
    )


# (5, 301, 3): rows of 903 values, long enough for the vectorised loops and their remainders
@pytest.mark.parametrize("shape", [(7, 5, 3), (3, 17, 1), (1, 1, 4), (5, 301, 3)])
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


# ---------------------------------------------------------------- integer pixels


def _pixels(rng, shape, dtype):
    return rng.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("shape", [(7, 5, 3), (3, 17, 1), (5, 301, 3)])
def test_motion_ema_step_on_pixels_equals_the_float_frames(dtype, shape):
    # pixels stand for pixels / (2**bits - 1): the very division stv's reader does
    rng = np.random.default_rng(11)
    frames = [_pixels(rng, shape, dtype) for _ in range(4)]
    floats = [np.divide(f, F32(np.iinfo(dtype).max), dtype=F32) for f in frames]
    px_prev, fused_a, env_a = np.zeros(shape, dtype), *_state(shape)[1:]
    fl_state, ref_state = _state(shape), (np.zeros(shape, dtype), *_state(shape)[1:])
    params = (F32(1.3), F32(0.35), F32(0.25))
    for k in range(4):
        ma, mb, mc = (np.empty(shape, F32) for _ in range(3))
        ea = fast.motion_ema_step(frames[k], px_prev, fused_a, env_a, *params, k == 0, ma)
        eb = fast.motion_ema_step(floats[k], *fl_state, *params, k == 0, mb)
        ec = ref.motion_ema_step(frames[k], *ref_state, *params, k == 0, mc)
        np.testing.assert_array_equal(fused_a, fl_state[1])
        np.testing.assert_array_equal(env_a, fl_state[2])
        np.testing.assert_array_equal(fused_a, ref_state[1])
        np.testing.assert_array_equal(ma, mb)
        np.testing.assert_array_equal(ma, mc)
        np.testing.assert_array_equal(px_prev, frames[k])  # the previous frame stays pixels
        np.testing.assert_array_equal(ref_state[0], frames[k])
        np.testing.assert_array_equal(ea, eb)
        np.testing.assert_allclose(ea, ec, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, F32])
@pytest.mark.parametrize("keep_motion", [True, False])
def test_motion_slice_step_is_the_full_steps_motion_slice(dtype, keep_motion):
    shape = (5, 301, 3)  # rows long enough for the vectorised loops and their remainders
    rng = np.random.default_rng(13)
    if dtype == F32:
        frames = [rng.random(shape, dtype=F32) for _ in range(5)]
        previous = lambda: np.zeros(shape, F32)  # noqa: E731
    else:
        frames = [_pixels(rng, shape, dtype) for _ in range(5)]
        previous = lambda: np.zeros(shape, dtype)  # noqa: E731
    slice_state = lambda: (previous(), np.zeros((1, *shape), F32), np.zeros((1, *shape), F32))  # noqa: E731
    fast_state, ref_state = slice_state(), slice_state()
    full_state = (previous(), *_state(shape)[1:])
    params = (F32(1.3), F32(0.35), F32(0.25))
    for k, frame in enumerate(frames):
        ma, mb, mc = ((np.empty(shape, F32) if keep_motion else None) for _ in range(3))
        got = fast.motion_slice_step(frame, *fast_state, *params, k == 0, ma)
        want = ref.motion_slice_step(frame, *ref_state, *params, k == 0, mb)
        full = fast.motion_ema_step(frame, *full_state, *params, k == 0, mc)
        for x, y in zip(fast_state, ref_state, strict=True):
            np.testing.assert_array_equal(x, y)  # the same float32 operations, bit for bit
        np.testing.assert_array_equal(fast_state[1][0], full_state[1][1])  # slice 1
        np.testing.assert_array_equal(fast_state[2][0], full_state[2][1])
        if keep_motion:
            np.testing.assert_array_equal(ma, mb)
            np.testing.assert_array_equal(ma, mc)
        assert got.dtype == np.float64 and got.shape == (4,)
        np.testing.assert_allclose(got, want, rtol=1e-12)  # float64 sums in other orders
        values = ref.values(frame).astype(np.float64)
        np.testing.assert_allclose(got[0], np.abs(values).mean(), rtol=1e-12)
        np.testing.assert_allclose(got[[1, 3]], full[[1, 3]], rtol=1e-6)
    with pytest.raises(ValueError, match=r"fused/envelope \(1, 5, 301, 3\)"):
        fast.motion_slice_step(frames[0], *full_state, *params, False)


def test_motion_ema_step_refuses_mixed_frame_and_previous():
    prev, fused, env = _state((2, 3, 1))
    with pytest.raises(ValueError, match="dtype"):
        fast.motion_ema_step(
            np.zeros((2, 3, 1), np.uint8), prev, fused, env, F32(1), F32(0.5), F32(0.5), True
        )
    with pytest.raises(ValueError, match="float32, uint8 or uint16"):
        fast.motion_ema_step(
            np.zeros((2, 3, 1), np.int8),
            np.zeros((2, 3, 1), np.int8),
            fused,
            env,
            F32(1),
            F32(0.5),
            F32(0.5),
            True,
        )


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_ring_store_of_pixels_gives_the_exact_moments_of_their_values(dtype):
    frame = _pixels(np.random.default_rng(5), (40, 60, 3), dtype)
    slots = np.zeros((2, 40, 60, 3), dtype)
    got = fast.ring_store(frame, slots[0], slots[1])
    want = ref.ring_store(frame, np.empty_like(frame), np.empty_like(frame))
    np.testing.assert_array_equal(slots[0], frame)
    np.testing.assert_array_equal(slots[1], frame)
    np.testing.assert_array_equal(got, want)  # integer sums: both backends exact
    top = int(np.iinfo(dtype).max)
    total, squares = sum(int(p) for p in frame.ravel()), sum(int(p) ** 2 for p in frame.ravel())
    assert got[0] == total / top and got[1] == squares / (top * top)
    # the float32 values' own float64 sums differ only by their rounding (< 6e-8 relative)
    flat = np.divide(frame, F32(top), dtype=F32).astype(np.float64).ravel()
    np.testing.assert_allclose(got, [flat.sum(), (flat * flat).sum()], rtol=6e-8)
    with pytest.raises(ValueError, match="dtype"):
        fast.ring_store(frame, np.empty(frame.shape, F32), np.empty(frame.shape, F32))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("depth", [1, 3, 4, 5, 9])
def test_collapse_pixels_is_the_float_collapse_within_the_spec(dtype, depth):
    # (5, 67, 3): rows of 201 values, long enough for the vectorised loop and its remainder
    from stv_kernels import reference

    rng = np.random.default_rng(depth)
    pixels = _pixels(rng, (depth, 5, 67, 3), dtype)
    weights = (rng.random(depth, dtype=F32) - F32(0.3)).astype(F32)
    scale = F32(np.iinfo(dtype).max)
    got = pixel_collapse.collapse_pixels(pixels, weights)
    # the twins: the same float32 operations, p * (w / s) in z order, bit for bit
    np.testing.assert_array_equal(ref_pixels.collapse_pixels(pixels, weights), got)
    by_hand = np.zeros(pixels.shape[1:], F32)
    for z in range(depth):
        by_hand += pixels[z].astype(F32) * np.divide(weights[z], scale, dtype=F32)
    np.testing.assert_array_equal(got, by_hand)
    # the collapse of the float values p / s: each term within 2 ulp, so within 2^-22 per
    # unit of weight plus one rounding of the running sum per slice (SPEC asks 1e-6)
    volume = np.divide(pixels, scale, dtype=F32)
    want = reference.collapse_weighted(volume, weights)
    bound = 2.0**-22 * float(np.abs(weights).sum()) + depth * 2.0**-24 * float(np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=0, atol=bound)
    assert bound < 1e-6 * max(1.0, float(np.abs(weights).sum()))
    out = np.full((5, 67, 3), np.nan, F32)
    assert pixel_collapse.collapse_pixels(pixels, weights, out=out) is out
    np.testing.assert_array_equal(out, got)


def test_collapse_pixels_checks_its_arguments():
    pixels = np.zeros((2, 3, 4, 1), np.uint8)
    with pytest.raises(ValueError, match="length 2"):
        pixel_collapse.collapse_pixels(pixels, np.ones(3, F32))
    with pytest.raises(ValueError, match="uint8 or uint16"):
        pixel_collapse.collapse_pixels(pixels.astype(F32), np.ones(2, F32))
    with pytest.raises(ValueError, match="out must be"):
        pixel_collapse.collapse_pixels(pixels, np.ones(2, F32), out=np.empty((3, 4, 1), np.float64))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_quantise_equals_the_reference_and_save_image_rule(dtype):
    rng = np.random.default_rng(2)
    image = (rng.random((9, 11, 3), dtype=F32) * F32(1.4) - F32(0.2)).astype(F32)
    image[0, 0] = [np.nan, np.inf, -np.inf]
    image[1, 0] = [0.5, 1.0, 0.0]
    top = np.iinfo(dtype).max
    got = pixel_collapse.quantise(image, dtype)
    np.testing.assert_array_equal(got, ref_pixels.quantise(image, dtype))
    assert got.dtype == dtype
    assert list(got[0, 0]) == [0, top, 0]
    assert list(got[1, 0]) == [(top + 1) // 2, top, 0]  # 0.5 rounds half up: 128 for 8 bits
    # every representable 8-bit level survives a round trip through its float value
    levels = (np.arange(256, dtype=F32) / F32(255)).reshape(16, 16, 1)
    np.testing.assert_array_equal(pixel_collapse.quantise(levels).ravel(), np.arange(256))
    out = np.empty(image.shape, dtype)
    assert pixel_collapse.quantise(image, dtype, out=out) is out


@pytest.mark.parametrize("module", [pixel_collapse, ref_pixels], ids=["numba", "numpy"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_collapse_pixels_into_8_bits_is_the_quantised_picture(module, dtype):
    rng = np.random.default_rng(12)
    pixels = _pixels(rng, (5, 6, 7, 3), dtype)
    weights = np.array([0.5, -0.2, 0.4, 0.3, 0.25], F32)  # some values leave [0, 1]
    picture = pixel_collapse.collapse_pixels(pixels, weights)
    assert picture.min() < 0 or picture.max() > 1
    out = np.full((6, 7, 3), 7, np.uint8)
    assert module.collapse_pixels(pixels, weights, out=out) is out
    np.testing.assert_array_equal(out, ref_pixels.quantise(picture))
