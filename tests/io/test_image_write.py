"""save_array_image's TIFF path: tifffile, compression, float32 and the physical pixel size.

PNG, JPEG, WEBP and BMP (Pillow and the 16-bit PNG encoder) are covered in test_grid.py;
here every TIFF is read back with tifffile, the reference reader of scientific TIFF.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import tifffile

from stv_cli.errors import InvalidValue
from stv_cli.io.image_write import save_array_image, to_uint8, to_uint16
from stv_cli.io.metadata import PhysicalSize


def _image(channels: int, seed: int = 0) -> np.ndarray:
    img = np.random.default_rng(seed).random((5, 7, channels), dtype=np.float32)
    img[0, 0] = np.nan  # quantised to 0
    img[0, 1] = 1.5  # clamped to the top
    img[0, 2] = -0.5  # clamped to 0
    return img


def _read(path):
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        return tif.asarray(), page, tif.imagej_metadata, tif.shaped_metadata


@pytest.mark.parametrize("bit_depth", [8, 16])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_integer_tiff_round_trips_exactly(tmp_path, bit_depth, channels):
    img = _image(channels, seed=channels)
    path = save_array_image(tmp_path / "a.tif", img, bit_depth=bit_depth)
    pixels, page, _, _ = _read(path)
    expected = (to_uint16 if bit_depth == 16 else to_uint8)(img)
    np.testing.assert_array_equal(pixels, expected[..., 0] if channels == 1 else expected)
    assert pixels.dtype == expected.dtype
    assert page.photometric == (tifffile.PHOTOMETRIC.MINISBLACK if channels == 1 else 2)
    alpha = (tifffile.EXTRASAMPLE.UNASSALPHA,) if channels == 4 else ()
    assert tuple(page.extrasamples) == alpha


@pytest.mark.parametrize(
    ("choice", "code"),
    [(None, 8), ("zlib", 8), ("zstd", 50000), ("lzw", 5), ("none", 1), ("ZLIB", 8)],
)
@pytest.mark.parametrize(("bit_depth", "channels"), [(8, 3), (16, 1), (32, 1), (32, 4)])
def test_compression_tag_follows_the_choice(tmp_path, choice, code, bit_depth, channels):
    img = _image(channels)
    path = save_array_image(tmp_path / "a.tiff", img, bit_depth=bit_depth, compression=choice)
    pixels, page, _, _ = _read(path)
    assert page.compression == code
    if code == 1:
        predictor = 1
    elif bit_depth < 32:
        predictor = 2  # horizontal differencing of integers
    else:  # float: no predictor where ImageJ reads the file (grey), else floating point (3)
        predictor = 1 if channels == 1 else 3
    assert page.predictor == predictor
    if bit_depth == 32:
        np.testing.assert_array_equal(pixels.reshape(img.shape), img)


def test_compression_shrinks_smooth_pictures(tmp_path):
    y, x = np.mgrid[0:64, 0:64] / 64.0
    img = np.stack([x, y, x * y], axis=-1).astype(np.float32)
    plain = save_array_image(tmp_path / "plain.tif", img, bit_depth=16, compression="none")
    packed = save_array_image(tmp_path / "packed.tif", img, bit_depth=16)
    assert packed.stat().st_size < plain.stat().st_size / 2
    np.testing.assert_array_equal(_read(plain)[0], _read(packed)[0])


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_float32_tiff_holds_the_values_themselves(tmp_path, channels):
    img = np.random.default_rng(3).standard_normal((6, 4, channels)).astype(np.float32) * 1e3
    img[0, 0] = [np.nan] * channels
    img[0, 1] = [np.inf] * channels
    img[0, 2] = [-np.inf] * channels
    img[1, 0] = [1e-42] * channels  # subnormal: kept too
    path = save_array_image(tmp_path / "f.tif", img, bit_depth=32)
    pixels, page, _, _ = _read(path)
    assert pixels.dtype == np.float32 and page.sampleformat == tifffile.SAMPLEFORMAT.IEEEFP
    np.testing.assert_array_equal(pixels.reshape(img.shape), img)  # NaN == NaN here
    assert (pixels > 1).any() and (pixels < 0).any()  # neither clamped nor quantised


def test_float64_input_is_written_as_float32(tmp_path):
    img = np.array([[0.1, 2.5], [-3.25, 7.0]])
    pixels = _read(save_array_image(tmp_path / "f.tif", img, bit_depth=32))[0]
    assert pixels.dtype == np.float32
    np.testing.assert_array_equal(pixels, img.astype(np.float32))


@pytest.mark.parametrize("name", ["a.png", "a.jpg", "a.webp", "a.bmp"])
def test_32_bits_are_refused_outside_tiff(tmp_path, name):
    with pytest.raises(InvalidValue, match="bit_depth 32.*TIFF only.*.tif"):
        save_array_image(tmp_path / name, np.zeros((2, 2, 3), np.float32), bit_depth=32)
    assert list(tmp_path.iterdir()) == []


def test_bad_compression_and_bit_depth_are_refused(tmp_path):
    img = np.zeros((2, 2), np.float32)
    with pytest.raises(InvalidValue, match="compression must be one of none, zlib, zstd, lzw"):
        save_array_image(tmp_path / "a.tif", img, compression="jpeg")
    with pytest.raises(InvalidValue, match="compression must be one of"):
        save_array_image(tmp_path / "a.png", img, compression="gzip")  # checked for PNG too
    with pytest.raises(InvalidValue, match="bit_depth must be 8, 16 or 32"):
        save_array_image(tmp_path / "a.tif", img, bit_depth=64)
    with pytest.raises(InvalidValue, match="PhysicalSize"):
        save_array_image(tmp_path / "a.tif", img, physical=(0.5, 0.5, 1.0, "um"))
    assert list(tmp_path.iterdir()) == []


def test_png_bytes_ignore_the_tiff_options(tmp_path):
    img = _image(3)
    plain = save_array_image(tmp_path / "a.png", img, bit_depth=16)
    extra = save_array_image(
        tmp_path / "b.png",
        img,
        bit_depth=16,
        compression="zstd",
        physical=PhysicalSize(0.5, 0.5, 1.0, "um"),
    )
    assert plain.read_bytes() == extra.read_bytes()


def _resolution(page, tag):
    numerator, denominator = page.tags[tag].value
    return numerator / denominator


@pytest.mark.parametrize(("bit_depth", "channels"), [(8, 1), (16, 1), (32, 1), (8, 3)])
def test_imagej_layouts_carry_unit_spacing_and_resolution(tmp_path, bit_depth, channels):
    physical = PhysicalSize(0.65, 0.325, 2.0, "micron")
    path = save_array_image(
        tmp_path / "a.tif", _image(channels), bit_depth=bit_depth, physical=physical
    )
    _, page, imagej, _ = _read(path)
    assert imagej["unit"] == "um" and imagej["spacing"] == pytest.approx(2.0)
    # as ImageJ writes them: pixels per the description's unit, RESOLUTIONUNIT none
    assert page.tags["ResolutionUnit"].value == tifffile.RESUNIT.NONE
    assert _resolution(page, "XResolution") == pytest.approx(1 / 0.65, rel=1e-7)
    assert _resolution(page, "YResolution") == pytest.approx(1 / 0.325, rel=1e-7)


@pytest.mark.parametrize(("bit_depth", "channels"), [(16, 3), (16, 4), (8, 4), (32, 3)])
def test_other_layouts_carry_centimetre_resolution_and_json(tmp_path, bit_depth, channels):
    physical = PhysicalSize(0.5, 0.25, 3.0, "nm")
    path = save_array_image(
        tmp_path / "a.tif", _image(channels), bit_depth=bit_depth, physical=physical
    )
    _, page, imagej, shaped = _read(path)
    assert imagej is None  # ImageJ's format does not hold these
    assert page.tags["ResolutionUnit"].value == tifffile.RESUNIT.CENTIMETER
    assert _resolution(page, "XResolution") == pytest.approx(1 / 0.5e-7, rel=1e-7)
    assert _resolution(page, "YResolution") == pytest.approx(1 / 0.25e-7, rel=1e-7)
    assert shaped[0]["physical"] == {"x": 0.5, "y": 0.25, "z": 3.0, "unit": "nm"}


def test_unknown_units_one_side_and_no_size(tmp_path):
    # no unit: pixels per unit, RESOLUTIONUNIT none, no unit in ImageJ's description
    path = save_array_image(
        tmp_path / "a.tif", _image(1), physical=PhysicalSize(4.0, None, None, None)
    )
    _, page, imagej, _ = _read(path)
    assert page.tags["ResolutionUnit"].value == tifffile.RESUNIT.NONE
    assert _resolution(page, "XResolution") == _resolution(page, "YResolution") == 0.25
    assert "unit" not in imagej and "spacing" not in imagej
    # centimetres are ImageJ's own RESOLUTIONUNIT
    path = save_array_image(
        tmp_path / "b.tif", _image(1), physical=PhysicalSize(0.5, 0.5, None, "cm")
    )
    _, page, imagej, _ = _read(path)
    assert page.tags["ResolutionUnit"].value == tifffile.RESUNIT.CENTIMETER
    assert imagej["unit"] == "cm" and _resolution(page, "XResolution") == 2.0
    # nothing known: no unit, no spacing, tifffile's neutral resolution
    for name, channels in (("c.tif", 1), ("d.tif", 4)):
        _, page, imagej, shaped = _read(save_array_image(tmp_path / name, _image(channels)))
        assert page.tags["ResolutionUnit"].value == tifffile.RESUNIT.NONE
        assert imagej is None or ("unit" not in imagej and "spacing" not in imagej)
        assert shaped is None or "physical" not in shaped[0]


def test_tiff_into_file_objects(tmp_path):
    img = _image(3)
    buffer = io.BytesIO()
    assert save_array_image(buffer, img, format="tiff", bit_depth=16) is buffer
    buffer.seek(0)
    np.testing.assert_array_equal(tifffile.imread(buffer), to_uint16(img))

    class Pipe(io.RawIOBase):  # a stream that cannot seek, as stdout into a pipe
        def __init__(self):
            self.data = bytearray()

        def writable(self):
            return True

        def write(self, chunk):
            self.data += chunk
            return len(chunk)

    pipe = Pipe()
    save_array_image(pipe, img, format="tif", bit_depth=32)
    np.testing.assert_array_equal(tifffile.imread(io.BytesIO(bytes(pipe.data))), img)


def test_tiff_is_atomic_and_refuses_to_overwrite(tmp_path, monkeypatch):
    from stv_cli.io import tiff_write
    from stv_cli.io.atomic import OutputExists

    path = save_array_image(tmp_path / "a.tif", np.zeros((2, 2), np.float32))
    with pytest.raises(OutputExists):
        save_array_image(path, np.ones((2, 2), np.float32))
    assert _read(path)[0].max() == 0

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tiff_write, "image_arguments", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        save_array_image(tmp_path / "b.tif", np.zeros((2, 2), np.float32))
    assert [p.name for p in tmp_path.iterdir()] == ["a.tif"]


def test_json_description_is_valid_json(tmp_path):
    physical = PhysicalSize(0.5, 0.5, None, "um")
    path = save_array_image(tmp_path / "a.tif", _image(4), bit_depth=16, physical=physical)
    with tifffile.TiffFile(path) as tif:
        description = json.loads(tif.pages[0].description)
    assert description["physical"] == {"x": 0.5, "y": 0.5, "unit": "um"}


def test_numpy_sizes_are_written_as_plain_numbers(tmp_path):
    physical = PhysicalSize(np.float32(0.5), np.float32(0.5), np.float32(2.0), "um")
    path = save_array_image(tmp_path / "a.tif", _image(4), bit_depth=16, physical=physical)
    _, page, _, shaped = _read(path)
    assert shaped[0]["physical"] == {"x": 0.5, "y": 0.5, "z": 2.0, "unit": "um"}
    assert _resolution(page, "XResolution") == pytest.approx(1 / 0.5e-4)
