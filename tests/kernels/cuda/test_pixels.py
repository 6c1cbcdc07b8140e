"""CUDA pixel collapse (SPEC A.2.1) and quantiser (SPEC Part G) against the NumPy reference,
bit for bit, in numba's simulator."""

from __future__ import annotations

import numpy as np
import pytest

from stv_kernels import reference

pixels = pytest.importorskip("stv_kernels.cuda.pixels")

F32 = np.float32


def _ring(dtype, shape, seed=11):
    rng = np.random.default_rng(seed)
    return rng.integers(0, np.iinfo(dtype).max + 1, size=shape).astype(dtype)


def _weights(depth, seed=12):
    rng = np.random.default_rng(seed)
    return (rng.random(depth, dtype=F32) * F32(0.6) - F32(0.1)).astype(F32)


def _same_bits(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_collapse_pixels_is_the_reference_bit_for_bit(dtype, channels):
    ring = _ring(dtype, (5, 5, 7, channels))
    w = _weights(5)
    got = pixels.collapse_pixels(ring, w)
    want = reference.collapse_pixels(ring, w)
    _same_bits(got, want)
    assert got.dtype == F32 and np.ptp(got) > 0


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_collapse_pixels_into_a_given_out_returns_it(dtype):
    ring = _ring(dtype, (3, 5, 7, 3), seed=13)
    w = np.array([0.2, 0.5, 0.3], F32)
    out = np.full((5, 7, 3), np.nan, F32)
    assert pixels.collapse_pixels(ring, w, out=out) is out
    _same_bits(out, reference.collapse_pixels(ring, w))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_collapse_pixels_into_uint8_is_the_quantised_picture(dtype):
    # weights summing past 1 and below 0 make the quantiser clamp at both ends
    ring = _ring(dtype, (4, 5, 7, 3), seed=14)
    w = np.array([0.9, 0.7, -0.4, 0.3], F32)
    out = np.full((5, 7, 3), 7, np.uint8)
    assert pixels.collapse_pixels(ring, w, out=out) is out
    want = reference.collapse_pixels(ring, w, out=np.empty((5, 7, 3), np.uint8))
    _same_bits(out, want)
    assert out.min() == 0 and out.max() == 255


def test_collapse_of_no_slices_is_zero():
    ring = np.zeros((0, 5, 7, 1), np.uint8)
    out = np.full((5, 7, 1), 3.0, F32)
    pixels.collapse_pixels(ring, np.zeros(0, F32), out=out)
    _same_bits(out, reference.collapse_pixels(ring, np.zeros(0, F32)))


def _image(shape, seed=15):
    rng = np.random.default_rng(seed)
    image = (rng.random(shape, dtype=F32) * F32(1.4) - F32(0.2)).astype(F32)
    flat = image.reshape(-1)
    specials = [np.nan, np.inf, -np.inf, 0.5, -0.0, 1.0, 127.5 / 255, 1e30, -1e30]
    flat[: len(specials)] = np.array(specials, F32)[: flat.size]
    return image


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("shape", [(5, 7, 3), (5, 7, 1), (13,), (2, 3, 2, 4)])
def test_quantise_is_the_reference_bit_for_bit(dtype, shape):
    image = _image(shape)
    got = pixels.quantise(image, dtype)
    want = reference.quantise(image, dtype)
    _same_bits(got, want)
    flat = got.reshape(-1)
    top = np.iinfo(dtype).max
    assert flat[0] == 0 and flat[1] == top and flat[2] == 0  # NaN -> 0, +inf -> top, -inf -> 0


def test_quantise_rounds_half_up_and_takes_a_given_out():
    image = np.array([[[0.5], [0.0], [1.0], [0.25]]], F32)
    out = np.full((1, 4, 1), 9, np.uint8)
    assert pixels.quantise(image, np.uint8, out=out) is out
    np.testing.assert_array_equal(out.ravel(), [128, 0, 255, 64])  # SPEC Part G: 0.5 -> 128


def test_quantise_of_float64_and_empty_images():
    image = np.linspace(-0.1, 1.1, 24).reshape(4, 6)  # float64: converted to float32 first
    _same_bits(pixels.quantise(image, np.uint16), reference.quantise(image, np.uint16))
    empty = np.zeros((0, 3), F32)
    assert pixels.quantise(empty).shape == (0, 3)


def _same_error(call_cuda, call_reference):
    with pytest.raises(ValueError) as want:
        call_reference()
    with pytest.raises(ValueError) as got:
        call_cuda()
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize(
    "args",
    [
        (np.zeros((2, 3, 4, 1), F32), np.ones(2, F32), None),  # not pixels
        (np.zeros((2, 3, 4), np.uint8), np.ones(2, F32), None),  # not 4-D
        (np.zeros((2, 3, 4, 1), np.uint8), np.ones(3, F32), None),  # weights' length
        (np.zeros((2, 3, 4, 1), np.uint8), np.ones(2, F32), np.zeros((3, 4, 1), np.uint16)),
        (np.zeros((2, 3, 4, 1), np.uint8), np.ones(2, F32), np.zeros((3, 4, 2), F32)),
    ],
)
def test_collapse_pixels_refuses_what_the_reference_refuses(args):
    _same_error(lambda: pixels.collapse_pixels(*args), lambda: reference.collapse_pixels(*args))


@pytest.mark.parametrize(
    "args",
    [
        (np.zeros((3, 4), F32), np.float32, None),  # not a pixel dtype
        (np.zeros((3, 4), F32), np.uint8, np.zeros((4, 3), np.uint8)),  # out's shape
        (np.zeros((3, 4), F32), np.uint8, np.zeros((3, 4), np.uint16)),  # out's dtype
    ],
)
def test_quantise_refuses_what_the_reference_refuses(args):
    _same_error(lambda: pixels.quantise(*args), lambda: reference.quantise(*args))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_collapse_scaled_is_bit_exact_and_accumulates(dtype):
    from stv_kernels.cuda import collapse_scaled
    from stv_kernels.pixel_scale import pixel_values

    rng = np.random.default_rng(4)
    pixels = rng.integers(0, np.iinfo(dtype).max + 1, (5, 3, 4, 3), dtype=dtype)
    weights = rng.standard_normal(5).astype(np.float32)
    whole = reference.collapse_weighted(pixel_values(pixels), weights)
    out = collapse_scaled(pixels[:2], weights[:2])
    collapse_scaled(pixels[2:], weights[2:], out=out, accumulate=True)
    np.testing.assert_array_equal(out, whole)
