"""Throughput of stv's kernels as a fraction of this machine's memory bandwidth, and against peers.

Run ``python benchmarks/bench.py`` (``--help`` for options; benchmarks/README.md explains every
column and the byte model). Two kinds of figure per kernel and size:

(a) stv writing into a preallocated output (``out=``): effective GB/s and its fraction of a
    STREAM-style triad measured in this same process (triad.py);
(b) stv and its peers (NumPy always; OpenCV and SciPy when installed) as users call them, each
    allocating a fresh output: GB/s, and how many times faster stv is than each peer.

Timings are medians over ``--repeats`` calls after one untimed warm-up call (which compiles or
loads the numba kernel and touches the output's pages). Targets print PASS/MISS; the exit code
never depends on timing (0 unless something crashed).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from triad import Triad  # noqa: E402

F32 = np.float32
#: (D, H, W, C) volumes by size name; targets apply at TARGET_SIZES only.
ISSUE_SIZES = [(16, 512, 512, 1), (32, 1024, 1024, 1), (8, 2048, 2048, 3)]
SIZES = {
    "tiny": [(4, 64, 64, 1)],
    "small": [ISSUE_SIZES[0]],
    "issue": ISSUE_SIZES,
    "all": [(4, 64, 64, 1)] + ISSUE_SIZES,
}
TARGET_SIZES = set(ISSUE_SIZES[1:])
DIFFUSION_RATE = 0.2
DECODE_FEATURES = 16
SEED = 20261129


def _optional(name):
    try:
        return __import__(name)
    except ImportError:
        return None


cv2 = _optional("cv2")
ndimage = None
if _optional("scipy") is not None:
    from scipy import ndimage


# --------------------------------------------------------------------------- peers


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


# --------------------------------------------------------------------------- kernels


@dataclass
class Kernel:
    name: str
    byte_model: str
    bytes_moved: object  # (D, H, W, C) -> bytes read + written
    call: object  # (ops, vol, weights, out) -> result
    out_shape: object  # (D, H, W, C) -> shape, or None when the kernel has no out=
    peers: dict = field(default_factory=dict)  # label -> (vol, weights) -> fresh result
    target: tuple | None = None  # (min fraction of triad, peer label, min speed-up)
    work: object = None  # (D, H, W, C) -> (count, unit) for a compute-bound kernel


def _n(s):
    return s[0] * s[1] * s[2] * s[3]


def _diffuse_call(ops, vol, w, out):
    if hasattr(ops, "diffuse"):
        return ops.diffuse(vol, 1, DIFFUSION_RATE, out=out)
    return ops.diffuse_pass(vol, DIFFUSION_RATE, out=out)


def _decode_call(ops, vol, w, out, reference=False):
    """Decode a DECODE_FEATURES latent into (D, H, W, 1): the backend's, or the NumPy oracle."""
    fn = getattr(ops, "decode_latent", None)
    if reference or fn is None:
        name = "decode_reference" if reference or ops.__name__.endswith("reference") else "decode"
        fn = __import__(f"stv_kernels.{name}", fromlist=["decode_latent"]).decode_latent
    from stv_kernels.chacha import key_words_from_seed

    latent = np.linspace(-1.0, 1.0, DECODE_FEATURES, dtype=F32)
    return fn(key_words_from_seed(SEED), 0, latent, *vol.shape[:3], out=out)


KERNELS = [
    Kernel(
        "collapse",
        "reads D*H*W*C*4, writes H*W*C*4",
        lambda s: 4 * (_n(s) + _n(s) // s[0]),
        lambda ops, v, w, out: ops.collapse_weighted(v, w, out=out),
        lambda s: s[1:],
        {"numpy tensordot (BLAS)": lambda v, w: np.tensordot(w, v, axes=(0, 0))},
        (0.70, "numpy tensordot (BLAS)", 1.0),
    ),
    Kernel(
        "interpolate",
        "cubic Z: reads D*H*W*C*4, writes (2D-1)*H*W*C*4",
        lambda s: 4 * (_n(s) + (2 * s[0] - 1) * _n(s) // s[0]),
        lambda ops, v, w, out: ops.interpolate_z(v, "cubic", out=out),
        lambda s: (2 * s[0] - 1,) + s[1:],
        {"numpy slicing": lambda v, w: np_interp_cubic(v)},
        (0.50, "numpy slicing", 2.0),
    ),
    Kernel(
        "upscale",
        "bilinear x2: reads D*H*W*C*4, writes 4*D*H*W*C*4",
        lambda s: 4 * 5 * _n(s),
        lambda ops, v, w, out: ops.upscale_bilinear(v, 2, out=out),
        lambda s: (s[0], 2 * s[1], 2 * s[2], s[3]),
        {
            "numpy gather+lerp": lambda v, w: np_upscale(v),
            "opencv resize/slice (half-pixel)": lambda v, w: cv2_upscale(v),
            "scipy zoom order=1/slice": lambda v, w: scipy_upscale(v),
        },
        (0.50, "opencv resize/slice (half-pixel)", 1.5),
    ),
    Kernel(
        "diffuse",
        "one pass: reads D*H*W*C*4, writes D*H*W*C*4",
        lambda s: 4 * 2 * _n(s),
        _diffuse_call,
        lambda s: s,
        {
            "numpy slicing": lambda v, w: np_diffuse(v),
            "opencv filter2D/slice (2-D cross)": lambda v, w: cv2_diffuse(v),
            "scipy convolve (3-D cross)": lambda v, w: scipy_diffuse(v),
        },
        (0.50, "opencv filter2D/slice (2-D cross)", 2.0),
    ),
    Kernel(
        "stats",
        "slice statistics: reads D*H*W*C*4 (writes 5*D*4, ignored)",
        lambda s: 4 * _n(s),
        lambda ops, v, w, out: ops.slice_statistics(v),
        None,
        {"numpy float64 reductions": lambda v, w: np_statistics(v)},
    ),
    Kernel(
        "decode",
        f"latent decoder, F={DECODE_FEATURES}: writes D*H*W*4 (output has C=1; compute bound)",
        lambda s: 4 * s[0] * s[1] * s[2],
        _decode_call,
        lambda s: s[:3] + (1,),
        {"numpy reference decoder": lambda v, w: _decode_call(None, v, w, None, reference=True)},
        work=lambda s: (s[0] * s[1] * s[2] * DECODE_FEATURES, "draws"),
    ),
]
PEER_NEEDS = {"opencv": lambda: cv2 is not None, "scipy": lambda: ndimage is not None}
KERNEL_ALIASES = {"interp": "interpolate", "statistics": "stats", "diffusion": "diffuse"}


# --------------------------------------------------------------------------- timing


def time_calls(fn, repeats, budget_s, warmup_may_count=False):
    """Median and spread of ``fn()`` over up to ``repeats`` calls after one untimed warm-up.

    Calls stop once ``budget_s`` seconds have been spent timing (at least one is timed), so slow
    peers do not dominate the run. With ``warmup_may_count`` (peers only) a warm-up longer than
    the budget is the one sample and the row reports ``n = 0``: for a peer that is still a fair
    fresh-output call, while stv's warm-up includes compiling or loading the numba kernel.
    """
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    if warmup_may_count and first > budget_s:
        times, n = [first], 0
    else:
        times = []
        while len(times) < repeats and sum(times) <= budget_s:
            t0 = time.perf_counter()
            fn()  # the result is dropped at once, so every "fresh" call allocates anew
            times.append(time.perf_counter() - t0)
        n = len(times)
    q1, med, q3 = np.percentile(times, [25, 50, 75])
    return {
        "n": n,  # 0: only the warm-up call was timed
        "first_s": first,
        "median_s": float(med),
        "q1_s": float(q1),
        "q3_s": float(q3),
        "min_s": min(times),
        "max_s": max(times),
    }


def bench_kernel(kernel, ops, backend, shape, vol, weights, repeats, budget_s, triad):
    """Yield rows for one kernel at one size: stv out=, stv fresh, then each available peer.

    The triad is measured again right before the kernel, and that is its denominator: on a
    shared machine the bandwidth drifts within a run (24 to 35 GB/s was seen here).
    """
    nbytes = kernel.bytes_moved(shape)
    triad_gbs = triad.measure(5)["gbs_3"]

    def row(impl, output, fn, peer=False):
        r = {"kernel": kernel.name, "size": list(shape), "impl": impl, "output": output}
        r.update(time_calls(fn, repeats, budget_s, warmup_may_count=peer))
        r["gbs"] = nbytes / r["median_s"] / 1e9
        return r

    stv = f"stv {backend}"
    if kernel.out_shape is not None:
        out = np.zeros(kernel.out_shape(shape), dtype=F32)  # touched: a reused buffer
        r = row(stv, "out=", lambda: kernel.call(ops, vol, weights, out))
        del out
        r["triad_fraction"] = r["gbs"] / triad_gbs
        r["triad_gbs"] = triad_gbs
        yield r
    fresh = row(stv, "fresh", lambda: kernel.call(ops, vol, weights, None))
    if kernel.out_shape is None:  # no out= form: the one figure serves both
        fresh["triad_fraction"] = fresh["gbs"] / triad_gbs
        fresh["triad_gbs"] = triad_gbs
    yield fresh
    for label, peer in kernel.peers.items():
        lib = label.split()[0]
        if lib in PEER_NEEDS and not PEER_NEEDS[lib]():
            continue
        p = row(label, "fresh", lambda peer=peer: peer(vol, weights), peer=True)
        p["stv_speedup"] = p["median_s"] / fresh["median_s"]
        yield p


# --------------------------------------------------------------------------- startup costs

_COMPILE_SCRIPT = r"""
import importlib, importlib.util, json, sys, time
t0 = time.perf_counter()
import numpy as np
import stv_kernels.cpu as k
res = {"import stv_kernels.cpu (numba included)": time.perf_counter() - t0}
vol = np.random.default_rng(0).random((4, 8, 8, 1), dtype=np.float32)
w = np.full(4, 0.25, dtype=np.float32)
calls = {
    "collapse_weighted": lambda: k.collapse_weighted(vol, w),
    "interpolate_z cubic": lambda: k.interpolate_z(vol, "cubic"),
    "upscale_bilinear x2": lambda: k.upscale_bilinear(vol, 2),
    "diffuse 1 pass": (lambda: k.diffuse(vol, 1, 0.2)) if hasattr(k, "diffuse")
    else (lambda: k.diffuse_pass(vol, 0.2)),
    "slice_statistics": lambda: k.slice_statistics(vol),
}
dec = getattr(k, "decode_latent", None)
if dec is None and importlib.util.find_spec("stv_kernels.decode"):
    dec = importlib.import_module("stv_kernels.decode").decode_latent
if dec is not None:
    from stv_kernels.chacha import key_words_from_seed
    lat = np.ones(16, dtype=np.float32)
    calls["decode_latent"] = lambda: dec(key_words_from_seed(0), 0, lat, 4, 8, 8)
for name, call in calls.items():
    t0 = time.perf_counter()
    call()
    res[name] = time.perf_counter() - t0
print(json.dumps(res))
"""


def compile_times():
    """First-call times in fresh processes: cold on-disk numba cache, then warm (same dir)."""
    result = {}
    with tempfile.TemporaryDirectory(prefix="stv-numba-cache-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for state in ("cold", "warm"):
            proc = subprocess.run(
                [sys.executable, "-c", _COMPILE_SCRIPT], env=env, capture_output=True, text=True
            )
            if proc.returncode != 0:
                tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
                return {"error": f"compile probe failed (exit {proc.returncode}): {tail}"}
            result[state] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _wall(cmd, runs):
    times, proc = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            return None, proc
    return float(np.median(times)), proc


def startup_times(runs=5):
    """Wall time of ``python -c pass``, ``python -c "import stv_cli"`` and ``stv --help``."""
    py = sys.executable
    res = {"runs": runs}
    res["python -c pass"], _ = _wall([py, "-c", "pass"], runs)
    probe = "import sys, stv_cli; print(int('numba' in sys.modules))"
    t, proc = _wall([py, "-c", probe], runs)
    res["import stv_cli"] = t
    res["numba imported by import stv_cli"] = bool(t is not None and proc.stdout.strip() == "1")
    script = shutil.which("stv", path=os.path.dirname(py)) or shutil.which("stv")
    if script is None:
        res["stv --help"] = "skipped: no stv console script"
    else:
        t, proc = _wall([script, "--help"], runs)
        if t is None:
            tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
            res["stv --help"] = f"skipped: exit {proc.returncode}: {tail[:80]}"
        else:
            res["stv --help"] = t
    return res


# --------------------------------------------------------------------------- report

ROW = "{:<12} {:<34} {:<6} {:>10} {:>19} {:>3} {:>7} {:>7} {:>8}"


def _ms(s):
    return f"{s * 1e3:.2f}" if s < 10 else f"{s * 1e3:.0f}"


def _gbs(x):
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def format_row(r):
    frac = f"{100 * r['triad_fraction']:.0f}%" if "triad_fraction" in r else ""
    speed = f"{r['stv_speedup']:.2f}x" if "stv_speedup" in r else ""
    iqr = f"{_ms(r['q1_s'])}-{_ms(r['q3_s'])}"
    return ROW.format(
        r["kernel"], r["impl"], r["output"], _ms(r["median_s"]), iqr, r["n"], _gbs(r["gbs"]),
        frac, speed,
    )  # fmt: skip


def summary_line(kernel, shape, rows):
    """One line per kernel and size: bandwidth, best peer, and PASS/MISS where targets apply."""
    mine = [r for r in rows if r["kernel"] == kernel.name and r["impl"].startswith("stv ")]
    peers = [r for r in rows if r["kernel"] == kernel.name and "stv_speedup" in r]
    bw = next(r for r in mine if "triad_fraction" in r)
    fresh = next(r for r in mine if r["output"] == "fresh")
    pct = 100 * bw["triad_fraction"]
    text = f"{kernel.name:<12} {bw['output']} {_gbs(bw['gbs'])} GB/s = {pct:.0f}%"
    text += f" of triad ({bw['triad_gbs']:.1f} GB/s)"
    text += f" | fresh {_gbs(fresh['gbs'])} GB/s" if bw is not fresh else ""
    if kernel.work is not None:
        count, unit = kernel.work(shape)
        text += f" | {count / bw['median_s'] / 1e6:.0f} M {unit}/s"
    if peers:
        best = min(peers, key=lambda r: r["median_s"])
        text += f" | best peer {best['impl']}: stv {best['stv_speedup']:.2f}x"
    verdicts = {}
    if kernel.target and tuple(shape) in TARGET_SIZES:
        min_frac, peer_label, min_speed = kernel.target
        ok = bw["triad_fraction"] >= min_frac
        verdicts["bandwidth"] = ok
        text += f" | {'PASS' if ok else 'MISS'} >= {100 * min_frac:.0f}% triad"
        peer = next((r for r in peers if r["impl"] == peer_label), None)
        if peer is None:
            text += f", n/a: {peer_label.split()[0]} not installed"
        else:
            ok = peer["stv_speedup"] >= min_speed
            verdicts["peer"] = ok
            text += f", {'PASS' if ok else 'MISS'} >= {min_speed:.1f}x {peer_label}"
    return text, verdicts


def _blas_name():
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas.get('version', '')}".strip()
    except Exception:  # only a label: older numpy has no mode="dicts"
        return "BLAS unknown"


def header_lines(backend, module, triad):
    import numba

    lines = [
        f"stv benchmark  {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC  "
        f"({platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs)",
        f"backend: {backend} ({module})  numba {numba.__version__}, "
        f"{numba.get_num_threads()} threads, layer {numba.threading_layer()}  "
        f"numpy {np.__version__} ({_blas_name()})  python {platform.python_version()}",
        "peers: numpy"
        + (f", opencv {cv2.__version__} ({cv2.getNumThreads()} threads)" if cv2 else "")
        + (f", scipy {sys.modules['scipy'].__version__}" if ndimage else "")
        + ("" if cv2 and ndimage else "  (pip install -e '.[bench]' adds opencv and scipy)"),
        f"triad a = b + s*c (numba prange, float64, 3 x {triad['mib_per_array']} MiB, "
        f"preallocated a): {triad['gbs_3']:.1f} GB/s counting 3 arrays (STREAM; re-measured "
        f"before each kernel as its '% triad' denominator), {triad['gbs_4']:.1f} GB/s counting 4 "
        f"(write-allocate); median of {triad['repeats']}, best {triad['gbs_3_best']:.1f}",
    ]
    tuned = [k for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ]
    if tuned:
        lines.append(
            f"WARNING: {', '.join(tuned)} set: OpenBLAS may run a slower kernel, so the "
            "tensordot peer is handicapped; for a fair peer run with "
            "`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench.py`"
        )
    return lines


def print_startup(startup, compiled):
    if startup:
        base = startup["python -c pass"]
        print(f"startup (wall time of a subprocess, median of {startup['runs']}):")
        print(f"  python -c pass                {_ms(base):>8} ms")
        t = startup["import stv_cli"]
        imported = "yes (it should not)" if startup["numba imported by import stv_cli"] else "no"
        txt = f"{_ms(t):>8} ms ({1e3 * (t - base):+.1f} ms)" if t is not None else "failed"
        print(f"  python -c 'import stv_cli'    {txt}; numba imported: {imported}")
        t = startup["stv --help"]
        print(f"  stv --help                    {_ms(t) + ' ms' if isinstance(t, float) else t}")
    if compiled is None:
        return
    if "error" in compiled:
        print(f"numba first-call times: {compiled['error']}")
        return
    print("numba first call in a fresh process, NUMBA_CACHE_DIR a new temp dir (cold, then warm):")
    for name, cold in compiled["cold"].items():
        print(f"  {name:<40} cold {cold:7.3f} s   warm {compiled['warm'][name]:7.3f} s")
    print("  (the first kernel also pays for starting numba's thread pool)")


# --------------------------------------------------------------------------- main


def parse_size(text):
    if text in SIZES:
        return SIZES[text]
    dims = tuple(int(x) for x in text.lower().split("x"))
    if len(dims) != 4 or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"size {text!r} is not one of {list(SIZES)} or DxHxWxC")
    return [dims]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="issue", help="tiny|small|issue|all, or DxHxWxC[,...]")
    p.add_argument("--repeats", type=int, default=7, help="timed calls per row (median)")
    p.add_argument("--kernels", default=",".join(k.name for k in KERNELS), help="comma list")
    p.add_argument("--backend", default="auto", choices=("auto", "cpu", "numpy"))
    p.add_argument("--json", metavar="FILE", help="also write every figure to FILE as JSON")
    p.add_argument("--budget", type=float, default=1.0, help="seconds of timed calls per row")
    p.add_argument("--triad-mib", type=int, default=256, help="MiB per triad array")
    p.add_argument(
        "--startup",
        action=argparse.BooleanOptionalAction,
        help="time imports and numba compiles (default: on, except for --sizes tiny/small, "
        "which stay quick: a cold compile of every kernel takes 10-20 s)",
    )
    args = p.parse_args(argv)
    args.shapes = []
    for part in args.sizes.split(","):
        try:
            args.shapes += [s for s in parse_size(part) if s not in args.shapes]
        except (ValueError, argparse.ArgumentTypeError) as exc:
            p.error(str(exc))
    by_name = {k.name: k for k in KERNELS}
    names = [KERNEL_ALIASES.get(n.strip(), n.strip()) for n in args.kernels.split(",")]
    unknown = [n for n in names if n not in by_name]
    if unknown:
        p.error(f"unknown kernel(s) {unknown}; choose from {list(by_name)}")
    args.kernel_list = [by_name[n] for n in names]
    args.repeats = max(1, args.repeats)
    if args.startup is None:
        args.startup = args.sizes not in ("tiny", "small")
    return args


def run_size(shape, args, ops, backend, rng, triad):
    """Benchmark every selected kernel at one size; print its table and summary lines."""
    vol = rng.random(shape, dtype=F32)
    weights = rng.random(shape[0], dtype=F32) + F32(0.5)
    weights /= weights.sum()
    print(f"\n== (D, H, W, C) = {shape}, input {vol.nbytes / 2**20:.1f} MiB ==", flush=True)
    print(ROW.format("kernel", "implementation", "output", "median ms", "IQR ms", "n",
                     "GB/s", "% triad", "stv x"))  # fmt: skip
    rows, summaries = [], []
    for kernel in args.kernel_list:
        for r in bench_kernel(
            kernel, ops, backend, shape, vol, weights, args.repeats, args.budget, triad
        ):
            print(format_row(r), flush=True)
            rows.append(r)
    print("summary (% of the triad measured just before the kernel):")
    for kernel in args.kernel_list:
        text, verdicts = summary_line(kernel, shape, rows)
        print("  " + text)
        summaries.append({"kernel": kernel.name, "size": list(shape), **verdicts})
    return rows, summaries


def main(argv=None):
    args = parse_args(argv)
    from stv_cli import backend as stv_backend

    stv_backend.set_backend(args.backend)
    backend = stv_backend.get_backend()
    ops = stv_backend.ops()
    probe = Triad(args.triad_mib)
    triad = probe.measure(max(5, args.repeats))
    for line in header_lines(backend, ops.__name__, triad):
        print(line, flush=True)
    startup = compiled = None
    if args.startup:
        startup = startup_times()
        compiled = compile_times() if backend == "cpu" else None
        print_startup(startup, compiled)
    rng = np.random.default_rng(SEED)
    rows, summaries = [], []
    for shape in args.shapes:
        size_rows, size_summaries = run_size(shape, args, ops, backend, rng, probe)
        rows += size_rows
        summaries += size_summaries
    triad_end = probe.measure(max(5, args.repeats))
    print(f"\ntriad again at the end: {triad_end['gbs_3']:.1f} GB/s (start {triad['gbs_3']:.1f});"
          " a large change means the machine was busy")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    print(f"peak memory (max RSS) of this process: {peak:.2f} GiB")
    if args.json:
        report = {
            "backend": backend,
            "triad": triad,
            "triad_end": triad_end,
            "startup": startup,
            "numba_first_call": compiled,
            "rows": rows,
            "targets": summaries,
        }
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
