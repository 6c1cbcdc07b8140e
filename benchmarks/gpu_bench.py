"""GPU benchmark of the ``cuda`` backend, for the lent machine (one H100 or H200).

One run of at most about 8 minutes prints, per kernel at two large sizes, the median time by
CUDA events, effective GB/s (logical bytes read + written), the fraction of the card's
device-to-device copy bandwidth measured in the same run, and the ratio to the best GPU peer
as users call it (CuPy ``tensordot``/``einsum`` for the collapse, CuPy slicing arithmetic for
Z interpolation, ``torch.nn.functional.interpolate(..., mode="bilinear", align_corners=True)``
for the upscale, a 3-D convolution for the diffusion); the decoder's draws per second against
the ``cpu`` backend on the same machine; and ``stv project --device cuda`` end to end against
``--device cpu`` (all cores) on a 64-slice 2048x2048 stack. Every kernel's GPU output is
compared with the ``cpu`` backend's in the same run.

    python benchmarks/gpu_bench.py                 # everything (about 8 minutes)
    python benchmarks/gpu_bench.py --quick         # small sizes, to check the script (1 min)
    python benchmarks/gpu_bench.py --json out.json

Kernels are timed on device arrays, as the device-resident pipeline calls them (no host
transfers); the end-to-end run includes the one upload of each stack and the picture's way
back, after a warm-up run that fills both kernel caches, over a batch of two stacks.
Targets: collapse, interpolation, upscale and diffusion >= 60% of copy bandwidth and at least
as fast as the best peer; end to end >= 5x the CPU backend.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZES = [(64, 2048, 2048, 1), (16, 4096, 4096, 3)]
QUICK_SIZES = [(8, 256, 256, 1), (4, 256, 256, 3)]
RATE = np.float32(0.2)


def _median_ms(run, repeats: int, events) -> tuple[float, list[float]]:
    """Median milliseconds of ``run()`` timed by ``events()`` -> (start, end) event pair."""
    run()  # warm-up (compiles on first use)
    times = []
    for _ in range(repeats):
        start, end, elapsed = events()
        start.record()
        run()
        end.record()
        end.synchronize()
        times.append(elapsed(start, end))
    return statistics.median(times), times


def numba_events():
    from numba import cuda

    return cuda.event(), cuda.event(), lambda start, end: start.elapsed_time(end)


def cupy_events():
    import cupy

    return cupy.cuda.Event(), cupy.cuda.Event(), cupy.cuda.get_elapsed_time


def torch_events():
    import torch

    return (
        torch.cuda.Event(enable_timing=True),
        torch.cuda.Event(enable_timing=True),
        lambda a, b: a.elapsed_time(b),
    )


def copy_bandwidth(repeats: int, n: int = 2**29) -> float:
    """Device-to-device copy of ``n`` float32 (2 GiB), GB/s counting the read and the write."""
    from numba import cuda

    a = cuda.device_array(n, dtype=np.float32)
    b = cuda.device_array(n, dtype=np.float32)
    ms, _ = _median_ms(lambda: b.copy_to_device(a), repeats, numba_events)
    return 2 * 4 * n / (ms * 1e-3) / 1e9


# ----------------------------------------------------------------------- stv's kernels


def stv_kernels(shape):
    """name -> (run on device arrays, logical bytes, result as host array) for one shape."""
    from numba import cuda

    from stv_kernels import _tables
    from stv_kernels.cuda import launch
    from stv_kernels.cuda.collapse import _collapse
    from stv_kernels.cuda.diffuse import _diffuse_pass
    from stv_kernels.cuda.interpolate import _interpolate
    from stv_kernels.cuda.upscale import _upscale

    d, h, w, c = shape
    n = h * w * c
    rng = np.random.default_rng(0)
    host = rng.random(shape, dtype=np.float32)
    weights = np.full(d, 1.0 / d, dtype=np.float32)
    vol = cuda.to_device(host)
    flat = vol.reshape(d, n)
    d_w = cuda.to_device(weights)
    picture = cuda.device_array(n, dtype=np.float32)
    dense = cuda.device_array((2 * d - 1, n), dtype=np.float32)
    big = cuda.device_array((d, 2 * h, 2 * w, c), dtype=np.float32)
    diffused = cuda.device_array(shape, dtype=np.float32)
    y0, y1, ty = (cuda.to_device(a) for a in _tables.bilinear_axis(h, 2 * h))
    x0, x1, tx = (cuda.to_device(a) for a in _tables.bilinear_axis(w, 2 * w))
    keep = np.float32(1.0) - RATE

    def go(kernel, work, *args):
        blocks, threads = launch.grid(work)
        return lambda: kernel[blocks, threads](*args)

    return (
        host,
        weights,
        {
            "collapse": (go(_collapse, n, flat, d_w, picture, False), 4 * (d * n + n), picture),
            "interpolate": (
                go(_interpolate, (2 * d - 1) * n, flat, 2, dense),
                4 * (d * n + (2 * d - 1) * n),
                dense,
            ),
            "upscale": (
                go(_upscale, big.size, vol, y0, y1, ty, x0, x1, tx, big),
                4 * (d * n + 4 * d * n),
                big,
            ),
            "diffuse": (
                go(_diffuse_pass, vol.size, vol, keep, RATE, diffused),
                8 * d * n,
                diffused,
            ),
        },
    )


def cpu_reference(name: str, host, weights):
    """The ``cpu`` backend's result for the same kernel (numba, all cores)."""
    from stv_kernels import cpu

    d, h, w, c = host.shape
    if name == "collapse":
        return cpu.collapse_weighted(host, weights).reshape(-1)
    if name == "interpolate":
        return cpu.interpolate_z(host, "cubic").reshape(2 * d - 1, -1)
    if name == "upscale":
        return cpu.upscale_bilinear(host, 2)
    return cpu.diffuse(host, 1, RATE)


# ------------------------------------------------------------------------------ peers


def peers(name: str, host, weights):
    """Peer name -> callable on GPU data, the way users of CuPy / PyTorch would write it."""
    found = {}
    d, h, w, c = host.shape
    try:
        import cupy

        vol = cupy.asarray(host)
        flat = vol.reshape(d, -1)
        cw = cupy.asarray(weights)
        if name == "collapse":
            found["cupy tensordot"] = (lambda: cupy.tensordot(cw, flat, axes=1), cupy_events)
            found["cupy einsum"] = (lambda: cupy.einsum("z,zn->n", cw, flat), cupy_events)
        elif name == "interpolate":
            z = np.arange(d - 1)
            i0, i3 = np.maximum(z - 1, 0), np.minimum(z + 2, d - 1)

            def cubic():
                out = cupy.empty((2 * d - 1, flat.shape[1]), cupy.float32)
                out[0::2] = flat
                p0, p1, p2, p3 = flat[i0], flat[:-1], flat[1:], flat[i3]
                out[1::2] = (-p0 + 9 * p1 + 9 * p2 - p3) / 16
                return out

            found["cupy slicing"] = (cubic, cupy_events)
    except ImportError:
        pass
    try:
        import torch

        t = torch.as_tensor(host, device="cuda")
        if name == "upscale":
            nchw = t.permute(0, 3, 1, 2)  # channels-last memory, NCHW view
            found["torch interpolate"] = (
                lambda: torch.nn.functional.interpolate(
                    nchw, scale_factor=2, mode="bilinear", align_corners=True
                ),
                torch_events,
            )
        elif name == "diffuse":
            stencil = torch.zeros((c, 1, 3, 3, 3), device="cuda")
            for dz, dy, dx in ((0, 1, 0), (2, 1, 0), (1, 0, 0), (1, 2, 0), (1, 1, 0), (1, 1, 2)):
                stencil[:, 0, dz, dy, dx] = RATE / 6
            stencil[:, 0, 1, 1, 1] = 1 - RATE
            ncdhw = t.permute(3, 0, 1, 2).unsqueeze(0)
            found["torch conv3d"] = (
                lambda: torch.nn.functional.conv3d(ncdhw, stencil, padding=1, groups=c),
                torch_events,
            )
    except ImportError:
        pass
    return found


# ---------------------------------------------------------------------------- decoder


def decoder_rates(quick: bool, repeats: int, simulate: bool = False) -> dict:
    """Draws per second of the cuda decoder and of the cpu backend's, same latent."""
    from numba import cuda

    from stv_kernels import cpu
    from stv_kernels import cuda as gpu
    from stv_kernels.chacha import key_words_from_seed

    key = key_words_from_seed(7)
    latent = np.linspace(-1, 1, 16, dtype=np.float32)
    gpu_shape = (2, 256, 256) if quick else (16, 1024, 1024)
    cpu_shape = (1, 128, 256) if quick else (4, 512, 512)
    if simulate:
        gpu_shape = cpu_shape = (1, 2, 8)
    out = np.empty((*gpu_shape, 1), np.float32)
    gpu_ms, _ = _median_ms(
        lambda: gpu.decode_latent(key, 0, latent, *gpu_shape, out=out), repeats, numba_events
    )
    start = time.perf_counter()
    cpu.decode_latent(key, 0, latent, *cpu_shape)
    cpu.decode_latent(key, 0, latent, *cpu_shape)
    cpu_s = (time.perf_counter() - start) / 2
    check = (1, 2, 8) if simulate else (gpu_shape[0], 8, 64)
    same = cpu.decode_latent(key, 0, latent, *check)
    bit_exact = same.tobytes() == gpu.decode_latent(key, 0, latent, *check).tobytes()
    cuda.synchronize()
    gpu_draws = int(np.prod(gpu_shape)) * latent.size
    cpu_draws = int(np.prod(cpu_shape)) * latent.size
    return {
        "gpu_draws_per_s": gpu_draws / (gpu_ms * 1e-3),
        "cpu_draws_per_s": cpu_draws / cpu_s,
        "ratio": (gpu_draws / (gpu_ms * 1e-3)) / (cpu_draws / cpu_s),
        "bit_exact_with_cpu": bit_exact,
        "note": "gpu timing includes the host copy of the result",
    }


# ------------------------------------------------------------------------- end to end


def end_to_end(quick: bool, simulate: bool = False) -> dict:
    """``stv project`` with --device cuda and --device cpu on a batch; pictures compared.

    Each device first runs once on a tiny stack, so that both kernel caches are filled (a
    first run compiles: NVVM for the GPU, LLVM for the CPU) and the figures are those of a
    user's second and later runs; then a batch of two stacks of the size asked for, timed as
    a whole (process start, loading, upload, refinement, collapse, writing), and reported per
    input. The batch's second stack reuses the first one's device buffers, as batches do.
    """
    from PIL import Image

    shape = (8, 256, 256) if quick else (64, 2048, 2048)
    if simulate:
        shape = (3, 6, 8)
    stv = [sys.executable, "-c", "import sys; from stv_cli.cli import main; sys.exit(main())"]
    refine = ["--interpolate", "cubic", "--diffuse-iterations", "1", "--quiet", "--overwrite"]
    result = {"shape": list(shape), "inputs": 2}
    with tempfile.TemporaryDirectory(prefix="stv-gpu-bench-") as folder:
        work = Path(folder)
        tiny = work / "tiny.npy"
        np.save(tiny, np.random.default_rng(0).random((3, 8, 8), dtype=np.float32))
        stacks = []
        for k in range(2):
            stacks.append(work / f"stack{k}.npy")
            np.save(stacks[-1], np.random.default_rng(1 + k).random(shape, dtype=np.float32))
        pictures = {}
        for device in ("cuda", "cpu"):
            out = str(work / device) + "/"
            warm = [*stv, "project", str(tiny), "-o", out, "--device", device, *refine]
            subprocess.run(warm, capture_output=True, text=True, check=False)
            command = [*stv, "project", *map(str, stacks), "-o", out, "--device", device, *refine]
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - start
            result[f"{device}_s_per_input"] = elapsed / len(stacks)
            if done.returncode:
                result[f"{device}_error"] = done.stderr[-2000:]
                continue
            with Image.open(work / device / "stack1.png") as img:
                pictures[device] = np.asarray(img)
        if len(pictures) == 2:
            result["speedup"] = result["cpu_s_per_input"] / result["cuda_s_per_input"]
            diff = np.abs(pictures["cuda"].astype(int) - pictures["cpu"].astype(int))
            result["max_pixel_difference"] = int(diff.max())
    return result


# ------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="run in numba's CUDA simulator at tiny sizes (checks the script without a GPU)",
    )
    args = parser.parse_args(argv)
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1" if args.simulate else "0"
    if args.simulate:
        global SIZES, QUICK_SIZES
        SIZES = QUICK_SIZES = [(3, 6, 10, 1), (2, 5, 8, 3)]
        args.quick = True
    sys.path.insert(0, str(ROOT))
    from numba import cuda

    device = cuda.get_current_device()
    name = getattr(device, "name", "numba's CUDA simulator")
    name = name.decode() if isinstance(name, bytes) else str(name)
    report = {"device": name, "cc": list(device.compute_capability), "kernels": []}
    copy = copy_bandwidth(args.repeats, 2**12 if args.simulate else 2**29)
    report["copy_gbs"] = copy
    print(f"device {report['device']} (cc {report['cc']}), copy bandwidth {copy:.0f} GB/s")
    for shape in QUICK_SIZES if args.quick else SIZES:
        host, weights, kernels = stv_kernels(shape)
        print(f"== (D, H, W, C) = {shape}")
        for name, (run, nbytes, result) in kernels.items():
            ms, times = _median_ms(run, args.repeats, numba_events)
            cuda.synchronize()
            expected = cpu_reference(name, host, weights)
            got = result.copy_to_host().reshape(expected.shape)
            row = {
                "kernel": name,
                "size": list(shape),
                "median_ms": ms,
                "gbs": nbytes / (ms * 1e-3) / 1e9,
                "copy_fraction": nbytes / (ms * 1e-3) / 1e9 / copy,
                "bit_exact_with_cpu": got.tobytes() == expected.tobytes(),
                "max_abs_diff_cpu": float(np.nanmax(np.abs(got - expected))),
                "peers": {},
            }
            for label, (peer, events) in peers(name, host, weights).items():
                peer_ms, _ = _median_ms(peer, args.repeats, events)
                row["peers"][label] = {"median_ms": peer_ms, "stv_x": peer_ms / ms}
            best_text = "no peer found"
            if row["peers"]:
                label, best = min(row["peers"].items(), key=lambda item: item[1]["median_ms"])
                row["best_peer"] = label
                best_text = (
                    f"best peer {label} {best['median_ms']:.3f} ms: stv {best['stv_x']:.2f}x"
                )
            print(
                f"  {name:12} {ms:8.3f} ms  {row['gbs']:7.0f} GB/s  "
                f"{100 * row['copy_fraction']:5.1f}% of copy  {best_text}  "
                f"bit-exact with cpu: {row['bit_exact_with_cpu']}"
            )
            report["kernels"].append(row)
    report["decoder"] = decoder_rates(args.quick, args.repeats, args.simulate)
    dec = report["decoder"]
    print(
        f"decoder: {dec['gpu_draws_per_s'] / 1e9:.2f} G draws/s on the GPU, "
        f"{dec['cpu_draws_per_s'] / 1e9:.3f} G draws/s on the cpu backend "
        f"({dec['ratio']:.1f}x); bit-exact with cpu: {dec['bit_exact_with_cpu']}"
    )
    report["end_to_end"] = e2e = end_to_end(args.quick, args.simulate)
    print(f"stv project end to end: {json.dumps(e2e)}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
