"""The peers bench.py measures stv against: NumPy always, OpenCV and SciPy when installed.

Each peer computes what the stv kernel computes, as a user would call it, allocating a fresh
output. OpenCV and SciPy are optional imports (``pip install -e '.[bench]'``): ``cv2`` and
``ndimage`` are None when missing, and ``PEER_NEEDS`` says which peers can run.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32
DIFFUSION_RATE = 0.2


def _optional(name):
    try:
        return __import__(name)
    except ImportError:
        return None


cv2 = _optional("cv2")
ndimage = None
if _optional("scipy") is not None:
    from scipy import ndimage


def np_interp_cubic(vol):
    """Catmull-Rom midpoints by array slicing: (-p0 + 9 p1 + 9 p2 - p3) / 16, ends clamped."""
    d = vol.shape[0]
    out = np.empty((2 * d - 1,) + vol.shape[1:], dtype=F32)
    out[0::2] = vol
    mid = out[1::2]
    np.add(vol[:-1], vol[1:], out=mid)
    mid *= F32(9.0)
    mid[1:] -= vol[:-2]
    mid[0] -= vol[0]
    mid[:-1] -= vol[2:]
    mid[-1] -= vol[-1]
    mid *= F32(1.0 / 16.0)
    return out


def _align_corners_axis(n_in, n_out):
    src = np.arange(n_out, dtype=F32) * (F32(n_in - 1) / F32(max(n_out - 1, 1)))
    i0 = np.minimum(np.floor(src).astype(np.intp), n_in - 1)
    return i0, np.minimum(i0 + 1, n_in - 1), src - i0.astype(F32)


def np_upscale(vol, f=2):
    """Align-corners bilinear x f per slice: gather rows, lerp, gather columns, lerp."""
    d, h, w, c = vol.shape
    y0, y1, ty = _align_corners_axis(h, h * f)
    x0, x1, tx = _align_corners_axis(w, w * f)
    ty, tx = ty[:, None, None], tx[None, :, None]
    out = np.empty((d, h * f, w * f, c), dtype=F32)
    for z in range(d):
        top = vol[z][y0]
        rows = vol[z][y1]
        rows -= top
        rows *= ty
        rows += top
        left = rows[:, x0]
        right = rows[:, x1]
        right -= left
        right *= tx
        np.add(left, right, out=out[z])
    return out


def _per_slice(fn, vol, out_shape):
    """Call a 2-D OpenCV function slice by slice into one fresh output (dst= writes in place)."""
    out = np.empty(out_shape, dtype=F32)
    for z in range(vol.shape[0]):
        src, dst = vol[z], out[z]
        if vol.shape[3] == 1:
            src, dst = src[:, :, 0], dst[:, :, 0]
        fn(src, dst)
    return out


def cv2_upscale(vol, f=2):
    d, h, w, c = vol.shape
    size = (w * f, h * f)
    return _per_slice(
        lambda s, o: cv2.resize(s, size, dst=o, interpolation=cv2.INTER_LINEAR),
        vol,
        (d, h * f, w * f, c),
    )


def scipy_upscale(vol, f=2):
    """scipy.ndimage.zoom order=1 per 2-D slice and channel: align-corners like stv, and
    several times faster than one 4-D zoom, which interpolates over 2**4 corners."""
    d, h, w, c = vol.shape
    out = np.empty((d, h * f, w * f, c), dtype=F32)
    for z in range(d):
        for ch in range(c):
            ndimage.zoom(vol[z, :, :, ch], f, order=1, output=out[z, :, :, ch])
    return out


def _edge_counts(n):
    k = np.full(n, 2.0, dtype=F32)
    k[0] -= 1
    k[-1] -= 1
    return k


def np_diffuse(vol, rate=DIFFUSION_RATE):
    """One 6-neighbour Jacobi pass without wrap: v (1 - r) + r * mean(existing neighbours)."""
    total = np.zeros_like(vol)
    total[1:] += vol[:-1]
    total[:-1] += vol[1:]
    total[:, 1:] += vol[:, :-1]
    total[:, :-1] += vol[:, 1:]
    total[:, :, 1:] += vol[:, :, :-1]
    total[:, :, :-1] += vol[:, :, 1:]
    count_yx = _edge_counts(vol.shape[1])[:, None, None] + _edge_counts(vol.shape[2])[None, :, None]
    count_z = _edge_counts(vol.shape[0])
    for z in range(vol.shape[0]):
        total[z] *= F32(rate) / np.maximum(count_yx + count_z[z], F32(1.0))
    out = vol * F32(1.0 - rate)
    out += total
    return out


_CROSS_2D = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=F32)


def cv2_diffuse(vol, rate=DIFFUSION_RATE):
    kernel = _CROSS_2D * F32(rate / 4.0)
    kernel[1, 1] = F32(1.0 - rate)
    return _per_slice(lambda s, o: cv2.filter2D(s, -1, kernel, dst=o), vol, vol.shape)


def scipy_diffuse(vol, rate=DIFFUSION_RATE):
    kernel = np.zeros((3, 3, 3, 1), dtype=F32)
    kernel[1, 1, 1, 0] = 1.0 - rate
    for idx in ((0, 1, 1), (2, 1, 1), (1, 0, 1), (1, 2, 1), (1, 1, 0), (1, 1, 2)):
        kernel[idx + (0,)] = rate / 6.0
    return ndimage.convolve(vol, kernel, mode="nearest")


def np_statistics(vol):
    flat = vol.reshape(vol.shape[0], -1)
    f64 = np.float64
    return {
        "mean": flat.mean(axis=1, dtype=f64),
        "std": flat.std(axis=1, dtype=f64),
        "energy": np.einsum("ij,ij->i", flat, flat, dtype=f64) / flat.shape[1],
        "abs_mean": np.abs(flat).mean(axis=1, dtype=f64),
    }


PEER_NEEDS = {"opencv": lambda: cv2 is not None, "scipy": lambda: ndimage is not None}
