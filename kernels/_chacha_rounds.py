"""ChaCha12's rounds written once, compiled for the CPU and for the GPU (SPEC A.6, D7).

The decoders of the ``cpu`` and ``cuda`` backends both compute their ChaCha12 blocks from the
same quarter round; :func:`make_double_round` builds the double round for one target from that
one source. Integer arithmetic only: uint32 additions wrap modulo 2^32, the rotations keep the
low 32 bits. Imports only NumPy; the caller brings its target's decorator.
"""

from __future__ import annotations

import numpy as np


def make_double_round(jit, add32):
    """ChaCha's double round (a column round, then a diagonal round) for one target.

    Parameters
    ----------
    jit : decorator
        ``numba.njit(inline="always")`` for the CPU, ``cuda.jit(device=True, inline="always")``
        for a GPU.
    add32 : compiled function
        ``(a + b) mod 2^32`` of two uint32, compiled for the same target.

    Returns
    -------
    function
        ``double_round(state)``: a 16-tuple of uint32 in, the 16-tuple after two rounds out.
    """

    @jit
    def rotl(v, n):
        # numba promotes uint32 shifts to 64 bits; the cast keeps the low 32 bits
        return np.uint32((v << n) | (v >> (32 - n)))

    @jit
    def quarter(a, b, c, d):
        a = add32(a, b)
        d = rotl(d ^ a, 16)
        c = add32(c, d)
        b = rotl(b ^ c, 12)
        a = add32(a, b)
        d = rotl(d ^ a, 8)
        c = add32(c, d)
        b = rotl(b ^ c, 7)
        return a, b, c, d

    @jit
    def double_round(s):
        x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15 = s
        x0, x4, x8, x12 = quarter(x0, x4, x8, x12)
        x1, x5, x9, x13 = quarter(x1, x5, x9, x13)
        x2, x6, x10, x14 = quarter(x2, x6, x10, x14)
        x3, x7, x11, x15 = quarter(x3, x7, x11, x15)
        x0, x5, x10, x15 = quarter(x0, x5, x10, x15)
        x1, x6, x11, x12 = quarter(x1, x6, x11, x12)
        x2, x7, x8, x13 = quarter(x2, x7, x8, x13)
        x3, x4, x9, x14 = quarter(x3, x4, x9, x14)
        return x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15

    return double_round
