"""VideoPipeline telemetry: SPEC A.14 by hand, the order of operations, D1 and D9."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from stv_cli import (
    InvalidValue,
    NonFiniteValue,
    ShapeMismatch,
    TemporalResonanceBuffer,
    VideoPipeline,
    VideoPipelineConfig,
    ZSpaceVolume,
)
from stv_cli.model.floats import EPS
from stv_cli.model.video.pipeline import (
    MotionEmbeddingFilter,
    ResonanceEnvelope,
    last_argmax,
    tensor_energy,
    weight_entropy,
)
from stv_cli.model.video.stats import TemporalStats
from tests.tolerances import ATOL

F32 = np.float32


def _frames(n: int, shape=(3, 4, 3), seed: int = 0):
    rng = np.random.default_rng(seed)
    return [(rng.random(shape, dtype=F32), 0.04 * k) for k in range(n)]


def test_config_defaults():
    c = VideoPipelineConfig()
    assert (c.temporal_alpha, c.resonance_decay, c.motion_gain) == (0.35, 0.25, 1.0)
    assert (c.digest_window, c.quiescence_threshold) == (16, 0.05)


def test_three_grey_frames_by_hand(backend):
    p = VideoPipeline()
    first = p.push(np.array([[1.0, 3.0]]), 0.0)
    assert first.index == 0 and first.volume.shape == (2, 1, 2, 1)
    np.testing.assert_array_equal(first.motion, np.zeros((1, 2, 1)))
    np.testing.assert_allclose(first.per_depth_energy, [2, 0], atol=ATOL)
    np.testing.assert_allclose(first.smoothed_weights, [1, 0], atol=ATOL)
    np.testing.assert_allclose(first.spectral_response, [1, 0], atol=ATOL)  # Hann(2) = [.5, .5]
    assert first.atlas.collapse_total == pytest.approx(1.0)  # mean |env| = (1 + 3 + 0 + 0) / 4
    assert first.atlas.z_signal == 0.0 and first.atlas.loop_support == 0.0
    assert first.digest.quiescence_ratio == 1.0

    second = p.push(np.array([[2.0, 2.0]]), 0.5)
    np.testing.assert_allclose(second.motion[..., 0], [[1, -1]], atol=ATOL)
    # fused = 0.65 * old + 0.35 * [frame, motion]
    np.testing.assert_allclose(second.volume.voxels.ravel(), [1.35, 2.65, 0.35, -0.35], atol=ATOL)
    np.testing.assert_allclose(second.per_depth_energy, [2.0, 0.35], atol=ATOL)
    # smoothed = normalise(0.75 * [1, 0] + 0.25 * [2, 0.35])
    np.testing.assert_allclose(second.smoothed_weights, [1.25 / 1.3375, 0.0875 / 1.3375], atol=ATOL)
    np.testing.assert_allclose(second.spectral_response, [1.0, 0.175], atol=ATOL)
    # env = 0.75 * env + 0.25 * fused -> [1.0875, 2.9125, 0.0875, -0.0875], mean |.| 1.04375
    resonance = 1.04375
    metrics = {m.name: m for m in second.atlas.metrics}
    assert metrics["z.resonance_energy"].value == pytest.approx(resonance, abs=ATOL)
    assert metrics["z.motion_energy"].value == pytest.approx(1.0, abs=ATOL)
    p0, p1 = 1.25 / 1.3375, 0.0875 / 1.3375
    entropy = -(p0 * math.log(p0) + p1 * math.log(p1))
    assert metrics["z.weight_entropy"].value == pytest.approx(entropy, abs=1e-6)
    assert {m.district for m in second.atlas.metrics} == {"temporal"}
    assert second.atlas.notes == ["video.pipeline.z_dynamics"]
    assert second.atlas.loop_support == pytest.approx(1.0)
    s = second.chrono_snapshot.summary
    assert second.chrono_snapshot.dt == pytest.approx(0.5)
    assert second.chrono_snapshot.timestamp == second.atlas.timestamp == pytest.approx(0.5)
    assert second.atlas.chrono_summary == s
    assert (s.frames, s.duration, s.mean_drift, s.mean_abs_drift, s.drift_std) == pytest.approx(
        (2, 0.5, 0.5, 0.5, 0.5)
    )
    assert s.mean_energy == pytest.approx((1 + resonance) / 2, abs=ATOL)
    assert s.energy_std == pytest.approx((resonance - 1) / 2, abs=1e-5)
    assert s.mean_decay == pytest.approx((1 - resonance) / 2, abs=ATOL)
    assert (s.min_energy, s.max_energy) == pytest.approx((1.0, resonance), abs=ATOL)
    d, w = second.digest, second.window_digest
    assert (d.frames, d.mean_motion, d.motion_std, d.quiescence_ratio) == pytest.approx(
        (2, 0.5, 0.5, 0.5)
    )
    assert (d.peak_motion, d.peak_motion_timestamp) == pytest.approx((1.0, 0.5))
    assert (d.peak_resonance, d.peak_resonance_timestamp) == pytest.approx((resonance, 0.5))
    # the window divides the decay by frames - 1, the full digest by frames
    assert d.mean_resonance_decay == pytest.approx((1 - resonance) / 2, abs=ATOL)
    assert w.mean_resonance_decay == pytest.approx(1 - resonance, abs=ATOL)
    assert p.frame_index == 2


def test_order_of_operations_step_by_step(backend):
    """Rebuild every output from the components, frame by frame (RGB frames, D1)."""
    config = VideoPipelineConfig(0.4, 0.3, 2.0, 3, 0.1)
    pipeline = VideoPipeline(config)
    motion_filter = MotionEmbeddingFilter(2.0)
    buffer = TemporalResonanceBuffer(0.3)
    envelope = ResonanceEnvelope(0.3)
    stats = TemporalStats(0.1, history=3)
    state = None
    for frame, t in _frames(6):
        out = pipeline.push(frame, t)
        motion = motion_filter.process(frame)  # step 2
        incoming = ZSpaceVolume.from_slices([frame, motion])  # step 3
        if state is None:
            state = incoming  # step 4, first frame: no blending
        else:
            state.accumulate(incoming, 0.4)
        flat = state.voxels.reshape(2, -1)
        per_depth = np.abs(flat).mean(axis=1, dtype=np.float64).astype(F32)  # step 5, D1
        smoothed = buffer.apply(per_depth)  # step 6
        spectral = per_depth * F32(0.5)  # step 7: Hann(2) falls back to [0.5, 0.5]
        env = envelope.update(state.voxels)  # step 8
        r, m = tensor_energy(env), tensor_energy(motion)  # step 9
        snapshot = stats.ingest(t, m, r)  # step 10
        np.testing.assert_allclose(out.motion, motion, atol=ATOL)
        np.testing.assert_allclose(out.volume.voxels, state.voxels, atol=ATOL)
        np.testing.assert_allclose(out.per_depth_energy, per_depth, atol=ATOL)
        np.testing.assert_allclose(out.smoothed_weights, smoothed, atol=ATOL)
        np.testing.assert_allclose(out.spectral_response, spectral, atol=ATOL)
        assert out.chrono_snapshot.summary == snapshot.summary
        assert out.atlas.collapse_total == pytest.approx(float(r), abs=ATOL)  # step 11
        assert out.atlas.z_signal == float(last_argmax(smoothed))
        assert out.digest == stats.digest()  # step 12
        assert out.window_digest == stats.digest_window(3)
        assert out.z_dynamics["smoothed_weights"] is out.smoothed_weights


def test_output_volume_is_a_copy(backend):
    p = VideoPipeline()
    out = p.push(np.ones((2, 2)), 0.0)
    p.push(np.zeros((2, 2)), 0.1)
    np.testing.assert_array_equal(out.volume.voxels[0], np.ones((2, 2, 1)))


def test_d9_frame_size_change_names_the_index_and_both_sizes(backend):
    frames = _frames(4, shape=(3, 4, 3))
    p = VideoPipeline()
    for frame, t in frames[:2]:
        p.push(frame, t)
    with pytest.raises(ShapeMismatch, match=r"frame 2 has size 5x3x3 but frame 0 had 4x3x3"):
        p.push(np.zeros((3, 5, 3), F32), 0.08)
    with pytest.raises(ShapeMismatch, match=r"frame 2 has size 4x3x1"):
        p.push(np.zeros((3, 4), F32), 0.08)
    # nothing changed: the clip goes on as if the bad frames never came
    clean = VideoPipeline()
    for frame, t in frames[:2]:
        clean.push(frame, t)
    a, b = p.push(*frames[2]), clean.push(*frames[2])
    assert a.index == b.index == 2
    np.testing.assert_array_equal(a.volume.voxels, b.volume.voxels)
    assert a.digest == b.digest


def test_d9_memory_and_history_are_bounded():
    p = VideoPipeline(VideoPipelineConfig(digest_window=4))
    frames = _frames(3, shape=(8, 8))
    for k in range(30):
        p.push(frames[k % 3][0], 0.04 * k)
    tracemalloc.start()
    try:
        for k in range(30, 60):
            p.push(frames[k % 3][0], 0.04 * k)
        early = tracemalloc.get_traced_memory()[0]
        for k in range(60, 260):
            p.push(frames[k % 3][0], 0.04 * k)
        late = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert late - early < 16 * 1024
    assert len(p.stats.samples) == 4 and len(p.timeline) == 4


def test_d9_digest_covers_every_frame_and_window_the_last_k():
    p = VideoPipeline(VideoPipelineConfig(digest_window=4, quiescence_threshold=0.3))
    samples = []
    for frame, t in _frames(12, shape=(4, 4)):
        out = p.push(frame, t)
        metrics = {m.name: m.value for m in out.atlas.metrics}
        samples.append((t, metrics["z.motion_energy"], metrics["z.resonance_energy"]))
    m = np.array([s[1] for s in samples])
    r = np.array([s[2] for s in samples])
    d, w = out.digest, out.window_digest
    assert d.frames == 12 and w.frames == 4
    assert d.mean_motion == pytest.approx(m.mean(), abs=1e-6)
    assert d.motion_std == pytest.approx(m.std(), abs=1e-5)
    assert d.mean_resonance == pytest.approx(r.mean(), abs=1e-6)
    assert d.quiescence_ratio == pytest.approx(np.mean(m <= 0.3))
    assert d.duration == pytest.approx(0.44, abs=1e-6)
    assert w.mean_motion == pytest.approx(m[-4:].mean(), abs=1e-6)
    assert w.resonance_std == pytest.approx(r[-4:].std(), abs=1e-5)
    assert w.duration == pytest.approx(0.12, abs=1e-6)
    assert (w.min_resonance, w.max_resonance) == pytest.approx((r[-4:].min(), r[-4:].max()))
    assert w.peak_motion == pytest.approx(m[-4:].max())
    assert w.peak_motion_timestamp == pytest.approx(samples[8 + int(np.argmax(m[-4:]))][0])
    decays = [(r[i - 1] - r[i]) / abs(r[i - 1]) for i in range(9, 12)]
    assert w.mean_resonance_decay == pytest.approx(np.mean(decays), abs=1e-6)


def test_helpers_by_hand():
    assert last_argmax(np.array([0.5, 0.5], F32)) == 1  # ties go to the last index
    assert last_argmax(np.array([0.7, 0.3], F32)) == 0
    assert tensor_energy(np.array([[-1.0, 3.0]], F32)) == 2.0
    assert tensor_energy(np.zeros(0, F32)) == 0.0
    assert weight_entropy(np.array([0.5, 0.5, 0.0, np.nan], F32)) == pytest.approx(math.log(2))
    env = ResonanceEnvelope(0.25)
    env.update(np.array([4.0], F32))
    np.testing.assert_allclose(env.update(np.array([0.0], F32)), [3.0])


@pytest.mark.parametrize(
    ("gain", "scale"),
    [(2.0, 2.0), (-3.0, float(EPS)), (float("nan"), float(EPS)), (float("inf"), 1.0)],
)
def test_motion_gain_rules(gain, scale):
    p = VideoPipeline(VideoPipelineConfig(motion_gain=gain))
    p.push(np.zeros((1, 1)), 0.0)
    out = p.push(np.ones((1, 1)), 1.0)
    assert out.motion[0, 0, 0] == pytest.approx(scale, rel=1e-6)


def test_motion_filter_keeps_previous_on_shape_error():
    f = MotionEmbeddingFilter(1.0)
    f.process(np.ones((2, 2, 1), F32))
    with pytest.raises(ShapeMismatch):
        f.process(np.ones((3, 2, 1), F32))
    np.testing.assert_array_equal(f.process(np.full((2, 2, 1), 3.0, F32)), np.full((2, 2, 1), 2.0))


def test_config_rules_and_rejections():
    p = VideoPipeline(VideoPipelineConfig(temporal_alpha=7.0, quiescence_threshold=-1.0))
    p.push(np.zeros((1, 1)), 0.0)
    out = p.push(np.ones((1, 1)), 0.1)  # alpha clamps to 1: the volume is the new frame
    np.testing.assert_allclose(out.volume.voxels.ravel(), [1.0, 1.0])
    assert out.digest.quiescence_ratio == 0.5  # threshold max(-1, 0) = 0: frame 0 counts
    with pytest.raises(InvalidValue, match="temporal_alpha"):
        VideoPipeline(VideoPipelineConfig(temporal_alpha=float("nan")))
    with pytest.raises(InvalidValue, match="resonance_decay"):
        VideoPipeline(VideoPipelineConfig(resonance_decay=float("nan")))
    with pytest.raises(InvalidValue, match="digest_window"):
        VideoPipeline(VideoPipelineConfig(digest_window=-1))
    zero = VideoPipeline(VideoPipelineConfig(digest_window=0))
    assert zero.push(np.zeros((1, 1)), 0.0).window_digest.frames == 1


def test_bad_frames_name_the_index():
    p = VideoPipeline()
    p.push(np.zeros((2, 2)), 0.0)
    with pytest.raises(NonFiniteValue, match="frame 1"):
        p.push(np.array([[0.0, np.nan], [0.0, 0.0]]), 0.1)
    with pytest.raises(ValueError, match="frame 1"):
        p.push(np.zeros((2, 2, 1, 1)), 0.1)
    assert p.frame_index == 1


def test_from_frames_is_lazy_and_equals_push():
    frames = _frames(3)
    gen = VideoPipeline().from_frames(iter(frames))
    first = next(gen)
    assert first.index == 0
    rest = list(gen)
    pushed = VideoPipeline()
    want = [pushed.push(f, t) for f, t in frames]
    assert [o.digest for o in [first, *rest]] == [o.digest for o in want]


def test_keep_arrays_false_drops_only_the_copies(backend):
    kept, lean = VideoPipeline(), VideoPipeline()
    for frame, t in _frames(4):
        a = kept.push(frame, t)
        b = lean.push(frame, t, keep_arrays=False)
        assert b.motion is None and b.volume is None
        assert a.motion is not None and a.volume is not None
        np.testing.assert_array_equal(a.per_depth_energy, b.per_depth_energy)
        np.testing.assert_array_equal(a.smoothed_weights, b.smoothed_weights)
        assert a.atlas == b.atlas and a.digest == b.digest
    np.testing.assert_array_equal(kept.volume.voxels, lean.volume.voxels)
    np.testing.assert_array_equal(kept.envelope, lean.envelope)


def test_weight_entropy_of_a_certain_distribution_is_plus_zero():
    from stv_cli.model.video.pipeline import weight_entropy

    value = weight_entropy(np.array([1.0, 0.0], np.float32))
    assert value == 0.0 and math.copysign(1.0, float(value)) == 1.0
    assert weight_entropy(np.array([0.5, 0.5], np.float32)) == pytest.approx(math.log(2), rel=1e-6)


# ------------------------------------------------------------------- push_pixels


def _outputs_equal(a, b) -> None:
    assert a.index == b.index and a.timestamp == b.timestamp
    for name in ("per_depth_energy", "smoothed_weights", "spectral_response"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert [(m.name, m.value) for m in a.atlas.metrics] == [
        (m.name, m.value) for m in b.atlas.metrics
    ]
    assert a.atlas.z_signal == b.atlas.z_signal
    np.testing.assert_array_equal(a.motion, b.motion)
    np.testing.assert_array_equal(a.volume.voxels, b.volume.voxels)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_push_pixels_is_push_of_their_float_values_bit_for_bit(backend, dtype):
    rng = np.random.default_rng(8)
    top = np.iinfo(dtype).max
    frames = [rng.integers(0, top + 1, (5, 6, 3), dtype=dtype) for _ in range(6)]
    by_pixels, by_floats = VideoPipeline(), VideoPipeline()
    for k, pixels in enumerate(frames):
        a = by_pixels.push_pixels(pixels, 0.04 * k)
        b = by_floats.push(np.divide(pixels, F32(top), dtype=F32), 0.04 * k)
        _outputs_equal(a, b)
    np.testing.assert_array_equal(by_pixels.envelope, by_floats.envelope)


def test_push_pixels_and_push_mix_and_grey_pixels_gain_a_channel(backend):
    rng = np.random.default_rng(9)
    frames = [rng.integers(0, 256, (4, 5), dtype=np.uint8) for _ in range(5)]
    floats = [np.divide(f, F32(255), dtype=F32) for f in frames]
    mixed, reference = VideoPipeline(), VideoPipeline()
    for k in range(5):
        # pixels, floats, pixels, ...: the previous frame follows the kind given
        a = mixed.push_pixels(frames[k], k) if k % 2 == 0 else mixed.push(floats[k], k)
        _outputs_equal(a, reference.push(floats[k], k))
    assert a.motion.shape == (4, 5, 1)


def test_push_pixels_refuses_other_dtypes_and_keeps_the_size_rule():
    pipeline = VideoPipeline()
    with pytest.raises(InvalidValue, match=r"frame 0 pixels must be uint8 or uint16, got int16"):
        pipeline.push_pixels(np.zeros((2, 2, 3), np.int16), 0.0)
    pipeline.push_pixels(np.zeros((2, 2, 3), np.uint8), 0.0)
    with pytest.raises(ShapeMismatch, match="frame 1 has size 3x2x3"):
        pipeline.push_pixels(np.zeros((2, 3, 3), np.uint8), 0.1)
    assert pipeline.frame_index == 1


# --------------------------------------------------------- keep_image_slice=False


def _moving_pixels(dtype, count: int, shape=(12, 40, 3)):
    # a bright bar walking over noise, so the motion slice is far from zero
    rng = np.random.default_rng(21)
    top = np.iinfo(dtype).max
    frames = []
    for k in range(count):
        frame = rng.integers(0, top // 4, shape, dtype=dtype)
        frame[:, 3 * k : 3 * k + 6] = top - k
        frames.append(frame)
    return frames


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_without_the_image_slice_pixel_telemetry_agrees_with_the_voxels(backend, dtype):
    frames = _moving_pixels(dtype, 12)
    lean, full = VideoPipeline(keep_image_slice=False), VideoPipeline()
    for k, pixels in enumerate(frames):
        a = lean.push_pixels(pixels, 0.04 * k)
        b = full.push_pixels(pixels, 0.04 * k)
        # the image slice's means follow float64 EMAs of the frame's mean: ~1e-7 relative
        for name in ("per_depth_energy", "smoothed_weights", "spectral_response"):
            np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-6)
        assert [m.name for m in a.atlas.metrics] == [m.name for m in b.atlas.metrics]
        np.testing.assert_allclose(
            [m.value for m in a.atlas.metrics], [m.value for m in b.atlas.metrics], rtol=1e-6
        )
        assert a.atlas.z_signal == b.atlas.z_signal
        # the motion slice is the same float32 arithmetic: bit for bit
        np.testing.assert_array_equal(a.motion, b.motion)
        assert a.per_depth_energy[1] == b.per_depth_energy[1]
        assert a.volume is None  # no image slice to copy, even with keep_arrays
    assert lean.volume is None and lean.envelope is None
    assert full.volume is not None and full.envelope.shape == (2, 12, 40, 3)
    # the state is the motion slice alone: half the floats of the full one
    assert lean._fused.shape == lean._envelope.shape == (1, 12, 40, 3)


def test_without_the_image_slice_the_image_energies_are_the_emas_of_the_mean(backend):
    # by hand: V0 = mean F on the first frame, then V0 (1 - a) + F a; E0 likewise from V0
    frames = [np.full((2, 3, 1), v, np.uint8) for v in (255, 0, 51)]
    pipeline = VideoPipeline(keep_image_slice=False)
    a, r = 0.35, 0.25
    v0 = e0 = 1.0
    for k, pixels in enumerate(frames):
        out = pipeline.push_pixels(pixels, k)
        f = float(pixels[0, 0, 0]) / 255
        if k:
            v0 = v0 * float(F32(1 - F32(a))) + f * float(F32(a))
            e0 = e0 * float(F32(1 - F32(r))) + v0 * float(F32(r))
        assert out.per_depth_energy[0] == F32(v0)
        resonance = next(m.value for m in out.atlas.metrics if m.name == "z.resonance_energy")
        # the envelope's energy is the mean over both slices: E0's mean and mean |E1|
        e1 = float(np.abs(pipeline._envelope).mean())
        assert resonance == pytest.approx((e0 + e1) / 2, rel=1e-6)


def test_without_the_image_slice_float_clips_keep_their_voxels(backend):
    lean, full = VideoPipeline(keep_image_slice=False), VideoPipeline()
    for frame, t in _frames(4):
        _outputs_equal(lean.push(frame, t), full.push(frame, t))  # floats may be negative
    assert lean.volume is not None
    # and pixels after floats follow the usual mixing rule
    pixels = np.zeros((3, 4, 3), np.uint8)
    _outputs_equal(lean.push_pixels(pixels, 1.0), full.push_pixels(pixels, 1.0))


def test_without_the_image_slice_a_float_frame_after_pixels_is_refused():
    pipeline = VideoPipeline(keep_image_slice=False)
    pipeline.push_pixels(np.zeros((2, 2, 3), np.uint8), 0.0)
    with pytest.raises(InvalidValue, match=r"frame 1 is float32 but the clip started with uint8"):
        pipeline.push(np.zeros((2, 2, 3), F32), 0.1)
    assert pipeline.frame_index == 1
    pipeline.push_pixels(np.ones((2, 2, 3), np.uint8), 0.1)  # pixels go on
    assert pipeline.frame_index == 2


def test_digests_false_drops_only_the_digests(backend):
    with_digests, without = VideoPipeline(), VideoPipeline()
    for frame, t in _frames(4):
        a = with_digests.push(frame, t)
        b = without.push(frame, t, digests=False)
        assert b.digest is None and b.window_digest is None
        assert [(m.name, m.value) for m in a.atlas.metrics] == [
            (m.name, m.value) for m in b.atlas.metrics
        ]
    # the statistics ran on: a later push with digests gives the same digest
    frame, t = _frames(5)[4]
    assert repr(with_digests.push(frame, t).digest) == repr(without.push(frame, t).digest)
