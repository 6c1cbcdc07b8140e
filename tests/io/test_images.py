"""Reading volumes: folders, multi-page TIFF, .npy; the memory guard; skipped files."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from stv_cli.errors import InputError, InvalidValue
from stv_cli.io.images import (
    PrecisionWarning,
    SkippedFileWarning,
    VolumeInfo,
    load_volume,
    natural_sort_key,
    probe_volume,
)


def _write(path, array, **kwargs):
    Image.fromarray(array).save(path, **kwargs)
    return path


def _grey_stack(folder, names, shape=(4, 5)):
    folder.mkdir(exist_ok=True)
    for k, name in enumerate(names):
        _write(folder / name, np.full(shape, 10 * (k + 1), np.uint8))
    return folder


def test_natural_sort_key_orders_numbers_by_value():
    names = ["z10.png", "z2.png", "Z1.png", "z02b.png", "a.png", "z100.png"]
    assert sorted(names, key=natural_sort_key) == [
        "a.png",
        "Z1.png",
        "z2.png",
        "z02b.png",
        "z10.png",
        "z100.png",
    ]


def test_folder_slices_load_in_natural_order(tmp_path):
    folder = _grey_stack(tmp_path / "s", ["z1.png", "z2.png", "z10.png"])
    info = probe_volume(folder)
    assert info.kind == "folder" and info.shape == (3, 4, 5, 1)
    assert [p.name for p in info.files] == ["z1.png", "z2.png", "z10.png"]
    assert info.bytes_float32 == 3 * 4 * 5 * 4
    calls = []
    vol = load_volume(folder, threads=2, progress=calls.append)
    assert vol.dtype == np.float32 and vol.flags.c_contiguous and vol.shape == (3, 4, 5, 1)
    np.testing.assert_array_equal(vol[:, 0, 0, 0], np.float32([10, 20, 30]) / np.float32(255))
    assert sum(calls) == 3 and min(calls) >= 1  # ticks from threads may arrive batched
    calls.clear()
    np.testing.assert_array_equal(load_volume(info, threads=1, progress=calls.append), vol)
    assert calls == [1, 1, 1]


def test_8_bit_rgb_rgba_and_16_bit_grey_scaling(tmp_path):
    y, x = np.mgrid[0:16, 0:16]
    rgb = np.stack([x * 16, y * 16, x * 8 + y * 8], axis=-1).astype(np.uint8)
    folder = tmp_path / "rgb"
    folder.mkdir()
    _write(folder / "a.png", rgb)
    _write(folder / "b.jpg", rgb, quality=100)
    vol = load_volume(folder)
    np.testing.assert_array_equal(vol[0], rgb / np.float32(255))
    assert np.abs(vol[1] - vol[0]).max() < 0.05  # JPEG is lossy, but close

    rgba = np.random.default_rng(1).integers(0, 256, (3, 4, 4), dtype=np.uint8)
    (tmp_path / "rgba").mkdir()
    _write(tmp_path / "rgba" / "a.png", rgba)
    _write(tmp_path / "rgba" / "b.webp", rgba, lossless=True)
    vol = load_volume(tmp_path / "rgba")
    assert vol.shape == (2, 3, 4, 4)
    np.testing.assert_array_equal(vol[1], rgba / np.float32(255))

    grey16 = np.array([[0, 65535], [32768, 1]], np.uint16)
    (tmp_path / "g16").mkdir()
    for ext in ("png", "tif"):
        _write(tmp_path / "g16" / f"a.{ext}", grey16)
    vol = load_volume(tmp_path / "g16")
    np.testing.assert_array_equal(vol[..., 0], np.stack([grey16, grey16]) / np.float32(65535))


def test_float_tiff_is_read_as_stored(tmp_path):
    values = np.array([[-1.5, 0.25], [3.0, np.nan]], np.float32)
    _write(tmp_path / "f.tif", values)
    vol = load_volume(tmp_path / "f.tif")
    assert vol.shape == (1, 2, 2, 1)
    np.testing.assert_array_equal(vol[0, ..., 0], values)


def test_multi_page_tiff_is_a_volume(tmp_path):
    pages = [Image.fromarray(np.full((3, 4), 40 * k, np.uint8)) for k in range(5)]
    path = tmp_path / "stack.tiff"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    info = probe_volume(path)
    assert (info.kind, info.shape, info.files) == ("tiff", (5, 3, 4, 1), (path,))
    calls = []
    vol = load_volume(path, threads=2, progress=calls.append)
    np.testing.assert_array_equal(vol[:, 1, 1, 0], np.float32([0, 40, 80, 120, 160]) / 255)
    assert sum(calls) == 5
    calls.clear()
    load_volume(path, threads=1, progress=calls.append)
    assert calls == [1] * 5  # one tick per page


def test_multi_page_tiff_inside_a_folder_is_refused(tmp_path):
    pages = [Image.fromarray(np.zeros((3, 4), np.uint8))] * 2
    pages[0].save(tmp_path / "a.tif", save_all=True, append_images=pages[1:])
    with pytest.raises(InputError, match="holds 2 images"):
        probe_volume(tmp_path)


@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 3, 4, 3)])
def test_npy_3d_and_4d(tmp_path, shape):
    data = np.random.default_rng(2).random(shape)  # float64, cast to float32
    np.save(tmp_path / "v.npy", data)
    info = probe_volume(tmp_path / "v.npy")
    assert info.kind == "npy" and info.shape == (2, 3, 4, 1 if len(shape) == 3 else 3)
    vol = load_volume(tmp_path / "v.npy")
    assert vol.flags.c_contiguous and vol.dtype == np.float32
    np.testing.assert_array_equal(vol.reshape(shape), data.astype(np.float32))


def test_npy_integer_scaling_and_fortran_order(tmp_path):
    data = np.asfortranarray(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    np.save(tmp_path / "v.npy", data)
    np.testing.assert_array_equal(load_volume(tmp_path / "v.npy")[..., 0], data / np.float32(255))


def test_pickled_npy_is_refused(tmp_path):
    np.save(tmp_path / "o.npy", np.array([[[{"a": 1}]]], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="Python objects"):
        probe_volume(tmp_path / "o.npy")


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4, 7), (0, 3, 4), (1, 2, 3, 4, 5)])
def test_npy_bad_shapes(tmp_path, shape):
    np.save(tmp_path / "v.npy", np.zeros(shape, np.float32))
    with pytest.raises(InputError, match=r"\(D, H, W\)"):
        probe_volume(tmp_path / "v.npy")


def test_mixed_sizes_name_the_first_differing_file_and_both_shapes(tmp_path):
    folder = _grey_stack(tmp_path / "s", ["z1.png", "z2.png"])
    _write(folder / "z3.png", np.zeros((6, 5), np.uint8))
    _write(folder / "z4.png", np.zeros((7, 5), np.uint8))
    with pytest.raises(InputError, match=r"'z1.png' is 4x5x1 .* but 'z3.png' is 6x5x1"):
        probe_volume(folder)


def test_rgba_does_not_mix_with_rgb_but_grey_is_promoted_to_rgb(tmp_path):
    folder = _grey_stack(tmp_path / "s", ["a.png"])
    _write(folder / "b.png", np.full((4, 5, 3), 255, np.uint8))
    vol = load_volume(folder)
    assert vol.shape == (2, 4, 5, 3)
    np.testing.assert_array_equal(vol[0], np.full((4, 5, 3), np.float32(10) / 255))
    _write(folder / "c.png", np.zeros((4, 5, 4), np.uint8))
    with pytest.raises(InputError, match="'c.png' is 4x5x4"):
        probe_volume(folder)


def test_palette_and_grey_alpha_modes(tmp_path):
    rgb = Image.fromarray(np.random.default_rng(4).integers(0, 256, (4, 5, 3), np.uint8))
    rgb.convert("P").save(tmp_path / "p.png")
    vol = load_volume(tmp_path)
    assert vol.shape == (1, 4, 5, 3)
    np.testing.assert_array_equal(
        vol[0], np.asarray(rgb.convert("P").convert("RGB")) / np.float32(255)
    )
    (tmp_path / "p.png").unlink()
    Image.fromarray(np.full((4, 5), 51, np.uint8)).convert("LA").save(tmp_path / "la.png")
    vol = load_volume(tmp_path)
    assert vol.shape == (1, 4, 5, 4)
    np.testing.assert_array_equal(vol[0, 0, 0], np.float32([51, 51, 51, 255]) / 255)


def test_non_image_files_are_skipped_with_a_warning(tmp_path):
    folder = _grey_stack(tmp_path / "s", ["z1.png", "z2.png"])
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.tmp-x.png").write_bytes(b"")  # ignored silently
    (folder / "sub").mkdir()
    with pytest.warns(SkippedFileWarning, match="notes.txt"):
        info = probe_volume(folder)
    assert info.depth == 2 and [p.name for p in info.skipped] == ["notes.txt"]


def test_a_folder_without_images_is_an_error(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(InputError, match="no images"), warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedFileWarning)
        probe_volume(tmp_path)
    (tmp_path / "a.txt").unlink()
    with pytest.raises(InputError, match="no images"):
        probe_volume(tmp_path)


def test_bad_paths(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        probe_volume(tmp_path / "missing")
    _write(tmp_path / "one.png", np.zeros((2, 2), np.uint8))
    with pytest.raises(InputError, match="not a volume"):
        probe_volume(tmp_path / "one.png")
    (tmp_path / "bad.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(InputError, match="bad.tif"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's own complaint about the broken header
        probe_volume(tmp_path / "bad.tif")


def test_memory_guard_refuses_before_decoding(tmp_path):
    folder = _grey_stack(tmp_path / "s", ["a.png", "b.png"], shape=(64, 64))
    # the float32 volume (32 KiB) and the page each of the 2 threads decodes (2 x 16 KiB)
    with pytest.raises(InputError, match=r"needs 64.0 KiB .*limit of 1.0 KiB"):
        load_volume(folder, memory_limit=1024, threads=2)
    assert load_volume(folder, memory_limit=64 * 1024, threads=2).shape == (2, 64, 64, 1)
    with pytest.raises(InputError, match=r"needs 48.0 KiB"):  # one thread: one page
        load_volume(folder, memory_limit=40 * 1024, threads=1)

    with pytest.raises(InvalidValue):
        load_volume(folder, memory_limit=0)
    with pytest.raises(InvalidValue):
        load_volume(folder, threads=0)


def test_default_limit_is_the_models_memory_limit(tmp_path):
    from stv_cli.model.memory import set_memory_limit

    folder = _grey_stack(tmp_path / "s", ["a.png", "b.png"], shape=(64, 64))
    set_memory_limit(1024)
    try:
        with pytest.raises(InputError, match=r"limit of 1.0 KiB \(the default limit\)"):
            load_volume(folder)
    finally:
        set_memory_limit(None)
    assert load_volume(folder).shape == (2, 64, 64, 1)


@pytest.mark.parametrize("channels", [3, 4])
def test_16_bit_colour_slices_are_read_exactly(tmp_path, channels):
    from stv_cli.io.image_write import save_array_image, to_uint16

    rng = np.random.default_rng(channels)
    images = [rng.random((3, 5, channels), dtype=np.float32) for _ in range(2)]
    for k, (image, ext) in enumerate(zip(images, ("png", "tif"), strict=True)):
        save_array_image(tmp_path / "s" / f"z{k}.{ext}", image, bit_depth=16)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrecisionWarning)
        volume = load_volume(tmp_path / "s", threads=2)
    expected = np.stack([to_uint16(image) for image in images]).astype(np.float32) / 65535
    np.testing.assert_array_equal(volume, expected)


def test_16_bit_colour_pages_of_a_tiff_are_read_exactly(tmp_path):
    import tifffile

    pages = np.stack([np.full((2, 3, 3), 1000 * k + 7, np.uint16) for k in (1, 2)])
    tifffile.imwrite(tmp_path / "c.tif", pages, photometric="rgb")
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrecisionWarning)
        volume = load_volume(tmp_path / "c.tif")
    np.testing.assert_array_equal(volume, pages.astype(np.float32) / np.float32(65535))


def test_a_slice_that_fails_to_decode_names_the_file(tmp_path):
    folder = _grey_stack(tmp_path / "s", ["a.png", "b.png", "c.png"], shape=(32, 32))
    data = (folder / "b.png").read_bytes()
    (folder / "b.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="b.png"):
        load_volume(folder, threads=2)


def test_volume_info_is_frozen(tmp_path):
    info = probe_volume(_grey_stack(tmp_path / "s", ["a.png"]))
    assert isinstance(info, VolumeInfo)
    with pytest.raises(AttributeError):
        info.depth = 3


def test_a_single_page_16_bit_colour_tiff_is_read_exactly(tmp_path):
    from stv_cli.io.image_write import save_array_image, to_uint16

    image = np.random.default_rng(9).random((4, 6, 3), dtype=np.float32)
    path = save_array_image(tmp_path / "one.tif", image, bit_depth=16)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrecisionWarning)
        volume = load_volume(path)
    expected = to_uint16(image)[None].astype(np.float32) / 65535
    np.testing.assert_array_equal(volume, expected)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("suffix", ["jpg", "png"])
def test_exif_orientation_turns_camera_images_upright(tmp_path, orientation, suffix):
    from PIL import ImageOps

    rng = np.random.default_rng(orientation)
    stored = rng.integers(0, 256, (6, 10, 3), dtype=np.uint8)  # landscape as stored
    exif = Image.Exif()
    exif[0x0112] = orientation
    folder = tmp_path / "cam"
    folder.mkdir()
    Image.fromarray(stored).save(folder / f"a.{suffix}", exif=exif)
    with Image.open(folder / f"a.{suffix}") as img:
        upright = np.asarray(ImageOps.exif_transpose(img))
    info = probe_volume(folder)
    assert info.shape[1:3] == upright.shape[:2]  # a portrait from the header alone
    np.testing.assert_array_equal(load_volume(info)[0], upright / np.float32(255))
