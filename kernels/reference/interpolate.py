"""NumPy reference: one densification pass along Z to 2D-1 slices (SPEC A.2.3, D8)."""

from __future__ import annotations

import numpy as np

from .._checks import check_out, check_volume, interpolation_code, separate_input
from ._quiet import quiet

F32 = np.float32


@quiet
def interpolate_z(vol: np.ndarray, method: str, out: np.ndarray | None = None):
    """One densification pass along Z to 2D-1 slices (SPEC A.2.3); needs D >= 2."""
    vol = check_volume(vol)
    code = interpolation_code(method)
    d = vol.shape[0]
    if d < 2:
        raise ValueError(f"interpolate_z needs depth >= 2, got {d}")
    out = check_out(out, (2 * d - 1,) + vol.shape[1:])
    vol = separate_input(vol, out)
    out[0::2] = vol
    t = F32(0.5)
    for z in range(d - 1):
        p1, p2 = vol[z], vol[z + 1]
        if code == 0:
            mid = p1
        elif code == 1:
            mid = F32(0.5) * (p1 + p2)
        else:
            p0 = vol[z - 1] if z > 0 else p1
            p3 = vol[z + 2] if z + 2 < d else p2
            a0 = ((F32(-0.5) * p0 + F32(1.5) * p1) - F32(1.5) * p2) + F32(0.5) * p3
            a1 = ((p0 - F32(2.5) * p1) + F32(2.0) * p2) - F32(0.5) * p3
            a2 = F32(-0.5) * p0 + F32(0.5) * p2
            mid = ((a0 * t + a1) * t + a2) * t + p1
        out[2 * z + 1] = mid
    return out
