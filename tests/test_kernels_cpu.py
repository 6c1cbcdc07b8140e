"""The ``cpu`` backend facade: same API as the reference, lazy numba, on-disk kernel cache."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest
from stv_kernels import cpu, reference

KERNELS = [
    "collapse_weighted",
    "interpolate_z",
    "upscale_bilinear",
    "diffuse",
    "diffuse_pass",
    "slice_statistics",
]


@pytest.mark.parametrize("name", KERNELS)
def test_cpu_kernels_have_the_reference_signatures(name):
    cpu_fn, ref_fn = getattr(cpu, name), getattr(reference, name)
    assert cpu_fn is not ref_fn and cpu_fn.__module__ != reference.__name__
    assert inspect.signature(cpu_fn) == inspect.signature(ref_fn)
    assert cpu_fn.__doc__


def test_validation_helpers_are_the_reference_ones():
    for name in ("check_volume", "check_out", "bilinear_axis", "interpolation_code"):
        assert getattr(cpu, name) is getattr(reference, name)
    assert cpu.INTERPOLATION_CODES is reference.INTERPOLATION_CODES


def run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("module", ["stv_cli", "stv_kernels", "stv_kernels.reference"])
def test_importing_does_not_import_numba(module):
    assert run_python(f"import sys, {module}; print('numba' in sys.modules)") == "False"


CALL_EVERY_KERNEL = """
import json, numpy as np
from numba.core.registry import CPUDispatcher
from stv_kernels import collapse, cpu, diffuse, interpolate, stats, upscale
v = np.arange(2 * 3 * 4 * 3, dtype=np.float32).reshape(2, 3, 4, 3)
cpu.collapse_weighted(v, np.ones(2, np.float32))
for method in ("nearest", "linear", "cubic"):
    cpu.interpolate_z(v, method)
cpu.upscale_bilinear(v, 2)
cpu.diffuse(v, 2, 0.5)
cpu.slice_statistics(v)
misses = hits = 0
for module in (collapse, diffuse, interpolate, stats, upscale):
    for obj in vars(module).values():
        if isinstance(obj, CPUDispatcher):
            misses += sum(obj.stats.cache_misses.values())
            hits += sum(obj.stats.cache_hits.values())
print(json.dumps({"misses": misses, "hits": hits}))
"""


@pytest.mark.slow
def test_a_second_process_loads_kernels_from_the_cache():
    run_python(CALL_EVERY_KERNEL)  # compiles and writes kernels/__pycache__ if needed
    second = json.loads(run_python(CALL_EVERY_KERNEL))
    assert second["misses"] == 0
    assert second["hits"] >= 5  # one per parallel kernel at least
