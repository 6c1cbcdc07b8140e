"""ZSpaceVolume on a GPU (numba's simulator): the API keeps NumPy at its edges.

A volume moved with ``to_device()`` (or built from a device array) refines on the device;
its public methods still return NumPy arrays, ``voxels`` is a host copy and
``device_voxels`` the device array itself.
"""

from __future__ import annotations

import numpy as np
import pytest

from stv_cli import backend
from stv_cli.errors import InvalidDimensions, InvalidValue
from stv_cli.model.diffuser import ZDiffuser
from stv_cli.model.volume import ZSpaceVolume

pytest.importorskip("numba_cuda", reason="numba-cuda is not installed")


@pytest.fixture(autouse=True)
def on_cuda(monkeypatch):
    if backend.unavailable_reason("cuda") is not None:
        pytest.skip(f"cuda: {backend.unavailable_reason('cuda')}")
    from stv_kernels.cuda import launch

    monkeypatch.setattr(launch, "THREADS", 8)
    monkeypatch.setattr(launch, "MAX_BLOCKS", 4)
    with backend.use_backend("cuda"):
        yield


def _host(seed=0) -> ZSpaceVolume:
    return ZSpaceVolume(np.random.default_rng(seed).random((3, 4, 5, 2), dtype=np.float32))


def test_to_device_and_back():
    host = _host()
    device = host.to_device()
    assert device.on_device and not host.on_device
    assert device.to_device() is device and host.to_host() is host
    assert isinstance(device.voxels, np.ndarray)  # a host copy
    np.testing.assert_array_equal(device.voxels, host.voxels)
    assert device == host and "on_device=True" in repr(device)
    np.testing.assert_array_equal(device.to_host().voxels, host.voxels)
    assert device.device_voxels is device.stored_voxels
    with pytest.raises(InvalidValue, match="lives on the host"):
        host.device_voxels  # noqa: B018


def test_refinement_stays_on_the_device_and_matches_the_host():
    host, device = _host(1), _host(1).to_device()
    for step in (
        lambda v: v.interpolate("cubic", 2),
        lambda v: v.upscale(2),
        lambda v: ZDiffuser(2, 0.3).diffuse(v),
        lambda v: v.copy(),
    ):
        got, want = step(device), step(host)
        assert got.on_device and not want.on_device
        np.testing.assert_array_equal(got.voxels, want.voxels)


def test_arrays_come_back_as_numpy():
    host, device = _host(2), _host(2).to_device()
    weights = np.array([0.2, 0.3, 0.5], np.float32)
    image = device.collapse_with_weights(weights)
    assert isinstance(image, np.ndarray)
    np.testing.assert_array_equal(image, host.collapse_with_weights(weights))
    assert isinstance(device.slice(1), np.ndarray)
    np.testing.assert_array_equal(device.slice(1), host.slice(1))
    profile, want = device.profile(), host.profile()
    np.testing.assert_allclose(profile.means, want.means, rtol=1e-6)
    # a device out keeps the picture on the device
    from stv_kernels.cuda import memory

    out = memory.device_empty(image.shape)
    assert device.collapse_with_weights(weights, out=out) is out


def test_temporal_blends_of_device_volumes():
    a, b = _host(3), _host(4)
    want = a.accumulated(b, 0.25)
    device = a.to_device()
    device.accumulate(b.to_device(), 0.25)
    assert device.on_device
    np.testing.assert_array_equal(device.voxels, want.voxels)
    blend = ZSpaceVolume.blend_sequence([a.to_device(), b], [1.0, 3.0])
    np.testing.assert_array_equal(
        blend.voxels, ZSpaceVolume.blend_sequence([a, b], [1.0, 3.0]).voxels
    )


def test_device_arrays_are_adopted_without_a_copy_and_checked():
    from stv_kernels.cuda import memory

    array = memory.to_device(np.ones((2, 3, 4), np.float32))
    volume = ZSpaceVolume(array)
    assert volume.on_device and volume.shape == (2, 3, 4, 1)
    with pytest.raises(InvalidValue, match="C-contiguous float32 device array"):
        ZSpaceVolume(memory.to_device(np.ones((2, 3, 4, 1))))
    with pytest.raises(InvalidDimensions):
        ZSpaceVolume(memory.to_device(np.ones((2, 3), np.float32)))


def test_a_host_only_backend_refuses_to_move_a_volume_to_a_device():
    with backend.use_backend("cpu"), pytest.raises(InvalidValue, match="device memory"):
        _host().to_device()


def test_a_device_volume_under_a_host_backend_is_computed_on_the_host():
    device = _host(5).to_device()
    with backend.use_backend("cpu"):
        image = device.collapse_with_weights(np.ones(3, np.float32))
        upscaled = device.upscale(2)
    assert not upscaled.on_device
    np.testing.assert_array_equal(image, _host(5).collapse_with_weights(np.ones(3, np.float32)))
