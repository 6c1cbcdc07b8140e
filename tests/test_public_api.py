"""The public API of ``stv_cli``: frozen, lazy, typed, and in torchvision's habits."""

from __future__ import annotations

import importlib.resources
import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import stv_cli

#: Adding a public name is a decision: add it here too. Removing one breaks users.
PUBLIC = [
    "__version__",
    "get_backend",
    "set_backend",
    "use_backend",
    "StvError",
    "InvalidDimensions",
    "DataLength",
    "ShapeMismatch",
    "EmptyInput",
    "InvalidValue",
    "NonFiniteValue",
    "InputError",
    "ZSpaceVolume",
    "InterpolationMethod",
    "SpectralWindow",
    "DifferentialResonance",
    "VisionProjector",
    "TemporalResonanceBuffer",
    "ZDiffuser",
    "ViewDescriptor",
    "MultiViewFusion",
    "ZSliceProfile",
    "ZSpaceTelemetryReport",
    "ChronoSummary",
    "ChronoSnapshot",
    "AtlasFrame",
    "AtlasMetric",
    "normalise",
    "ZDecoder",
    "SpiralRnn",
    "ResonanceGenerator",
    "VideoStreamProjector",
    "VideoPipeline",
    "VideoPipelineConfig",
    "memory_limit",
    "set_memory_limit",
    "make_grid",
    "save_image",
    "load_volume",
    "RunContext",
]


def test_all_is_frozen():
    assert stv_cli.__all__ == PUBLIC


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_resolves(name):
    assert getattr(stv_cli, name) is not None


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        stv_cli.nope  # noqa: B018


def test_the_grid_and_loader_names_need_no_model_import():
    code = (
        "import sys, stv_cli; stv_cli.make_grid; stv_cli.save_image; stv_cli.load_volume; "
        "print('numba' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("package", ["stv_cli", "stv_kernels"])
def test_both_packages_ship_py_typed(package):
    assert importlib.resources.files(package).joinpath("py.typed").is_file()


def test_save_image_writes_into_a_binary_file_object_with_format():
    batch = np.random.default_rng(0).random((3, 8, 8, 3), dtype=np.float32)
    buffer = io.BytesIO()
    assert stv_cli.save_image(batch, buffer, format="PNG", nrow=3) is buffer
    buffer.seek(0)
    with Image.open(buffer) as img:
        got = np.asarray(img)
    want = stv_cli.make_grid(batch, nrow=3)
    np.testing.assert_array_equal(got, (want * 255 + 0.5).clip(0, 255).astype(np.uint8))
    jpeg = io.BytesIO()
    stv_cli.save_image(batch, jpeg, "jpg")
    assert jpeg.getvalue()[:2] == b"\xff\xd8"


def test_save_image_into_a_nameless_file_object_needs_format():
    with pytest.raises(stv_cli.InvalidValue, match="format="):
        stv_cli.save_image(np.zeros((1, 2, 2, 3), np.float32), io.BytesIO())
    with pytest.raises(stv_cli.InvalidValue, match="format must be one of"):
        stv_cli.save_image(np.zeros((1, 2, 2, 3), np.float32), io.BytesIO(), format="gif")


def test_save_image_takes_the_format_from_an_open_files_name(tmp_path):
    with open(tmp_path / "grid.png", "wb") as file:
        stv_cli.save_image(np.ones((2, 4, 4, 1), np.float32), file)
    with Image.open(tmp_path / "grid.png") as img:
        assert img.format == "PNG" and img.mode == "RGB"


@pytest.mark.parametrize(
    ("shape", "hint"),
    [((2, 3, 16, 16), "np.moveaxis(images, 1, -1) gives shape (2, 16, 16, 3)"),
     ((4, 1, 28, 28), "np.moveaxis(images, 1, -1) gives shape (4, 28, 28, 1)"),
     ((3, 16, 16), "np.moveaxis(images, 0, -1) gives shape (16, 16, 3)")],
)  # fmt: skip
def test_a_channels_first_batch_is_refused_with_the_shape_and_the_fix(shape, hint):
    with pytest.raises(stv_cli.InvalidDimensions, match="channels-first") as caught:
        stv_cli.make_grid(np.zeros(shape, np.float32))
    assert str(shape) in str(caught.value) and hint in str(caught.value)


def test_channels_last_batches_are_still_accepted():
    assert stv_cli.make_grid(np.zeros((2, 16, 16, 3), np.float32)).shape == (20, 38, 3)
    # W in {1, 3, 4} cannot be told apart from channels: read as channels last, as always
    assert stv_cli.make_grid(np.zeros((2, 3, 16, 4), np.float32)).shape == (7, 38, 4)


def test_load_volume_reads_a_stack_as_float32_dhwc(tmp_path):
    stack = np.random.default_rng(1).integers(0, 256, (3, 4, 5), dtype=np.uint8)
    np.save(tmp_path / "v.npy", stack)
    volume = stv_cli.load_volume(tmp_path / "v.npy")
    assert volume.shape == (3, 4, 5, 1) and volume.dtype == np.float32
    np.testing.assert_array_equal(volume, stv_cli.ZSpaceVolume.from_slices(list(stack)).voxels)
