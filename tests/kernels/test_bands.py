"""Bands of an upscale and their projection (tiled runs): bit for bit the whole volume's rows.

``upscale_bilinear(..., rows=(H, start, stop, first))`` and ``collapse_upscaled`` compute
output rows ``start..stop-1`` from a band of source rows. Every backend that runs here must
give exactly those rows of the whole upscale and of its collapse.
"""

from __future__ import annotations

import numpy as np
import pytest

from stv_kernels import _tables, cpu, reference
from tests.kernels.strategies import assert_bit_exact

F32 = np.float32
BACKENDS = [reference, cpu]


def _needed(height: int, factor: int, start: int, stop: int) -> tuple[int, int]:
    y0, y1, _ = _tables.bilinear_axis(height, height * factor)
    return int(y0[start:stop].min()), int(y1[start:stop].max()) + 1


@pytest.mark.parametrize("ops", BACKENDS)
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("factor", [1, 2, 3, 4])
def test_bands_are_the_whole_volume_s_rows(ops, channels, factor, rng):
    height = 13
    vol = rng.standard_normal((5, height, 7, channels)).astype(F32)
    vol[1, 4, 3, 0], vol[3, 12, 6, -1] = np.nan, np.inf
    weights = rng.standard_normal(5).astype(F32)
    whole = reference.upscale_bilinear(vol, factor)
    projection = reference.collapse_weighted(whole, weights)
    for start, stop in [(0, 5), (5, 6), (7, height * factor), (0, height * factor)]:
        low, high = _needed(height, factor, start, stop)
        first = max(0, low - 1)  # a band with a row to spare, as a planner may cut it
        band = np.ascontiguousarray(vol[:, first : min(height, high + 1)])
        rows = (height, start, stop, first)
        assert_bit_exact(ops.upscale_bilinear(band, factor, rows=rows), whole[:, start:stop])
        assert_bit_exact(ops.collapse_upscaled(band, factor, weights, rows=rows),
                         projection[start:stop])  # fmt: skip
    assert_bit_exact(ops.collapse_upscaled(vol, factor, weights), projection)


@pytest.mark.parametrize("ops", BACKENDS)
def test_a_band_missing_a_row_is_refused(ops, rng):
    vol = rng.standard_normal((2, 4, 5, 1)).astype(F32)
    with pytest.raises(ValueError, match="outside the band"):
        ops.collapse_upscaled(vol, 2, np.ones(2, F32), rows=(10, 0, 20, 0))
    with pytest.raises(ValueError, match="rows must be"):
        ops.upscale_bilinear(vol, 2, rows=(1, 2))


def test_many_tasks_and_wide_rows_match_the_reference(rng):
    vol = rng.standard_normal((6, 41, 301, 3)).astype(F32)
    weights = rng.standard_normal(6).astype(F32)
    for factor in (2, 3):
        assert_bit_exact(
            cpu.collapse_upscaled(vol, factor, weights),
            reference.collapse_weighted(reference.upscale_bilinear(vol, factor), weights),
        )


@pytest.mark.parametrize("ops", BACKENDS)
def test_collapse_upscaled_accumulates_slab_after_slab(ops, rng):
    vol = rng.standard_normal((7, 6, 5, 3)).astype(F32)
    weights = rng.standard_normal(7).astype(F32)
    whole = ops.collapse_upscaled(vol, 3, weights)
    out = np.empty_like(whole)
    ops.collapse_upscaled(vol[:3], 3, weights[:3], out=out)
    ops.collapse_upscaled(vol[3:], 3, weights[3:], out=out, accumulate=True)
    assert_bit_exact(out, whole)
