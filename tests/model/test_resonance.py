"""Tests for stv_cli.model.resonance: the record and its per-depth weights (SPEC A.2.2, A.9)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stv_cli import DifferentialResonance
from stv_cli.errors import EmptyInput, InvalidValue
from stv_cli.model.resonance import resonance_weights
from tests.tolerances import ATOL

values = st.lists(st.floats(-5, 5, width=32), min_size=1, max_size=7)


def test_fields_are_stored_flat_float32_copies():
    energy = np.array([[1.0, 2.0]], dtype=np.float64)
    r = DifferentialResonance(infinity_energy=energy, recursive_objective=[0])
    assert r.infinity_energy.dtype == np.float32 and r.infinity_energy.shape == (2,)
    energy[0, 0] = 99
    assert r.infinity_energy[0] == 1.0
    assert r.homotopy_flow.size == 0 and r.infinity_projection.size == 0


def test_fields_are_keyword_only():
    with pytest.raises(TypeError):
        DifferentialResonance([1.0], [1.0], [0.0], [0.0], [1.0])


def test_uniform_gives_equal_weights():
    r = DifferentialResonance.uniform()
    assert r.infinity_energy.tolist() == [1.0] and r.recursive_objective.tolist() == [0.0]
    assert r.homotopy_flow.size == 0
    np.testing.assert_allclose(r.weights(4), [0.25] * 4, atol=ATOL)
    assert r.weights(0).size == 0


def test_equality_compares_arrays():
    assert DifferentialResonance.uniform() == DifferentialResonance.uniform()
    assert DifferentialResonance.uniform() != DifferentialResonance(
        infinity_energy=[2.0], recursive_objective=[0.0]
    )


def test_homotopy_flow_multiplies_one_plus_tanh():
    r = DifferentialResonance(
        infinity_energy=[1.0], recursive_objective=[0.0], homotopy_flow=[0, 1]
    )
    h = 1 + np.tanh(np.float32(1.0))
    np.testing.assert_allclose(r.weights(2), [1 / (1 + h), h / (1 + h)], atol=ATOL)


def test_functor_and_projection_do_not_change_weights():
    a = DifferentialResonance(infinity_energy=[1, 2], recursive_objective=[0.3])
    b = DifferentialResonance(
        infinity_energy=[1, 2],
        recursive_objective=[0.3],
        functor_linearisation=[9, 9],
        infinity_projection=[-4],
    )
    np.testing.assert_array_equal(a.weights(5), b.weights(5))


@settings(max_examples=50, deadline=None)
@given(values, values, st.lists(st.floats(-5, 5, width=32), max_size=4), st.integers(1, 12))
def test_weights_are_non_negative_and_sum_to_one(energy, objective, flow, depth):
    r = DifferentialResonance(
        infinity_energy=energy, recursive_objective=objective, homotopy_flow=flow
    )
    w = resonance_weights(r, depth)
    assert w.shape == (depth,) and w.dtype == np.float32
    assert np.all(w >= 0)
    assert abs(float(w.sum(dtype=np.float64)) - 1.0) < 1e-5


@pytest.mark.parametrize("field", ["infinity_energy", "recursive_objective"])
def test_empty_energy_or_objective_is_rejected_naming_both_lengths(field):
    kwargs = {"infinity_energy": [1.0], "recursive_objective": [0.0], field: []}
    with pytest.raises(EmptyInput, match=r"differential_resonance needs non-empty .*got lengths"):
        DifferentialResonance(**kwargs).weights(3)


def test_negative_depth_is_rejected():
    with pytest.raises(InvalidValue, match="depth must be >= 0, got -1"):
        DifferentialResonance.uniform().weights(-1)
