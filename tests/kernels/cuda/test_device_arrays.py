"""The cuda kernels on device arrays: results stay on the device, equal to the host path's.

Every kernel takes host or device arrays; its result lives where ``out`` lives, else where the
input lives (``stv_kernels.cuda.memory``). These tests run each kernel both ways in numba's
simulator and ask for the same bits, plus the in-place and overlap cases only device arrays
have, and count what crosses between host and device.
"""

from __future__ import annotations

import numpy as np
import pytest

from stv_kernels import contract, reference
from stv_kernels import cuda as cuda_backend
from stv_kernels.chacha import key_words_from_seed
from stv_kernels.cuda import memory

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _volume(shape=(4, 3, 5, 3), seed=0) -> np.ndarray:
    vol = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    vol[0, 0, 0, 0] = np.nan
    vol[-1, -1, -1, -1] = np.inf
    return vol


def _same(a, b) -> None:
    np.testing.assert_array_equal(memory.to_host(a), memory.to_host(b))


def test_the_cuda_backend_provides_the_whole_memory_protocol():
    assert contract.violations(cuda_backend) == []
    assert all(callable(getattr(cuda_backend, name)) for name in contract.MEMORY)
    from stv_kernels import cpu

    assert not any(hasattr(cpu, name) for name in contract.MEMORY)


def test_memory_round_trips_and_buffers():
    host = _volume()
    device = memory.to_device(host)
    assert memory.is_device_array(device) and not memory.is_device_array(host)
    assert memory.to_device(device) is device  # a device array is not copied again
    _same(memory.to_host(device), host)
    buffer = memory.device_empty(host.shape)
    assert memory.to_device(host, out=buffer) is buffer
    _same(buffer, host)
    copy = memory.device_copy(device)
    assert copy is not device
    _same(copy, host)
    pinned = memory.pinned_empty((2, 3), np.uint8)
    assert isinstance(pinned, np.ndarray) and pinned.shape == (2, 3) and pinned.dtype == np.uint8
    out = np.empty_like(host)
    assert memory.to_host(device, out=out) is out
    free, total = memory.memory_info()
    assert 0 < free <= total


@pytest.mark.parametrize(
    "call",
    [
        lambda k, v, out=None: k.collapse_weighted(v, np.linspace(-1, 1, 4, dtype=np.float32), out),
        lambda k, v, out=None: k.interpolate_z(v, "cubic", out),
        lambda k, v, out=None: k.upscale_bilinear(v, 3, out),
        lambda k, v, out=None: k.upscale_bilinear(v, 1, out),
        lambda k, v, out=None: k.diffuse(v, 3, np.float32(0.25), out),
        lambda k, v, out=None: k.diffuse(v, 2, np.float32(0.5), out),
        lambda k, v, out=None: k.diffuse(v, 0, np.float32(0.5), out),
        lambda k, v, out=None: k.diffuse_pass(v, np.float32(0.3), out),
    ],
    ids=[
        "collapse",
        "interpolate",
        "upscale",
        "upscale1",
        "diffuse3",
        "diffuse2",
        "diffuse0",
        "pass",
    ],
)
def test_volume_kernels_keep_a_device_volume_on_the_device(call):
    # small: the simulator's block runner polls its threads, so work costs it dearly
    host = _volume((4, 2, 3, 2))
    want = call(cuda_backend, host)
    assert isinstance(want, np.ndarray)
    np.testing.assert_array_equal(want, call(reference, host))  # bit for bit, NaN in place
    got = call(cuda_backend, memory.to_device(host))
    assert memory.is_device_array(got)
    _same(got, want)
    # a host out receives a device input's result; a device out a host input's
    host_out = np.empty(want.shape, np.float32)
    assert call(cuda_backend, memory.to_device(host), host_out) is host_out
    _same(host_out, want)
    device_out = memory.device_empty(want.shape)
    assert call(cuda_backend, host, device_out) is device_out
    _same(device_out, want)


@pytest.mark.parametrize("iterations", [1, 2, 3])
def test_diffusion_in_place_on_the_device(iterations):
    host = _volume(seed=iterations)
    device = memory.to_device(host)
    got = cuda_backend.diffuse(device, iterations, np.float32(0.25), out=device)
    assert got is device
    _same(device, reference.diffuse(host, iterations, np.float32(0.25)))


def test_an_out_that_overlaps_a_device_input_is_harmless():
    host = _volume((3, 2, 2, 1))
    device = memory.to_device(np.concatenate([host.reshape(-1), np.zeros(4, np.float32)]))
    vol = device[:12].reshape(3, 2, 2, 1)
    out = device[:8].reshape(2, 2, 2, 1)  # shares the input's first slices
    with pytest.raises(ValueError):  # different shape: refused
        cuda_backend.interpolate_z(vol, "linear", out=out)
    weights = np.ones(3, np.float32)
    out2 = device[4:8].reshape(2, 2, 1)  # the collapse's output over the input's slice 1
    cuda_backend.collapse_weighted(vol, weights, out=out2)
    _same(out2, reference.collapse_weighted(host, weights))


def test_device_arguments_are_checked_like_host_ones():
    with pytest.raises(ValueError, match="C-contiguous float32 4-D device array"):
        cuda_backend.interpolate_z(memory.to_device(np.zeros((3, 2, 2), np.float32)), "linear")
    with pytest.raises(ValueError, match="float32"):
        cuda_backend.upscale_bilinear(memory.to_device(np.zeros((2, 2, 2, 1))), 2)
    with pytest.raises(ValueError, match="out must have shape"):
        cuda_backend.collapse_weighted(
            memory.to_device(np.zeros((2, 2, 2, 1), np.float32)),
            np.ones(2, np.float32),
            out=memory.device_empty((2, 2, 2)),
        )
    with pytest.raises(ValueError, match="out must be a C-contiguous float32"):
        cuda_backend.decode_latent(
            key_words_from_seed(1),
            0,
            np.ones(2, np.float32),
            2,
            2,
            2,
            out=memory.device_empty((2, 2, 2, 1), np.float64),
        )


def test_statistics_of_a_device_volume_come_back_to_the_host():
    host = _volume(seed=3)
    host[np.isinf(host)] = 2.0
    got = cuda_backend.slice_statistics(memory.to_device(host))
    want = cuda_backend.slice_statistics(host)
    for key, value in want.items():
        assert isinstance(got[key], np.ndarray)
        np.testing.assert_array_equal(got[key], value)


def test_decoding_into_a_device_buffer_gives_the_host_bits():
    key = key_words_from_seed(42)
    latent = np.linspace(-1, 1, 5, dtype=np.float32)
    want = cuda_backend.decode_latent(key, 7, latent, 3, 4, 5)
    out = memory.device_empty((3, 4, 5, 1))
    assert cuda_backend.decode_latent(key, 7, latent, 3, 4, 5, out=out) is out
    _same(out, want)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_pixel_collapse_and_quantise_on_device_arrays(dtype):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, np.iinfo(dtype).max, (3, 4, 5, 3), dtype=dtype)
    weights = np.array([0.2, 0.3, 0.5], np.float32)
    want = reference.collapse_pixels(pixels, weights)
    got = cuda_backend.collapse_pixels(memory.to_device(pixels), weights)
    assert memory.is_device_array(got)
    _same(got, want)
    as_bytes = np.empty((4, 5, 3), np.uint8)
    cuda_backend.collapse_pixels(memory.to_device(pixels), weights, out=as_bytes)
    np.testing.assert_array_equal(
        as_bytes, reference.collapse_pixels(pixels, weights, np.empty_like(as_bytes))
    )
    quantised = cuda_backend.quantise(memory.to_device(want), dtype)
    assert memory.is_device_array(quantised)
    _same(quantised, reference.quantise(want, dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
@pytest.mark.parametrize("step", ["motion_ema_step", "motion_slice_step"])
def test_video_state_on_the_device_is_updated_in_place_as_on_the_host(step, dtype):
    rng = np.random.default_rng(2)
    shape = (3, 5, 3)
    slices = 2 if step == "motion_ema_step" else 1

    def frames():
        for _ in range(3):
            if dtype == np.uint8:
                yield rng.integers(0, 256, shape, dtype=np.uint8)
            else:
                yield rng.random(shape, dtype=np.float32)

    host = [np.zeros(shape, dtype), *(np.zeros((slices, *shape), np.float32) for _ in range(2))]
    device = [memory.to_device(a) for a in host]
    host_motion = np.zeros(shape, np.float32)
    device_motion = memory.device_empty(shape)
    kernel = getattr(cuda_backend, step)
    for index, frame in enumerate(frames()):
        args = (np.float32(2.0), np.float32(0.3), np.float32(0.6), index == 0)
        want = kernel(frame, *host, *args, motion=host_motion)
        got = kernel(memory.to_device(frame), *device, *args, motion=device_motion)
        np.testing.assert_array_equal(got, want)
        for h, d in zip(host, device, strict=True):
            _same(d, h)
        _same(device_motion, host_motion)


@pytest.mark.parametrize("dtype", [np.float32, np.uint16])
def test_ring_store_into_device_slots(dtype):
    frame = (np.arange(60).reshape(4, 5, 3) * 3).astype(dtype)
    slots = memory.device_empty((2, 4, 5, 3), dtype)
    got = cuda_backend.ring_store(memory.to_device(frame), slots[0], slots[1])
    np.testing.assert_array_equal(got, reference.ring_store(frame, frame.copy(), frame.copy()))
    _same(slots[0], frame)
    _same(slots[1], frame)
    floats = frame.astype(np.float32)
    floats[0, 0, 0] = np.nan
    assert cuda_backend.count_nonfinite(memory.to_device(floats)) == 1
