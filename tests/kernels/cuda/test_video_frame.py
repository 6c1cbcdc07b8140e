"""CUDA per-frame video kernels (SPEC A.14) against the NumPy reference, in numba's simulator:
states bit for bit, energies to 1e-6 relative, the ring's integer moments exactly."""

from __future__ import annotations

import numpy as np
import pytest

from stv_kernels import reference
from stv_kernels.cpu import video_frame as cpu

video = pytest.importorskip("stv_kernels.cuda.video_frame")

F32 = np.float32
DTYPES = [np.float32, np.uint8, np.uint16]
PARAMS = (F32(1.7), F32(0.35), F32(0.25))


@pytest.fixture(autouse=True)
def few_columns(monkeypatch):
    """16 partial sums per frame: each walks several values, some threads take two."""
    monkeypatch.setattr(video, "COLUMNS", 16)


def _frames(dtype, shape, count, seed=21):
    rng = np.random.default_rng(seed)
    if dtype == np.float32:
        return [rng.random(shape, dtype=F32) * F32(4.0) - F32(1.0) for _ in range(count)]
    top = np.iinfo(dtype).max
    return [rng.integers(0, top + 1, size=shape).astype(dtype) for _ in range(count)]


def _state(dtype, shape, slices):
    return [
        np.zeros(shape, dtype),
        np.zeros((slices, *shape), F32),
        np.zeros((slices, *shape), F32),
    ]


def _same_bits(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()


STEPS = {
    "ema": (video.motion_ema_step, reference.motion_ema_step, 2, F32),
    "slice": (video.motion_slice_step, reference.motion_slice_step, 1, np.float64),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("step", ["ema", "slice"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_motion_steps_follow_the_reference_over_a_few_frames(dtype, step, channels):
    ours, theirs, slices, energy_dtype = STEPS[step]
    shape = (5, 7, channels)
    got_state, want_state = _state(dtype, shape, slices), _state(dtype, shape, slices)
    keep_motion = channels != 4  # the motion kept by the caller, or not
    # the first frame, two later ones, then a restart (first again) and one more
    for k, frame in enumerate(_frames(dtype, shape, 5)):
        first = k in (0, 3)
        got_m = np.full(shape, np.nan, F32) if keep_motion else None
        want_m = np.full(shape, np.nan, F32) if keep_motion else None
        got = ours(frame, *got_state, *PARAMS, first, got_m)
        want = theirs(frame, *want_state, *PARAMS, first, want_m)
        for a, b in zip(got_state, want_state, strict=True):
            _same_bits(a, b)  # the caller's arrays, updated in place, bit for bit
        if keep_motion:
            _same_bits(got_m, want_m)
        assert got.dtype == energy_dtype and got.shape == (4,)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)
    assert np.all(got > 0)


def test_the_first_frame_initialises_the_state():
    frame = np.array([[[10], [200]]], np.uint8)
    previous, fused, envelope = _state(np.uint8, (1, 2, 1), 2)
    fused[...] = 5.0
    motion = np.full((1, 2, 1), 3.0, F32)
    energies = video.motion_ema_step(frame, previous, fused, envelope, *PARAMS, True, motion)
    values = np.array([10, 200], F32) / F32(255.0)
    np.testing.assert_array_equal(previous.ravel(), [10, 200])
    _same_bits(fused[0].ravel(), values)
    np.testing.assert_array_equal(fused[1], 0.0)
    _same_bits(envelope, fused)
    np.testing.assert_array_equal(motion, 0.0)
    np.testing.assert_allclose(energies, [values.mean(), 0.0, values.mean() / 2, 0.0], rtol=1e-6)


def test_more_columns_than_values_and_the_same_bits_every_run(monkeypatch):
    monkeypatch.setattr(video, "COLUMNS", 4096)  # one value per column
    shape = (3, 4, 3)
    frames = _frames(np.float32, shape, 2, seed=22)
    runs = []
    for _ in range(2):
        state = _state(np.float32, shape, 2)
        energies = [video.motion_ema_step(f, *state, *PARAMS, k == 0) for k, f in enumerate(frames)]
        runs.append((energies, state))
    want_state = _state(np.float32, shape, 2)
    for k, f in enumerate(frames):
        want = reference.motion_ema_step(f, *want_state, *PARAMS, k == 0)
    np.testing.assert_allclose(runs[0][0][-1], want, rtol=1e-6)
    for a, b in zip(runs[0][1], want_state, strict=True):
        _same_bits(a, b)
    for a, b in zip(runs[0][0] + runs[0][1], runs[1][0] + runs[1][1], strict=True):
        _same_bits(a, b)


@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")  # the reference's
def test_empty_frames_give_the_references_energies():
    shape = (0, 7, 3)
    for slices, ours, theirs in (
        (2, video.motion_ema_step, reference.motion_ema_step),
        (1, video.motion_slice_step, reference.motion_slice_step),
    ):
        with np.errstate(all="ignore"):
            want = theirs(np.zeros(shape, F32), *_state(F32, shape, slices), *PARAMS, False)
        got = ours(np.zeros(shape, F32), *_state(F32, shape, slices), *PARAMS, False)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)  # zeros (ema), NaN (slice: a mean of nothing)


def _bad_steps():
    shape = (5, 7, 3)
    good = (np.zeros(shape, F32), *_state(F32, shape, 2))
    fortran = np.asfortranarray(np.zeros((2, *shape), F32))
    return [
        (good[0], np.zeros((5, 7, 1), F32), *good[2:]),  # previous's shape
        (good[0], good[1], np.zeros((1, *shape), F32), good[3]),  # fused's slices
        (good[0], good[1].astype(np.uint8), *good[2:]),  # previous's dtype
        (good[0].astype(np.float64), good[1].astype(np.float64), *good[2:]),  # not float32
        (good[0], good[1], fortran, good[3]),  # not C-contiguous
        (good[0], good[1], good[2], good[3].astype(np.float64)),  # envelope's dtype
    ]


def _same_error(ours, twin):
    with pytest.raises(ValueError) as want:
        twin()
    with pytest.raises(ValueError) as got:
        ours()
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("index", range(6))
def test_motion_steps_refuse_what_the_cpu_twin_refuses(index):
    args = _bad_steps()[index]
    _same_error(
        lambda: video.motion_ema_step(*args, *PARAMS, False),
        lambda: cpu.motion_ema_step(*args, *PARAMS, False),
    )


def test_a_motion_of_the_wrong_shape_is_refused():
    shape = (5, 7, 3)
    args = (np.zeros(shape, F32), *_state(F32, shape, 1), *PARAMS, False, np.zeros((5, 7), F32))
    _same_error(lambda: video.motion_slice_step(*args), lambda: cpu.motion_slice_step(*args))


@pytest.mark.parametrize("dtype", DTYPES)
def test_ring_store_copies_the_frame_and_sums_it(dtype):
    frame = _frames(dtype, (5, 7, 3), 1, seed=23)[0]
    got_a, got_b = np.zeros_like(frame), np.ones_like(frame)
    want_a, want_b = np.zeros_like(frame), np.zeros_like(frame)
    got = video.ring_store(frame, got_a, got_b)
    want = reference.ring_store(frame, want_a, want_b)
    _same_bits(got_a, frame)
    _same_bits(got_b, frame)
    assert got.dtype == np.float64 and got.shape == (2,)
    if dtype == np.float32:
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)
    else:
        _same_bits(got, want)  # exact integer moments, divided as the reference divides


def test_ring_store_of_an_empty_frame_and_the_columns_argument():
    frame = np.zeros((0, 7, 3), np.uint16)
    np.testing.assert_array_equal(video.ring_store(frame, frame.copy(), frame.copy()), [0, 0])
    frame = np.arange(12, dtype=F32).reshape(2, 2, 3)
    sums = video.ring_store(frame, np.empty_like(frame), np.empty_like(frame), np.empty((2, 6)))
    np.testing.assert_array_equal(sums, [66.0, 506.0])


@pytest.mark.parametrize(
    "slots",
    [
        (np.zeros((5, 7, 1), np.uint8), np.zeros((5, 7, 3), np.uint8)),  # shape
        (np.zeros((5, 7, 3), np.uint8), np.zeros((5, 7, 3), np.uint16)),  # dtype
        (np.zeros((5, 7, 3), np.uint8), np.zeros((5, 7, 3), np.uint8)[:, ::-1]),  # layout
    ],
)
def test_ring_store_refuses_what_the_cpu_twin_refuses(slots):
    frame = np.zeros((5, 7, 3), np.uint8)
    _same_error(lambda: video.ring_store(frame, *slots), lambda: cpu.ring_store(frame, *slots))


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_count_nonfinite_counts_nan_and_inf(channels):
    frame = _frames(np.float32, (5, 7, channels), 1, seed=24)[0]
    assert video.count_nonfinite(frame) == 0
    flat = frame.reshape(-1)
    flat[[0, 5, 17, flat.size - 1]] = [np.nan, np.inf, -np.inf, np.nan]
    assert video.count_nonfinite(frame) == reference.count_nonfinite(frame) == 4
    assert video.count_nonfinite(np.zeros((0, 7, channels), F32)) == 0
