"""Many small inputs: one process, a local Dask cluster, one process per input.

200 small stacks (4 slices of 64x64 RGB PNG) are projected (a) by one ``stv project`` process
over all of them, (b) by one process with ``--scheduler local:2`` (two worker processes of a
LocalCluster), and (c) one ``stv project`` process per input, as a naive shell loop would run
it (timed over the first 20 inputs and scaled). Printed: inputs per second of each. Target:
(b) within 0.8x of (a) on this 2-core machine: with two cores there is nothing to gain, so
this measures the cluster's overhead; the gain comes with more machines.

    python benchmarks/batch_bench.py            # about a minute
    python benchmarks/batch_bench.py --quick    # 20 inputs, to check the script
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
_MAIN = "import sys; from stv_cli.cli import main; sys.exit(main())"


def _stacks(folder: Path, count: int) -> list[Path]:
    from PIL import Image

    rng = np.random.default_rng(0)
    stacks = []
    for k in range(count):
        stack = folder / f"s{k:04d}"
        stack.mkdir()
        for z in range(4):
            pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(stack / f"z{z}.png")
        stacks.append(stack)
    return stacks


def _stv(*args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MAIN, *args, "--quiet", "--overwrite"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    count = 20 if args.quick else 200
    report = {}
    with tempfile.TemporaryDirectory(prefix="stv-batch-bench-") as folder:
        root = Path(folder)
        stacks = _stacks(root, count)
        listing = root / "list.txt"
        listing.write_text("\n".join(map(str, stacks)) + "\n")
        common = ["--files-from", str(listing), "-o", str(root / "out") + "/"]
        _stv("project", str(stacks[0]), "-o", str(root / "warm") + "/")  # the kernel caches
        one = _stv("project", *common)
        cluster = _stv("project", *common, "--scheduler", "local:2")
        sample = stacks[:20]
        each = sum(_stv("project", str(s), "-o", str(root / "each") + "/") for s in sample)
        rates = {
            "one process": count / one,
            "--scheduler local:2": count / cluster,
            "a process per input": len(sample) / each,
        }
        print(f"{count} inputs of 4 x 64 x 64 RGB PNG slices:")
        for name, rate in rates.items():
            print(f"  {name:22} {rate:7.1f} inputs/s")
        ratio = rates["--scheduler local:2"] / rates["one process"]
        print(f"  local:2 / one process  {ratio:.2f} ({'PASS' if ratio >= 0.8 else 'MISS'} >= 0.8)")
        report = {"inputs": count, "inputs_per_s": rates, "cluster_ratio": ratio}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
