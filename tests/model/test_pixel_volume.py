"""PixelVolume: a volume of 8/16-bit pixels that collapses like its float32 values."""

from __future__ import annotations

import numpy as np
import pytest

from stv_cli.errors import DataLength, InvalidDimensions, InvalidValue, NonFiniteValue
from stv_cli.model.pixel_volume import PixelVolume, pixel_values
from stv_cli.model.resonance import DifferentialResonance
from stv_cli.model.volume import ZSpaceVolume

F32 = np.float32


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("depth", [1, 4, 6])
def test_collapse_is_the_float_volume_collapse_within_the_spec(backend, dtype, depth):
    rng = np.random.default_rng(depth)
    pixels = rng.integers(0, np.iinfo(dtype).max + 1, (depth, 6, 5, 3), dtype=dtype)
    volume = PixelVolume(pixels)
    floats = volume.to_volume()
    np.testing.assert_array_equal(floats.voxels, np.divide(pixels, F32(np.iinfo(dtype).max)))
    weights = rng.random(depth, dtype=F32)
    weights /= weights.sum()  # a projection's weights sum to 1
    # p * (w / s) against (p / s) * w: each term within 2 ulp (see collapse_pixels)
    np.testing.assert_allclose(
        volume.collapse_with_weights(weights),
        floats.collapse_with_weights(weights),
        rtol=0,
        atol=2.0**-22 + depth * 2.0**-24,
    )
    out = np.empty((6, 5, 3), F32)
    assert volume.collapse_with_weights(weights, out=out) is out
    assert volume.shape == floats.shape and volume.depth == depth
    assert (volume.height, volume.width, volume.channels) == (6, 5, 3)


def test_weights_and_profile_are_those_of_the_float_volume(backend):
    pixels = np.random.default_rng(1).integers(0, 256, (3, 4, 4, 1), dtype=np.uint8)
    volume, floats = PixelVolume(pixels), ZSpaceVolume(pixel_values(pixels))
    resonance = DifferentialResonance(
        infinity_energy=[1.0, 2.0], recursive_objective=[0.5, 0.1], homotopy_flow=[0.3]
    )
    np.testing.assert_array_equal(
        volume.resonance_weights(resonance), floats.resonance_weights(resonance)
    )
    got, want = volume.slice_profile(), floats.slice_profile()
    np.testing.assert_array_equal(got.means, want.means)
    np.testing.assert_array_equal(got.energies, want.energies)


def test_bad_pixels_and_weights_are_refused_with_their_names():
    with pytest.raises(InvalidValue, match="pixels must be uint8 or uint16, got float32"):
        PixelVolume(np.zeros((1, 2, 2, 1), F32))
    with pytest.raises(InvalidDimensions, match=r"\(D, H, W, C\) array, got shape \(2, 2, 1\)"):
        PixelVolume(np.zeros((2, 2, 1), np.uint8))
    volume = PixelVolume(np.zeros((2, 2, 2, 1), np.uint8))
    with pytest.raises(DataLength, match="one weight per slice \\(D = 2\\), got 3"):
        volume.collapse_with_weights(np.ones(3, F32))
    with pytest.raises(NonFiniteValue, match="z_space_weight"):
        volume.collapse_with_weights(np.array([1.0, np.nan], F32))
    assert "uint8" in repr(volume)
