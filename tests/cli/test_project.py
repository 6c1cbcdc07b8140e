"""``stv project`` end to end, through click's CliRunner on files in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.cli.helpers import SAMPLE, library_projection, make_stack, read_png, run


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


def _views_file(path: Path, count: int) -> Path:
    views = [
        {"id": f"v{k}", "forward": [0.0, float(k), 1.0], "baseline_weight": 1.0 + k}
        for k in range(count)
    ]
    path.write_text(json.dumps({"views": views}))
    return path


def test_project_with_views_matches_the_library(tmp_path):
    from stv_cli.io.grid import to_uint8
    from stv_cli.io.images import load_volume
    from stv_cli.io.latents import load_views
    from stv_cli.model.projector import VisionProjector
    from stv_cli.model.resonance import DifferentialResonance
    from stv_cli.model.volume import ZSpaceVolume

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
    import stv_cli.io.images as image_io

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
    from stv_cli.io.grid import to_uint8
    from stv_cli.io.images import load_volume
    from stv_cli.model.projector import VisionProjector
    from stv_cli.model.resonance import DifferentialResonance
    from stv_cli.model.volume import ZSpaceVolume

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


def test_volume_over_the_memory_limit_is_refused_before_loading(tmp_path, monkeypatch):
    import stv_cli.io.images as image_io

    def must_not_load(*args, **kwargs):
        raise AssertionError("loaded a volume that cannot be refined")

    monkeypatch.setattr(image_io, "load_volume", must_not_load)
    stack = make_stack(tmp_path / "stack")  # 4 x 6 x 8 x 1 float32 = 768 bytes
    result = run("project", stack, "-o", tmp_path / "out", "--upscale", "8", "--memory-limit", "8K")
    assert result.exit_code == 1
    assert "memory limit" in result.stderr
    assert "(4, 48, 64, 1)" in result.stderr
    assert f"failed: {stack}: refining (4, 6, 8, 1)" in result.stderr  # the input named once


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


def test_a_folder_of_stacks_says_to_pass_each_stack(tmp_path):
    make_stack(tmp_path / "stacks" / "a")
    make_stack(tmp_path / "stacks" / "b")
    result = run("project", tmp_path / "stacks", "-o", tmp_path / "o")
    assert result.exit_code == 1
    assert "its 2 sub-folder(s) are not read: give each stack as an input" in result.stderr
    assert (
        run(
            "project", tmp_path / "stacks" / "a", tmp_path / "stacks" / "b", "-o", tmp_path / "o"
        ).exit_code
        == 0
    )


def _float_projection(stack: Path) -> np.ndarray:
    """The library's projection of ``stack`` as float32, before any quantisation."""
    from stv_cli.io.images import load_volume
    from stv_cli.model.projector import VisionProjector
    from stv_cli.model.resonance import DifferentialResonance
    from stv_cli.model.volume import ZSpaceVolume

    volume = ZSpaceVolume(load_volume(stack))
    return VisionProjector().project(volume, DifferentialResonance.uniform())


def test_project_tif_end_to_end_is_compressed(tmp_path):
    import tifffile

    stack = make_stack(tmp_path / "stack", channels=3)
    result = run("project", stack, "-o", tmp_path / "out", "--format", "tif", "--grid")
    assert result.exit_code == 0, result.output
    with tifffile.TiffFile(tmp_path / "out" / "stack.tif") as tif:
        assert tif.pages[0].compression == tifffile.COMPRESSION.ADOBE_DEFLATE
        assert tif.pages[0].predictor == tifffile.PREDICTOR.HORIZONTAL
        np.testing.assert_array_equal(tif.asarray(), library_projection(stack))
    result = run(
        "project", stack, "-o", tmp_path / "z.tif", "--compression", "zstd", "--bit-depth", "16"
    )
    assert result.exit_code == 0, result.output
    with tifffile.TiffFile(tmp_path / "z.tif") as tif:
        assert tif.pages[0].compression == tifffile.COMPRESSION.ZSTD
        assert tif.pages[0].dtype == np.uint16


def test_project_bit_depth_32_writes_the_float_values(tmp_path):
    import tifffile

    stack = make_stack(tmp_path / "stack", depth=5)
    result = run("project", stack, "-o", tmp_path / "p.tif", "--bit-depth", "32")
    assert result.exit_code == 0, result.output
    pixels = tifffile.imread(tmp_path / "p.tif")
    assert pixels.dtype == np.float32
    np.testing.assert_array_equal(pixels, _float_projection(stack)[..., 0])


@pytest.mark.parametrize("target", ["p.png", "p.jpg", "out/"])
def test_project_bit_depth_32_outside_tif_is_a_usage_error(tmp_path, target):
    stack = make_stack(tmp_path / "stack")
    result = run("project", stack, "-o", f"{tmp_path}/{target}", "--bit-depth", "32")
    assert result.exit_code == 2, result.output
    assert "32-bit (float32) images need tif or tiff" in result.output
    assert "--bit-depth" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stack"]


def test_project_compression_is_a_choice(tmp_path):
    stack = make_stack(tmp_path / "stack")
    result = run("project", stack, "-o", tmp_path / "p.tif", "--compression", "jpeg")
    assert result.exit_code == 2
    assert "--compression" in result.output and "zstd" in result.output


@pytest.mark.parametrize("volume_format", ["npy", "zarr", "tif"])
def test_project_save_volume_in_every_format(tmp_path, volume_format):
    import tifffile
    import zarr

    stack = make_stack(tmp_path / "stack", depth=3, channels=3)
    common = ["project", stack, "--interpolate", "cubic", "--upscale", "2", "--save-volume"]
    assert run(*common, "-o", tmp_path / "ref").exit_code == 0
    reference = np.load(tmp_path / "ref" / "stack_volume.npy")
    assert reference.shape == (5, 12, 16, 3)
    out = tmp_path / "out"
    result = run(*common, "-o", out, "--volume-format", volume_format)
    assert result.exit_code == 0, result.output
    path = out / f"stack_volume.{volume_format}"
    assert str(path) in result.stdout.split()
    if volume_format == "zarr":
        got = zarr.open_array(str(path), mode="r")[...]
    elif volume_format == "tif":
        got = np.moveaxis(tifffile.imread(path), 1, -1)  # ZCYX -> ZYXC
    else:
        got = np.load(path)
    np.testing.assert_array_equal(got, reference)

    # again: refused without --overwrite, nothing half-written left behind
    before = sorted(p.name for p in out.iterdir())
    again = run(*common, "-o", out, "--volume-format", volume_format)
    assert again.exit_code == 1
    assert "exists; pass --overwrite" in again.output
    assert sorted(p.name for p in out.iterdir()) == before
    replaced = run(*common, "-o", out, "--volume-format", volume_format, "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert sorted(p.name for p in out.iterdir()) == before  # no temporary or old copies


def test_project_volume_written_after_a_failure_leaves_no_temporary_folder(tmp_path, monkeypatch):
    import zarr

    def failing(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(zarr, "open_array", failing)
    stack = make_stack(tmp_path / "stack")
    out = tmp_path / "out"
    result = run("project", stack, "-o", out, "--save-volume", "--volume-format", "zarr")
    assert result.exit_code == 1
    assert "disk full" in result.output
    assert all(not p.name.startswith(".") for p in out.iterdir())
    assert not (out / "stack_volume.zarr").exists()


def test_tiled_and_whole_refinement_write_the_same_picture(tmp_path):
    import tifffile

    from tests.cli.helpers import make_stack

    stack = make_stack(tmp_path / "s", depth=5, height=9, width=11, channels=3)
    refine = ["--interpolate", "cubic", "--interpolate-passes", "2", "--upscale", "3",
              "--diffuse-iterations", "2", "--format", "tif", "--bit-depth", "32"]  # fmt: skip
    pictures = []
    for extra in ([], ["--no-tiles"]):
        out = tmp_path / ("whole" if extra else "tiled")
        result = run("project", stack, "-o", f"{out}/", *refine, *extra)
        assert result.exit_code == 0, result.output
        pictures.append(tifffile.imread(out / "s.tif"))
    assert pictures[0].shape == (27, 33, 3)
    np.testing.assert_array_equal(pictures[0].view(np.uint32), pictures[1].view(np.uint32))
