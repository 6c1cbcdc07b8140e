"""The stv commands end to end, through click's CliRunner on files in tmp_path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from stv_cli import backend
from stv_cli.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "focus_stack"


def make_stack(folder: Path, depth=4, height=6, width=8, channels=1, seed=0) -> Path:
    """A folder of 8-bit slices z01.png, z02.png, ... with seeded random pixels."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for z in range(depth):
        shape = (height, width) if channels == 1 else (height, width, channels)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(
            folder / f"z{z + 1:02d}.png"
        )
    return folder


def run(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def read_png(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img)


def library_projection(stack: Path, focus=0.5, spread=0.35, window="hann") -> np.ndarray:
    """What the library gives for ``stack``, quantised as save_image does."""
    from stv_cli.grid import to_uint8
    from stv_cli.image_io import load_volume
    from stv_cli.projector import VisionProjector
    from stv_cli.resonance import DifferentialResonance
    from stv_cli.volume import ZSpaceVolume
    from stv_cli.windows import SpectralWindow

    volume = ZSpaceVolume(load_volume(stack))
    projector = VisionProjector(focus, spread, 0.0).with_spectral_window(
        getattr(SpectralWindow, window)()
    )
    return to_uint8(projector.project(volume, DifferentialResonance.uniform()))


# ------------------------------------------------------------------------ group, info


def test_help_does_not_import_numba():
    code = (
        "import sys\n"
        "from stv_cli.cli import main\n"
        "commands = [[name, '-h'] for name in main.commands if name != 'info']\n"
        "for args in [['--help'], *commands]:\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit as exit:\n"
        "        assert exit.code == 0, exit.code\n"
        "assert 'numba' not in sys.modules, 'numba was imported'\n"
        "print('clean')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("clean")


def test_version():
    from stv_cli import __version__

    result = run("--version")
    assert result.exit_code == 0
    assert __version__ in result.output


def test_info_json_lists_backends_threads_and_cache():
    result = run("info", "--json")
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout)
    assert facts["backends"]["numpy"] is True
    assert facts["backends"]["cuda"] is False
    assert facts["threads"] >= 1
    assert facts["numba"]
    assert facts["numba_cache"]


def test_info_text():
    result = run("info")
    assert result.exit_code == 0
    assert "version" in result.stdout and "numba_cache" in result.stdout


def test_unknown_command_is_usage_error():
    assert run("frobnicate").exit_code == 2


# ----------------------------------------------------------------------------- project


def test_project_matches_the_library(tmp_path):
    stack = make_stack(tmp_path / "stack", channels=3)
    result = run("project", stack, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    written = tmp_path / "out" / "stack.png"
    assert result.stdout.split() == [str(written)]
    np.testing.assert_array_equal(read_png(written), library_projection(stack))


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="sample_data/focus_stack not present")
def test_project_sample_data_matches_the_library(tmp_path):
    result = run("project", SAMPLE, "-o", tmp_path / "out", "--focus", "0.3")
    assert result.exit_code == 0, result.output
    image = read_png(tmp_path / "out" / "focus_stack.png")
    expected = library_projection(SAMPLE, focus=0.3)
    np.testing.assert_array_equal(image.reshape(expected.shape), expected)


def test_project_options_change_the_result(tmp_path):
    stack = make_stack(tmp_path / "stack", depth=6)
    assert run("project", stack, "-o", tmp_path / "a.png", "--window", "rectangular").exit_code == 0
    got = read_png(tmp_path / "a.png")
    expected = library_projection(stack, window="rectangular")
    np.testing.assert_array_equal(got, expected[..., 0])


def test_project_file_output_takes_format_from_extension(tmp_path):
    stack = make_stack(tmp_path / "stack")
    result = run("project", stack, "-o", tmp_path / "pic.tif", "--grid", "--weights")
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "pic.tif") as img:
        assert img.format == "TIFF"
        assert img.size == (8, 6)
    assert (tmp_path / "pic_grid.tif").is_file()
    assert (tmp_path / "pic_weights.json").is_file()


def test_project_every_extra_output(tmp_path):
    stack = make_stack(tmp_path / "stack", depth=3)
    out = tmp_path / "out"
    result = run(
        "project",
        stack,
        "-o",
        out,
        "--interpolate",
        "cubic",
        "--upscale",
        "2",
        "--diffuse-iterations",
        "1",
        "--grid",
        "--weights",
        "--weights-plot",
        "--telemetry",
        "--save-volume",
        "--nrow",
        "2",
    )
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "stack.png", "stack_grid.png", "stack_telemetry.json", "stack_volume.npy",
        "stack_weights.json", "stack_weights.png",
    ]  # fmt: skip
    volume = np.load(out / "stack_volume.npy")
    assert volume.shape == (5, 12, 16, 1)
    weights = json.loads((out / "stack_weights.json").read_text())
    assert weights["depth"] == 5 and len(weights["weights"]) == 5
    assert sum(weights["weights"]) == pytest.approx(1.0, abs=1e-5)
    telemetry = json.loads((out / "stack_telemetry.json").read_text())
    assert telemetry["depth"] == 5
    assert read_png(out / "stack.png").shape == (12, 16)
    # 5 slices, 2 per row -> 3 rows; grey promoted to RGB as torchvision does
    assert read_png(out / "stack_grid.png").shape == (3 * 14 + 2, 2 * 18 + 2, 3)
    assert read_png(out / "stack_weights.png").ndim == 3


def test_project_bit_depth_16(tmp_path):
    stack = make_stack(tmp_path / "stack")
    assert run("project", stack, "-o", tmp_path / "p.png", "--bit-depth", "16").exit_code == 0
    assert read_png(tmp_path / "p.png").dtype == np.uint16
    result = run("project", stack, "-o", tmp_path / "p.jpg", "--bit-depth", "16")
    assert result.exit_code == 2
    assert "16-bit images need png or tif" in result.output


def test_project_generated_resonance(tmp_path):
    stack = make_stack(tmp_path / "stack", depth=5)
    result = run("project", stack, "-o", tmp_path / "out", "--resonance", "generate", "--weights")
    assert result.exit_code == 0, result.output
    weights = json.loads((tmp_path / "out" / "stack_weights.json").read_text())["weights"]
    assert len(weights) == 5 and sum(weights) == pytest.approx(1.0, abs=1e-5)


def test_several_inputs_need_a_directory(tmp_path):
    a = make_stack(tmp_path / "a")
    b = make_stack(tmp_path / "b", seed=1)
    result = run("project", a, b, "-o", tmp_path / "x.png")
    assert result.exit_code == 2
    assert "with 2 inputs -o must be a directory" in result.output


def test_inputs_with_the_same_name_are_refused(tmp_path):
    a = make_stack(tmp_path / "one" / "stack")
    b = make_stack(tmp_path / "two" / "stack", seed=1)
    result = run("project", a, b, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "would both write outputs named 'stack'" in result.output


def test_unknown_output_extension(tmp_path):
    stack = make_stack(tmp_path / "stack")
    result = run("project", stack, "-o", tmp_path / "x.xyz")
    assert result.exit_code == 2
    assert "cannot write images with extension '.xyz'" in result.output


def test_missing_input_is_usage_error(tmp_path):
    result = run("project", tmp_path / "nope", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_batch_with_one_bad_input_goes_on(tmp_path):
    good1 = make_stack(tmp_path / "good1")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "notes.txt").write_text("not an image")
    good2 = make_stack(tmp_path / "good2", seed=2)
    out = tmp_path / "out"
    result = run("project", good1, bad, good2, "-o", out, "--json")
    assert result.exit_code == 1
    assert (out / "good1.png").is_file() and (out / "good2.png").is_file()
    assert not (out / "bad.png").exists()
    assert f"failed: {bad}:" in result.stderr
    assert "1 of 3 inputs failed" in result.stderr
    report = json.loads(result.stdout)
    assert report["exit_code"] == 1
    assert [r["status"] for r in report["results"]] == ["ok", "failed", "ok"]
    assert report["results"][1]["outputs"] == [] and report["results"][1]["error"]
    assert report["results"][0]["outputs"] == [str(out / "good1.png")]


def test_existing_output_is_refused_then_overwritten(tmp_path):
    stack = make_stack(tmp_path / "stack")
    out = tmp_path / "out"
    assert run("project", stack, "-o", out).exit_code == 0
    (out / "stack.png").write_bytes(b"old")
    result = run("project", stack, "-o", out)
    assert result.exit_code == 1
    assert str(out / "stack.png") in result.stderr and "--overwrite" in result.stderr
    assert (out / "stack.png").read_bytes() == b"old"
    assert run("project", stack, "-o", out, "--overwrite").exit_code == 0
    np.testing.assert_array_equal(read_png(out / "stack.png"), library_projection(stack)[..., 0])


def test_skip_existing_resumes_a_batch(tmp_path):
    a = make_stack(tmp_path / "a")
    b = make_stack(tmp_path / "b", seed=1)
    out = tmp_path / "out"
    assert run("project", a, "-o", out, "--grid").exit_code == 0
    before = (out / "a.png").stat().st_mtime_ns
    result = run("project", a, b, "-o", out, "--grid", "--skip-existing", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [r["status"] for r in report["results"]] == ["skipped", "ok"]
    assert (out / "a.png").stat().st_mtime_ns == before
    assert (out / "b.png").is_file() and (out / "b_grid.png").is_file()


def test_skip_existing_redoes_a_half_done_input(tmp_path):
    a = make_stack(tmp_path / "a")
    out = tmp_path / "out"
    assert run("project", a, "-o", out).exit_code == 0  # the grid is missing
    result = run("project", a, "-o", out, "--grid", "--skip-existing")
    assert result.exit_code == 0, result.output
    assert (out / "a_grid.png").is_file()


def test_overwrite_and_skip_existing_exclude_each_other(tmp_path):
    stack = make_stack(tmp_path / "stack")
    result = run("project", stack, "-o", tmp_path / "o", "--overwrite", "--skip-existing")
    assert result.exit_code == 2
    assert "exclude each other" in result.output


def test_interrupt_exits_130_and_leaves_no_partial_file(tmp_path, monkeypatch):
    import stv_cli.pipeline as pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "write_weights_plot", interrupted)
    stack = make_stack(tmp_path / "stack")
    out = tmp_path / "out"
    result = run("project", stack, "-o", out, "--weights-plot")
    assert result.exit_code == 130
    assert "interrupted" in result.stderr
    # the picture finished before the interrupt is whole; no temporary file is left
    assert sorted(p.name for p in out.iterdir()) == ["stack.png"]


def test_interrupt_inside_a_write_leaves_nothing(tmp_path, monkeypatch):
    import stv_cli.atomic as atomic

    def interrupted_publish(tmp, target, overwrite):
        assert tmp.stat().st_size > 0  # the temporary file was written, then Ctrl-C
        raise KeyboardInterrupt

    stack = make_stack(tmp_path / "stack")
    monkeypatch.setattr(atomic, "_publish", interrupted_publish)
    out = tmp_path / "out"
    result = run("project", stack, "-o", out)
    assert result.exit_code == 130
    assert not out.exists() or list(out.iterdir()) == []


def test_volume_over_the_memory_limit_is_refused_before_loading(tmp_path, monkeypatch):
    import stv_cli.image_io as image_io

    def must_not_load(*args, **kwargs):
        raise AssertionError("loaded a volume that cannot be refined")

    monkeypatch.setattr(image_io, "load_volume", must_not_load)
    stack = make_stack(tmp_path / "stack")  # 4 x 6 x 8 x 1 float32 = 768 bytes
    result = run("project", stack, "-o", tmp_path / "out", "--upscale", "8", "--memory-limit", "8K")
    assert result.exit_code == 1
    assert "memory limit" in result.stderr
    assert "(4, 48, 64, 1)" in result.stderr
    assert f"failed: {stack}: refining (4, 6, 8, 1)" in result.stderr  # the input named once


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--device", "cuda"], "cuda is not available"),
        (["--threads", "0"], "--threads"),
        (["--device", "cpu", "--threads", "100000"], "threads numba has here"),
        (["--focus", "nan"], "--focus"),
        (["--upscale", "0"], "--upscale"),
        (["--nrow", "0"], "--nrow"),
        (["--memory-limit", "0"], "--memory-limit"),
    ],
)
def test_bad_common_options_are_usage_errors(tmp_path, args, message):
    if "cpu" in args and not backend.is_available("cpu"):
        pytest.skip("the numba cpu backend is not available here")
    stack = make_stack(tmp_path / "stack")
    result = run("project", stack, "-o", tmp_path / "out", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("device", ["cpu", "numpy", "auto"])
def test_devices_give_the_same_picture(tmp_path, device):
    if device == "cpu" and not backend.is_available("cpu"):
        pytest.skip("the numba cpu backend is not available here")
    stack = make_stack(tmp_path / "stack", depth=5)
    out = tmp_path / device
    result = run("project", stack, "-o", out, "--device", device, "--threads", "1")
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(read_png(out / "stack.png"), library_projection(stack)[..., 0])


def test_options_from_environment_variables(tmp_path):
    stack = make_stack(tmp_path / "stack", depth=6)
    env = {"STV_PROJECT_FOCUS": "0.1", "STV_PROJECT_WINDOW": "rectangular"}
    result = run("project", stack, "-o", tmp_path / "p.png", env=env)
    assert result.exit_code == 0, result.output
    expected = library_projection(stack, focus=0.1, window="rectangular")
    np.testing.assert_array_equal(read_png(tmp_path / "p.png"), expected[..., 0])
    bad = run("project", stack, "-o", tmp_path / "q.png", env={"STV_PROJECT_FOCUS": "7"})
    assert bad.exit_code == 2
    assert "focus" in bad.output


def test_quiet_and_verbose(tmp_path):
    stack = make_stack(tmp_path / "stack")
    verbose = run("project", stack, "-o", tmp_path / "v", "-v")
    assert verbose.exit_code == 0 and " s" in verbose.stderr
    quiet = run("project", stack, "-o", tmp_path / "v", "-q", "--skip-existing")
    assert quiet.exit_code == 0 and quiet.stderr == ""


# ------------------------------------------------------------------------------ decode


def library_decode(latents: np.ndarray, depth, height, width, seed) -> list[np.ndarray]:
    from stv_cli.decoder import ZDecoder
    from stv_cli.grid import to_uint8
    from stv_cli.projector import VisionProjector
    from stv_cli.resonance import DifferentialResonance

    decoder = ZDecoder(depth, height, width, seed)
    projector = VisionProjector(0.5, 0.35, 0.0)
    images = []
    for latent in latents:
        image = projector.project(decoder.decode(latent), DifferentialResonance.uniform())
        images.append(to_uint8((image + np.float32(1)) / np.float32(2)))
    return images


def test_decode_matches_the_library(tmp_path):
    latents = np.random.default_rng(3).standard_normal((3, 5)).astype(np.float32)
    np.save(tmp_path / "lat.npy", latents)
    out = tmp_path / "out"
    args = ["--depth", "4", "--height", "6", "--width", "7", "--seed", "11"]
    result = run("decode", tmp_path / "lat.npy", "-o", out, *args, "--grid", "--weights")
    assert result.exit_code == 0, result.output
    expected = library_decode(latents, 4, 6, 7, 11)
    for i, image in enumerate(expected):
        np.testing.assert_array_equal(read_png(out / f"lat_{i:03d}.png"), image[..., 0])
    assert read_png(out / "lat_grid.png").shape == (10, 3 * 9 + 2, 3)
    weights = json.loads((out / "lat_weights.json").read_text())["weights"]
    assert len(weights) == 3 and len(weights[0]) == 4


def test_decode_single_latent_to_file_and_value_range(tmp_path):
    latents = np.random.default_rng(4).standard_normal((1, 3)).astype(np.float32)
    np.save(tmp_path / "one.npy", latents)
    args = ["--depth", "2", "--height", "4", "--width", "4", "--value-range", "-0.5", "0.5"]
    result = run("decode", tmp_path / "one.npy", "-o", tmp_path / "one.png", *args)
    assert result.exit_code == 0, result.output
    from stv_cli.decoder import ZDecoder
    from stv_cli.grid import to_uint8
    from stv_cli.projector import VisionProjector
    from stv_cli.resonance import DifferentialResonance

    volume = ZDecoder(2, 4, 4, 0).decode(latents[0])
    image = VisionProjector().project(volume, DifferentialResonance.uniform())
    np.testing.assert_array_equal(
        read_png(tmp_path / "one.png"), to_uint8(image + np.float32(0.5))[..., 0]
    )


def test_decode_bad_latent_file_fails_that_input(tmp_path):
    np.save(tmp_path / "good.npy", np.ones((1, 3), np.float32))
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    result = run("decode", tmp_path / "bad.npy", tmp_path / "good.npy", "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert "failed:" in result.stderr and "bad.npy" in result.stderr
    assert (tmp_path / "out" / "good_000.png").is_file()


# -------------------------------------------------------------------------------- grid


def test_grid_of_image_files(tmp_path):
    from stv_cli.grid import make_grid, to_uint8

    rng = np.random.default_rng(5)
    paths, arrays = [], []
    for k in range(3):
        pixels = rng.integers(0, 256, (5, 4, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / f"i{k}.png")
        paths.append(tmp_path / f"i{k}.png")
        arrays.append(pixels.astype(np.float32) / np.float32(255))
    result = run("grid", *paths, "-o", tmp_path / "g.png", "--nrow", "2", "--pad-value", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(tmp_path / "g.png")
    expected = to_uint8(make_grid(np.stack(arrays), nrow=2, pad_value=1.0))
    np.testing.assert_array_equal(read_png(tmp_path / "g.png"), expected)


def test_grid_refuses_mixed_sizes_and_bad_output(tmp_path):
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((5, 4), np.uint8)).save(tmp_path / "b.png")
    result = run("grid", tmp_path / "a.png", tmp_path / "b.png", "-o", tmp_path / "g.png")
    assert result.exit_code == 1
    assert f"{str(tmp_path / 'b.png')!r} is 5x4 but {str(tmp_path / 'a.png')!r} is 4x4" in (
        result.output
    )
    assert "must all have one size" in result.output
    assert not (tmp_path / "g.png").exists()
    result = run("grid", tmp_path / "a.png", "-o", tmp_path / "g")
    assert result.exit_code == 2
    assert "not an image file name" in result.output


def test_grid_refuses_to_overwrite(tmp_path, monkeypatch):
    import stv_cli.image_io as image_io

    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "a.png")
    (tmp_path / "g.png").write_bytes(b"keep")
    with monkeypatch.context() as patch:
        patch.setattr(image_io, "load_same_size_images", lambda *a: pytest.fail("read images"))
        result = run("grid", tmp_path / "a.png", "-o", tmp_path / "g.png")
    assert result.exit_code == 1
    assert f"output {str(tmp_path / 'g.png')!r} exists; pass --overwrite" in result.output
    assert (tmp_path / "g.png").read_bytes() == b"keep"
    assert run("grid", tmp_path / "a.png", "-o", tmp_path / "g.png", "--overwrite").exit_code == 0


def test_console_script_entry_point(tmp_path):
    script = Path(sys.executable).parent / "stv"
    if not script.exists():
        pytest.skip("stv console script not installed in this environment")
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, env=dict(os.environ)
    )
    assert result.returncode == 0 and "stv" in result.stdout


# ---------------------------------------------------------------- resonance and views


def _views_file(path: Path, count: int) -> Path:
    views = [
        {"id": f"v{k}", "forward": [0.0, float(k), 1.0], "baseline_weight": 1.0 + k}
        for k in range(count)
    ]
    path.write_text(json.dumps({"views": views}))
    return path


def test_project_with_views_matches_the_library(tmp_path):
    from stv_cli.grid import to_uint8
    from stv_cli.image_io import load_volume
    from stv_cli.latent_io import load_views
    from stv_cli.projector import VisionProjector
    from stv_cli.resonance import DifferentialResonance
    from stv_cli.volume import ZSpaceVolume

    stack = make_stack(tmp_path / "stack", depth=3)
    views = _views_file(tmp_path / "views.json", 3)
    result = run("project", stack, "-o", tmp_path / "p.png", "--views", views)
    assert result.exit_code == 0, result.output
    volume = ZSpaceVolume(load_volume(stack))
    image = VisionProjector().project_multi_view(
        load_views(views), volume, DifferentialResonance.uniform()
    )
    np.testing.assert_array_equal(read_png(tmp_path / "p.png"), to_uint8(image)[..., 0])


def test_view_count_must_equal_the_refined_depth(tmp_path, monkeypatch):
    import stv_cli.image_io as image_io

    monkeypatch.setattr(image_io, "load_volume", lambda *a, **k: pytest.fail("loaded"))
    stack = make_stack(tmp_path / "stack", depth=3)
    views = _views_file(tmp_path / "views.json", 3)
    # linear interpolation turns 3 slices into 5: the 3 views no longer fit
    result = run(
        "project", stack, "-o", tmp_path / "o", "--views", views, "--interpolate", "linear"
    )
    assert result.exit_code == 1
    assert "has 3 views, but the refined volume has depth 5" in result.stderr


def test_resonance_file_matches_the_library(tmp_path):
    from stv_cli.grid import to_uint8
    from stv_cli.image_io import load_volume
    from stv_cli.projector import VisionProjector
    from stv_cli.resonance import DifferentialResonance
    from stv_cli.volume import ZSpaceVolume

    stack = make_stack(tmp_path / "stack", depth=4)
    record = {"infinity_energy": [1.0, 3.0], "recursive_objective": [0.5, -0.5, 0.0]}
    (tmp_path / "res.json").write_text(json.dumps(record))
    result = run("project", stack, "-o", tmp_path / "p.png", "--resonance", tmp_path / "res.json")
    assert result.exit_code == 0, result.output
    volume = ZSpaceVolume(load_volume(stack))
    image = VisionProjector().project(volume, DifferentialResonance(**record))
    np.testing.assert_array_equal(read_png(tmp_path / "p.png"), to_uint8(image)[..., 0])


def test_bad_resonance_file_stops_before_any_input(tmp_path):
    stack = make_stack(tmp_path / "stack")
    (tmp_path / "res.json").write_text(json.dumps({"infinity_energy": []}))
    result = run("project", stack, "-o", tmp_path / "o", "--resonance", tmp_path / "res.json")
    assert result.exit_code == 1
    assert f"--resonance {str(tmp_path / 'res.json')!r}" in result.output
    assert not (tmp_path / "o").exists()
    (tmp_path / "views.json").write_text(json.dumps({"views": []}))
    result = run("project", stack, "-o", tmp_path / "o", "--views", tmp_path / "views.json")
    assert result.exit_code == 1
    assert f"--views {str(tmp_path / 'views.json')!r}" in result.output
    assert not (tmp_path / "o").exists()


def test_sigint_in_a_real_process_exits_130(tmp_path):
    import signal

    stack = make_stack(tmp_path / "stack")
    out = tmp_path / "out"
    code = (
        "import sys, time\n"
        "import stv_cli.pipeline as pipeline\n"
        "def slow_refine(volume, settings):\n"
        "    print('refining', file=sys.stderr, flush=True)\n"
        "    time.sleep(60)\n"
        "pipeline.refine = slow_refine\n"
        "from stv_cli.cli import main\n"
        f"main(['project', {str(stack)!r}, '-o', {str(out)!r}, '--device', 'numpy'])\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr.readline().strip() == "refining"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "interrupted" in err
    assert not out.exists() or list(out.iterdir()) == []


def test_trailing_slash_makes_output_a_directory(tmp_path):
    a = make_stack(tmp_path / "a")
    b = make_stack(tmp_path / "b", seed=1)
    out = str(tmp_path / "out.d") + "/"
    result = run("project", a, b, "-o", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out.d").iterdir()) == ["a.png", "b.png"]


def test_device_and_limits_do_not_leak_out_of_a_command(tmp_path):
    from stv_cli.volume import memory_limit

    before = (backend.get_backend(), memory_limit())
    stack = make_stack(tmp_path / "stack")
    args = ["--device", "numpy", "--memory-limit", "1G"]
    assert run("project", stack, "-o", tmp_path / "out", *args).exit_code == 0
    assert (backend.get_backend(), memory_limit()) == before


def test_shell_completion_answers_without_numba():
    code = (
        "import sys\n"
        "from stv_cli.cli import main\n"
        "try:\n"
        "    main(prog_name='stv')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('numba' in sys.modules)\n"
    )
    env = dict(os.environ, _STV_COMPLETE="bash_complete", COMP_WORDS="stv pro", COMP_CWORD="1")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert "project" in result.stdout
    assert result.stdout.strip().endswith("False")
    script = dict(os.environ, _STV_COMPLETE="bash_source")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=script
    )
    assert "_STV_COMPLETE" in result.stdout


def test_format_option_names_the_outputs_of_many_inputs(tmp_path):
    a = make_stack(tmp_path / "a", channels=3)
    b = make_stack(tmp_path / "b", channels=3, seed=1)
    result = run("project", a, b, "-o", tmp_path / "out", "--format", "jpg", "--grid")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["a.jpg", "a_grid.jpg", "b.jpg", "b_grid.jpg"]
    with Image.open(tmp_path / "out" / "a.jpg") as img:
        assert img.format == "JPEG"
    clash = run("project", a, "-o", tmp_path / "x.png", "--format", "tif")
    assert clash.exit_code == 2
    assert "contradicts the extension" in clash.output


def test_decode_skip_existing_and_json(tmp_path):
    np.save(tmp_path / "lat.npy", np.ones((2, 3), np.float32))
    args = ["--depth", "2", "--height", "3", "--width", "3", "--json"]
    first = run("decode", tmp_path / "lat.npy", "-o", tmp_path / "out", *args)
    assert first.exit_code == 0, first.output
    outputs = json.loads(first.stdout)["results"][0]["outputs"]
    assert [Path(p).name for p in outputs] == ["lat_000.png", "lat_001.png"]
    again = run("decode", tmp_path / "lat.npy", "-o", tmp_path / "out", *args, "--skip-existing")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["results"][0]["status"] == "skipped"


def test_quiet_silences_library_warnings(tmp_path):
    stack = make_stack(tmp_path / "stack")
    (stack / "README.txt").write_text("not an image")
    loud = run("project", stack, "-o", tmp_path / "a")
    assert loud.exit_code == 0, loud.output
    assert "README.txt" in loud.stderr
    quiet = run("project", stack, "-o", tmp_path / "b", "-q")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""
    assert quiet.stdout.strip() == str(tmp_path / "b" / "stack.png")


def test_overwrite_from_the_environment_gives_way_to_skip_existing_typed(tmp_path):
    stack = make_stack(tmp_path / "stack")
    assert run("project", stack, "-o", tmp_path / "o").exit_code == 0
    picture = tmp_path / "o" / "stack.png"
    before = picture.stat().st_mtime_ns
    skip = run(
        "project",
        stack,
        "-o",
        tmp_path / "o",
        "--skip-existing",
        "--json",
        env={"STV_PROJECT_OVERWRITE": "1"},
    )
    assert skip.exit_code == 0, skip.output
    assert json.loads(skip.stdout)["skipped"] == 1
    assert picture.stat().st_mtime_ns == before
    again = run(
        "project",
        stack,
        "-o",
        tmp_path / "o",
        "--overwrite",
        env={"STV_PROJECT_SKIP_EXISTING": "1"},
    )
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == str(picture)
    both = run(
        "project",
        stack,
        "-o",
        tmp_path / "o",
        env={"STV_PROJECT_SKIP_EXISTING": "1", "STV_PROJECT_OVERWRITE": "1"},
    )
    assert both.exit_code == 2
    assert "exclude each other" in both.output


def test_grid_mixes_grey_with_rgb_and_names_files_that_do_not_mix(tmp_path):
    from stv_cli.grid import make_grid, to_uint8

    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    rgb = np.random.default_rng(3).integers(0, 256, (3, 4, 3), dtype=np.uint8)
    Image.fromarray(grey).save(tmp_path / "grey.png")
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    Image.fromarray(np.dstack([rgb, grey])).save(tmp_path / "rgba.png")
    result = run("grid", tmp_path / "grey.png", tmp_path / "rgb.png", "-o", tmp_path / "g.png")
    assert result.exit_code == 0, result.output
    batch = np.stack([np.repeat(grey[..., None], 3, axis=2), rgb]).astype(np.float32) / 255
    np.testing.assert_array_equal(read_png(tmp_path / "g.png"), to_uint8(make_grid(batch)))
    bad = run("grid", tmp_path / "rgb.png", tmp_path / "rgba.png", "-o", tmp_path / "h.png")
    assert bad.exit_code == 1
    assert "'" + str(tmp_path / "rgba.png") + "' has 4 channel(s)" in bad.output
    assert not (tmp_path / "h.png").exists()


def test_grid_reads_16_bit_grey_at_full_precision(tmp_path):
    values = np.array([[0, 1, 257], [32768, 65534, 65535]], dtype=np.uint16)
    for name in ("a.png", "b.tif"):
        Image.fromarray(values).save(tmp_path / name)
    result = run(
        "grid", tmp_path / "a.png", tmp_path / "b.tif", "-o", tmp_path / "g.png",
        "--bit-depth", "16", "--keep-grey", "--padding", "0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(read_png(tmp_path / "g.png"), np.hstack([values, values]))


def test_existing_file_without_extension_as_output_is_a_usage_error(tmp_path):
    stack = make_stack(tmp_path / "stack")
    (tmp_path / "notes").write_text("keep")
    result = run("project", stack, "-o", tmp_path / "notes")
    assert result.exit_code == 2
    assert "is an existing file, not a directory" in result.output
    assert (tmp_path / "notes").read_text() == "keep"


@pytest.mark.parametrize("extension", ["jpg", "bmp"])
def test_rgba_stack_to_a_format_without_alpha_drops_the_alpha(tmp_path, extension):
    stack = make_stack(tmp_path / "stack", channels=4)
    out = tmp_path / f"p.{extension}"
    result = run("project", stack, "-o", out, "--grid")
    assert result.exit_code == 0, result.output
    assert "has no alpha channel; the alpha was dropped" in result.stderr
    with Image.open(out) as img, Image.open(tmp_path / f"p_grid.{extension}") as grid:
        assert img.mode == "RGB" and grid.mode == "RGB"
        assert img.size == (8, 6)
    if extension == "bmp":  # lossless: the colour is the projection's
        expected = library_projection(stack)[..., :3]
        np.testing.assert_array_equal(read_png(out), expected)


def test_colour_16_bit_tiff_output(tmp_path):
    stack = make_stack(tmp_path / "stack", channels=3)
    result = run("project", stack, "-o", tmp_path / "p.tif", "--bit-depth", "16", "--grid")
    assert result.exit_code == 0, result.output
    for name in ("p.tif", "p_grid.tif"):
        with Image.open(tmp_path / name) as img:
            assert img.mode == "RGB" and img.tag_v2[258] == (16, 16, 16)


def test_current_and_parent_folder_inputs_are_named_after_the_folder(tmp_path, monkeypatch):
    stack = make_stack(tmp_path / "stack")
    (stack / "inner").mkdir()
    monkeypatch.chdir(stack)
    result = run("project", ".", "-o", tmp_path / "o")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(tmp_path / "o" / "stack.png")
    monkeypatch.chdir(stack / "inner")
    result = run("project", "..", "-o", tmp_path / "p")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["stack.png"]


def test_decode_over_the_memory_limit_names_its_size_options(tmp_path):
    np.save(tmp_path / "l.npy", np.zeros((1, 4), np.float32))
    result = run(
        "decode",
        tmp_path / "l.npy",
        "-o",
        tmp_path / "o",
        "--memory-limit",
        "1M",
        "--depth",
        "64",
        "--height",
        "64",
        "--width",
        "128",
    )
    assert result.exit_code == 1
    assert "smaller --depth, --height, --width" in result.stderr
    assert not (tmp_path / "o").exists()


def test_outputs_inside_an_input_folder_are_refused(tmp_path, monkeypatch):
    stack = make_stack(tmp_path / "stack")
    for out in (stack, stack / "p.png"):
        result = run("project", stack, "-o", out)
        assert result.exit_code == 2
        assert "inside the input folder" in result.output
    monkeypatch.chdir(stack)
    assert run("project", ".", "-o", "./").exit_code == 2
    assert sorted(p.name for p in stack.iterdir()) == [f"z0{k}.png" for k in range(1, 5)]
    assert run("project", stack, "-o", stack / "sub").exit_code == 0  # sub-folders are not read
