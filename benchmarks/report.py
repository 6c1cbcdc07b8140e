"""Printing for bench.py: the header, the start-up section and the per-kernel table rows."""

from __future__ import annotations

import datetime
import os
import platform
import sys

import numpy as np
from peers import cv2, ndimage

ROW = "{:<12} {:<34} {:<6} {:>10} {:>19} {:>3} {:>7} {:>7} {:>8}"


def fmt_ms(s):
    return f"{s * 1e3:.2f}" if s < 10 else f"{s * 1e3:.0f}"


def fmt_gbs(x):
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def format_row(r):
    frac = f"{100 * r['triad_fraction']:.0f}%" if "triad_fraction" in r else ""
    speed = f"{r['stv_speedup']:.2f}x" if "stv_speedup" in r else ""
    iqr = f"{fmt_ms(r['q1_s'])}-{fmt_ms(r['q3_s'])}"
    return ROW.format(
        r["kernel"], r["impl"], r["output"], fmt_ms(r["median_s"]), iqr, r["n"], fmt_gbs(r["gbs"]),
        frac, speed,
    )  # fmt: skip


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
        print(f"  python -c pass                {fmt_ms(base):>8} ms")
        t = startup["import stv_cli"]
        imported = "yes (it should not)" if startup["numba imported by import stv_cli"] else "no"
        txt = f"{fmt_ms(t):>8} ms ({1e3 * (t - base):+.1f} ms)" if t is not None else "failed"
        print(f"  python -c 'import stv_cli'    {txt}; numba imported: {imported}")
        t = startup["stv --help"]
        print(f"  stv --help                    {fmt_ms(t) + ' ms' if isinstance(t, float) else t}")
    if compiled is None:
        return
    if "error" in compiled:
        print(f"numba first-call times: {compiled['error']}")
        return
    print("numba first call in a fresh process, NUMBA_CACHE_DIR a new temp dir (cold, then warm):")
    for name, cold in compiled["cold"].items():
        print(f"  {name:<40} cold {cold:7.3f} s   warm {compiled['warm'][name]:7.3f} s")
    print("  (the first kernel also pays for starting numba's thread pool)")
