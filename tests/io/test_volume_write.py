"""save_volume: the refined volume as .npy, a Zarr store or an ImageJ TIFF hyperstack."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import tifffile
import zarr

from stv_cli.errors import InvalidDimensions, InvalidValue
from stv_cli.io import tiff_write, volume_write
from stv_cli.io.atomic import OutputExists
from stv_cli.io.metadata import PhysicalSize
from stv_cli.io.volume_write import VOLUME_FORMATS, resolve_volume_format, save_volume

PHYSICAL = PhysicalSize(0.5, 0.25, 1.5, "micron")


def _volume(depth=3, height=5, width=6, channels=1, seed=0) -> np.ndarray:
    values = np.random.default_rng(seed).standard_normal((depth, height, width, channels))
    values = values.astype(np.float32) * 4  # outside [0, 1] both ways: nothing is clamped
    values[0, 0, 0] = np.nan
    return values


def _read_zarr(path) -> zarr.Array:
    return zarr.open_array(str(path), mode="r")


@pytest.mark.parametrize("channels", [1, 3])
def test_every_format_holds_the_same_values(tmp_path, channels):
    voxels = _volume(channels=channels)
    npy = np.load(save_volume(tmp_path / "v.npy", voxels))
    store = _read_zarr(save_volume(tmp_path / "v.zarr", voxels, physical=PHYSICAL))
    tif = tifffile.imread(save_volume(tmp_path / "v.tif", voxels, physical=PHYSICAL))
    np.testing.assert_array_equal(npy, voxels)
    np.testing.assert_array_equal(store[...], npy)
    if channels == 1:
        np.testing.assert_array_equal(tif, npy[..., 0])
    else:
        np.testing.assert_array_equal(np.moveaxis(tif, 1, -1), npy)  # ZCYX -> ZYXC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.npy", "v.tif", "v.zarr"]


def test_zarr_store_is_chunked_compressed_and_described(tmp_path):
    voxels = _volume(depth=2, height=600, width=40, channels=3)
    path = save_volume(tmp_path / "v.zarr", voxels, physical=PHYSICAL)
    store = _read_zarr(path)
    assert store.dtype == np.float32 and store.shape == (2, 600, 40, 3)
    assert store.chunks == (1, 512, 40, 3)  # one slice, tiles of at most 512
    assert dict(store.attrs) == {
        "axes": "ZYXC",
        "physical": {"x": 0.5, "y": 0.25, "z": 1.5, "unit": "um"},
    }
    metadata = json.loads((path / "zarr.json").read_text())
    assert metadata["zarr_format"] == 3
    assert metadata["dimension_names"] == ["z", "y", "x", "c"]
    assert any(codec["name"] == "zstd" for codec in metadata["codecs"])
    stored = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    assert stored < voxels.nbytes  # compressed (a constant volume would be far smaller)
    unknown = _read_zarr(save_volume(tmp_path / "u.zarr", voxels[:1, :4, :4]))
    assert dict(unknown.attrs) == {"axes": "ZYXC"}  # no size known, none written


def test_tif_is_a_compressed_imagej_hyperstack_with_the_voxel_size(tmp_path):
    voxels = _volume(depth=4, channels=2)
    path = save_volume(tmp_path / "v.tif", voxels, physical=PHYSICAL)
    with tifffile.TiffFile(path) as tif:
        series, page, imagej = tif.series[0], tif.pages[0], tif.imagej_metadata
        assert tif.is_imagej and series.axes == "ZCYX" and series.shape == (4, 2, 5, 6)
        assert page.dtype == np.float32 and page.compression == tifffile.COMPRESSION.ADOBE_DEFLATE
        assert page.predictor == 1  # ImageJ decodes no floating-point predictor
        assert imagej["unit"] == "um" and imagej["spacing"] == 1.5
        assert (imagej["slices"], imagej["channels"]) == (4, 2)
        numerator, denominator = page.tags["XResolution"].value
        assert numerator / denominator == pytest.approx(2.0)
        numerator, denominator = page.tags["YResolution"].value
        assert numerator / denominator == pytest.approx(4.0)
    path = save_volume(tmp_path / "one.tiff", voxels[..., :1], compression="zstd")
    with tifffile.TiffFile(path) as tif:
        assert tif.series[0].axes == "ZYX" and tif.pages[0].compression == 50000


def test_a_volume_too_large_for_imagej_is_an_ome_bigtiff(tmp_path, monkeypatch):
    monkeypatch.setattr(tiff_write, "IMAGEJ_MAX_BYTES", 100)
    voxels = _volume(channels=3)
    with pytest.warns(UserWarning, match="too large for ImageJ's TIFF format"):
        path = save_volume(tmp_path / "v.tif", voxels, physical=PHYSICAL)
    with tifffile.TiffFile(path) as tif:
        assert tif.is_bigtiff and tif.is_ome and not tif.is_imagej
        assert tif.series[0].axes == "ZCYX"
        np.testing.assert_array_equal(np.moveaxis(tif.asarray(), 1, -1), voxels)
        assert 'PhysicalSizeX="0.5"' in tif.ome_metadata
        assert 'PhysicalSizeZ="1.5"' in tif.ome_metadata
        assert tif.pages[0].predictor == 3


@pytest.mark.parametrize("name", ["v.npy", "v.zarr", "v.tif"])
def test_an_existing_output_is_refused_then_replaced_when_asked(tmp_path, name):
    first, second = _volume(seed=1), _volume(seed=2)
    path = save_volume(tmp_path / name, first)
    with pytest.raises(OutputExists, match="exists"):
        save_volume(path, second)
    save_volume(path, second, overwrite=True)
    if name.endswith(".zarr"):
        np.testing.assert_array_equal(_read_zarr(path)[...], second)
    elif name.endswith(".tif"):
        np.testing.assert_array_equal(tifffile.imread(path), second[..., 0])
    else:
        np.testing.assert_array_equal(np.load(path), second)
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary or old copy left


def test_a_folder_that_is_not_a_store_is_never_replaced(tmp_path):
    folder = tmp_path / "v.zarr"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(OutputExists, match="not a Zarr store"):
        save_volume(folder, _volume(), overwrite=True)
    assert (folder / "notes.txt").read_text() == "mine"
    (tmp_path / "f.zarr").write_text("a file")
    with pytest.raises(OutputExists, match="is a file, not a directory"):
        save_volume(tmp_path / "f.zarr", _volume(), overwrite=True)


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_a_failed_zarr_write_leaves_nothing_behind(tmp_path, monkeypatch, error):
    real_open = zarr.open_array

    class Failing:
        def __init__(self, array):
            self.array = array
            self.attrs = array.attrs

        def __setitem__(self, key, value):
            self.array[0:1] = value[0:1]  # part of the store is written, then it fails
            raise error("interrupted")

    monkeypatch.setattr(zarr, "open_array", lambda **kw: Failing(real_open(**kw)))
    with pytest.raises(error):
        save_volume(tmp_path / "v.zarr", _volume())
    assert list(tmp_path.iterdir()) == []


def test_a_failed_tif_write_leaves_nothing_behind(tmp_path, monkeypatch):
    def failing(path, *args):
        with open(path, "wb") as handle:
            handle.write(b"II*\x00half")
        raise KeyboardInterrupt

    monkeypatch.setattr(volume_write, "write_tiff_volume", failing)
    with pytest.raises(KeyboardInterrupt):
        save_volume(tmp_path / "v.tif", _volume())
    assert list(tmp_path.iterdir()) == []


def test_format_names_and_bad_arguments(tmp_path):
    assert VOLUME_FORMATS == ("npy", "zarr", "tif")
    assert resolve_volume_format("a/b.TIFF") == "tif"
    assert resolve_volume_format("a/b.npy", "zarr") == "zarr"
    assert resolve_volume_format("x", ".tiff") == "tif"
    with pytest.raises(InvalidValue, match="use .npy, .zarr or .tif"):
        save_volume(tmp_path / "v.h5", _volume())
    with pytest.raises(InvalidValue, match="npy, zarr, tif"):
        save_volume(tmp_path / "v", _volume(), "hdf5")
    with pytest.raises(InvalidDimensions, match=r"\(D, H, W, C\)"):
        save_volume(tmp_path / "v.zarr", np.zeros((3, 4, 5), np.float32))
    with pytest.raises(InvalidValue, match="compression"):
        save_volume(tmp_path / "v.tif", _volume(), compression="jpeg")
    assert list(tmp_path.iterdir()) == []


def test_no_warnings_on_the_ordinary_paths(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in ("v.npy", "v.zarr", "v.tif"):
            save_volume(tmp_path / name, _volume(channels=3), physical=PHYSICAL)
