"""NumPy's floating-point warnings off inside the reference kernels (private)."""

from __future__ import annotations

import functools

import numpy as np


def quiet(kernel):
    """Run ``kernel`` without NumPy's floating-point warnings.

    NaN and inf voxels are part of the spec (they propagate, or max(NaN, 0) gives 0), so the
    warnings would only be noise. A fresh errstate per call stays correct across threads.
    """

    @functools.wraps(kernel)
    def quiet_kernel(*args, **kwargs):
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            return kernel(*args, **kwargs)

    return quiet_kernel
