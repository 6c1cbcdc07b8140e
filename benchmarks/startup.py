"""Start-up costs: import and ``stv --help`` wall times, and numba first-call times cold and warm.

Both run in fresh subprocesses, so they measure what a user's first command pays. bench.py
calls them with ``--startup`` (the default, except for ``--sizes tiny`` and ``small``), and
report.py prints them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

_COMPILE_SCRIPT = r"""
import json, sys, time
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
from stv_kernels.chacha import key_words_from_seed
lat = np.ones(16, dtype=np.float32)
calls["decode_latent"] = lambda: k.decode_latent(key_words_from_seed(0), 0, lat, 4, 8, 8)
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
