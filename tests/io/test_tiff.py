"""TIFF stacks through tifffile: every layout, its axes decision, exact values, metadata.

Each file is written here with tifffile (or Pillow, for pages without metadata) from known
values; the test reads it with ``load_volume`` / ``probe_volume`` and asks for those values,
in the place the axes rule puts them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import tifffile
from PIL import Image

from stv_cli.errors import InputError
from stv_cli.io.axes import Selection, plan_axes
from stv_cli.io.images import load_volume, probe_volume

U16 = np.float32(65535)


def _ramp(shape, dtype=np.uint16, step=7) -> np.ndarray:
    values = np.arange(int(np.prod(shape)), dtype=np.int64) * step
    top = np.iinfo(dtype).max if np.dtype(dtype).kind in "ui" else 1e6
    return (values % (int(top) + 1)).astype(dtype).reshape(shape)


def test_16_bit_rgb_stored_planar_is_read_exactly(tmp_path):
    planes = _ramp((3, 5, 6), step=2111)  # one plane per colour
    tifffile.imwrite(tmp_path / "p.tif", planes, photometric="rgb", planarconfig="separate")
    info = probe_volume(tmp_path / "p.tif")
    assert info.shape == (1, 5, 6, 3)
    volume = load_volume(tmp_path / "p.tif")
    np.testing.assert_array_equal(volume[0], np.moveaxis(planes, 0, -1) / U16)


def test_multi_page_16_bit_colour_keeps_every_grey_level(tmp_path):
    pages = _ramp((4, 5, 6, 3), step=977)
    tifffile.imwrite(tmp_path / "c.tif", pages, photometric="rgb")
    volume = load_volume(tmp_path / "c.tif", threads=2)
    np.testing.assert_array_equal(volume, pages / U16)
    assert len(np.unique(volume)) == len(np.unique(pages))  # not 8 bits


def test_imagej_hyperstack_z_and_c_become_depth_and_channels(tmp_path):
    data = _ramp((8, 2, 5, 6))  # ZCYX
    tifffile.imwrite(
        tmp_path / "h.tif", data, imagej=True, metadata={"axes": "ZCYX", "spacing": 0.5,
                                                          "unit": "um"},
        resolution=(1 / 0.25, 1 / 0.25),
    )  # fmt: skip
    info = probe_volume(tmp_path / "h.tif")
    assert info.shape == (8, 5, 6, 2)
    assert "ZCYX" in info.source
    np.testing.assert_array_equal(load_volume(info, threads=2), np.moveaxis(data, 1, -1) / U16)
    assert info.physical.x == pytest.approx(0.25) and info.physical.y == pytest.approx(0.25)
    assert info.physical.z == pytest.approx(0.5) and info.physical.unit == "um"


def test_time_series_needs_a_timepoint_and_reads_the_one_chosen(tmp_path):
    data = _ramp((3, 4, 5, 6), np.uint8)  # TZYX
    tifffile.imwrite(tmp_path / "t.tif", data, imagej=True, metadata={"axes": "TZYX"})
    with pytest.raises(InputError, match=r"t\.tif.*axes TZYX.*3 timepoints.*--timepoint N"):
        probe_volume(tmp_path / "t.tif")
    volume = load_volume(tmp_path / "t.tif", selection=Selection(timepoint=2))
    np.testing.assert_array_equal(volume, data[2][..., None] / np.float32(255))
    with pytest.raises(InputError, match=r"--timepoint 3 is outside 0\.\.2"):
        probe_volume(tmp_path / "t.tif", Selection(timepoint=3))


def test_generic_pages_are_depth(tmp_path):
    pages = [Image.fromarray(np.full((4, 5), 10 * k, np.uint8)) for k in range(3)]
    pages[0].save(tmp_path / "pil.tif", save_all=True, append_images=pages[1:])
    info = probe_volume(tmp_path / "pil.tif")
    assert info.shape == (3, 4, 5, 1) and "IYX" in info.source
    np.testing.assert_array_equal(
        load_volume(info)[:, 0, 0, 0], np.array([0, 10, 20], np.float32) / np.float32(255)
    )


def test_jpeg_2000_compressed_tiff_is_decoded(tmp_path):
    data = _ramp((2, 16, 16), step=301)
    tifffile.imwrite(tmp_path / "j.tif", data, compression="jpeg2000", photometric="minisblack")
    np.testing.assert_array_equal(load_volume(tmp_path / "j.tif")[..., 0], data / U16)


@pytest.mark.parametrize("compression", ["zlib", "zstd", "lzw", "packbits"])
def test_tiled_and_compressed_pages_read_exactly(tmp_path, compression):
    data = _ramp((3, 40, 48), step=13)
    tifffile.imwrite(
        tmp_path / "c.tif", data, tile=(16, 16), compression=compression, photometric="minisblack"
    )
    np.testing.assert_array_equal(load_volume(tmp_path / "c.tif", threads=2)[..., 0], data / U16)


def test_bigtiff_is_read(tmp_path):
    data = _ramp((2, 5, 6))
    tifffile.imwrite(tmp_path / "b.tif", data, bigtiff=True, photometric="minisblack")
    np.testing.assert_array_equal(load_volume(tmp_path / "b.tif")[..., 0], data / U16)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_data_is_kept_as_stored_not_clamped(tmp_path, dtype):
    data = np.array([[[-3.5, 0.25], [4000.0, 1.5]]], dtype=dtype)
    tifffile.imwrite(tmp_path / "f.tif", data)
    np.testing.assert_array_equal(load_volume(tmp_path / "f.tif")[..., 0], data.astype(np.float32))


@pytest.mark.parametrize("dtype", [np.uint32, np.int16, np.int8])
def test_other_integers_are_scaled_by_their_maximum(tmp_path, dtype):
    top = np.iinfo(dtype).max
    data = np.array([[[0, top // 2], [top, 1]]], dtype=dtype)
    tifffile.imwrite(tmp_path / "i.tif", data)
    want = (data.astype(np.float64) / top).astype(np.float32)
    np.testing.assert_array_equal(load_volume(tmp_path / "i.tif")[..., 0], want)


def test_ome_significant_bits_and_physical_size(tmp_path):
    data = np.array([[[0, 4095], [2048, 100]]] * 2, dtype=np.uint16)[:, None]  # ZCYX, 12 bits
    tifffile.imwrite(
        tmp_path / "o.ome.tif", data, ome=True,
        metadata={"axes": "ZCYX", "SignificantBits": 12, "PhysicalSizeX": 0.1,
                  "PhysicalSizeY": 0.2, "PhysicalSizeZ": 1.5, "PhysicalSizeXUnit": "µm"},
    )  # fmt: skip
    info = probe_volume(tmp_path / "o.ome.tif")
    volume = load_volume(info)
    want = (data[:, 0].astype(np.float64) / 4095).astype(np.float32)
    np.testing.assert_array_equal(volume[..., 0], want)
    assert (info.physical.x, info.physical.y, info.physical.z) == (0.1, 0.2, 1.5)
    assert info.physical.unit == "um"


def test_value_range_overrides_the_scale(tmp_path):
    data = np.array([[[100, 200], [300, 400]]], dtype=np.uint16)
    tifffile.imwrite(tmp_path / "v.tif", data)
    volume = load_volume(tmp_path / "v.tif", selection=Selection(value_range=(100.0, 500.0)))
    np.testing.assert_allclose(volume[0, ..., 0], [[0.0, 0.25], [0.5, 0.75]], rtol=0, atol=0)


def test_more_than_four_channels_names_the_axis_and_the_way_out(tmp_path):
    data = _ramp((2, 6, 4, 5))  # ZCYX with 6 channels
    tifffile.imwrite(tmp_path / "c6.tif", data, imagej=True, metadata={"axes": "ZCYX"})
    with pytest.raises(InputError, match=r"c6\.tif.*ZCYX.*6 channels.*--channels"):
        probe_volume(tmp_path / "c6.tif")
    volume = load_volume(tmp_path / "c6.tif", selection=Selection(channels=(5, 0, 2)))
    np.testing.assert_array_equal(volume, np.moveaxis(data[:, [5, 0, 2]], 1, -1) / U16)


def test_an_axis_stv_does_not_read_is_refused_naming_the_axes():
    with pytest.raises(InputError, match=r"axes ZAYX \(Z=3, A=2, Y=4, X=5\).*axis A of length 2"):
        plan_axes("ZAYX", (3, 2, 4, 5), Selection(), "'s.tif'")
    assert plan_axes("ZAYX", (3, 1, 4, 5), Selection(), "'s.tif'").depth == 3  # length 1: dropped


def test_selections_on_sources_without_those_axes_are_refused(tmp_path):
    tifffile.imwrite(tmp_path / "z.tif", _ramp((2, 3, 4)), photometric="minisblack")
    with pytest.raises(InputError, match="no T axis"):
        probe_volume(tmp_path / "z.tif", Selection(timepoint=0))
    np.save(tmp_path / "a.npy", np.zeros((2, 3, 4), np.float32))
    with pytest.raises(InputError, match="--channels applies to TIFF and Zarr"):
        probe_volume(tmp_path / "a.npy", Selection(channels=(0,)))


def test_a_folder_of_compressed_tiff_slices_decodes_in_parallel(tmp_path):
    folder = tmp_path / "slices"
    folder.mkdir()
    data = _ramp((5, 9, 7, 3), step=3331)
    for z in range(5):
        tifffile.imwrite(folder / f"z{z + 1}.tif", data[z], photometric="rgb", compression="zlib")
    info = probe_volume(folder)
    assert info.shape == (5, 9, 7, 3)
    np.testing.assert_array_equal(load_volume(info, threads=2), data / U16)


def test_several_series_of_one_image_each_are_a_stack(tmp_path):
    with tifffile.TiffWriter(tmp_path / "s.tif") as writer:
        for k in range(3):
            writer.write(np.full((4, 5), 1000 * k, np.uint16))
    np.testing.assert_array_equal(
        load_volume(tmp_path / "s.tif")[:, 0, 0, 0], np.array([0, 1000, 2000], np.float32) / U16
    )


def test_series_of_different_shapes_say_which_is_read(tmp_path):
    with tifffile.TiffWriter(tmp_path / "m.tif") as writer:
        writer.write(np.zeros((3, 4, 5), np.uint8), photometric="minisblack")
        writer.write(np.zeros((6, 7), np.uint8))
    with pytest.warns(UserWarning, match="2 series.*series 0"):
        assert probe_volume(tmp_path / "m.tif").shape == (3, 4, 5, 1)


def test_a_truncated_tiff_names_the_file(tmp_path):
    tifffile.imwrite(
        tmp_path / "t.tif", _ramp((3, 64, 64)), compression="zlib", photometric="minisblack"
    )
    data = (tmp_path / "t.tif").read_bytes()
    (tmp_path / "t.tif").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"t\.tif"):
        load_volume(tmp_path / "t.tif")


def test_pillow_s_pixel_count_guard_follows_the_memory_limit(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(tmp_path / "a.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # as if the image were a "bomb"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_volume(tmp_path).shape == (1, 64, 64, 1)
    with pytest.raises(InputError, match="limit"):
        load_volume(tmp_path, memory_limit=1024)
