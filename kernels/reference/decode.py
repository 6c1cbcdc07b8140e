"""NumPy reference of the latent decoder (SPEC A.6, D7): the oracle for the numba kernel.

Sequential and plain: the stream is generated in chunks of voxels, and each voxel's features are
accumulated in k order in float32, exactly as the reference's loop does.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_decode_args
from ..chacha import stream_words, words_to_uniform

F32 = np.float32

#: Voxels per chunk, so the reference never holds the whole stream of a large volume.
_CHUNK_VOXELS = 1 << 16


def decode_latent(key_words, start_draw, latent, depth, height, width, out=None):
    """Decode ``latent`` into a (D, H, W, 1) float32 volume with the stream at ``start_draw``.

    Voxel ``u`` (depth-major) is ``tanh(acc / F)`` with ``acc = sum_k latent[k] * U[u, k]`` in
    k order, and ``U[u, k]`` the draw number ``start_draw + u * F + k`` of the stream.

    Parameters
    ----------
    key_words : array_like of 8 uint32
        The ChaCha key (see :func:`stv_kernels.chacha.key_words_from_seed`).
    start_draw : int
        Stream position (in draws, i.e. u32 words) of the first draw of voxel 0.
    latent : array_like, shape (F,)
        The latent features, F >= 1.
    depth, height, width : int
        Size of the output volume.
    out : ndarray, optional
        C-contiguous float32 (D, H, W, 1) array to write into.

    Returns
    -------
    ndarray
        ``out``, filled. The stream advances by ``D * H * W * F`` draws.
    """
    key_words, start_draw, latent, out = check_decode_args(
        key_words, start_draw, latent, depth, height, width, out
    )
    n_features = latent.size
    flat = out.reshape(-1)
    n_features_f32 = F32(n_features)
    for first in range(0, flat.size, _CHUNK_VOXELS):
        n = min(_CHUNK_VOXELS, flat.size - first)
        words = stream_words(key_words, start_draw + first * n_features, n * n_features)
        draws = words_to_uniform(words).reshape(n, n_features)
        acc = np.zeros(n, dtype=F32)
        for k in range(n_features):
            acc = acc + latent[k] * draws[:, k]
        flat[first : first + n] = np.tanh(acc / n_features_f32)
    return out
