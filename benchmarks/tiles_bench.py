"""Tiled and streamed projection: wall time and peak memory of ``stv project`` runs.

Part 1, tiles. A 16-slice 1024x1024 RGB PNG stack, projected plainly, with ``--interpolate
cubic --upscale 2`` and with ``--interpolate cubic --interpolate-passes 2 --upscale 4``
(band by band: the refined volume is never held), each against the plain run. Targets: peak
RSS <= 1.5 GB for the last; wall time <= 1.3x and <= 2.0x the plain run.

Part 2, streaming. A 32-slice 4096x4096 RGB uint8 stack (1.6 GB as ``.npy``, 6.4 GB as
float32) projected plainly with ``--memory-limit 1G``, as ``.npy`` and as a folder of PNG
slices, against reading the ``.npy`` file once and decoding the PNGs alone (Pillow, the same
threads). Targets: peak RSS <= 1.5 GB, >= 70% of the speed of reading the file, >= 80% of
decode-only speed. stv's time is also given for its streamed collapse alone (measured in
this process, as ``stv project`` plans it: the run less the process start, the probe and
writing the 50-megapixel picture).

Each ``stv project`` runs in a fresh process; its peak resident memory is the process's
``VmHWM``. Runs are interleaved (plain, refined, plain, ...), ``--repeats`` times; the
medians and ranges are printed.

    python benchmarks/tiles_bench.py                 # both parts (a few minutes, 3 GB of files)
    python benchmarks/tiles_bench.py --part tiles    # or --part stream
    python benchmarks/tiles_bench.py --quick         # small inputs, to check the script
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, resource, sys, time


def peak():
    # this process's own high-water mark: ru_maxrss would keep the forked parent's across exec
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024

start = time.perf_counter()
from stv_cli.cli.main import main
try:
    main(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print(json.dumps({"seconds": time.perf_counter() - start,
                  "peak_rss": peak()}))
"""


def run_stv(*args: str) -> dict:
    """One ``stv project`` in a fresh process: wall seconds (from the interpreter's start of
    the command, imports included) and peak RSS."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, "project", *args, "--quiet", "--overwrite"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def _smooth_rgb(height: int, width: int, z: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = (np.sin(x / (17 + z)) * 90 + 128).astype(np.uint8)
    image[..., 1] = (np.cos(y / (23 + z)) * 90 + 128).astype(np.uint8)
    image[..., 2] = ((x * 3 + y * 5 + z * 11) % 256).astype(np.uint8)
    return image


def _write_pngs(folder: Path, depth: int, size: int) -> None:
    from PIL import Image

    folder.mkdir()

    def write(z: int) -> None:
        Image.fromarray(_smooth_rgb(size, size, z)).save(folder / f"z{z:02d}.png", compress_level=1)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(write, range(depth)))


def _median(rows: list[dict], key: str) -> tuple[float, float, float]:
    values = [row[key] for row in rows]
    return statistics.median(values), min(values), max(values)


def tiles(folder: Path, quick: bool, repeats: int) -> dict:
    size = 256 if quick else 1024
    stack = folder / "rgb16"
    _write_pngs(stack, 16, size)
    out = str(folder / "out") + "/"
    runs = {
        "plain": [],
        "cubic, upscale 2": ["--interpolate", "cubic", "--upscale", "2"],
        "cubic x2 passes, upscale 4": [
            "--interpolate", "cubic", "--interpolate-passes", "2", "--upscale", "4",
        ],
    }  # fmt: skip
    # the same stack three times as one batch: the per-input time once the process is up
    # and each kernel loaded (a single run pays ~0.5 s of numba cache loading per kernel)
    batch = [str(stack)]
    for k in (1, 2):
        (folder / f"rgb16_{k}").symlink_to(stack, target_is_directory=True)
        batch.append(str(folder / f"rgb16_{k}"))
    for extra in runs.values():  # warm the kernel caches and the page cache
        run_stv(str(stack), "-o", out, *extra)
    results: dict[str, list] = {name: [] for name in runs}
    batches: dict[str, list] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, extra in runs.items():
            results[name].append(run_stv(str(stack), "-o", out, *extra))
            batches[name].append(run_stv(*batch, "-o", out, *extra))
    plain = _median(results["plain"], "wall")[0]
    plain_batch = _median(batches["plain"], "wall")[0]
    report = {}
    print(f"tiles: 16 x {size} x {size} RGB PNG stack, {repeats} interleaved runs")
    for name, rows in results.items():
        wall, low, high = _median(rows, "wall")
        rss = max(row["peak_rss"] for row in rows)
        per_input = _median(batches[name], "wall")[0]
        report[name] = {
            "wall_s": wall,
            "range": [low, high],
            "peak_rss": rss,
            "x_plain": wall / plain,
            "batch_of_3_s": per_input,
            "batch_x_plain": per_input / plain_batch,
        }
        print(
            f"  {name:28} {wall:6.2f} s [{low:.2f}-{high:.2f}]  {wall / plain:4.2f}x plain  "
            f"peak RSS {rss / 2**30:5.2f} GiB;  a batch of 3: {per_input:6.2f} s, "
            f"{per_input / plain_batch:4.2f}x plain"
        )
    return report


def _read_once(path: Path) -> float:
    buffer = bytearray(64 * 2**20)
    view = memoryview(buffer)
    start = time.perf_counter()
    with open(path, "rb", buffering=0) as handle:
        while handle.readinto(view):
            pass
    return time.perf_counter() - start


def _decode_only(folder: Path, threads: int) -> float:
    from PIL import Image

    def decode(path: Path) -> tuple:
        with Image.open(path) as image:
            return np.asarray(image).shape

    files = sorted(folder.iterdir())
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(decode, files))
    return time.perf_counter() - start


def stream(folder: Path, quick: bool, repeats: int, threads: int) -> dict:
    depth, size = (8, 1024) if quick else (32, 4096)
    limit = "64M" if quick else "1G"
    npy = folder / "stack.npy"
    volume = np.lib.format.open_memmap(npy, mode="w+", dtype=np.uint8, shape=(depth, size, size, 3))
    for z in range(depth):
        volume[z] = _smooth_rgb(size, size, z)
    volume.flush()
    del volume
    pngs = folder / "png"
    _write_pngs(pngs, depth, size)
    out = str(folder / "out") + "/"
    common = ["--memory-limit", limit, "--threads", str(threads)]
    rows: dict[str, list] = {"npy": [], "png": [], "read": [], "decode": []}
    phases: dict[str, list] = {"npy": [], "png": []}
    _read_once(npy), _decode_only(pngs, threads)  # warm the page cache
    run_stv(str(npy), "-o", out, *common)
    _streamed_phase(npy, limit, threads), _streamed_phase(pngs, limit, threads)  # load kernels
    for _ in range(repeats):
        rows["read"].append({"wall": _read_once(npy)})
        rows["npy"].append(run_stv(str(npy), "-o", out, *common))
        phases["npy"].append(_streamed_phase(npy, limit, threads))
        rows["decode"].append({"wall": _decode_only(pngs, threads)})
        rows["png"].append(run_stv(str(pngs), "-o", out, *common))
        phases["png"].append(_streamed_phase(pngs, limit, threads))
    read, decode = _median(rows["read"], "wall")[0], _median(rows["decode"], "wall")[0]
    print(
        f"streaming: {depth} x {size} x {size} RGB uint8 with --memory-limit {limit}, "
        f"{repeats} interleaved runs"
    )
    report = {"read_s": read, "decode_s": decode}
    cases = (("npy", read, "reading the file", 0.70), ("png", decode, "decoding the PNGs", 0.80))
    for name, baseline, label, target in cases:
        wall, low, high = _median(rows[name], "wall")
        rss = max(row["peak_rss"] for row in rows[name])
        phase = statistics.median(phases[name])
        speed, streamed = baseline / wall, baseline / phase
        report[name] = {
            "wall_s": wall,
            "range": [low, high],
            "peak_rss": rss,
            "streamed_phase_s": phase,
            "speed_vs_baseline": speed,
            "streamed_speed_vs_baseline": streamed,
        }
        print(
            f"  {name:4} stv project {wall:5.2f} s [{low:.2f}-{high:.2f}], peak RSS "
            f"{rss / 2**30:4.2f} GiB ({'PASS' if rss <= 1.5 * 2**30 else 'MISS'} <= 1.5 GB); "
            f"{label} {baseline:4.2f} s; the streamed collapse {phase:4.2f} s: "
            f"{100 * streamed:3.0f}% of its speed ({'PASS' if streamed >= target else 'MISS'} "
            f">= {100 * target:.0f}%), the whole run (start, probe, writing the 50 MP picture) "
            f"{100 * speed:3.0f}%"
        )
    return report


def _streamed_phase(path: Path, limit: str, threads: int) -> float:
    """Seconds of the streamed collapse alone (in this process, as ``stv project`` plans it):
    the slabs read and summed, without the process start, the probe and the writing."""
    sys.path.insert(0, str(ROOT))
    from stv_cli.cli.param_types import ByteSize
    from stv_cli.io.images import probe_volume
    from stv_cli.model.memory import use_memory_limit
    from stv_cli.pipeline.project import _streaming
    from stv_cli.pipeline.settings import OutputSettings, ProjectionSettings, ProjectSettings
    from stv_cli.pipeline.slabs import project_streamed
    from stv_cli.pipeline.workspace import Workspace

    with use_memory_limit(ByteSize().convert(limit, None, None)):
        info = probe_volume(path)
        settings = ProjectSettings(output=OutputSettings(out=Path(".")))
        mode, slab = _streaming(info, settings, False, threads, 8)
        assert mode == "slabs"
        start = time.perf_counter()
        project_streamed(info, ProjectionSettings(), Workspace(), slab, threads)
        return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, to check the script")
    parser.add_argument("--part", choices=("all", "tiles", "stream"), default="all")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    args = parser.parse_args(argv)
    report = {}
    with tempfile.TemporaryDirectory(prefix="stv-tiles-bench-") as folder:
        if args.part in ("all", "tiles"):
            report["tiles"] = tiles(Path(folder), args.quick, args.repeats)
        if args.part in ("all", "stream"):
            report["stream"] = stream(Path(folder), args.quick, args.repeats, args.threads)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
