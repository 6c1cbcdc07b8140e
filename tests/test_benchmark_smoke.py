"""The benchmark runs end to end at a tiny size, and its peers compute what stv computes."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stv_kernels import reference

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"
KERNELS = ("collapse", "interpolate", "upscale", "diffuse", "stats", "decode")


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH.parent))
    try:
        spec = importlib.util.spec_from_file_location("stv_bench", BENCH)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("stv_bench", None)
        sys.path.remove(str(BENCH.parent))


def test_tiny_run_prints_a_row_per_kernel_and_exits_0(tmp_path):
    report = tmp_path / "bench.json"
    cmd = [sys.executable, str(BENCH), "--sizes", "tiny", "--repeats", "1", "--json", str(report)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert any(line.startswith("triad a = b + s*c") for line in lines)
    for name in KERNELS:
        rows = [ln for ln in lines if ln.split()[:2] == [name, "stv"]]
        assert rows, f"no stv row for {name}"
        assert any(ln.strip().startswith(name) and "of triad" in ln for ln in lines), name
    data = json.loads(report.read_text())
    assert {r["kernel"] for r in data["rows"]} == set(KERNELS)
    assert all(r["median_s"] > 0 and r["gbs"] > 0 for r in data["rows"])
    assert data["triad"]["gbs_4"] == pytest.approx(data["triad"]["gbs_3"] * 4 / 3)


def test_startup_section_reports_import_times():
    cmd = [sys.executable, str(BENCH), "--sizes", "tiny", "--repeats", "1", "--startup"]
    cmd += ["--backend", "numpy", "--kernels", "collapse"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "python -c 'import stv_cli'" in proc.stdout
    assert "numba imported: no" in proc.stdout
    assert "stv --help" in proc.stdout


@pytest.mark.slow
def test_compile_probe_times_every_numba_kernel_cold_and_warm(bench):
    pytest.importorskip("stv_kernels.cpu")
    times = bench.compile_times()
    assert "error" not in times, times
    assert set(times["cold"]) == set(times["warm"])
    assert {"collapse_weighted", "interpolate_z cubic", "slice_statistics"} <= set(times["cold"])
    assert all(t > 0 for t in times["cold"].values())


def test_unknown_kernel_is_a_usage_error():
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--kernels", "nope"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "unknown kernel" in proc.stderr


@pytest.mark.parametrize("shape", [(5, 17, 13, 1), (4, 9, 11, 3), (2, 5, 6, 1)])
def test_numpy_peers_match_the_reference(bench, shape):
    vol = np.random.default_rng(7).random(shape, dtype=np.float32)
    np.testing.assert_allclose(
        bench.np_interp_cubic(vol), reference.interpolate_z(vol, "cubic"), atol=1e-6
    )
    up = reference.upscale_bilinear(vol, 2)
    np.testing.assert_allclose(bench.np_upscale(vol), up, atol=1e-6)
    rate = bench.DIFFUSION_RATE
    np.testing.assert_allclose(bench.np_diffuse(vol), reference.diffuse(vol, 1, rate), atol=1e-6)
    w = np.linspace(0.1, 1.0, shape[0], dtype=np.float32)
    np.testing.assert_allclose(
        np.tensordot(w, vol, axes=(0, 0)), reference.collapse_weighted(vol, w), atol=1e-6
    )
    stats, ref = bench.np_statistics(vol), reference.slice_statistics(vol)
    for key in ("mean", "std", "energy", "abs_mean"):
        np.testing.assert_allclose(stats[key], ref[key], atol=1e-6)
    if bench.PEER_NEEDS["scipy"]():  # scipy installed
        np.testing.assert_allclose(bench.scipy_upscale(vol), up, atol=1e-5)


def test_byte_model_counts_reads_and_writes(bench):
    by_name = {k.name: k for k in bench.KERNELS}
    shape = (8, 10, 20, 3)
    n = 8 * 10 * 20 * 3
    assert by_name["collapse"].bytes_moved(shape) == 4 * (n + n // 8)
    assert by_name["interpolate"].bytes_moved(shape) == 4 * (n + 15 * n // 8)
    assert by_name["upscale"].bytes_moved(shape) == 4 * 5 * n
    assert by_name["diffuse"].bytes_moved(shape) == 4 * 2 * n
    assert by_name["decode"].bytes_moved(shape) == 4 * n // 3


def test_video_benchmark_runs_end_to_end_at_a_tiny_size():
    script = BENCH.parent / "video_bench.py"
    tiny = ["--short", "0.3", "--long", "0.5", "--width", "64", "--height", "36"]
    cmd = [sys.executable, str(script), *tiny, "--repeats", "1", "--long-repeats", "1"]
    proc = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout)
    assert results["short_frames"] == 9 and results["long_frames"] == 15
    for prefix in ("", "long_"):
        for key in ("fps_ratio", "clip_fps_ratio", "io_fps_median", "stv_clip_fps_median"):
            assert results[prefix + key] > 0
    assert results["peak_rss_long_mib"] > 0 and results["rss_ratio"] > 0


def test_gpu_benchmark_runs_in_the_simulator_and_compares_with_the_cpu():
    pytest.importorskip("numba_cuda", reason="numba-cuda is not installed")
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_bench.py"
    done = subprocess.run(
        [sys.executable, str(script), "--simulate", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    kernel_lines = [line for line in lines if "% of copy" in line]
    assert len(kernel_lines) == 8  # four kernels at two sizes
    assert all("bit-exact with cpu: True" in line for line in kernel_lines)
    assert any(line.startswith("decoder:") and "bit-exact with cpu: True" in line for line in lines)
    assert '"max_pixel_difference": 0' in done.stdout


def test_the_loading_benchmark_runs_and_its_estimates_hold(tmp_path):
    script = BENCH.parent / "load_bench.py"
    report = tmp_path / "load.json"
    cmd = [sys.executable, str(script), "--quick", "--repeats", "1", "--json", str(report)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(report.read_text())
    assert len(data["speed"]) == 3 and all(row["stv_s"] > 0 for row in data["speed"])
    assert len(data["memory"]) == 2
    for row in data["memory"]:
        assert row["peak_rss"] > 0 and row["estimate"] > 0


def test_the_tiles_benchmark_runs_both_parts(tmp_path):
    script = BENCH.parent / "tiles_bench.py"
    report = tmp_path / "tiles.json"
    cmd = [sys.executable, str(script), "--quick", "--repeats", "1", "--json", str(report)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(report.read_text())
    assert set(data["tiles"]) == {"plain", "cubic, upscale 2", "cubic x2 passes, upscale 4"}
    assert all(row["peak_rss"] > 0 for row in data["tiles"].values())
    assert data["stream"]["npy"]["streamed_phase_s"] > 0


def test_the_batch_benchmark_runs(tmp_path):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    script = BENCH.parent / "batch_bench.py"
    report = tmp_path / "batch.json"
    proc = subprocess.run([sys.executable, str(script), "--quick", "--json", str(report)],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(report.read_text())
    assert data["inputs"] == 20 and all(rate > 0 for rate in data["inputs_per_s"].values())
