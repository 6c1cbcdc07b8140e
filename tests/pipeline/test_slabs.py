"""Stacks larger than the memory limit are streamed in slabs: the in-memory picture, bit for bit.

A plain projection whose volume does not fit ``--memory-limit`` reads a slab of slices at a
time and collapses it into the picture with ``accumulate=True``; the picture must be the one
an unlimited run makes, for every kind of input, and the whole volume must never be loaded.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
import zarr
from PIL import Image

from stv_cli.context import RunContext
from stv_cli.errors import InvalidDimensions
from stv_cli.pipeline.project import run_project_input
from stv_cli.pipeline.settings import OutputSettings, ProjectionSettings, ProjectSettings
from stv_cli.pipeline.workspace import Workspace

SHAPE = (12, 20, 24, 3)  # 69 KiB as float32; a slice is 5.6 KiB (1.4 KiB as pixels)
LIMIT = 56 * 1024  # the whole volume does not fit, a few slices and the picture do


def _inputs(tmp_path) -> dict:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, SHAPE, dtype=np.uint8)
    paths = {}
    np.save(tmp_path / "v.npy", pixels)
    paths["npy"] = tmp_path / "v.npy"
    np.save(tmp_path / "f.npy", pixels.astype(np.float32) / 7)  # floats: the float32 slabs
    paths["npy (float)"] = tmp_path / "f.npy"
    folder = tmp_path / "slices"
    folder.mkdir()
    for z in range(SHAPE[0]):
        Image.fromarray(pixels[z]).save(folder / f"z{z:02d}.png")
    paths["folder"] = folder
    tifffile.imwrite(tmp_path / "c.tif", pixels, photometric="rgb", compression="zlib")
    paths["tiff (pages)"] = tmp_path / "c.tif"
    tifffile.imwrite(tmp_path / "m.tif", pixels, photometric="rgb")
    paths["tiff (mapped)"] = tmp_path / "m.tif"
    zarr.create_array(str(tmp_path / "z.zarr"), data=pixels, chunks=(5, 20, 24, 3))
    paths["zarr"] = tmp_path / "z.zarr"
    return paths


def _settings(out, **projection) -> ProjectSettings:
    return ProjectSettings(
        output=OutputSettings(out=out, image_format="tif", bit_depth=32, telemetry=True),
        projection=ProjectionSettings(**projection),
    )


@pytest.mark.parametrize("resonance", ["uniform", "generate"])
def test_streamed_pictures_are_the_in_memory_ones(tmp_path, monkeypatch, resonance):
    import stv_cli.io.images as images

    for kind, path in _inputs(tmp_path).items():
        whole = tmp_path / "whole" / kind
        run_project_input(path, _settings(whole, resonance=resonance), Workspace(),
                          RunContext(threads=2))  # fmt: skip
        streamed = tmp_path / "streamed" / kind
        with monkeypatch.context() as patch:
            patch.setattr(images, "load_volume", _never)  # the whole volume is never loaded
            run_project_input(path, _settings(streamed, resonance=resonance), Workspace(),
                              RunContext(threads=2, memory_limit=LIMIT))  # fmt: skip
        name = path.stem if path.is_file() or kind == "zarr" else path.name
        want = tifffile.imread(whole / f"{name}.tif")
        got = tifffile.imread(streamed / f"{name}.tif")
        if resonance == "uniform":
            np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32), kind)
        else:  # the statistics' float64 sums of one slice at a time: 1e-6
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-6, err_msg=kind)
        report = json.loads((streamed / f"{name}_telemetry.json").read_text())
        expected = json.loads((whole / f"{name}_telemetry.json").read_text())
        assert report.keys() == expected.keys()


def _never(*args, **kwargs):
    raise AssertionError("the whole volume was loaded")


def test_a_limit_too_small_for_a_slab_is_refused_before_reading(tmp_path):
    paths = _inputs(tmp_path)
    with pytest.raises(InvalidDimensions, match="memory limit"):
        run_project_input(paths["npy"], _settings(tmp_path / "o"), Workspace(),
                          RunContext(memory_limit=4096))  # fmt: skip


def test_a_refined_stack_over_the_limit_is_streamed_in_windows(tmp_path, monkeypatch):
    import stv_cli.io.images as images
    from stv_cli.pipeline.settings import RefineSettings

    voxels = np.random.default_rng(2).random((14, 16, 18, 3), dtype=np.float32)
    np.save(tmp_path / "r.npy", voxels)
    refine = RefineSettings(diffuse_iterations=1, interpolate="cubic", upscale=2)

    def settings(out):
        return ProjectSettings(
            output=OutputSettings(out=out, image_format="tif", bit_depth=32), refine=refine
        )

    run_project_input(tmp_path / "r.npy", settings(tmp_path / "whole"), Workspace(), RunContext())
    with monkeypatch.context() as patch:
        patch.setattr(images, "load_volume", _never)
        run_project_input(tmp_path / "r.npy", settings(tmp_path / "windows"), Workspace(),
                          RunContext(memory_limit=300 * 1024))  # fmt: skip
    want = tifffile.imread(tmp_path / "whole" / "r.tif")
    got = tifffile.imread(tmp_path / "windows" / "r.tif")
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
