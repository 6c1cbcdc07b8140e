"""ZDiffuser (SPEC A.5); the B.5 vectors are in test_spec_vectors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stv_cli import ZDiffuser, ZSpaceVolume, use_backend
from stv_cli.errors import InvalidDimensions, InvalidValue
from stv_cli.model.memory import set_memory_limit
from tests.tolerances import ATOL, BACKENDS


@pytest.mark.parametrize(
    "rate,kept", [(0.4, 0.4), (-1, 0.0), (3, 1.0), (np.nan, 0.25), (np.inf, 0.25)]
)
def test_rate_is_clamped_or_falls_back(rate, kept):
    assert ZDiffuser(1, rate).rate == pytest.approx(kept)


@pytest.mark.parametrize("iterations", [-1, 1.5, "2", True])
def test_bad_iterations_are_rejected_naming_the_parameter(iterations):
    with pytest.raises(InvalidValue, match="diffusion_iterations must be an integer >= 0, got"):
        ZDiffuser(iterations, 0.5)


@pytest.mark.parametrize("backend_name", BACKENDS)
@settings(max_examples=20, deadline=None)
@given(
    st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(0, 3), st.integers(0, 99)
)
def test_rate_zero_and_zero_iterations_are_identities(backend_name, d, h, w, iterations, seed):
    rng = np.random.default_rng(seed)
    v = ZSpaceVolume(rng.standard_normal((d, h, w, 2)).astype(np.float32))
    with use_backend(backend_name):
        assert ZDiffuser(iterations, 0.0).diffuse(v) == v
        out = ZDiffuser(0, 0.7).diffuse(v)
    assert out == v and out.voxels is not v.voxels


def test_each_channel_diffuses_independently(backend, rng):
    v = ZSpaceVolume(rng.standard_normal((3, 4, 5, 3)).astype(np.float32))
    out = ZDiffuser(2, 0.6).diffuse(v)
    for c in range(3):
        grey = ZDiffuser(2, 0.6).diffuse(ZSpaceVolume(np.ascontiguousarray(v.voxels[..., c])))
        np.testing.assert_allclose(out.voxels[..., c], grey.voxels[..., 0], atol=ATOL)


def test_constant_volume_and_single_voxel_are_unchanged(backend):
    const = ZSpaceVolume(np.full((2, 3, 3, 1), 4.0, np.float32))
    np.testing.assert_allclose(ZDiffuser(3, 0.5).diffuse(const).voxels, const.voxels, atol=ATOL)
    one = ZSpaceVolume(np.array([[[7.0]]], np.float32))
    assert ZDiffuser(2, 1.0).diffuse(one) == one


def test_diffusion_checks_the_memory_limit():
    v = ZSpaceVolume.zeros(2, 4, 4)  # 128 bytes; diffusion estimates output + scratch
    try:
        set_memory_limit(200)
        with pytest.raises(InvalidDimensions, match=r"diffusion .* \(256 bytes\).*\(200 bytes\)"):
            ZDiffuser(1, 0.5).diffuse(v)
    finally:
        set_memory_limit(None)


def test_rate_beyond_float32_range_falls_back_to_a_quarter():
    assert ZDiffuser(1, 1e39).rate == 0.25
