"""The per-input pipeline: settings, output naming, refusal/skip, memory guard, projection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stv_cli.errors import InvalidDimensions, ShapeMismatch, StvError
from stv_cli.executors.batch import SkipInput
from stv_cli.pipeline.outputs import (
    claim_outputs,
    decode_output_paths,
    input_name,
    output_paths,
)
from stv_cli.pipeline.project import run_project_input
from stv_cli.pipeline.settings import (
    OutputSettings,
    ProjectionSettings,
    ProjectSettings,
    RefineSettings,
)
from stv_cli.pipeline.stages import check_refined_memory, check_views, project_volume, refine
from stv_cli.pipeline.workspace import Workspace


def _volume(depth=5, height=4, width=6, channels=1, seed=0):
    from stv_cli.model.volume import ZSpaceVolume

    rng = np.random.default_rng(seed)
    return ZSpaceVolume(rng.random((depth, height, width, channels), dtype=np.float32))


def test_stage_shapes_follow_diffuse_interpolate_upscale():
    settings = RefineSettings(
        diffuse_iterations=2, interpolate="cubic", interpolate_passes=2, upscale=3
    )
    assert settings.stage_shapes((4, 5, 6, 3)) == [
        (4, 5, 6, 3),
        (4, 5, 6, 3),
        (7, 5, 6, 3),
        (13, 5, 6, 3),
        (13, 15, 18, 3),
    ]
    assert RefineSettings().stage_shapes((1, 2, 2, 1)) == [(1, 2, 2, 1)]
    # one slice cannot be interpolated: the depth stays 1 (SPEC A.2.3)
    assert RefineSettings(interpolate="linear").stage_shapes((1, 2, 2, 1)) == [(1, 2, 2, 1)]


def test_refine_matches_the_stage_shapes():
    settings = RefineSettings(
        diffuse_iterations=1, interpolate="linear", interpolate_passes=2, upscale=2
    )
    volume = _volume()
    refined = refine(volume, settings)
    assert refined.shape == settings.stage_shapes(volume.shape)[-1]
    assert refine(volume, RefineSettings()) is volume  # nothing asked, nothing done


def test_refine_applies_the_model_in_order():
    from stv_cli.model.diffuser import ZDiffuser

    volume = _volume()
    settings = RefineSettings(diffuse_iterations=2, diffuse_rate=0.5, interpolate="cubic")
    expected = ZDiffuser(2, 0.5).diffuse(volume).interpolate("cubic", 1)
    np.testing.assert_array_equal(refine(volume, settings).voxels, expected.voxels)


def test_memory_guard_names_estimate_and_limit():
    from stv_cli.model.memory import set_memory_limit

    set_memory_limit(10_000)
    try:
        check_refined_memory((2, 4, 4, 1), RefineSettings(upscale=2), "x")  # fits
        with pytest.raises(InvalidDimensions, match=r"memory limit") as info:
            check_refined_memory((4, 10, 10, 1), RefineSettings(upscale=4), "stack")
        text = str(info.value)
        assert (
            "stack" in text
            and "(4, 40, 40, 1)" in text
            # input 1600 + upscaled 25600 + picture 6400 + its 8-bit pixels and their copy 3200
            and "(36800 bytes)" in text
            and "(10000 bytes)" in text
        )
    finally:
        set_memory_limit(None)


def test_the_run_estimate_counts_every_buffer_held_at_once():
    from stv_cli.pipeline.stages import estimate_run_memory

    shape = (5, 10, 20, 1)  # 4000 bytes as float32
    settings = RefineSettings(
        diffuse_iterations=2, interpolate="linear", interpolate_passes=2, upscale=2
    )
    estimate = estimate_run_memory(
        shape, settings, decode_scratch=300, threads=4, mapped=500, grid=True, bit_depth=16
    )
    assert estimate.loading == 4000 + 4 * 300 + 500
    # input + diffusion + last pass (17 slices) + upscale (17 x 20 x 40) + the larger
    # transient (the diffusion's scratch 4000 vs the first pass, 9 slices: 7200)
    assert estimate.refining == 4000 + 4000 + 13600 + 54400 + 7200
    # writing: the buffers, the picture (20 x 40: float32, 16-bit pixels and the encoder's
    # copy) and the grid (RGB float32, its 16-bit pixels and the encoder's copy)
    grid = 54400 * 3 + 2 * ((54400 * 3) // 4 * 2)  # 16-bit: pixels and a copy of them
    assert estimate.writing == 4000 + 4000 + 13600 + 54400 + 3200 + 2 * 1600 + grid
    assert estimate.peak == estimate.writing
    plain = estimate_run_memory(shape, RefineSettings())
    assert (plain.loading, plain.refining, plain.writing) == (4000, 4000, 4000 + 800 + 400)


def test_output_names_in_a_directory(tmp_path):
    out = OutputSettings(
        out=tmp_path, image_format="tif", grid=True, weights=True, weights_plot=True,
        telemetry=True, save_volume=True,
    )  # fmt: skip
    names = {k: p.name for k, p in output_paths(out, "stack").items()}
    assert names == {
        "image": "stack.tif",
        "grid": "stack_grid.tif",
        "weights": "stack_weights.json",
        "weights_plot": "stack_weights.png",
        "telemetry": "stack_telemetry.json",
        "volume": "stack_volume.npy",
    }
    assert all(p.parent == tmp_path for p in output_paths(out, "stack").values())


def test_output_names_for_a_file(tmp_path):
    out = OutputSettings(out=tmp_path / "pic.jpg", to_directory=False, grid=True)
    paths = output_paths(out, "ignored")
    assert paths == {"image": tmp_path / "pic.jpg", "grid": tmp_path / "pic_grid.jpg"}


def test_decode_names_one_picture_per_latent(tmp_path):
    paths = decode_output_paths(OutputSettings(out=tmp_path, grid=True), "lat", 3)
    assert [p.name for p in paths.values()] == [
        "lat_000.png", "lat_001.png", "lat_002.png", "lat_grid.png"
    ]  # fmt: skip
    single = OutputSettings(out=tmp_path / "x.png", to_directory=False)
    assert list(decode_output_paths(single, "lat", 1).values()) == [tmp_path / "x.png"]


def test_input_name(tmp_path):
    (tmp_path / "stack.v2").mkdir()
    assert input_name(tmp_path / "stack.v2") == "stack.v2"
    assert input_name(tmp_path / "vol.npy") == "vol"


def test_claim_outputs_refuses_skips_or_allows(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert claim_outputs([a, b], OutputSettings(out=tmp_path)) is False
    a.write_bytes(b"x")
    with pytest.raises(StvError, match="a.png' exists; pass --overwrite"):
        claim_outputs([a, b], OutputSettings(out=tmp_path))
    assert claim_outputs([a, b], OutputSettings(out=tmp_path, overwrite=True)) is True
    # half done: redo the input, replacing what is there
    assert claim_outputs([a, b], OutputSettings(out=tmp_path, skip_existing=True)) is True
    b.write_bytes(b"x")
    with pytest.raises(SkipInput) as info:
        claim_outputs([a, b], OutputSettings(out=tmp_path, skip_existing=True))
    assert info.value.outputs == [str(a), str(b)]


def test_project_volume_equals_the_projector(tmp_path):
    from stv_cli.model.projector import VisionProjector
    from stv_cli.model.resonance import DifferentialResonance
    from stv_cli.model.windows import SpectralWindow

    volume = _volume(channels=3)
    settings = ProjectionSettings(window="gaussian", sigma=0.3, focus=0.2, spread=0.5)
    image, weights = project_volume(volume, settings)
    projector = VisionProjector(0.2, 0.5, 0.0).with_spectral_window(SpectralWindow.gaussian(0.3))
    resonance = DifferentialResonance.uniform()
    np.testing.assert_array_equal(image, projector.project(volume, resonance))
    np.testing.assert_array_equal(weights, projector.depth_weights(volume, resonance))


def test_workspace_reuses_the_image_buffer():
    workspace = Workspace()
    first, _ = project_volume(_volume(seed=1), ProjectionSettings(), workspace)
    second, _ = project_volume(_volume(seed=2), ProjectionSettings(), workspace)
    assert first is second  # one buffer for the batch
    other, _ = project_volume(_volume(height=3), ProjectionSettings(), workspace)
    assert other.shape == (3, 6, 1)


def test_views_must_match_the_depth():
    from stv_cli.model.multiview import MultiViewFusion, ViewDescriptor

    fusion = MultiViewFusion([ViewDescriptor(f"v{k}", (0, 0, 0), (0, 0, 1)) for k in range(3)])
    check_views(fusion, 3, "views.json")
    with pytest.raises(ShapeMismatch, match="has 3 views, but the refined volume has depth 5"):
        check_views(fusion, 5, "views.json")


def test_run_project_input_on_an_npy_volume(tmp_path):
    from stv_cli.io.grid import to_uint8
    from stv_cli.model.projector import VisionProjector
    from stv_cli.model.resonance import DifferentialResonance

    volume = _volume(depth=4, channels=3)
    np.save(tmp_path / "vol.npy", volume.voxels)
    settings = ProjectSettings(output=OutputSettings(out=tmp_path / "out", weights=True))
    written = run_project_input(tmp_path / "vol.npy", settings)
    assert written == [tmp_path / "out" / "vol.png", tmp_path / "out" / "vol_weights.json"]
    from PIL import Image

    with Image.open(written[0]) as img:
        got = np.asarray(img)
    expected = to_uint8(VisionProjector().project(volume, DifferentialResonance.uniform()))
    np.testing.assert_array_equal(got, expected)


def test_run_project_input_refuses_existing_output_before_loading(tmp_path, monkeypatch):
    import stv_cli.io.images as image_io

    np.save(tmp_path / "vol.npy", _volume().voxels)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "vol.png").write_bytes(b"x")
    monkeypatch.setattr(image_io, "probe_volume", lambda *a, **k: pytest.fail("probed"))
    settings = ProjectSettings(output=OutputSettings(out=tmp_path / "out"))
    with pytest.raises(StvError, match="exists"):
        run_project_input(Path(tmp_path / "vol.npy"), settings)


def test_refine_reuses_the_workspace_buffers_across_inputs(rng):
    """A batch writes every refinement stage into buffers kept from the previous input."""
    from stv_cli.model.volume import ZSpaceVolume
    from stv_cli.pipeline.settings import RefineSettings
    from stv_cli.pipeline.stages import refine
    from stv_cli.pipeline.workspace import Workspace

    settings = RefineSettings(
        diffuse_iterations=1, diffuse_rate=0.3, interpolate="cubic", interpolate_passes=2, upscale=2
    )
    workspace = Workspace()
    first = ZSpaceVolume(rng.random((3, 5, 4, 2), dtype=np.float32))
    second = ZSpaceVolume(rng.random((3, 5, 4, 2), dtype=np.float32))
    expected = [refine(v, settings).voxels.copy() for v in (first, second)]

    got_first = refine(first, settings, workspace)
    np.testing.assert_array_equal(got_first.voxels, expected[0])
    kept = got_first.voxels
    got_second = refine(second, settings, workspace)
    np.testing.assert_array_equal(got_second.voxels, expected[1])
    assert got_second.voxels.shape == (9, 10, 8, 2)
    assert np.shares_memory(got_second.voxels, kept)  # the upscale buffer was reused


def test_volume_methods_fill_a_given_out(rng):
    from stv_cli.model.diffuser import ZDiffuser
    from stv_cli.model.volume import ZSpaceVolume

    vol = ZSpaceVolume(rng.random((3, 4, 5, 1), dtype=np.float32))
    out = np.empty((5, 4, 5, 1), np.float32)
    got = vol.interpolate("cubic", 1, out=out)
    assert np.shares_memory(got.voxels, out)
    np.testing.assert_array_equal(got.voxels, vol.interpolate("cubic").voxels)
    out = np.empty((3, 8, 10, 1), np.float32)
    got = vol.upscale(2, out=out)
    assert np.shares_memory(got.voxels, out)
    np.testing.assert_array_equal(got.voxels, vol.upscale(2).voxels)
    out = np.empty(vol.shape, np.float32)
    got = ZDiffuser(2, 0.4).diffuse(vol, out=out)
    assert np.shares_memory(got.voxels, out)
    np.testing.assert_array_equal(got.voxels, ZDiffuser(2, 0.4).diffuse(vol).voxels)


def test_a_batch_on_threads_with_a_context_writes_what_a_serial_batch_writes(tmp_path):
    import functools

    from PIL import Image

    from stv_cli.context import RunContext
    from stv_cli.executors import SerialExecutor, ThreadExecutor, run_batch

    inputs = []
    for k in range(4):
        np.save(tmp_path / f"v{k}.npy", _volume(depth=5, channels=3, seed=k).voxels)
        inputs.append(tmp_path / f"v{k}.npy")
    refine_settings = RefineSettings(interpolate="cubic", upscale=2, diffuse_iterations=1)
    pictures = {}
    for label, executor, backend_name in (
        ("serial-numpy", SerialExecutor(), "numpy"),
        ("threads-cpu", ThreadExecutor(2), "auto"),
    ):
        out = tmp_path / label
        settings = ProjectSettings(output=OutputSettings(out=out), refine=refine_settings)
        process = functools.partial(
            run_project_input,
            settings=settings,
            workspace=Workspace(),  # one for the batch: its buffers are per thread
            context=RunContext(backend=backend_name, memory_limit=2**30),
        )
        with executor:
            report = run_batch(inputs, process, command="project", executor=executor)
        assert report.exit_code == 0, report.to_json()
        pictures[label] = [np.asarray(Image.open(out / f"v{k}.png")) for k in range(4)]
    for a, b in zip(pictures["serial-numpy"], pictures["threads-cpu"], strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_context_memory_limit_holds_inside_the_input(tmp_path):
    from stv_cli.context import RunContext

    np.save(tmp_path / "v.npy", _volume(depth=4).voxels)
    settings = ProjectSettings(
        output=OutputSettings(out=tmp_path / "out"), refine=RefineSettings(upscale=8)
    )
    with pytest.raises(InvalidDimensions, match="memory limit"):
        run_project_input(tmp_path / "v.npy", settings, context=RunContext(memory_limit=4096))


@pytest.mark.parametrize(
    ("volume_format", "suffix"), [("npy", ".npy"), ("zarr", ".zarr"), ("tif", ".tif")]
)
def test_the_volume_is_named_after_its_format(tmp_path, volume_format, suffix):
    out = OutputSettings(out=tmp_path, save_volume=True, volume_format=volume_format)
    assert output_paths(out, "stack")["volume"] == tmp_path / f"stack_volume{suffix}"
    single = OutputSettings(
        out=tmp_path / "pic.tif", to_directory=False, save_volume=True, volume_format=volume_format
    )
    assert output_paths(single, "x")["volume"] == tmp_path / f"pic_volume{suffix}"


def test_refined_physical_follows_upscale_and_interpolation():
    from types import SimpleNamespace

    from stv_cli.io.metadata import PhysicalSize
    from stv_cli.pipeline.project import refined_physical

    physical = PhysicalSize(0.8, 0.4, 2.0, "um")
    stack = SimpleNamespace(physical=physical, depth=5)
    both = RefineSettings(interpolate="cubic", interpolate_passes=2, upscale=4)
    assert refined_physical(stack, both) == PhysicalSize(0.2, 0.1, 0.5, "um")
    assert refined_physical(stack, RefineSettings(upscale=2)) == PhysicalSize(0.4, 0.2, 2.0, "um")
    one_slice = SimpleNamespace(physical=physical, depth=1)  # nothing to interpolate
    assert refined_physical(one_slice, both) == PhysicalSize(0.2, 0.1, 2.0, "um")
    assert refined_physical(SimpleNamespace(physical=None, depth=5), both) is None


def test_run_project_input_writes_float32_tiff_with_the_refined_scale(tmp_path, monkeypatch):
    import dataclasses
    import json

    import tifffile
    import zarr

    import stv_cli.io.images as image_io
    from stv_cli.io.metadata import PhysicalSize

    real_probe = image_io.probe_volume

    def probe_with_scale(*args, **kwargs):  # the reader fills physical from the file
        info = real_probe(*args, **kwargs)
        return dataclasses.replace(info, physical=PhysicalSize(0.4, 0.4, 2.0, "micron"))

    monkeypatch.setattr(image_io, "probe_volume", probe_with_scale)
    volume = _volume(depth=3, channels=1)
    np.save(tmp_path / "vol.npy", volume.voxels * 5 - 2)  # values outside [0, 1]
    refine_settings = RefineSettings(interpolate="linear", interpolate_passes=2, upscale=2)
    output = OutputSettings(
        out=tmp_path / "out", image_format="tif", bit_depth=32, grid=True, weights=True,
        save_volume=True, volume_format="zarr",
    )  # fmt: skip
    settings = ProjectSettings(output=output, refine=refine_settings)
    written = run_project_input(tmp_path / "vol.npy", settings)
    names = [p.name for p in written]
    assert names == ["vol.tif", "vol_grid.tif", "vol_weights.json", "vol_volume.zarr"]

    from stv_cli.model.volume import ZSpaceVolume

    refined = refine(ZSpaceVolume(np.load(tmp_path / "vol.npy")), refine_settings)
    image, _ = project_volume(refined, ProjectionSettings())
    with tifffile.TiffFile(written[0]) as tif:
        np.testing.assert_array_equal(tif.asarray(), image[..., 0])  # float32, unclamped
        assert tif.asarray().min() < 0 or tif.asarray().max() > 1
        assert tif.pages[0].compression == tifffile.COMPRESSION.ADOBE_DEFLATE
        assert tif.imagej_metadata["unit"] == "um"
        assert tif.imagej_metadata["spacing"] == pytest.approx(0.5)  # 2.0 / 2**2
        numerator, denominator = tif.pages[0].tags["XResolution"].value
        assert numerator / denominator == pytest.approx(1 / 0.2)  # 0.4 / 2
    with tifffile.TiffFile(written[1]) as grid:
        assert grid.asarray().dtype == np.float32
        assert "spacing" not in (grid.imagej_metadata or {})  # a grid has no slice step
        assert json.loads(grid.pages[0].description)["physical"] == {
            "x": pytest.approx(0.2), "y": pytest.approx(0.2), "unit": "um"
        }  # fmt: skip
    record = json.loads(written[2].read_text())
    assert record["physical"] == {"x": 0.2, "y": 0.2, "z": 0.5, "unit": "um"}
    store = zarr.open_array(str(written[3]), mode="r")
    np.testing.assert_array_equal(store[...], refined.voxels)
    assert store.attrs["physical"] == {"x": 0.2, "y": 0.2, "z": 0.5, "unit": "um"}


def test_weights_record_has_no_physical_when_the_input_declares_none(tmp_path):
    import json

    np.save(tmp_path / "vol.npy", _volume(depth=3).voxels)
    settings = ProjectSettings(output=OutputSettings(out=tmp_path / "out", weights=True))
    written = run_project_input(tmp_path / "vol.npy", settings)
    assert "physical" not in json.loads(written[1].read_text())


def test_outputs_of_this_very_batch_are_its_own(tmp_path):
    import os
    import time

    out = OutputSettings(out=tmp_path, batch_started=time.time() - 0.1)
    paths = [tmp_path / "a.png", tmp_path / "a_weights.json"]
    paths[0].write_bytes(b"x")
    assert claim_outputs(paths, out) is True  # one of ours exists: redone, replacing it
    paths[1].write_bytes(b"y")
    with pytest.raises(SkipInput) as done:
        claim_outputs(paths, out)
    assert done.value.status == "ok"  # both ours: the input was done by an earlier attempt
    old = time.time() - 3600
    os.utime(paths[0], (old, old))  # an older file: not this batch's, refused as ever
    with pytest.raises(StvError, match="exists"):
        claim_outputs(paths, out)
