"""The cuda backend on a real GPU, at sizes the simulator cannot run (marked ``gpu``).

Run on a machine with an NVIDIA GPU and the ``cuda`` extra:
``NUMBA_ENABLE_CUDASIM=0 python -m pytest -m gpu tests/kernels/cuda``. Elsewhere these tests are
skipped; the simulator tests beside them check the same numbers on tiny inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from stv_kernels import chacha, cpu, reference

pytestmark = [pytest.mark.gpu, pytest.mark.filterwarnings("ignore::RuntimeWarning")]


@pytest.fixture(scope="module")
def gpu():
    from stv_kernels import cuda as gpu_backend

    if gpu_backend.simulated():
        pytest.skip("numba's CUDA simulator is on (set NUMBA_ENABLE_CUDASIM=0 on a GPU machine)")
    reason = gpu_backend.availability()
    if reason is not None:
        pytest.skip(reason)
    return gpu_backend


@pytest.fixture(autouse=True)
def real_launch_sizes(monkeypatch):
    # the directory's conftest patches launch sizes small for the simulator; a GPU runs the
    # shipped sizes
    from stv_kernels.cuda import launch

    monkeypatch.setattr(launch, "THREADS", 256)
    monkeypatch.setattr(launch, "MAX_BLOCKS", 4096)


def _bits(a: np.ndarray) -> bytes:
    a = np.array(a, dtype=np.float32)
    a[np.isnan(a)] = np.float32("nan")
    return a.tobytes()


@pytest.mark.parametrize("shape", [(9, 130, 257, 1), (5, 64, 97, 3), (4, 33, 65, 4)])
def test_refinement_and_collapse_are_bit_exact_with_the_reference(gpu, shape):
    vol = np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)
    vol[0, 0, 0, 0], vol[-1, -1, -1, -1] = np.nan, np.inf
    weights = np.random.default_rng(1).standard_normal(shape[0]).astype(np.float32)
    assert _bits(gpu.collapse_weighted(vol, weights)) == _bits(
        reference.collapse_weighted(vol, weights)
    )
    for method in ("nearest", "linear", "cubic"):
        assert _bits(gpu.interpolate_z(vol, method)) == _bits(reference.interpolate_z(vol, method))
    for factor in (2, 3):
        assert _bits(gpu.upscale_bilinear(vol, factor)) == _bits(
            reference.upscale_bilinear(vol, factor)
        )
    assert _bits(gpu.diffuse(vol, 3, 0.3)) == _bits(reference.diffuse(vol, 3, 0.3))


def test_statistics_agree_with_the_reference(gpu):
    vol = np.random.default_rng(3).random((6, 300, 301, 3), dtype=np.float32)
    got, want = gpu.slice_statistics(vol), reference.slice_statistics(vol)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-6, err_msg=key)


@pytest.mark.parametrize("seed", [0, 7, 2**64 - 1])
def test_the_decoder_is_bit_identical_to_the_cpu_backend(gpu, seed):
    key = chacha.key_words_from_seed(seed)
    latent = np.linspace(-2, 2, 37, dtype=np.float32)
    got = gpu.decode_latent(key, 12345, latent, 3, 64, 129)
    assert got.tobytes() == cpu.decode_latent(key, 12345, latent, 3, 64, 129).tobytes()
    np.testing.assert_allclose(
        got, reference.decode_latent(key, 12345, latent, 3, 64, 129), atol=1e-6
    )


def test_video_frame_kernels_match_the_reference_over_a_few_frames(gpu):
    rng = np.random.default_rng(4)
    frames = rng.integers(0, 256, (4, 90, 161, 3), dtype=np.uint8)
    states = {}
    for name, module in (("gpu", gpu), ("ref", reference)):
        previous = np.empty((90, 161, 3), np.uint8)
        fused = np.empty((2, 90, 161, 3), np.float32)
        envelope = np.empty_like(fused)
        energies = []
        for k, frame in enumerate(frames):
            energies.append(
                module.motion_ema_step(
                    frame, previous, fused, envelope, np.float32(1.0), np.float32(0.35),
                    np.float32(0.25), k == 0,
                )
            )  # fmt: skip
        states[name] = (fused.tobytes(), envelope.tobytes(), np.array(energies))
    assert states["gpu"][:2] == states["ref"][:2]
    np.testing.assert_allclose(states["gpu"][2], states["ref"][2], rtol=1e-6)


def test_a_device_volume_refines_on_the_device_to_the_host_bits(gpu):
    """Residency on a real GPU: device arrays in, device arrays out, the host path's bits, and
    CuPy arrays (CUDA Array Interface) taken without a copy where CuPy is installed."""
    shape = (7, 96, 130, 3)
    vol = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    device = gpu.to_device(vol)
    refined = gpu.upscale_bilinear(gpu.interpolate_z(gpu.diffuse(device, 2, 0.25), "cubic"), 2)
    assert gpu.is_device_array(refined)
    host = gpu.upscale_bilinear(gpu.interpolate_z(gpu.diffuse(vol, 2, 0.25), "cubic"), 2)
    assert _bits(gpu.to_host(refined)) == _bits(host)
    weights = np.linspace(0.1, 1.0, refined.shape[0], dtype=np.float32)
    image = np.empty(refined.shape[1:], np.float32)
    gpu.collapse_weighted(refined, weights, out=image)
    assert _bits(image) == _bits(reference.collapse_weighted(host, weights))
    cupy = pytest.importorskip("cupy")
    foreign = cupy.asarray(vol)
    assert gpu.is_device_array(foreign)
    assert _bits(gpu.to_host(gpu.interpolate_z(foreign, "linear"))) == _bits(
        reference.interpolate_z(vol, "linear")
    )
