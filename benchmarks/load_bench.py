"""Loading benchmark: stv's TIFF loading against tifffile.imread, and its memory estimate.

Part 1, speed. Three inputs, written here with tifffile (seeded random uint16):

* a 64-page 1024x1024 TIFF (uncompressed, contiguous: tifffile reads it in one pass),
* 5000 small pages (64x64) in one TIFF,
* a folder of 64 zlib-compressed 1024x1024 TIFF slices,

each loaded by ``stv_cli.load_volume(path, threads=T)`` (which makes the float32 (D, H, W, C)
volume, scaled to [0, 1]) and by ``tifffile.imread(path, maxworkers=T)`` (the raw uint16
array; for the folder, the list of files), with the same T, interleaved run by run; and by
``imread`` followed by the float32 scaling a user would write to get stv's values (checked
equal). Printed: median and range of each, and the ratios stv / imread (the issue's target:
at most 1.10) and stv / (imread + float32). stv does more than imread: the float32 volume is
twice the bytes of the raw pixels and each value is divided, so on uncompressed files in the
page cache (where imread is a memcpy) the first ratio measures that conversion.

Part 2, memory. A few ``stv project`` runs, each in a fresh process: the estimate stv makes
before loading (``stv_cli.pipeline.stages.estimate_run_memory`` + the process's resident
memory after its imports) against the peak resident memory the run reached
(``VmHWM``: its own high-water mark). Target: within 25%.

    python benchmarks/load_bench.py                  # both parts (about a minute)
    python benchmarks/load_bench.py --quick          # small inputs, to check the script
    python benchmarks/load_bench.py --json out.json
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

#: The memory part's runs: (name, stack shape (D, H, W), extra stv project options).
MEMORY_RUNS = [
    ("2 x 144 MP grey TIFF", (2, 12000, 12000), []),
    ("64 x 1024^2, cubic + upscale 2", (64, 1024, 1024), ["--interpolate", "cubic",
                                                          "--upscale", "2"]),
    ("32 x 2048^2, diffuse 2 + grid", (32, 2048, 2048), ["--diffuse-iterations", "2", "--grid"]),
]  # fmt: skip
QUICK_MEMORY_RUNS = [
    ("2 x 4 MP grey TIFF", (2, 2000, 2000), []),
    ("16 x 512^2, cubic + upscale 2", (16, 512, 512), ["--interpolate", "cubic", "--upscale", "2"]),
]


def _inputs(folder: Path, quick: bool) -> dict[str, Path]:
    import tifffile

    rng = np.random.default_rng(0)
    size = 256 if quick else 1024
    many = 500 if quick else 5000
    pages = rng.integers(0, 65536, (64, size, size), dtype=np.uint16)
    inputs = {}
    inputs[f"64 pages {size}x{size} uint16"] = folder / "pages.tif"
    tifffile.imwrite(folder / "pages.tif", pages, photometric="minisblack")
    small = rng.integers(0, 65536, (many, 64, 64), dtype=np.uint16)
    inputs[f"{many} pages 64x64 uint16"] = folder / "many.tif"
    tifffile.imwrite(folder / "many.tif", small, photometric="minisblack")
    slices = folder / "slices"
    slices.mkdir()
    # smooth slices: compressible like real images, unlike noise
    y, x = np.mgrid[0:size, 0:size]
    for z in range(64):
        image = ((np.sin(x / 37.0 + z) + np.cos(y / 23.0)) * 16000 + 32768).astype(np.uint16)
        tifffile.imwrite(slices / f"z{z:03d}.tif", image, compression="zlib")
    inputs[f"folder of 64 zlib {size}x{size} TIFF"] = slices
    return inputs


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _show(row: dict, key: str) -> str:
    low, high = row[f"{key}_range"]
    return f"{1e3 * row[f'{key}_s']:7.1f} ms [{1e3 * low:.1f}-{1e3 * high:.1f}]"


def _measure(name: str, path: Path, threads: int, repeats: int) -> dict:
    """One input: stv, imread, and imread + the float32 scaling, interleaved."""
    import tifffile

    import stv_cli

    source = sorted(str(p) for p in path.iterdir()) if path.is_dir() else path

    def peer():
        return tifffile.imread(source, maxworkers=threads)

    def same_values():
        # what a user writes to get stv's volume: the raw pixels as float32 / 65535
        return np.divide(peer(), np.float32(65535), dtype=np.float32)

    def ours():
        return stv_cli.load_volume(path, threads=threads)

    np.testing.assert_array_equal(ours()[..., 0], same_values())  # a warm-up, and equal
    times: dict[str, list[float]] = {"stv": [], "tifffile": [], "tifffile_float": []}
    for _ in range(repeats):  # interleaved: the machine's noise falls on all three
        times["stv"].append(_timed(ours))
        times["tifffile"].append(_timed(peer))
        times["tifffile_float"].append(_timed(same_values))
    row: dict = {"input": name, "threads": threads}
    for key, values in times.items():
        row[f"{key}_s"] = statistics.median(values)
        row[f"{key}_range"] = [min(values), max(values)]
    row["ratio"] = row["stv_s"] / row["tifffile_s"]
    row["ratio_float"] = row["stv_s"] / row["tifffile_float_s"]
    print(
        f"  {name:34} stv {_show(row, 'stv')}  imread {_show(row, 'tifffile')}  "
        f"imread+float32 {_show(row, 'tifffile_float')}  stv/imread {row['ratio']:.2f} "
        f"({'PASS' if row['ratio'] <= 1.10 else 'MISS'} <= 1.10)  "
        f"stv/(imread+float32) {row['ratio_float']:.2f}"
    )
    return row


def speed(quick: bool, threads: int, repeats: int) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="stv-load-bench-") as folder:
        return [
            _measure(name, path, threads, repeats)
            for name, path in _inputs(Path(folder), quick).items()
        ]


#: Runs one ``stv project`` in this fresh process and prints the estimate and the peak RSS.
_MEMORY_CHILD = r"""
import json, resource, sys


def peak():
    # this process's own high-water mark: ru_maxrss would keep the forked parent's across exec
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024

from pathlib import Path
from stv_cli.cli.main import main
from stv_cli.context import RunContext
from stv_cli.io.images import probe_volume
from stv_cli.model.memory import process_rss_bytes
from stv_cli.pipeline.project import _load_threads
from stv_cli.pipeline.settings import RefineSettings
from stv_cli.pipeline.stages import estimate_run_memory
import stv_kernels.cpu  # the kernels' compiled code is resident before the run, as in the CLI

stack, out, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
info = probe_volume(stack)
refine = RefineSettings(
    diffuse_iterations=int(options.get("--diffuse-iterations", 0)),
    interpolate=options.get("--interpolate"),
    upscale=int(options.get("--upscale", 1)),
)
estimate = estimate_run_memory(
    info.shape, refine, decode_scratch=info.scratch_bytes,
    threads=_load_threads(RunContext(), info), mapped=info.mapped_bytes,
    grid="--grid" in options,
)
baseline = process_rss_bytes()
args = ["project", stack, "-o", out, "--quiet", "--overwrite"]
for key, value in options.items():
    args += [key] if value is True else [key, str(value)]
try:
    main(args, standalone_mode=False)
except SystemExit:
    pass
print(json.dumps({"estimate": estimate.peak, "baseline": baseline, "peak_rss": peak()}))
"""


def memory(quick: bool) -> list[dict]:
    import tifffile

    rows = []
    runs = QUICK_MEMORY_RUNS if quick else MEMORY_RUNS
    with tempfile.TemporaryDirectory(prefix="stv-memory-bench-") as folder:
        for name, shape, extra in runs:
            stack = Path(folder) / "stack.tif"
            rng = np.random.default_rng(1)
            with tifffile.TiffWriter(stack, bigtiff=True) as writer:
                for _ in range(shape[0]):
                    writer.write(
                        rng.integers(0, 256, shape[1:], dtype=np.uint8),
                        photometric="minisblack",
                        contiguous=True,
                    )
            options: dict[str, object] = {}
            k = 0
            while k < len(extra):
                if k + 1 < len(extra) and not extra[k + 1].startswith("--"):
                    options[extra[k]] = extra[k + 1]
                    k += 2
                else:
                    options[extra[k]] = True
                    k += 1
            done = subprocess.run(
                [sys.executable, "-c", _MEMORY_CHILD, str(stack), str(Path(folder) / "out") + "/",
                 json.dumps(options)],
                capture_output=True, text=True, check=False, cwd=ROOT,
            )  # fmt: skip
            if done.returncode:
                print(f"  {name}: failed: {done.stderr[-1500:]}")
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            predicted = result["estimate"] + result["baseline"]
            result.update(name=name, predicted=predicted, ratio=result["peak_rss"] / predicted)
            rows.append(result)
            ok = abs(result["ratio"] - 1) <= 0.25
            print(
                f"  {name:34} estimate {result['estimate'] / 2**20:8.0f} MiB + process "
                f"{result['baseline'] / 2**20:4.0f} MiB = {predicted / 2**20:8.0f} MiB; peak RSS "
                f"{result['peak_rss'] / 2**20:8.0f} MiB; peak/estimate {result['ratio']:.2f} "
                f"({'PASS' if ok else 'MISS'} within 25%)"
            )
            stack.unlink()
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, to check the script")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    parser.add_argument("--part", choices=("all", "speed", "memory"), default="all")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import tifffile

    runs = f"{args.threads} thread(s), {args.repeats} interleaved runs"
    print(f"tifffile {tifffile.__version__}, {runs}")
    report = {}
    if args.part in ("all", "speed"):
        print("loading: stv_cli.load_volume (float32, scaled) vs tifffile.imread (raw uint16)")
        report["speed"] = speed(args.quick, args.threads, args.repeats)
    if args.part in ("all", "memory"):
        print("memory: estimate before loading vs peak resident memory of the run")
        report["memory"] = memory(args.quick)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
