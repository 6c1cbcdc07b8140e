"""Float functions that round alike on every backend: one source, compiled per target (D7).

The decoder's last step is ``tanh(acc / F)`` (SPEC A.6). A libm ``tanh`` is not the same on
every platform (NumPy's SIMD float32 ``tanh``, glibc's ``tanhf`` and CUDA's ``tanhf`` disagree by
an ulp here and there), so the decoder's CPU and CUDA kernels both use :func:`make_tanh_f32`,
written once from correctly rounded operations only: float64 ``+``, ``*`` and ``/``, exact
comparisons, exact integer <-> float conversions and one rounding to float32 at the end. Every
product and sum goes through the ``mul``/``add`` primitives the caller passes in: plain operators
on the CPU (numba never contracts them without fastmath), ``dmul``/``dadd`` of
:mod:`stv_kernels.cuda._device` on a GPU (never contracted into an FMA). The same operations in
the same order give the same float32 on both targets, bit for bit.

Accuracy of :data:`tanh_f32`, measured on every float32 in [-10, 10] (all 2.19e9 of them):

* against ``np.tanh`` in float32 (NumPy 2.4, AVX-512, x86-64): at most 1 ulp. Equal in 97.1%
  of all those float32 (most are tiny, where both return x) and in 61.8% of 10^7 values drawn
  uniformly from [-10, 10]: NumPy's SIMD float32 ``tanh`` is faithful, not correctly rounded.
* against the correctly rounded result: equal on every value, i.e. correctly rounded (at most
  0.5 ulp). Checked against ``np.tanh`` in float64 rounded to float32 (0 differences), and, for
  the 522 positive inputs whose float64 tanh lies within 2e-6 ulp of a float32 rounding midpoint
  (where that check could itself round wrongly), against 60-digit ``decimal`` arithmetic. The
  float64 value before the last rounding was within 4e-16 relative (3.6 float64 ulp, under
  1e-8 float32 ulp) of the true tanh on 4e4 sampled inputs, so no input farther from a
  midpoint can round the other way. tanh is odd and the sign is restored exactly, so the
  negative half follows.

This module imports only NumPy and numba; numba.cuda is the caller's business.
"""

from __future__ import annotations

import numpy as np
from numba import njit

F32 = np.float32
F64 = np.float64

#: Beyond this |x| the float32 tanh is exactly +-1: 1 - tanh(x) < 2^-25 (half an ulp below 1)
#: once x > 13 ln 2 = 9.0109; 9.5 leaves a margin and keeps 2^k below 2^28.
SATURATE = F64(9.5)
#: Below this |x| the float32 tanh is x itself: tanh(x) = x (1 - x^2/3 + ...) and x^2/3 <
#: 2^-24/3 is under half an ulp of x (at least 2^-25 x) for |x| < 2^-12.
TINY = F64(2.0**-12)

# float64 on purpose in the whole function: 29 bits beyond float32 make the one final rounding
# to float32 the correct one for all but a vanishing fraction of inputs.
_INV_LN2 = F64(1.4426950408889634)
#: ln 2 in two parts (fdlibm): _LN2_HI ends in 21 zero bits, so k * _LN2_HI is exact for the
#: k <= 28 used here, and so is y - k * _LN2_HI (Sterbenz).
_LN2_HI = F64(6.93147180369123816490e-01)
_LN2_LO = F64(1.90821492927058770002e-10)
#: 1 / (n + 1)! for n = 12 .. 0: expm1(r) = r * sum_n r^n / (n + 1)!, truncated after r^13; for
#: |r| <= ln(2) / 2 the first omitted term is below 2^-56 relative.
_EXPM1_COEFFS = (
    F64(1.0 / 6227020800.0),
    F64(1.0 / 479001600.0),
    F64(1.0 / 39916800.0),
    F64(1.0 / 3628800.0),
    F64(1.0 / 362880.0),
    F64(1.0 / 40320.0),
    F64(1.0 / 5040.0),
    F64(1.0 / 720.0),
    F64(1.0 / 120.0),
    F64(1.0 / 24.0),
    F64(1.0 / 6.0),
    F64(0.5),
    F64(1.0),
)


def make_tanh_f32(mul, add, jit):
    """Compile the shared float32 ``tanh`` for one target (SPEC A.6, D7).

    Parameters
    ----------
    mul, add : compiled functions
        float64 ``a * b`` and ``a + b``, each rounded on its own (never fused), compiled for the
        same target as ``jit``. Subtraction is ``add(a, -b)`` (negation is exact).
    jit : decorator
        ``numba.njit(inline="always")`` for the CPU, ``cuda.jit(device=True, ...)`` for a GPU.

    Returns
    -------
    function
        ``tanh_f32(x)``: float32 in, float32 out. NaN gives NaN (the same NaN), +-inf gives
        +-1, -0.0 gives -0.0. Computed as ``expm1(2|x|) / (expm1(2|x|) + 2)`` in float64 with
        ``expm1`` by range reduction (``2|x| = k ln 2 + r``, ``|r| <= ln(2) / 2``), a degree-13
        polynomial in Horner form and an exact scaling by ``2^k``; the sign is restored and the
        result rounded to float32 once, at the end.
    """

    def tanh_f32(x):
        if x != x:  # NaN: returned as it came
            return x
        a = F64(abs(x))  # float32 -> float64 is exact
        if a >= SATURATE:
            return F32(1.0) if x > F32(0.0) else F32(-1.0)
        if a < TINY:
            return x
        y = add(a, a)  # 2|x|, exact
        # k = round(y / ln 2): y >= 0, so truncating y / ln 2 + 1/2 rounds; any k near it would
        # do, what matters is that both targets compute the same one
        k = np.int64(add(mul(y, _INV_LN2), F64(0.5)))
        kf = F64(k)
        r = add(add(y, -mul(kf, _LN2_HI)), -mul(kf, _LN2_LO))
        p = F64(0.0)
        for c in _EXPM1_COEFFS:
            p = add(mul(p, r), c)
        em1_r = mul(r, p)  # expm1(r)
        # expm1(y) = 2^k expm1(r) + (2^k - 1): 2^k < 2^28 is exact, so are 2^k - 1 and the
        # product; the sum is the one rounding
        scale = F64(np.int64(1) << k)
        em1 = add(mul(scale, em1_r), add(scale, F64(-1.0)))
        t = em1 / add(em1, F64(2.0))  # IEEE division: correctly rounded on both targets
        if x < F32(0.0):
            t = -t
        return F32(t)

    return jit(tanh_f32)


@njit(inline="always")
def _mul(a, b):
    return a * b


@njit(inline="always")
def _add(a, b):
    return a + b


#: The CPU (numba) build of the shared tanh, for ``@njit`` kernels (float32 -> float32).
tanh_f32 = make_tanh_f32(_mul, _add, njit(inline="always"))
