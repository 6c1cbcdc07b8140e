"""ZDecoder: stream semantics, refinement order and latent validation (SPEC A.6, D7)."""

from __future__ import annotations

import numpy as np
import pytest

from stv_cli import (
    EmptyInput,
    InvalidDimensions,
    InvalidValue,
    NonFiniteValue,
    ZDecoder,
    ZDiffuser,
    ZSpaceVolume,
)
from stv_kernels.chacha import key_words_from_seed, stream_words, words_to_uniform
from tests.tolerances import ATOL


def _expected(seed: int, start: int, latent, shape) -> np.ndarray:
    """The decode formula written directly on the stream (float32, k order)."""
    latent = np.asarray(latent, np.float32)
    n = int(np.prod(shape)) * latent.size
    u = words_to_uniform(stream_words(key_words_from_seed(seed), start, n)).reshape(-1, latent.size)
    acc = np.zeros(u.shape[0], np.float32)
    for k in range(latent.size):
        acc = acc + latent[k] * u[:, k]
    return np.tanh(acc / np.float32(latent.size)).reshape(*shape, 1)


def test_decode_follows_the_formula(backend):
    decoder = ZDecoder(2, 3, 4, seed=99)
    latent = [0.5, -1.5, 2.0]
    volume = decoder.decode(latent)
    assert isinstance(volume, ZSpaceVolume) and volume.shape == (2, 3, 4, 1)
    np.testing.assert_allclose(volume.voxels, _expected(99, 0, latent, (2, 3, 4)), atol=ATOL)
    assert decoder.position == 2 * 3 * 4 * 3


def test_same_seed_agrees_and_second_call_continues_the_stream(backend):
    a, b = ZDecoder(1, 2, 5, seed=7), ZDecoder(1, 2, 5, seed=7)
    latent = np.array([1.0, 0.25, -0.75], np.float32)
    first = a.decode(latent)
    assert first == b.decode(latent)
    second = a.decode(latent)
    assert second != first
    # the second volume is the next 30 draws, not a repeat of the first
    np.testing.assert_allclose(second.voxels, _expected(7, 30, latent, (1, 2, 5)), atol=ATOL)
    assert a.position == 60


def test_stream_position_counts_words_when_not_a_multiple_of_16(backend):
    # 1 * 1 * 3 * 5 = 15 draws: the next call starts at word 15, inside the first block
    decoder = ZDecoder(1, 1, 3, seed=4)
    decoder.decode([1, 2, 3, 4, 5])
    assert decoder.position == 15
    tail = decoder.decode([1.0])
    np.testing.assert_allclose(tail.voxels, _expected(4, 15, [1.0], (1, 1, 3)), atol=ATOL)


def test_latent_length_changes_are_allowed_and_advance_by_their_own_count(backend):
    decoder = ZDecoder(1, 1, 2, seed=1)
    decoder.decode([1.0])
    decoder.decode([1.0, 2.0, 3.0])
    assert decoder.position == 2 + 6


def test_different_seeds_differ(backend):
    latent = [1.0, -1.0]
    assert ZDecoder(1, 4, 4, 1).decode(latent) != ZDecoder(1, 4, 4, 2).decode(latent)


def test_decoded_values_lie_in_minus_one_one():
    volume = ZDecoder(2, 8, 8, seed=3).decode(np.full(4, 50.0, np.float32))
    assert np.all(np.abs(volume.voxels) <= 1.0)


def test_refinement_order_is_decode_diffuse_interpolate_upscale(backend):
    latent = [0.5, 1.0]
    diffuser = ZDiffuser(1, 0.5)
    plain = ZDecoder(3, 4, 4, seed=5).decode(latent)
    expected = diffuser.diffuse(plain).interpolate("linear").upscale(2)
    refined = ZDecoder(3, 4, 4, seed=5).decode_with_refinement(
        latent, diffuser=diffuser, interpolation="linear", upscale_factor=2
    )
    assert refined.shape == (5, 8, 8, 1)
    np.testing.assert_allclose(refined.voxels, expected.voxels, atol=ATOL)


@pytest.mark.parametrize("factor", [None, 0, 1])
def test_refinement_ignores_upscale_factor_0_and_1(backend, factor):
    latent = [0.5]
    plain = ZDecoder(1, 2, 3, seed=5).decode(latent)
    refined = ZDecoder(1, 2, 3, seed=5).decode_with_refinement(latent, upscale_factor=factor)
    assert refined == plain


def test_refinement_interpolation_on_depth_one_keeps_depth(backend):
    refined = ZDecoder(1, 2, 2, seed=5).decode_with_refinement([1.0], interpolation="cubic")
    assert refined.shape == (1, 2, 2, 1)


def test_refinement_rejects_bad_options_before_the_stream_advances():
    decoder = ZDecoder(1, 2, 2, seed=5)
    with pytest.raises(InvalidValue, match="z_upscale_factor"):
        decoder.decode_with_refinement([1.0], upscale_factor=-2)
    with pytest.raises(InvalidValue, match="interpolation"):
        decoder.decode_with_refinement([1.0], interpolation="quadratic")
    assert decoder.position == 0


@pytest.mark.parametrize(
    ("latent", "error", "pattern"),
    [
        ([], EmptyInput, r"z_decoder_latent.*at least one feature"),
        ([1.0, np.nan], NonFiniteValue, r"z_decoder_latent.*nan at index 1"),
        ([np.inf], NonFiniteValue, r"z_decoder_latent.*inf at index 0"),
        (np.ones((2, 3)), InvalidDimensions, r"z_decoder_latent.*1-D.*\(2, 3\)"),
        (np.ones((1, 3)), InvalidDimensions, r"z_decoder_latent.*ravel"),
        (2.0, InvalidDimensions, r"z_decoder_latent.*shape \(\)"),
        (["a"], InvalidValue, r"z_decoder_latent"),
    ],
)
def test_bad_latents_name_the_latent_and_leave_the_stream(latent, error, pattern):
    decoder = ZDecoder(1, 1, 1, seed=0)
    with pytest.raises(error, match=pattern):
        decoder.decode(latent)
    assert decoder.position == 0


def test_bad_construction():
    with pytest.raises(InvalidDimensions, match="depth"):
        ZDecoder(0, 1, 1, 0)
    with pytest.raises(InvalidDimensions, match="width"):
        ZDecoder(1, 1, 2.5, 0)
    with pytest.raises(InvalidValue, match="seed"):
        ZDecoder(1, 1, 1, -1)
    with pytest.raises(InvalidValue, match="seed"):
        ZDecoder(1, 1, 1, 2**64)
    assert ZDecoder(1, 1, 1, 2**64 - 1).seed == 2**64 - 1


def test_memory_guard_refuses_an_oversized_volume():
    from stv_cli.model.memory import use_memory_limit

    decoder = ZDecoder(1, 64, 64, seed=0)
    with use_memory_limit(1024), pytest.raises(InvalidDimensions, match="memory limit"):
        decoder.decode([1.0])
    assert decoder.position == 0
