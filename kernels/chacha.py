"""The decoder's random stream: ChaCha12 keyed from a u64 seed through PCG32 (SPEC A.6, D7).

This is the stream of the reference's ``StdRng::seed_from_u64``, bit for bit:

* the 32-byte key is 8 PCG32 outputs, each serialised little-endian (:func:`key_words_from_seed`);
* ChaCha with 12 rounds in djb's layout: 4 constant words, 8 key words, a 64-bit block counter
  in words 12 (low) and 13 (high) starting at 0, and a zero nonce in words 14 and 15;
* the stream is the blocks' 16 output words, in order, and one draw consumes one u32 word.

ChaCha is counter based, so word ``i`` of the stream is word ``i % 16`` of block ``i // 16``
and any range of the stream can be computed without the words before it. NumPy only: both
decode backends share the key derivation and the word-to-float mapping from here.
"""

from __future__ import annotations

import numpy as np

U32 = np.uint32
MASK32 = 0xFFFFFFFF
MASK64 = 0xFFFFFFFFFFFFFFFF

#: "expand 32-byte k" as four little-endian words.
CHACHA_CONSTANTS = np.array([0x61707865, 0x3320646E, 0x79622D32, 0x6B206574], dtype=U32)
#: StdRng is ChaCha12: 12 rounds, i.e. 6 double rounds.
CHACHA_DOUBLE_ROUNDS = 6
WORDS_PER_BLOCK = 16

_PCG_MULTIPLIER = 6364136223846793005
_PCG_INCREMENT = 11634580027462260723


def pcg32_outputs(seed: int, count: int) -> list[int]:
    """``count`` outputs of the PCG32 variant ``seed_from_u64`` uses (SPEC A.6).

    The state advances before each output (so a seed of 0 still gives a busy key).
    """
    state = int(seed) & MASK64
    outputs = []
    for _ in range(count):
        state = (state * _PCG_MULTIPLIER + _PCG_INCREMENT) & MASK64
        xorshifted = (((state >> 18) ^ state) >> 27) & MASK32
        rot = state >> 59
        outputs.append(((xorshifted >> rot) | (xorshifted << ((32 - rot) & 31))) & MASK32)
    return outputs


def key_words_from_seed(seed: int) -> np.ndarray:
    """The 8 ChaCha key words (uint32) of ``StdRng::seed_from_u64(seed)``.

    Each PCG32 output is written little-endian into the key bytes and the key is read back as
    little-endian words, so the key words are the PCG32 outputs themselves.
    """
    seed = int(seed)
    if not 0 <= seed <= MASK64:
        raise ValueError(f"seed must be an unsigned 64-bit integer, got {seed}")
    return np.array(pcg32_outputs(seed, 8), dtype=U32)


def key_words_from_bytes(key: bytes) -> np.ndarray:
    """The 8 key words of a raw 32-byte key (``StdRng::from_seed``), little-endian."""
    key = bytes(key)
    if len(key) != 32:
        raise ValueError(f"a ChaCha key has 32 bytes, got {len(key)}")
    return np.frombuffer(key, dtype="<u4").astype(U32)


def _rotl(v: np.ndarray, n: int) -> np.ndarray:
    return (v << U32(n)) | (v >> U32(32 - n))


def _quarter_round(x: np.ndarray, a: int, b: int, c: int, d: int) -> None:
    # numpy uint32 arithmetic wraps modulo 2^32, which is exactly ChaCha's addition
    x[a] += x[b]
    x[d] = _rotl(x[d] ^ x[a], 16)
    x[c] += x[d]
    x[b] = _rotl(x[b] ^ x[c], 12)
    x[a] += x[b]
    x[d] = _rotl(x[d] ^ x[a], 8)
    x[c] += x[d]
    x[b] = _rotl(x[b] ^ x[c], 7)


def chacha12_blocks(key_words: np.ndarray, first_block: int, n_blocks: int) -> np.ndarray:
    """Blocks ``first_block .. first_block + n_blocks - 1`` of the stream, as (n, 16) uint32.

    Vectorised over blocks: row ``j`` of the state holds word ``j`` of every block.
    """
    key_words = np.asarray(key_words, dtype=U32)
    if key_words.shape != (8,):
        raise ValueError(f"key_words must be 8 uint32 words, got shape {key_words.shape}")
    counters = np.arange(n_blocks, dtype=np.uint64) + np.uint64(first_block)
    state = np.empty((16, n_blocks), dtype=U32)
    state[0:4] = CHACHA_CONSTANTS[:, None]
    state[4:12] = key_words[:, None]
    state[12] = (counters & np.uint64(MASK32)).astype(U32)
    state[13] = (counters >> np.uint64(32)).astype(U32)
    state[14:16] = 0
    x = state.copy()
    with np.errstate(over="ignore"):
        for _ in range(CHACHA_DOUBLE_ROUNDS):
            # column round
            _quarter_round(x, 0, 4, 8, 12)
            _quarter_round(x, 1, 5, 9, 13)
            _quarter_round(x, 2, 6, 10, 14)
            _quarter_round(x, 3, 7, 11, 15)
            # diagonal round
            _quarter_round(x, 0, 5, 10, 15)
            _quarter_round(x, 1, 6, 11, 12)
            _quarter_round(x, 2, 7, 8, 13)
            _quarter_round(x, 3, 4, 9, 14)
        x += state
    return np.ascontiguousarray(x.T)


def stream_words(key_words: np.ndarray, start: int, count: int) -> np.ndarray:
    """Words ``start .. start + count - 1`` of the stream (uint32, length ``count``)."""
    if count <= 0:
        return np.empty(0, dtype=U32)
    first_block, offset = divmod(int(start), WORDS_PER_BLOCK)
    n_blocks = (offset + count + WORDS_PER_BLOCK - 1) // WORDS_PER_BLOCK
    words = chacha12_blocks(key_words, first_block, n_blocks).reshape(-1)
    return words[offset : offset + count]


def words_to_uniform(words: np.ndarray) -> np.ndarray:
    """Map u32 words to float32 draws in [-1, 1) the way the reference does (SPEC A.6).

    The top 23 bits become the mantissa of a float in [1, 2); then ``(f - 1) * 2 + (-1)``.
    Every step is exact, so the draw equals ``(x >> 9) * 2**-22 - 1``.
    """
    bits = (np.asarray(words, dtype=U32) >> U32(9)) | U32(0x3F800000)
    one_to_two = bits.view(np.float32)
    return (one_to_two - np.float32(1.0)) * np.float32(2.0) + np.float32(-1.0)
