"""numba CPU kernel: Jacobi passes of 6-neighbour diffusion without wrap (SPEC A.5).

Every voxel reads the old buffer: ``new = centre * (1 - rate) + avg * rate``, where ``avg`` is
the sum of the existing neighbours, taken in the order x-1, x+1, y-1, y+1, z-1, z+1 starting
at 0.0, divided by their count (a float32). A voxel with no neighbour (a 1x1x1 volume) is
unchanged. The float32 operations and their order are those of
:func:`stv_kernels.reference.diffuse_pass`, so the two agree bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from .._checks import check_diffusion, check_out, check_volume, separate_input


@njit(cache=True)
def _diffuse_row(centre, y_lo, y_hi, z_lo, z_hi, n_yz, channels, keep, rate, dst):
    # One row of W*C values. Missing y/z neighbours arrive as a row of zeros: a running sum
    # that starts at +0.0 is never -0.0, so adding +0.0 leaves it bit for bit unchanged, and
    # the interior loop needs no branch. n_yz counts the y/z neighbours that do exist.
    run = dst.size
    width = run // channels
    if width == 1:
        count = np.float32(n_yz)
        for i in range(run):
            total = np.float32(0.0) + y_lo[i]
            total = ((total + y_hi[i]) + z_lo[i]) + z_hi[i]
            if n_yz == 0:
                dst[i] = centre[i]
            else:
                dst[i] = centre[i] * keep + (total / count) * rate
        return
    edge = np.float32(n_yz + 1)
    for i in range(channels):  # x = 0: no x-1
        total = np.float32(0.0) + centre[i + channels]
        total = (((total + y_lo[i]) + y_hi[i]) + z_lo[i]) + z_hi[i]
        dst[i] = centre[i] * keep + (total / edge) * rate
    # interior x: shifted views keep every index a plain non-negative loop counter, so numba
    # emits no negative-index fix-up and the loop vectorises (i - channels would not)
    inner = np.float32(n_yz + 2)
    left = centre[: run - 2 * channels]
    right = centre[2 * channels :]
    mid = centre[channels : run - channels]
    y_lo_in = y_lo[channels:]
    y_hi_in = y_hi[channels:]
    z_lo_in = z_lo[channels:]
    z_hi_in = z_hi[channels:]
    dst_in = dst[channels:]
    for j in range(run - 2 * channels):
        total = (np.float32(0.0) + left[j]) + right[j]
        total = (((total + y_lo_in[j]) + y_hi_in[j]) + z_lo_in[j]) + z_hi_in[j]
        dst_in[j] = mid[j] * keep + (total / inner) * rate
    for i in range(run - channels, run):  # x = W-1: no x+1
        total = np.float32(0.0) + centre[i - channels]
        total = (((total + y_lo[i]) + y_hi[i]) + z_lo[i]) + z_hi[i]
        dst[i] = centre[i] * keep + (total / edge) * rate


#: Rows one task carries through all of z: about 512 KiB, so each slice's block is read and
#: written in long contiguous runs while the z-1 and z+1 blocks stay in cache (L2/L3). One
#: thread, CPU time, (32,1024,1024,1): 23.6-23.9 ms vs 24.8-25.1 ms at 128 KiB; no change at
#: (8,2048,2048,3); two-thread wall times on the shared machine were too noisy to separate.
BLOCK_BYTES = 512 * 1024


@njit(parallel=True, cache=True, nogil=True)
def _diffuse_pass(src, zeros, rate, channels, rows_per_block, dst):
    # src, dst (D, H, R), R = W * C; zeros is one row of R zeros. Tasks split blocks of rows
    # and run z inside, so a voxel's z-neighbours and y-neighbours come from cache and every
    # value is read from memory about once.
    depth, height, _ = src.shape
    keep = np.float32(1.0) - rate
    nblocks = (height + rows_per_block - 1) // rows_per_block
    for b in prange(nblocks):
        y0 = b * rows_per_block
        y1 = min(y0 + rows_per_block, height)
        for z in range(depth):
            for y in range(y0, y1):
                n_yz = 0
                y_lo = zeros
                y_hi = zeros
                z_lo = zeros
                z_hi = zeros
                if y > 0:
                    y_lo = src[z, y - 1]
                    n_yz += 1
                if y + 1 < height:
                    y_hi = src[z, y + 1]
                    n_yz += 1
                if z > 0:
                    z_lo = src[z - 1, y]
                    n_yz += 1
                if z + 1 < depth:
                    z_hi = src[z + 1, y]
                    n_yz += 1
                _diffuse_row(
                    src[z, y], y_lo, y_hi, z_lo, z_hi, n_yz, channels, keep, rate, dst[z, y]
                )


def diffuse_pass(vol: np.ndarray, rate: float, out: np.ndarray | None = None):
    """One Jacobi pass of 6-neighbour diffusion (SPEC A.5); see :func:`diffuse`."""
    return diffuse(vol, 1, rate, out)


def diffuse(vol: np.ndarray, iterations: int, rate: float, out: np.ndarray | None = None):
    """Apply ``iterations`` Jacobi passes of 6-neighbour diffusion (SPEC A.5).

    Parameters
    ----------
    vol : ndarray
        (D, H, W, C) volume; float32 C-contiguous is used as is, anything else is copied once.
        Channels diffuse independently.
    iterations : int
        Number of passes, >= 0; 0 copies the volume.
    rate : float
        Weight of the neighbour average, already clamped to [0, 1] (ZDiffuser does that).
    out : ndarray, optional
        Preallocated C-contiguous float32 result of the same shape; may be ``vol`` itself.

    Returns
    -------
    ndarray
        ``out``.
    """
    vol = check_volume(vol)
    iterations, rate = check_diffusion(iterations, rate)
    out = check_out(out, vol.shape)
    vol = separate_input(vol, out)
    if iterations == 0 or out.size == 0:
        out[...] = vol
        return out
    d, h, w, c = vol.shape
    zeros = np.zeros(w * c, dtype=np.float32)
    # ping-pong between out and one scratch buffer, arranged so the last pass lands in out
    scratch = np.empty_like(out) if iterations > 1 else out
    buffers = (out, scratch) if iterations % 2 == 1 else (scratch, out)
    # blocks of about BLOCK_BYTES, and enough of them to keep every thread busy
    rows_per_block = max(1, min(BLOCK_BYTES // max(1, w * c * 4), h // (4 * get_num_threads())))
    src = vol.reshape(d, h, w * c)
    for k in range(iterations):
        dst = buffers[k % 2].reshape(d, h, w * c)
        _diffuse_pass(src, zeros, rate, c, rows_per_block, dst)
        src = dst
    return out
