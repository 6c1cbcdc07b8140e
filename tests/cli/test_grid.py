"""``stv grid`` end to end, through click's CliRunner on files in tmp_path."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.cli.helpers import read_png, run


def test_grid_of_image_files(tmp_path):
    from stv_cli.io.grid import make_grid, to_uint8

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
    import stv_cli.io.images as image_io

    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "a.png")
    (tmp_path / "g.png").write_bytes(b"keep")
    with monkeypatch.context() as patch:
        patch.setattr(image_io, "load_same_size_images", lambda *a: pytest.fail("read images"))
        result = run("grid", tmp_path / "a.png", "-o", tmp_path / "g.png")
    assert result.exit_code == 1
    assert f"output {str(tmp_path / 'g.png')!r} exists; pass --overwrite" in result.output
    assert (tmp_path / "g.png").read_bytes() == b"keep"
    assert run("grid", tmp_path / "a.png", "-o", tmp_path / "g.png", "--overwrite").exit_code == 0


def test_grid_mixes_grey_with_rgb_and_names_files_that_do_not_mix(tmp_path):
    from stv_cli.io.grid import make_grid, to_uint8

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


def test_grid_tif_compression_and_float32(tmp_path):
    import tifffile

    from stv_cli.io.grid import make_grid

    pixels = np.random.default_rng(2).integers(0, 65536, (2, 5, 4), dtype=np.uint16)
    for k in range(2):
        tifffile.imwrite(tmp_path / f"i{k}.tif", pixels[k])
    inputs = [tmp_path / "i0.tif", tmp_path / "i1.tif"]
    result = run("grid", *inputs, "-o", tmp_path / "g.tif", "--compression", "lzw")
    assert result.exit_code == 0, result.output
    with tifffile.TiffFile(tmp_path / "g.tif") as tif:
        assert tif.pages[0].compression == tifffile.COMPRESSION.LZW
    result = run("grid", *inputs, "-o", tmp_path / "f.tif", "--bit-depth", "32", "--keep-grey")
    assert result.exit_code == 0, result.output
    expected = make_grid(pixels[..., None] / np.float32(65535), keep_grey=True)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "f.tif"), expected[..., 0])
    result = run("grid", *inputs, "-o", tmp_path / "f.png", "--bit-depth", "32")
    assert result.exit_code == 2
    assert "need tif or tiff" in result.output
