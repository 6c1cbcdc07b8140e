"""Tests for stv_cli.model.volume: construction, collapse, refine, statistics, EMA, memory guard."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stv_cli import (
    DifferentialResonance,
    InterpolationMethod,
    SpectralWindow,
    ZSpaceVolume,
    use_backend,
)
from stv_cli.errors import (
    DataLength,
    EmptyInput,
    InvalidDimensions,
    InvalidValue,
    NonFiniteValue,
    ShapeMismatch,
)
from stv_cli.model.memory import memory_limit, set_memory_limit
from tests.tolerances import ATOL, BACKENDS


@pytest.fixture
def memory_limit_reset():
    yield
    set_memory_limit(None)


def random_volume(rng, shape=(4, 5, 6, 1)) -> ZSpaceVolume:
    return ZSpaceVolume(rng.standard_normal(shape).astype(np.float32))


# --------------------------------------------------------------------------- construction


def test_from_slices_stacks_2d_and_3d_slices_into_float32_dhwc():
    v = ZSpaceVolume.from_slices([np.zeros((2, 3), np.uint8), np.full((2, 3), 7, np.uint8)])
    assert v.shape == (2, 2, 3, 1) and v.voxels.dtype == np.float32
    assert v.voxels.flags.c_contiguous
    assert v.slice(1)[0, 0, 0] == np.float32(7) / np.float32(255)  # 8-bit pixels: / 255
    rgb = ZSpaceVolume.from_slices([np.ones((2, 3, 3)), np.zeros((2, 3, 3))])
    assert (rgb.depth, rgb.height, rgb.width, rgb.channels) == (2, 2, 3, 3)


def test_from_slices_scales_pixels_as_the_cli_reads_image_files(tmp_path):
    from PIL import Image

    from stv_cli.io.images import load_volume

    rng = np.random.default_rng(3)
    folder = tmp_path / "stack"
    folder.mkdir()
    slices8 = [rng.integers(0, 256, (4, 5, 3), dtype=np.uint8) for _ in range(3)]
    for z, pixels in enumerate(slices8):
        Image.fromarray(pixels).save(folder / f"z{z}.png")
    # what `stv project` builds from the files, bit for bit
    np.testing.assert_array_equal(ZSpaceVolume.from_slices(slices8).voxels, load_volume(folder))
    deep = ZSpaceVolume.from_slices(
        [np.full((2, 2), 65535, np.uint16), np.zeros((2, 2), np.uint16)]
    )
    assert deep.voxels.max() == 1.0 and deep.voxels.min() == 0.0
    # everything else is kept as it is: floats, bool and other integers (the SPEC vectors)
    kept = ZSpaceVolume.from_slices([np.array([[0, 1], [2, 3]]), np.full((2, 2), 2.5)])
    assert kept.voxels[:, :, :, 0].tolist() == [[[0, 1], [2, 3]], [[2.5, 2.5], [2.5, 2.5]]]
    assert ZSpaceVolume.from_slices([np.ones((1, 1), bool)]).voxels.item() == 1.0


def test_from_slices_rejects_empty_list():
    with pytest.raises(EmptyInput, match="z_space_volume_slices.*got 0"):
        ZSpaceVolume.from_slices([])


def test_from_slices_shape_mismatch_names_index_and_both_shapes():
    slices = [np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((3, 2))]
    with pytest.raises(
        ShapeMismatch, match=r"slice 2 has shape \(3, 2\).*slice 0 has shape \(2, 2\)"
    ):
        ZSpaceVolume.from_slices(slices)


def test_from_slices_rejects_slices_that_are_not_images():
    with pytest.raises(InvalidDimensions, match=r"slice 0 must be an \(H, W\).*got shape \(4,\)"):
        ZSpaceVolume.from_slices([np.zeros(4)])


def test_constructor_adopts_float32_contiguous_arrays_without_copying():
    a = np.zeros((2, 3, 4), dtype=np.float32)
    v = ZSpaceVolume(a)
    assert v.shape == (2, 3, 4, 1)
    assert np.shares_memory(v.voxels, a)
    assert not np.shares_memory(ZSpaceVolume(a, copy=True).voxels, a)


def test_constructor_accepts_a_volume_sharing_or_copying_its_voxels():
    v = ZSpaceVolume.zeros(2, 2, 2)
    assert np.shares_memory(ZSpaceVolume(v).voxels, v.voxels)
    assert not np.shares_memory(ZSpaceVolume(v, copy=True).voxels, v.voxels)


def test_constructor_converts_other_dtypes_and_non_contiguous_input_once():
    a = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    v = ZSpaceVolume(a[:, :, ::2])
    assert v.voxels.dtype == np.float32 and v.voxels.flags.c_contiguous
    np.testing.assert_array_equal(v.voxels[..., 0], a[:, :, ::2])


@pytest.mark.parametrize("shape", [(0, 2, 2), (2, 0, 2, 1), (2, 2, 2, 0)])
def test_constructor_rejects_zero_dimensions(shape):
    with pytest.raises(InvalidDimensions, match=r"must all be >= 1, got \("):
        ZSpaceVolume(np.zeros(shape, np.float32))


def test_constructor_rejects_wrong_rank():
    with pytest.raises(InvalidDimensions, match=r"got shape \(2, 2\)"):
        ZSpaceVolume(np.zeros((2, 2)))


@pytest.mark.parametrize("dims", [(0, 1, 1), (1, 0, 1), (1, 1, 0), (1, 1, 1, 0), (-1, 2, 2)])
def test_zeros_rejects_zero_or_negative_dimensions_naming_them(dims):
    with pytest.raises(InvalidDimensions, match=r"integers >= 1, got \("):
        ZSpaceVolume.zeros(*dims)


def test_from_voxels_flat_buffer_with_shape_and_its_errors():
    v = ZSpaceVolume.from_voxels(np.arange(8), (2, 2, 2))
    assert v.slice(1).reshape(-1).tolist() == [4, 5, 6, 7]
    with pytest.raises(DataLength, match=r"shape \(2, 2, 2\) needs 8 values, got 7"):
        ZSpaceVolume.from_voxels(np.arange(7), (2, 2, 2))
    with pytest.raises(InvalidDimensions, match=r"got \(0, 2, 2\)"):
        ZSpaceVolume.from_voxels(np.arange(0), (0, 2, 2))
    # negative sizes whose product matches the buffer were left to numpy's reshape, which
    # raised its own message (or, for one -1, guessed a size)
    with pytest.raises(InvalidDimensions, match=r"all >= 1, got \(-1, 2, -2\)"):
        ZSpaceVolume.from_voxels(np.arange(4), (-1, 2, -2))


@pytest.mark.parametrize("z", [2, -1, 1.0])
def test_slice_index_out_of_range_is_invalid_value(z):
    with pytest.raises(
        InvalidValue, match=rf"z_slice_index must be an integer in \[0, 2\), got {z}"
    ):
        ZSpaceVolume.zeros(2, 1, 1).slice(z)


def test_slice_is_a_view_and_equality_compares_voxels():
    v = ZSpaceVolume.zeros(2, 2, 2)
    assert np.shares_memory(v.slice(0), v.voxels)
    assert v == ZSpaceVolume.zeros(2, 2, 2)
    assert v != ZSpaceVolume.zeros(2, 2, 2, 3)
    assert v.voxel_count == 8 and v.nbytes == 32


# --------------------------------------------------------------------------- collapse


@pytest.mark.parametrize("backend_name", BACKENDS)
@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 6),
    st.lists(st.floats(-4, 4, width=32), min_size=6, max_size=6),
    st.floats(-3, 3, width=32),
    st.integers(0, 2**31 - 1),
)
def test_collapse_is_linear_in_the_weights(backend_name, depth, raw_a, scale, seed):
    rng = np.random.default_rng(seed)
    v = random_volume(rng, (depth, 3, 4, 2))
    a = np.array(raw_a[:depth], np.float32)
    b = rng.standard_normal(depth).astype(np.float32)
    with use_backend(backend_name):
        lhs = v.collapse_with_weights(a + np.float32(scale) * b)
        rhs = v.collapse_with_weights(a) + np.float32(scale) * v.collapse_with_weights(b)
    np.testing.assert_allclose(lhs, rhs, atol=1e-4, rtol=1e-4)


def test_collapse_uses_the_same_weights_for_every_channel(backend, rng):
    v = random_volume(rng, (5, 3, 4, 3))
    w = rng.random(5).astype(np.float32)
    out = v.collapse_with_weights(w)
    assert out.shape == (3, 4, 3) and out.dtype == np.float32
    for c in range(3):
        grey = ZSpaceVolume(np.ascontiguousarray(v.voxels[..., c]))
        np.testing.assert_allclose(out[..., c], grey.collapse_with_weights(w)[..., 0], atol=ATOL)


def test_collapse_accepts_negative_weights_and_a_1xD_tensor(backend):
    v = ZSpaceVolume(np.array([1, 2], np.float32).reshape(2, 1, 1))
    np.testing.assert_allclose(v.collapse_with_weights([[-1.0, 1.0]]), [[[1.0]]])


def test_collapse_into_out(backend):
    v = ZSpaceVolume(np.ones((2, 2, 2, 1), np.float32))
    out = np.empty((2, 2, 1), np.float32)
    result = v.collapse_with_weights([0.5, 0.5], out=out)
    np.testing.assert_array_equal(out, np.ones((2, 2, 1)))
    assert result is out


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_collapse_rejects_non_finite_weights(backend, bad):
    with pytest.raises(NonFiniteValue, match=rf"z_space_weight must be finite, got {bad}"):
        ZSpaceVolume.zeros(2, 1, 1).collapse_with_weights([1.0, bad])


def test_collapse_rejects_wrong_length(backend):
    with pytest.raises(DataLength, match=r"one weight per slice \(D = 3\), got 4"):
        ZSpaceVolume.zeros(3, 1, 1).collapse_with_weights([1, 1, 1, 1])


def test_project_resonance_uniform_is_the_mean(backend, rng):
    v = random_volume(rng, (4, 2, 3, 3))
    got = v.project_resonance(DifferentialResonance.uniform())
    np.testing.assert_allclose(got, v.voxels.mean(axis=0), atol=1e-5)


# --------------------------------------------------------------------------- refine


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4), st.integers(1, 5), st.integers(1, 5), st.integers(0, 1000))
def test_upscale_factor_one_and_one_slice_interpolation_are_identities(d, h, w, seed):
    v = random_volume(np.random.default_rng(seed), (d, h, w, 2))
    assert v.upscale(1) == v
    assert ZSpaceVolume(v.voxels[:1].copy()).interpolate("cubic") == ZSpaceVolume(v.voxels[:1])


@pytest.mark.parametrize("factor", [0, -2, 1.5, True])
def test_upscale_rejects_bad_factor_naming_z_upscale_factor(factor):
    with pytest.raises(
        InvalidValue, match=rf"z_upscale_factor must be an integer >= 1, got {factor}"
    ):
        ZSpaceVolume.zeros(1, 2, 2).upscale(factor)


def test_upscale_keeps_corners_and_channels(backend, rng):
    v = random_volume(rng, (2, 3, 4, 3))
    up = v.upscale(3)
    assert up.shape == (2, 9, 12, 3)
    for y, x, yo, xo in [(0, 0, 0, 0), (2, 3, 8, 11), (0, 3, 0, 11), (2, 0, 8, 0)]:
        np.testing.assert_allclose(up.voxels[:, yo, xo], v.voxels[:, y, x], atol=ATOL)


@pytest.mark.parametrize("method", list(InterpolationMethod) + ["Linear", "cubic"])
def test_interpolate_keeps_the_original_slices_at_even_indices(backend, rng, method):
    v = random_volume(rng, (4, 3, 2, 3))
    out = v.interpolate(method)
    assert out.shape == (7, 3, 2, 3)
    np.testing.assert_array_equal(out.voxels[0::2], v.voxels)


def test_interpolate_passes_d8(backend, rng):
    v = random_volume(rng, (3, 2, 2, 1))
    twice = v.interpolate("linear", passes=2)
    assert twice.depth == 2**2 * (3 - 1) + 1
    assert twice == v.interpolate("linear").interpolate("linear")
    assert v.interpolate("linear", passes=0) == v


def test_interpolate_rejects_unknown_method_and_negative_passes():
    v = ZSpaceVolume.zeros(2, 1, 1)
    with pytest.raises(InvalidValue, match=r"interpolation method must be one of .*got 'spline'"):
        v.interpolate("spline")
    with pytest.raises(InvalidValue, match="interpolation passes must be an integer >= 0, got -1"):
        v.interpolate("linear", passes=-1)


def test_memory_guard_rejects_oversized_upscale_naming_estimate_and_limit(memory_limit_reset):
    set_memory_limit(300)
    assert memory_limit() == 300
    v = ZSpaceVolume.zeros(2, 4, 4)
    with pytest.raises(InvalidDimensions, match=r"upscale output.*512 bytes.*limit of .*300 bytes"):
        v.upscale(2)
    with pytest.raises(InvalidDimensions, match=r"interpolation output.*needs an estimated"):
        ZSpaceVolume.zeros(4, 4, 4).interpolate("linear")
    set_memory_limit(None)
    assert memory_limit() is None or memory_limit() > 300
    assert v.upscale(2).shape == (2, 8, 8, 1)


# --------------------------------------------------------------------------- statistics


def test_statistics_run_over_all_channels_d1(backend):
    rgb = ZSpaceVolume(np.array([[[[0, 1, 2], [3, 4, 5]]]], np.float32))
    p = rgb.profile()
    flat = np.arange(6, dtype=np.float64)
    np.testing.assert_allclose(p.means, [flat.mean()], atol=ATOL)
    np.testing.assert_allclose(p.stds, [flat.std()], atol=ATOL)
    np.testing.assert_allclose(p.energies, [(flat**2).mean()], atol=1e-5)
    assert rgb.total_energy() == pytest.approx((flat**2).mean(), abs=1e-5)
    window = SpectralWindow.hann()
    np.testing.assert_allclose(rgb.spectral_response(window), [np.abs(flat).mean()], atol=ATOL)


def test_spectral_response_is_mean_abs_times_window(backend):
    v = ZSpaceVolume(np.array([[-1, 1], [2, -2], [3, 3]], np.float32).reshape(3, 1, 2))
    np.testing.assert_allclose(v.spectral_response(SpectralWindow.hann()), [0, 2, 0], atol=ATOL)
    rect = v.spectral_response(SpectralWindow.rectangular())
    np.testing.assert_allclose(rect, [1 / 3, 2 / 3, 1], atol=ATOL)


def test_one_pass_and_two_pass_std_differ_for_large_means(backend):
    values = np.float32(1e4) + np.array([0, 1, 0, 1], np.float32)
    v = ZSpaceVolume(values.reshape(1, 2, 2))
    assert v.profile().stds[0] == pytest.approx(0.5, abs=1e-3)
    assert v.slice_profile().means[0] == pytest.approx(10000.5)


def test_empty_slices_from_slices_give_zero_profile_but_slice_profile_rejects(backend):
    v = ZSpaceVolume.from_slices([np.zeros((0, 3))])
    assert v.profile().means.tolist() == [0.0]
    assert v.spectral_response(SpectralWindow.hann()).size == 0
    assert v.total_energy() == 0.0
    with pytest.raises(InvalidDimensions, match="slice_profile needs non-empty slices, got H = 0"):
        v.slice_profile()
    assert v.upscale(2) == v and v.interpolate("linear") == v


# --------------------------------------------------------------------------- EMA and blend


@pytest.mark.parametrize("alpha", [-0.1, 1.5, np.nan, np.inf])
def test_accumulate_rejects_bad_alpha_naming_temporal_alpha_and_leaves_state(alpha):
    v = ZSpaceVolume(np.ones((1, 1, 2), np.float32))
    with pytest.raises(
        InvalidValue, match=rf"temporal_alpha must be finite and in \[0, 1\], got {alpha}"
    ):
        v.accumulate(ZSpaceVolume.zeros(1, 1, 2), alpha)
    assert v.voxels.ravel().tolist() == [1.0, 1.0]


def test_accumulate_shape_mismatch_names_both_shapes_including_channels():
    with pytest.raises(ShapeMismatch, match=r"\(1, 1, 2, 1\) and \(1, 1, 2, 3\)"):
        ZSpaceVolume.zeros(1, 1, 2).accumulate(ZSpaceVolume.zeros(1, 1, 2, 3), 0.5)


def test_accumulate_with_itself_and_alpha_edges(rng):
    v = random_volume(rng, (2, 2, 2, 3))
    before = v.voxels.copy()
    v.accumulate(v, 0.3)
    np.testing.assert_allclose(v.voxels, before, atol=ATOL)
    nxt = random_volume(rng, (2, 2, 2, 3))
    assert v.accumulated(nxt, 1.0) == nxt
    assert v.accumulated(nxt, 0.0) == v


def test_blend_sequence_rejections_name_parameter_and_value():
    a, b = ZSpaceVolume.zeros(1, 1, 2), ZSpaceVolume.zeros(1, 2, 1)
    with pytest.raises(EmptyInput, match="z_space_sequence"):
        ZSpaceVolume.blend_sequence([], [])
    with pytest.raises(DataLength, match=r"one weight per volume \(2\), got 1"):
        ZSpaceVolume.blend_sequence([a, a], [1.0])
    with pytest.raises(
        ShapeMismatch, match=r"volume 1 of z_space_sequence has shape \(1, 2, 1, 1\)"
    ):
        ZSpaceVolume.blend_sequence([a, b], [1.0, 1.0])
    with pytest.raises(NonFiniteValue, match="temporal_weight must be finite, got inf at index 0"):
        ZSpaceVolume.blend_sequence([a, a], [np.inf, 1.0])
    with pytest.raises(InvalidValue, match=r"positive total, got -1\.0"):
        ZSpaceVolume.blend_sequence([a, a], [1.0, -2.0])
    # a bare array is not a volume, even with the right shape
    with pytest.raises(ShapeMismatch, match=r"volume 1 of z_space_sequence"):
        ZSpaceVolume.blend_sequence([a, a.voxels.copy()], [1.0, 1.0])
    with pytest.raises(ShapeMismatch, match=r"volume 0 of z_space_sequence has shape \(1, 2\)"):
        ZSpaceVolume.blend_sequence([np.zeros((1, 2)), a], [1.0, 1.0])


def test_blend_sequence_of_identical_volumes_is_that_volume(backend, rng):
    v = random_volume(rng, (2, 3, 3, 3))
    out = ZSpaceVolume.blend_sequence([v, v, v], [0.2, 0.5, 0.3])
    np.testing.assert_allclose(out.voxels, v.voxels, atol=1e-5)


def test_nan_and_inf_voxels_stay_local_in_collapse_interpolate_and_upscale(backend):
    data = np.ones((2, 3, 3, 1), np.float32)
    data[0, 1, 1, 0] = np.nan
    data[1, 0, 0, 0] = np.inf
    v = ZSpaceVolume(data)
    out = v.collapse_with_weights([0.5, 0.5])
    assert np.isnan(out[1, 1, 0]) and np.isinf(out[0, 0, 0])
    assert np.isfinite(np.delete(out.reshape(-1), [0, 4])).all()
    mid = v.interpolate("linear").voxels[1]
    assert np.isnan(mid[1, 1, 0]) and np.isinf(mid[0, 0, 0]) and mid[2, 2, 0] == 1.0
    up = v.upscale(2).voxels
    assert up[0, 5, 5, 0] == 1.0 and np.isnan(up[0, 2, 2, 0])


def test_alpha_is_judged_as_float32():
    # 1 + 1e-12 is exactly 1.0 as the reference's f32 (accepted); 1e39 is inf (rejected)
    v = ZSpaceVolume(np.ones((1, 1, 2), np.float32))
    v.accumulate(ZSpaceVolume.zeros(1, 1, 2), 1.0 + 1e-12)
    assert v.voxels.ravel().tolist() == [0.0, 0.0]
    with pytest.raises(InvalidValue, match="temporal_alpha must be finite"):
        v.accumulate(ZSpaceVolume.zeros(1, 1, 2), 1e39)


def test_the_memory_guard_has_one_home_and_the_top_level_shares_it():
    import stv_cli
    from stv_cli.model import memory

    assert stv_cli.set_memory_limit is memory.set_memory_limit
    assert stv_cli.memory_limit is memory.memory_limit
    try:
        stv_cli.set_memory_limit(123)
        assert memory.memory_limit() == 123
    finally:
        stv_cli.set_memory_limit(None)
