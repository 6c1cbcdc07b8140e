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
import json
import os
import resource
import sys
import time
from dataclasses import dataclass, field

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # the sibling modules, also when bench.py is loaded by path (tests)
    sys.path.insert(0, _HERE)
from peers import (  # noqa: E402
    DIFFUSION_RATE,
    PEER_NEEDS,
    cv2_diffuse,
    cv2_upscale,
    np_diffuse,
    np_interp_cubic,
    np_statistics,
    np_upscale,
    scipy_diffuse,
    scipy_upscale,
)
from report import ROW, fmt_gbs, format_row, header_lines, print_startup  # noqa: E402
from startup import compile_times, startup_times  # noqa: E402
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
DECODE_FEATURES = 16
SEED = 20261129


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
        from stv_kernels import reference as oracle

        fn = oracle.decode_latent
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


# --------------------------------------------------------------------------- report


def summary_line(kernel, shape, rows):
    """One line per kernel and size: bandwidth, best peer, and PASS/MISS where targets apply."""
    mine = [r for r in rows if r["kernel"] == kernel.name and r["impl"].startswith("stv ")]
    peers = [r for r in rows if r["kernel"] == kernel.name and "stv_speedup" in r]
    bw = next(r for r in mine if "triad_fraction" in r)
    fresh = next(r for r in mine if r["output"] == "fresh")
    pct = 100 * bw["triad_fraction"]
    text = f"{kernel.name:<12} {bw['output']} {fmt_gbs(bw['gbs'])} GB/s = {pct:.0f}%"
    text += f" of triad ({bw['triad_gbs']:.1f} GB/s)"
    text += f" | fresh {fmt_gbs(fresh['gbs'])} GB/s" if bw is not fresh else ""
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
