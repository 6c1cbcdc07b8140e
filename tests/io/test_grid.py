"""make_grid / save_image against SPEC Part G (torchvision semantics, channels last).

torchvision is not installed here, so expectations are computed by hand from the rules.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from stv_cli.errors import EmptyInput, InvalidDimensions, InvalidValue, ShapeMismatch
from stv_cli.io.atomic import OutputExists
from stv_cli.io.grid import make_grid, save_array_image, save_image, to_uint8, to_uint16


def _batch(b, c, h, w, seed=0):
    return np.random.default_rng(seed).random((b, h, w, c), dtype=np.float32)


@pytest.mark.parametrize(
    ("bchw", "nrow", "padding", "expected"),
    [
        ((5, 3, 10, 10), 8, 2, (14, 62, 3)),
        ((2, 3, 64, 64), 8, 2, (68, 134, 3)),
        ((1, 3, 1, 1), 8, 2, (1, 1, 3)),
        ((64, 1, 28, 28), 8, 2, (242, 242, 3)),
        ((100, 3, 32, 32), 20, 10, (220, 850, 3)),
        ((10, 3, 8, 8), 4, 2, (32, 42, 3)),
        ((3, 4, 5, 7), 2, 0, (10, 14, 4)),
    ],
)
def test_grid_shapes_from_part_g(bchw, nrow, padding, expected):
    grid = make_grid(_batch(*bchw), nrow=nrow, padding=padding)
    assert grid.shape == expected
    assert grid.dtype == np.float32


def test_cells_are_placed_row_major_and_empty_cells_keep_pad_value():
    batch = np.stack([np.full((8, 8, 3), k + 1, np.float32) for k in range(10)])
    grid = make_grid(batch, nrow=4, padding=2, pad_value=-7.0)
    for k in range(10):
        top, left = (k // 4) * 10 + 2, (k % 4) * 10 + 2
        assert np.all(grid[top : top + 8, left : left + 8] == k + 1)
        assert np.all(grid[top - 2 : top, left : left + 8] == -7.0)  # padding above
    # cells 10 and 11 (row 2, columns 2 and 3) are empty
    assert np.all(grid[22:30, 22:30] == -7.0) and np.all(grid[22:30, 32:40] == -7.0)
    assert np.count_nonzero(grid == -7.0) == grid.size - 10 * 8 * 8 * 3


def test_single_image_is_returned_unpadded_and_grey_is_promoted():
    img = _batch(1, 1, 4, 5)
    grid = make_grid(img, padding=3, pad_value=9.0)
    assert grid.shape == (4, 5, 3)
    np.testing.assert_array_equal(grid, np.repeat(img[0], 3, axis=2))
    assert make_grid(img, keep_grey=True).shape == (4, 5, 1)
    assert make_grid(_batch(4, 1, 4, 5), keep_grey=True).shape == (8, 30, 1)


def test_accepted_layouts_list_2d_and_3d():
    imgs = [np.full((3, 4), k, np.float32) for k in range(3)]
    grid = make_grid(imgs, padding=1)
    assert grid.shape == (5, 16, 3)
    assert grid[1, 1 + 2 * 5, 0] == 2
    assert make_grid(np.zeros((3, 4), np.float32)).shape == (3, 4, 3)  # one grey image
    assert make_grid(np.zeros((3, 4, 4), np.float32)).shape == (3, 4, 4)  # one RGBA image
    assert make_grid(np.zeros((2, 3, 4), np.uint8)).dtype == np.float32


def test_input_is_never_modified():
    batch = _batch(3, 3, 4, 4) * 5 - 2
    before = batch.copy()
    make_grid(batch, normalize=True)
    make_grid(batch, normalize=True, value_range=(0, 1))
    single = batch[:1]
    out = make_grid(single, normalize=True)
    out[...] = 42
    np.testing.assert_array_equal(batch, before)


def test_normalize_uses_the_global_range_by_default():
    a = np.full((1, 2, 2, 3), 0.0, np.float32)
    b = np.full((1, 2, 2, 3), 4.0, np.float32)
    b[0, 0, 0] = 2.0
    grid = make_grid(np.concatenate([a, b]), normalize=True, padding=0)
    assert np.all(grid[:, :2] == 0.0)
    assert grid[0, 2, 0] == np.float32(0.5) and grid[1, 3, 0] == 1.0


def test_normalize_scale_each_uses_each_images_range():
    a = np.array([1.0, 3.0, 2.0, 2.0], np.float32).reshape(1, 2, 2, 1)
    b = np.array([10.0, 20.0, 15.0, 10.0], np.float32).reshape(1, 2, 2, 1)
    grid = make_grid(np.concatenate([a, b]), normalize=True, scale_each=True, padding=0)
    np.testing.assert_array_equal(grid[:, :2, 0].ravel(), [0.0, 1.0, 0.5, 0.5])
    np.testing.assert_array_equal(grid[:, 2:, 0].ravel(), [0.0, 1.0, 0.5, 0.0])


def test_value_range_clamps_and_maps_half_to_three_quarters():
    batch = np.array([0.5, -3.0, 7.0, 0.0], np.float32).reshape(1, 2, 2, 1)
    grid = make_grid(batch, normalize=True, value_range=(-1, 1), scale_each=True)
    np.testing.assert_array_equal(grid[:, :, 0].ravel(), [0.75, 0.0, 1.0, 0.5])
    # 0.75 * 255 + 0.5 = 191.75 -> 191
    assert to_uint8(grid)[0, 0, 0] == 191


def test_constant_image_normalises_to_zero_and_no_clamp_without_normalize():
    grid = make_grid(np.full((2, 3, 3, 3), 0.7, np.float32), normalize=True)
    assert np.all(grid[2:5, 2:5] == 0.0)
    raw = make_grid(np.full((2, 3, 3, 3), 7.0, np.float32), padding=0)
    assert np.all(raw == 7.0)


def test_pad_value_is_not_normalised():
    grid = make_grid(_batch(2, 3, 3, 3) * 100, normalize=True, pad_value=5.0, padding=1)
    assert grid[0, 0, 0] == 5.0 and grid[4, 8, 2] == 5.0
    assert grid[1:4, 1:4].max() <= 1.0


def test_normalize_ignores_nan_when_finding_the_range():
    batch = np.array([np.nan, 2.0, 4.0, 3.0], np.float32).reshape(1, 2, 2, 1)
    grid = make_grid(batch, normalize=True, keep_grey=True)
    assert np.isnan(grid[0, 0, 0])
    np.testing.assert_array_equal(grid.ravel()[1:], [0.0, 1.0, 0.5])
    assert to_uint8(grid).ravel().tolist() == [0, 0, 255, 128]


def test_quantisation_rule_round_half_up_in_float32():
    values = np.array(
        [0.5, 0.0, 1.0, -0.2, 1.5, np.nan, np.inf, -np.inf, 0.5 / 255, 0.49 / 255], np.float32
    )
    assert to_uint8(values).tolist() == [128, 0, 255, 0, 255, 0, 255, 0, 1, 0]
    assert to_uint16(values[:8]).tolist() == [32768, 0, 65535, 0, 65535, 0, 65535, 0]
    # the float32 rule, written out: v*255 then +0.5, each rounded to float32
    rng = np.random.default_rng(3)
    v = rng.random(1000, dtype=np.float32)
    expected = np.floor((v * np.float32(255)) + np.float32(0.5)).astype(np.uint8)
    np.testing.assert_array_equal(to_uint8(v), expected)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"nrow": 0}, InvalidValue),
        ({"padding": -1}, InvalidValue),
        ({"pad_value": float("nan")}, InvalidValue),
        ({"normalize": True, "value_range": (1, -1)}, InvalidValue),
        ({"normalize": True, "value_range": "ab"}, InvalidValue),
    ],
)
def test_bad_options_are_rejected(kwargs, error):
    with pytest.raises(error):
        make_grid(_batch(2, 3, 2, 2), **kwargs)


def test_bad_inputs_are_rejected():
    with pytest.raises(EmptyInput):
        make_grid([])
    with pytest.raises(EmptyInput):
        make_grid(np.zeros((0, 2, 2, 3), np.float32))
    with pytest.raises(ShapeMismatch, match=r"images\[1\]"):
        make_grid([np.zeros((2, 2)), np.zeros((2, 3))])
    with pytest.raises(InvalidValue, match="dtype"):
        make_grid(np.array([["a"]]))


def test_save_image_writes_the_quantised_grid(tmp_path):
    batch = np.full((2, 2, 2, 1), 0.5, np.float32)
    batch[1] = np.nan
    path = save_image(batch, tmp_path / "g.png", padding=1, pad_value=1.0)
    pixels = np.asarray(Image.open(path))
    assert pixels.shape == (4, 7, 3) and pixels.dtype == np.uint8
    assert np.all(pixels[1:3, 1:3] == 128)  # 0.5 -> 128
    assert np.all(pixels[1:3, 4:6] == 0)  # NaN -> 0
    assert pixels[0, 0, 0] == 255  # pad_value 1.0


def test_save_image_16_bit_png_and_tiff(tmp_path):
    grey = np.array([[0.5, 1.0], [0.0, np.nan]], np.float32)
    for name in ("g.png", "g.tif"):
        path = save_image(grey[None, :, :, None], tmp_path / name, bit_depth=16, keep_grey=True)
        img = Image.open(path)
        assert img.mode == "I;16"
        assert np.asarray(img).tolist() == [[32768, 65535], [0, 0]]
    rgb = np.random.default_rng(1).random((3, 5, 3), dtype=np.float32)
    path = save_array_image(tmp_path / "c.png", rgb, bit_depth=16)
    cv2 = pytest.importorskip("cv2")  # Pillow reads 16-bit colour at 8 bits
    decoded = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    np.testing.assert_array_equal(decoded, to_uint16(rgb))
    assert np.asarray(Image.open(path)).shape == (3, 5, 3)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"])
def test_every_format_round_trips(tmp_path, ext):
    img = np.zeros((6, 8, 3), np.float32)
    img[:, 4:] = 1.0
    path = save_array_image(tmp_path / f"x{ext}", img)
    decoded = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert decoded.shape == (6, 8, 3)
    assert np.abs(decoded - to_uint8(img)).max() <= 8  # lossy formats within a few levels


def test_save_array_image_rejections(tmp_path):
    rgba = np.zeros((2, 2, 4), np.float32)
    with pytest.raises(InvalidValue, match="alpha"):
        save_array_image(tmp_path / "a.jpg", rgba)
    with pytest.raises(InvalidValue, match="bit_depth 16"):
        save_array_image(tmp_path / "a.jpg", rgba[..., :3], bit_depth=16)
    with pytest.raises(InvalidValue, match="extension"):
        save_array_image(tmp_path / "a.gif", rgba)
    with pytest.raises(InvalidValue, match="compress_level"):
        save_array_image(tmp_path / "a.png", rgba, compress_level=12)
    with pytest.raises(InvalidDimensions, match="C in 1, 3, 4"):
        save_array_image(tmp_path / "a.png", np.zeros((2, 2, 2), np.float32))
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_to_overwrite_unless_asked(tmp_path):
    path = save_array_image(tmp_path / "a.png", np.zeros((2, 2, 3), np.float32))
    with pytest.raises(OutputExists):
        save_image(np.ones((2, 2, 3), np.float32), path)
    assert np.asarray(Image.open(path)).max() == 0
    save_image(np.ones((2, 2, 3), np.float32), path, overwrite=True)
    assert np.asarray(Image.open(path)).min() == 255


def test_compress_level_changes_size_not_pixels(tmp_path):
    y, x = np.mgrid[0:64, 0:64] / 64.0
    img = np.stack([x, y, x * y], axis=-1).astype(np.float32)
    fast = save_array_image(tmp_path / "fast.png", img, compress_level=0)
    small = save_array_image(tmp_path / "small.png", img, compress_level=9)
    assert fast.stat().st_size > small.stat().st_size
    np.testing.assert_array_equal(np.asarray(Image.open(fast)), np.asarray(Image.open(small)))


@settings(max_examples=40, deadline=None)
@given(
    count=st.integers(2, 12),
    height=st.integers(1, 5),
    width=st.integers(1, 5),
    channels=st.sampled_from([1, 3, 4]),
    nrow=st.integers(1, 9),
    padding=st.integers(0, 3),
)
def test_every_image_can_be_read_back_from_its_cell(count, height, width, channels, nrow, padding):
    batch = np.random.default_rng(count * 100 + nrow).random(
        (count, height, width, channels), dtype=np.float32
    )
    grid = make_grid(batch, nrow=nrow, padding=padding, pad_value=-1.0, keep_grey=True)
    cols = min(nrow, count)
    rows = -(-count // cols)
    assert grid.shape == (
        rows * (height + padding) + padding,
        cols * (width + padding) + padding,
        channels,
    )
    for k in range(count):
        top = (k // cols) * (height + padding) + padding
        left = (k % cols) * (width + padding) + padding
        np.testing.assert_array_equal(grid[top : top + height, left : left + width], batch[k])
    assert np.count_nonzero(grid == -1.0) == grid.size - batch.size


@pytest.mark.parametrize("compression", ["none", None])
@pytest.mark.parametrize("channels", [3, 4])
def test_save_16_bit_colour_tiff(tmp_path, channels, compression):
    img = np.random.default_rng(channels).random((5, 7, channels), dtype=np.float32)
    img[0, 0] = np.nan
    path = save_array_image(tmp_path / "c.tif", img, bit_depth=16, compression=compression)
    with Image.open(path) as decoded:  # the header, as any TIFF reader sees it
        assert decoded.mode == ("RGB" if channels == 3 else "RGBA")
        assert decoded.size == (7, 5)
        assert decoded.tag_v2[258] == (16,) * channels
        assert decoded.tag_v2[259] == (1 if compression == "none" else 8)  # none / deflate
        offsets, counts = decoded.tag_v2[273], decoded.tag_v2[279]
    if compression == "none":  # a baseline TIFF: the samples themselves, little-endian
        data = path.read_bytes()
        raw = b"".join(data[o : o + n] for o, n in zip(offsets, counts, strict=True))
        pixels = np.frombuffer(raw, dtype="<u2").reshape(5, 7, channels)
        np.testing.assert_array_equal(pixels, to_uint16(img))
    cv2 = pytest.importorskip("cv2")  # an independent decoder (libtiff), where installed
    order = [2, 1, 0, 3][:channels]
    decoded = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., order]
    np.testing.assert_array_equal(decoded, to_uint16(img))
