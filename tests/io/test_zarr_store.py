"""Zarr v2/v3 arrays and OME-Zarr images as stacks: axes, levels, values, voxel size.

Stores are written here with the zarr package (NGFF metadata by hand, as OME-Zarr writers
lay it out) and read back with ``load_volume``.
"""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from stv_cli.errors import InputError
from stv_cli.io.axes import Selection
from stv_cli.io.images import load_volume, probe_volume
from stv_cli.io.inputs import timepoint_count

U16 = np.float32(65535)


def _ramp(shape, dtype=np.uint16, step=7) -> np.ndarray:
    values = np.arange(int(np.prod(shape)), dtype=np.int64) * step
    return (values % (np.iinfo(dtype).max + 1)).astype(dtype).reshape(shape)


def _ome_zarr(path, levels, axes, scale, version="0.4", zarr_format=2):
    """An OME-Zarr image: ``levels`` arrays "0", "1", ... with NGFF multiscales metadata."""
    group = zarr.open_group(str(path), mode="w", zarr_format=zarr_format)
    datasets = []
    for k, data in enumerate(levels):
        chunks = (1,) * (data.ndim - 2) + data.shape[-2:]
        group.create_array(str(k), data=data, chunks=chunks)
        factor = [1.0] * (len(axes) - 2) + [2.0**k, 2.0**k]
        datasets.append(
            {
                "path": str(k),
                "coordinateTransformations": [
                    {"type": "scale", "scale": [s * f for s, f in zip(scale, factor, strict=True)]}
                ],
            }
        )
    multiscales = [{"version": version, "axes": axes, "datasets": datasets}]
    if version == "0.5":
        group.attrs["ome"] = {"version": "0.5", "multiscales": multiscales}
    else:
        group.attrs["multiscales"] = multiscales
    return path


AXES = [
    {"name": "t", "type": "time"},
    {"name": "c", "type": "channel"},
    {"name": "z", "type": "space", "unit": "micrometer"},
    {"name": "y", "type": "space", "unit": "micrometer"},
    {"name": "x", "type": "space", "unit": "micrometer"},
]


@pytest.mark.parametrize(("version", "zarr_format"), [("0.4", 2), ("0.5", 3)])
def test_ome_zarr_axes_levels_and_voxel_size(tmp_path, version, zarr_format):
    full = _ramp((2, 3, 4, 8, 10))  # t c z y x
    half = full[..., ::2, ::2].copy()
    store = _ome_zarr(tmp_path / "img.zarr", [full, half], AXES, [1.0, 1.0, 2.0, 0.5, 0.5],
                      version, zarr_format)  # fmt: skip
    with pytest.raises(InputError, match=r"img\.zarr.*axes TCZYX.*2 timepoints"):
        probe_volume(store)
    info = probe_volume(store, Selection(timepoint=1))
    assert info.shape == (4, 8, 10, 3) and info.kind == "zarr"
    assert (info.physical.x, info.physical.z, info.physical.unit) == (0.5, 2.0, "um")
    np.testing.assert_array_equal(load_volume(info, threads=2), np.moveaxis(full[1], 0, -1) / U16)
    small = probe_volume(store, Selection(timepoint=0, level=1, channels=(2, 0)))
    assert small.shape == (4, 4, 5, 2) and small.physical.x == 1.0
    np.testing.assert_array_equal(load_volume(small), np.moveaxis(half[0][[2, 0]], 0, -1) / U16)
    with pytest.raises(InputError, match=r"--level 2 is outside 0\.\.1"):
        probe_volume(store, Selection(timepoint=0, level=2))
    assert timepoint_count(store) == 2


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_plain_arrays_read_like_npy(tmp_path, zarr_format):
    data = _ramp((5, 6, 7, 3), np.uint8)
    zarr.create_array(str(tmp_path / "a.zarr"), data=data, chunks=(2, 6, 7, 3),
                      zarr_format=zarr_format)  # fmt: skip
    np.testing.assert_array_equal(load_volume(tmp_path / "a.zarr", threads=2),
                                  data / np.float32(255))  # fmt: skip
    floats = np.linspace(-2, 3000, 24, dtype=np.float32).reshape(2, 3, 4)
    zarr.create_array(str(tmp_path / "f.zarr"), data=floats, zarr_format=zarr_format)
    np.testing.assert_array_equal(load_volume(tmp_path / "f.zarr")[..., 0], floats)


def test_xarray_dimension_names_are_used(tmp_path):
    data = _ramp((3, 4, 5, 6))  # c z y x
    array = zarr.create_array(str(tmp_path / "x.zarr"), data=data, zarr_format=2)
    array.attrs["_ARRAY_DIMENSIONS"] = ["c", "z", "y", "x"]
    np.testing.assert_array_equal(load_volume(tmp_path / "x.zarr"), np.moveaxis(data, 0, -1) / U16)


def test_a_group_with_one_array_is_that_array_and_with_several_is_refused(tmp_path):
    group = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    group.create_array("data", data=_ramp((2, 3, 4)))
    assert probe_volume(tmp_path / "g.zarr").shape == (2, 3, 4, 1)
    group.create_array("labels", data=_ramp((2, 3, 4)))
    with pytest.raises(InputError, match=r"g\.zarr.*2 arrays \(data, labels\).*g\.zarr/data"):
        probe_volume(tmp_path / "g.zarr")
    assert load_volume(tmp_path / "g.zarr" / "data").shape == (2, 3, 4, 1)


def test_a_store_that_is_no_zarr_or_a_broken_chunk_names_the_store(tmp_path):
    data = _ramp((4, 3, 4))
    zarr.create_array(str(tmp_path / "b.zarr"), data=data, chunks=(1, 3, 4), zarr_format=2)
    chunk = next(p for p in (tmp_path / "b.zarr").rglob("*") if p.is_file() and p.name == "2.0.0")
    chunk.write_bytes(b"not a chunk")
    with pytest.raises(InputError, match=r"b\.zarr"):
        load_volume(tmp_path / "b.zarr")
    (tmp_path / "e.zarr").mkdir()
    with pytest.raises(InputError, match=r"e\.zarr"):
        probe_volume(tmp_path / "e.zarr")
