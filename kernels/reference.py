"""NumPy reference of every kernel, written for clarity rather than speed.

This module is the ``numpy`` backend and the oracle the numba kernels are tested against. Each
function has the same signature as its twin in :mod:`stv_kernels.cpu`. Arithmetic is float32
in the order SPEC.md Part A gives, so results match the reference design bit for bit where the
spec says they can; per-slice statistics accumulate in float64 on purpose (see
:func:`slice_statistics`).
"""

from __future__ import annotations

import functools

import numpy as np

F32 = np.float32

#: Interpolation methods by name; kernels receive the integer code.
INTERPOLATION_CODES = {"nearest": 0, "linear": 1, "cubic": 2}


# --------------------------------------------------------------------------- validation


def check_volume(vol: np.ndarray, name: str = "volume") -> np.ndarray:
    """Return ``vol`` as a C-contiguous float32 (D, H, W, C) array.

    A volume that is already float32 and C-contiguous is returned as is; any other (float64,
    a strided view, a Fortran-ordered array) is copied once, here, so kernels only ever see
    one layout.
    """
    if not isinstance(vol, np.ndarray) or vol.ndim != 4:
        shape = getattr(vol, "shape", None)
        raise ValueError(f"{name} must be a 4-D (D, H, W, C) array, got shape {shape}")
    return np.ascontiguousarray(vol, dtype=F32)


def check_out(out: np.ndarray | None, shape: tuple[int, ...], name: str = "out") -> np.ndarray:
    """Allocate ``out`` (outside jitted code, see HOUSE_STYLE.md) or check the one given."""
    if out is None:
        return np.empty(shape, dtype=F32)
    if (
        not isinstance(out, np.ndarray)
        or out.dtype != F32
        or out.shape != tuple(shape)
        or not out.flags.c_contiguous
        or not out.flags.writeable
    ):
        got = f"{getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}"
        raise ValueError(
            f"{name} must be a writeable C-contiguous float32 array of shape {tuple(shape)}, "
            f"got {got}"
        )
    return out


def separate_input(vol: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Return ``vol``, or a copy of it when it may share memory with ``out``.

    Every kernel reads voxels that an earlier step of the same call has already written (a
    Jacobi pass, a running z sum), so an ``out`` that overlaps the input would corrupt the
    result; copying the input once makes in-place calls such as ``diffuse(v, 1, r, out=v)``
    correct.
    """
    if np.may_share_memory(vol, out):
        return vol.copy()
    return vol


def check_factor(factor: int) -> int:
    """Return the upscale factor as an int >= 1 (SPEC A.2.4: f = 0 is rejected)."""
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"upscale factor must be an integer >= 1, got {factor!r}")
    return int(factor)


def check_diffusion(iterations: int, rate: float) -> tuple[int, np.float32]:
    """Return ``(iterations, rate)`` checked: an integer >= 0 and a finite rate in [0, 1].

    ZDiffuser clamps its rate and maps NaN to 0.25 before calling (SPEC A.5); a kernel that
    receives anything else was called wrongly, so it says so instead of clamping again.
    """
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)):
        raise ValueError(f"diffusion iterations must be an integer >= 0, got {iterations!r}")
    if iterations < 0:
        raise ValueError(f"diffusion iterations must be an integer >= 0, got {iterations}")
    if not np.isfinite(rate) or not 0.0 <= rate <= 1.0:
        raise ValueError(f"diffusion rate must be finite and in [0, 1], got {rate!r}")
    return int(iterations), F32(rate)


def interpolation_code(method: str) -> int:
    try:
        return INTERPOLATION_CODES[method]
    except KeyError:
        allowed = ", ".join(INTERPOLATION_CODES)
        raise ValueError(f"interpolation method {method!r} is not one of {allowed}") from None


def bilinear_axis(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and fractions of an align-corners resample of one axis (SPEC A.2.4).

    Returns ``(i0, i1, t)``: int64, int64, float32 arrays of length ``n_out``. Both backends use
    these tables, so the float32 grid arithmetic is written exactly once.
    """
    scale = F32(n_in - 1) / F32(n_out - 1) if n_out > 1 else F32(0.0)
    src = scale * np.arange(n_out, dtype=F32)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    t = (src - i0.astype(F32)).astype(F32)
    return i0, i1, t


# --------------------------------------------------------------------------- kernels


def _quiet(kernel):
    """Run ``kernel`` without NumPy's floating-point warnings.

    NaN and inf voxels are part of the spec (they propagate, or max(NaN, 0) gives 0), so the
    warnings would only be noise. A fresh errstate per call stays correct across threads.
    """

    @functools.wraps(kernel)
    def quiet_kernel(*args, **kwargs):
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            return kernel(*args, **kwargs)

    return quiet_kernel


@_quiet
def collapse_weighted(vol: np.ndarray, weights: np.ndarray, out: np.ndarray | None = None):
    """out[y, x, c] = sum_z vol[z, y, x, c] * weights[z], accumulated in z order (SPEC A.2.1)."""
    vol = check_volume(vol)
    w = np.ascontiguousarray(weights, dtype=F32)
    if w.shape != (vol.shape[0],):
        raise ValueError(f"weights must have length {vol.shape[0]}, got shape {w.shape}")
    out = check_out(out, vol.shape[1:])
    vol = separate_input(vol, out)
    out[...] = 0
    for z in range(vol.shape[0]):
        out += vol[z] * w[z]
    return out


@_quiet
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


@_quiet
def upscale_bilinear(vol: np.ndarray, factor: int, out: np.ndarray | None = None):
    """Align-corners bilinear resample of every slice by an integer factor (SPEC A.2.4).

    ``factor == 1`` copies the volume (an unchanged clone, as the spec says), also for inf.
    """
    vol = check_volume(vol)
    factor = check_factor(factor)
    d, h, w, c = vol.shape
    ho, wo = h * factor, w * factor
    out = check_out(out, (d, ho, wo, c))
    vol = separate_input(vol, out)
    if factor == 1 or out.size == 0:
        # SPEC A.2.4: f = 1 is an unchanged clone; the formula would turn inf voxels into NaN
        # ((inf - inf) * 0), so it is not run at all.
        out[...] = vol
        return out
    y0, y1, ty = bilinear_axis(h, ho)
    x0, x1, tx = bilinear_axis(w, wo)
    tx = tx[None, :, None]
    ty = ty[:, None, None]
    for z in range(d):
        s = vol[z]
        tl, tr = s[y0][:, x0], s[y0][:, x1]
        bl, br = s[y1][:, x0], s[y1][:, x1]
        top = tl + (tr - tl) * tx
        bottom = bl + (br - bl) * tx
        out[z] = top + (bottom - top) * ty
    return out


@_quiet
def diffuse_pass(vol: np.ndarray, rate: float, out: np.ndarray | None = None):
    """One Jacobi pass of 6-neighbour diffusion without wrap (SPEC A.5)."""
    vol = check_volume(vol)
    _, rate = check_diffusion(1, rate)
    out = check_out(out, vol.shape)
    total = np.zeros_like(vol)
    count = np.zeros(vol.shape[:3] + (1,), dtype=F32)
    # neighbours in the order x-1, x+1, y-1, y+1, z-1, z+1 (the sum's order is part of the spec)
    for axis in (2, 1, 0):
        for lower in (True, False):
            dst = [slice(None)] * 4
            src = [slice(None)] * 4
            if lower:
                dst[axis], src[axis] = slice(1, None), slice(None, -1)
            else:
                dst[axis], src[axis] = slice(None, -1), slice(1, None)
            total[tuple(dst)] += vol[tuple(src)]
            count[tuple(dst)] += F32(1.0)
    has = np.broadcast_to(count > 0, vol.shape)
    avg = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    out[...] = np.where(has, vol * (F32(1.0) - rate) + avg * rate, vol)
    return out


def diffuse(vol: np.ndarray, iterations: int, rate: float, out: np.ndarray | None = None):
    """``iterations`` Jacobi passes at ``rate``; ``iterations == 0`` copies (SPEC A.5).

    ``rate`` must already be clamped to [0, 1] (ZDiffuser does that); ``out`` may be ``vol``.
    """
    vol = check_volume(vol)
    iterations, rate = check_diffusion(iterations, rate)
    out = check_out(out, vol.shape)
    if iterations == 0:
        out[...] = vol
        return out
    src = vol
    for _ in range(iterations):
        src = diffuse_pass(src, rate)
    out[...] = src
    return out


@_quiet
def slice_statistics(vol: np.ndarray) -> dict[str, np.ndarray]:
    """Per-slice statistics over all H*W*C values of each slice (SPEC A.2.8, D1).

    Returns float32 arrays of length D: ``mean``, ``std`` (two-pass population std, used by
    ``profile()``), ``std_one_pass`` (``sqrt(max(E[v^2] - mean^2, 0))``, used by
    ``slice_profile()``), ``energy`` (mean of v^2) and ``abs_mean`` (mean of |v|, used by the
    spectral response). Sums accumulate in float64 on purpose: a million-value slice summed in
    float32 loses several digits, and the reference's sequential float32 order cannot be kept
    by a parallel reduction anyway. ``max(x, 0)`` follows the spec's NaN rule (NaN gives 0).
    """
    vol = check_volume(vol)
    d = vol.shape[0]
    n = vol.shape[1] * vol.shape[2] * vol.shape[3]
    res = {k: np.zeros(d, dtype=F32) for k in ("mean", "std", "std_one_pass", "energy", "abs_mean")}
    if n == 0:
        return res
    flat = vol.reshape(d, n).astype(np.float64)
    mean = flat.sum(axis=1) / n
    energy = (flat * flat).sum(axis=1) / n
    two = ((flat - mean[:, None]) ** 2).sum(axis=1) / n
    res["mean"][:] = mean
    res["energy"][:] = energy
    res["abs_mean"][:] = np.abs(flat).sum(axis=1) / n
    res["std"][:] = np.sqrt(np.fmax(two, 0.0))
    res["std_one_pass"][:] = np.sqrt(np.fmax(energy - mean * mean, 0.0))
    return res


from .decode_reference import decode_latent  # noqa: E402,F401
from .video_frame_reference import (  # noqa: E402,F401
    collapse_pixels,
    count_nonfinite,
    motion_ema_step,
    motion_slice_step,
    quantise,
    ring_store,
)
