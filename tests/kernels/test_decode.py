"""The decoder's random stream and both decode kernels (SPEC A.6, D7)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stv_kernels import chacha
from stv_kernels.cpu import decode
from stv_kernels.reference import decode as decode_reference
from tests.tolerances import ATOL

#: The reference RNG library's value-stability check (SPEC A.6).
CHECK_KEY = bytes([1, 0, 0, 0, 23, 0, 0, 0, 200, 1, 0, 0, 210, 30, 0, 0] + [0] * 16)
CHECK_FIRST_U64 = 10719222850664546238

KERNELS = {"numpy": decode_reference.decode_latent, "cpu": decode.decode_latent}


# --------------------------------------------------------------------------- the stream


def test_stream_reproduces_the_published_check_value():
    words = chacha.stream_words(chacha.key_words_from_bytes(CHECK_KEY), 0, 2)
    assert int(words[0]) | (int(words[1]) << 32) == CHECK_FIRST_U64


def test_stream_continues_by_words_into_a_second_generator():
    # The same value-stability test of the reference's RNG library goes on: a second generator
    # is seeded from the first one's next 32 bytes (words 2..9, after the u64 above), and its
    # first u64 is 14064965282130556830. This checks that the stream advances one u32 word per
    # draw and that key bytes are read little-endian.
    words = chacha.stream_words(chacha.key_words_from_bytes(CHECK_KEY), 0, 10)
    second_key = chacha.key_words_from_bytes(words[2:10].astype("<u4").tobytes())
    first = chacha.stream_words(second_key, 0, 2)
    assert int(first[0]) | (int(first[1]) << 32) == 14064965282130556830


def test_pcg32_key_of_seed_zero_by_hand():
    # seed 0: the state advances first, to the increment itself
    state = 11634580027462260723
    xorshifted = (((state >> 18) ^ state) >> 27) & 0xFFFFFFFF
    rot = state >> 59
    first = ((xorshifted >> rot) | (xorshifted << (32 - rot))) & 0xFFFFFFFF
    key = chacha.key_words_from_seed(0)
    assert key.dtype == np.uint32 and key.shape == (8,)
    assert int(key[0]) == first
    assert len(set(key.tolist())) == 8


def test_seed_changes_key_and_out_of_range_seed_is_rejected():
    assert not np.array_equal(chacha.key_words_from_seed(1), chacha.key_words_from_seed(2))
    assert chacha.key_words_from_seed(2**64 - 1).shape == (8,)
    with pytest.raises(ValueError, match="seed"):
        chacha.key_words_from_seed(2**64)
    with pytest.raises(ValueError, match="seed"):
        chacha.key_words_from_seed(-1)


def test_stream_is_random_access():
    key = chacha.key_words_from_seed(5)
    whole = chacha.stream_words(key, 0, 200)
    for start, count in [(0, 16), (15, 2), (16, 16), (37, 100), (199, 1)]:
        np.testing.assert_array_equal(chacha.stream_words(key, start, count), whole[start:][:count])


def test_block_counter_uses_both_counter_words():
    key = chacha.key_words_from_seed(9)
    below, above = chacha.chacha12_blocks(key, 2**32 - 1, 2)
    assert not np.array_equal(below, above)
    np.testing.assert_array_equal(chacha.chacha12_blocks(key, 2**32, 1)[0], above)


def test_draw_mapping_by_hand():
    words = np.array([0, 0x1FF, 0x80000000, 0xFFFFFFFF, 0x200], dtype=np.uint32)
    expected = np.array([-1.0, -1.0, 0.0, 1.0 - 2.0**-22, -1.0 + 2.0**-22], dtype=np.float32)
    np.testing.assert_array_equal(chacha.words_to_uniform(words), expected)


# --------------------------------------------------------------------------- decode


@pytest.mark.parametrize("kernel", KERNELS)
def test_one_feature_decode_by_hand(kernel):
    # F = 1, latent [1]: voxel u = tanh(U_u), with U from the check stream's first words
    key = chacha.key_words_from_bytes(CHECK_KEY)
    low, high = CHECK_FIRST_U64 & 0xFFFFFFFF, CHECK_FIRST_U64 >> 32
    draws = [(low >> 9) * 2.0**-22 - 1.0, (high >> 9) * 2.0**-22 - 1.0]
    out = KERNELS[kernel](key, 0, np.array([1.0], np.float32), 1, 1, 2)
    assert out.shape == (1, 1, 2, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out.ravel(), np.tanh(draws), atol=ATOL)


@pytest.mark.parametrize("kernel", KERNELS)
def test_two_feature_decode_sums_in_order_and_divides_by_f(kernel):
    key = chacha.key_words_from_seed(3)
    u = chacha.words_to_uniform(chacha.stream_words(key, 4, 6)).reshape(3, 2)
    latent = np.array([0.5, -2.0], np.float32)
    expected = np.tanh((np.float32(0.0) + latent[0] * u[:, 0] + latent[1] * u[:, 1]) / 2)
    out = KERNELS[kernel](key, 4, latent, 1, 3, 1)
    np.testing.assert_allclose(out.ravel(), expected, atol=ATOL)


SHAPES = [
    (1, 1, 1, 1, 0),  # one draw
    (2, 3, 5, 7, 3),  # F and W*F not multiples of 16, unaligned start
    (3, 4, 9, 64, 5),
    (2, 2, 33, 3, 17),
    (1, 2, 40, 100, 1000),  # runs of voxels split mid-row
    (4, 1, 1, 16, 16),  # width 1, block aligned
]


@pytest.mark.parametrize("shape", SHAPES)
def test_numba_kernel_matches_reference(shape):
    d, h, w, f, start = shape
    latent = np.random.default_rng(f).standard_normal(f).astype(np.float32)
    key = chacha.key_words_from_seed(42)
    got = decode.decode_latent(key, start, latent, d, h, w)
    want = decode_reference.decode_latent(key, start, latent, d, h, w)
    assert got.shape == (d, h, w, 1)
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)


def test_kernels_agree_where_the_block_counter_crosses_2_pow_32():
    # draws around block 2**32: the high counter word (word 13) starts to count
    start = 16 * (2**32 - 3) + 5
    latent = np.array([0.5, -1.0, 2.0], np.float32)
    key = chacha.key_words_from_seed(77)
    got = decode.decode_latent(key, start, latent, 1, 2, 20)
    want = decode_reference.decode_latent(key, start, latent, 1, 2, 20)
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)


@settings(max_examples=25, deadline=None)
@given(
    d=st.integers(1, 3),
    h=st.integers(1, 4),
    w=st.integers(1, 40),
    f=st.integers(1, 70),
    start=st.integers(0, 10_000),
    seed=st.integers(0, 2**64 - 1),
)
def test_numba_kernel_matches_reference_property(d, h, w, f, start, seed):
    latent = np.linspace(-3, 2, f, dtype=np.float32)
    key = chacha.key_words_from_seed(seed)
    got = decode.decode_latent(key, start, latent, d, h, w)
    want = decode_reference.decode_latent(key, start, latent, d, h, w)
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)


@pytest.mark.parametrize("kernel", KERNELS)
def test_voxel_u_uses_draws_from_start_plus_u_times_f(kernel):
    key = chacha.key_words_from_seed(11)
    latent = np.array([0.3, -0.7, 1.1], np.float32)
    fn = KERNELS[kernel]
    volume = fn(key, 10, latent, 2, 2, 3).ravel()
    for u in range(volume.size):
        single = fn(key, 10 + 3 * u, latent, 1, 1, 1)
        assert single[0, 0, 0, 0] == volume[u]


@pytest.mark.parametrize("kernel", KERNELS)
def test_decoding_in_two_parts_equals_decoding_once(kernel):
    # depth-major: the second half of a depth-4 volume continues the stream of the first
    key = chacha.key_words_from_seed(8)
    latent = np.array([1.0, 0.25, -0.5, 2.0, 0.1], np.float32)
    fn = KERNELS[kernel]
    whole = fn(key, 0, latent, 4, 3, 3)
    first = fn(key, 0, latent, 2, 3, 3)
    second = fn(key, 2 * 3 * 3 * 5, latent, 2, 3, 3)
    np.testing.assert_array_equal(np.concatenate([first, second]), whole)


def test_out_argument_is_filled_and_returned():
    key = chacha.key_words_from_seed(1)
    latent = np.ones(4, np.float32)
    out = np.full((2, 2, 2, 1), np.nan, np.float32)
    assert decode.decode_latent(key, 0, latent, 2, 2, 2, out=out) is out
    assert np.isfinite(out).all()


@pytest.mark.parametrize("kernel", KERNELS)
def test_bad_arguments_are_rejected(kernel):
    fn = KERNELS[kernel]
    key = chacha.key_words_from_seed(1)
    latent = np.ones(3, np.float32)
    with pytest.raises(ValueError, match="latent"):
        fn(key, 0, np.ones((2, 3), np.float32), 1, 1, 1)
    with pytest.raises(ValueError, match="latent"):
        fn(key, 0, np.ones(0, np.float32), 1, 1, 1)
    with pytest.raises(ValueError, match="key_words"):
        fn(key[:4], 0, latent, 1, 1, 1)
    with pytest.raises(ValueError, match="depth, height and width"):
        fn(key, 0, latent, 0, 1, 1)
    with pytest.raises(ValueError, match="start_draw"):
        fn(key, -1, latent, 1, 1, 1)
    with pytest.raises(ValueError, match="out"):
        fn(key, 0, latent, 1, 1, 2, out=np.empty((1, 1, 3, 1), np.float32))


_CHILD = textwrap.dedent(
    """
    import sys
    import numba
    import numpy as np
    from stv_kernels import chacha
    from stv_kernels.cpu import decode
    latent = np.linspace(-1, 1, 37, dtype=np.float32)
    out = decode.decode_latent(chacha.key_words_from_seed(2024), 5, latent, 3, 17, 29)
    np.save(sys.argv[1], out)
    print(numba.get_num_threads())
    """
)


def test_decode_is_bitwise_identical_with_one_thread(tmp_path):
    path = tmp_path / "one_thread.npy"
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "1"
    one_thread = np.load(path)
    latent = np.linspace(-1, 1, 37, dtype=np.float32)
    all_threads = decode.decode_latent(chacha.key_words_from_seed(2024), 5, latent, 3, 17, 29)
    assert one_thread.tobytes() == all_threads.tobytes()
