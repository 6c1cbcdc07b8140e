"""``stv project`` on scientific stacks: TIFF hyperstacks, time series, Zarr, selections."""

from __future__ import annotations

import json

import numpy as np
import tifffile
import zarr

from tests.cli.helpers import read_png, run


def _movie(path, t=3):
    data = np.stack([np.full((4, 6, 8), 20 * (k + 1), np.uint8) for k in range(t)])  # TZYX
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "TZYX"})
    return data


def test_a_time_series_without_a_timepoint_fails_naming_the_options(tmp_path):
    _movie(tmp_path / "m.tif")
    result = run("project", tmp_path / "m.tif", "-o", f"{tmp_path / 'out'}/")
    assert result.exit_code == 1
    assert "3 timepoints" in result.output and "--timepoint N" in result.output
    assert "--split-time" in result.output and "Traceback" not in result.output


def test_timepoint_picks_one_volume(tmp_path):
    _movie(tmp_path / "m.tif")
    result = run("project", tmp_path / "m.tif", "-o", f"{tmp_path / 'out'}/", "--timepoint", "2")
    assert result.exit_code == 0, result.output
    assert np.all(read_png(tmp_path / "out" / "m.png") == 60)  # uniform frame t=2


def test_split_time_makes_each_timepoint_an_input(tmp_path):
    _movie(tmp_path / "m.tif")
    out = tmp_path / "out"
    result = run("project", tmp_path / "m.tif", "-o", f"{out}/", "--split-time", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [r["input"] for r in report["results"]] == [
        f"{tmp_path / 'm.tif'}#t={k}" for k in range(3)
    ]
    for k in range(3):
        assert np.all(read_png(out / f"m_t{k:03d}.png") == 20 * (k + 1))
    again = run("project", tmp_path / "m.tif", "-o", f"{out}/", "--split-time", "--timepoint", "1")
    assert again.exit_code == 2 and "--split-time" in again.output


def test_hyperstack_channels_and_bad_selections(tmp_path):
    data = np.zeros((3, 5, 4, 6), np.uint16)  # ZCYX, 5 channels
    for c in range(5):
        data[:, c] = 10000 * c
    tifffile.imwrite(tmp_path / "h.tif", data, imagej=True, metadata={"axes": "ZCYX"})
    out = tmp_path / "out"
    refused = run("project", tmp_path / "h.tif", "-o", f"{out}/")
    assert refused.exit_code == 1 and "--channels" in refused.output
    picked = run("project", tmp_path / "h.tif", "-o", f"{out}/", "--channels", "4,1,2",
                 "--format", "tif", "--bit-depth", "16")  # fmt: skip
    assert picked.exit_code == 0, picked.output
    np.testing.assert_array_equal(tifffile.imread(out / "h.tif")[0, 0], [40000, 10000, 20000])
    bad = run("project", tmp_path / "h.tif", "-o", f"{out}/", "--channels", "a,b")
    assert bad.exit_code == 2 and "--channels" in bad.output


def test_an_ome_zarr_level_is_an_input(tmp_path):
    group = zarr.open_group(str(tmp_path / "img.zarr"), mode="w")
    full = np.full((4, 8, 10), 51, np.uint8)
    group.create_array("0", data=full)
    group.create_array("1", data=full[:, ::2, ::2].copy())
    axes = [{"name": n, "type": "space", "unit": "micrometer"} for n in "zyx"]
    group.attrs["multiscales"] = [{"version": "0.4", "axes": axes, "datasets": [
        {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 1]}]},
        {"path": "1", "coordinateTransformations": [{"type": "scale", "scale": [1, 2, 2]}]},
    ]}]  # fmt: skip
    out = tmp_path / "out"
    result = run("project", tmp_path / "img.zarr", "-o", f"{out}/", "--level", "1")
    assert result.exit_code == 0, result.output
    picture = read_png(out / "img.png")
    assert picture.shape == (4, 5) and np.all(picture == 51)


def test_saved_volumes_read_back_with_their_voxel_size(tmp_path):
    from stv_cli.io.images import load_volume, probe_volume

    data = (np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5) * 997).astype(np.uint16)
    tifffile.imwrite(tmp_path / "s.tif", data, imagej=True,
                     metadata={"axes": "ZYX", "spacing": 2.0, "unit": "um"},
                     resolution=(1 / 0.5, 1 / 0.5))  # fmt: skip
    for fmt in ("zarr", "tif", "npy"):
        out = tmp_path / fmt
        refine = ["--upscale", "2", "--interpolate", "linear"]
        saving = ["--save-volume", "--volume-format", fmt]
        result = run("project", tmp_path / "s.tif", "-o", f"{out}/", *refine, *saving)
        assert result.exit_code == 0, result.output
    saved = np.load(tmp_path / "npy" / "s_volume.npy")
    for fmt in ("zarr", "tif"):
        info = probe_volume(tmp_path / fmt / f"s_volume.{fmt}")
        np.testing.assert_array_equal(load_volume(info), saved)
        size = info.physical
        assert (size.x, size.y, size.z, size.unit) == (0.25, 0.25, 1.0, "um"), fmt
