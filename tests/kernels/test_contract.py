"""The kernel contract: every backend that runs here provides every kernel, as the registry says.

The contract (:mod:`stv_kernels.contract`) lists the 15 kernels with their signatures; each
backend package of the registry must export all of them from its family modules. A backend that
cannot run here (``cuda`` without a GPU) is skipped with its reason.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from stv_kernels import contract, registry

BACKENDS = registry.names()


def _backend(name: str):
    reason = registry.availability(name)
    if reason is not None:
        pytest.skip(f"{name}: {reason}")
    return registry.load(name)


@pytest.mark.parametrize("name", BACKENDS)
def test_every_backend_that_runs_here_keeps_the_contract(name):
    assert contract.violations(_backend(name)) == []


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("spec", contract.KERNELS, ids=lambda spec: spec.name)
def test_each_kernel_is_documented_and_distinct_from_the_oracle(name, spec):
    module = _backend(name)
    function = getattr(module, spec.name)
    assert function.__doc__
    if name != registry.ORACLE:
        assert function is not getattr(registry.load(registry.ORACLE), spec.name)


def test_the_contract_covers_all_fifteen_kernels_in_eight_families():
    assert len(contract.KERNELS) == 15
    assert len({spec.name for spec in contract.KERNELS}) == 15
    assert contract.FAMILIES == (
        "collapse",
        "interpolate",
        "upscale",
        "diffuse",
        "stats",
        "decode",
        "pixels",
        "video_frame",
    )


def test_a_backend_that_breaks_the_contract_is_named():
    import types

    from stv_kernels import reference

    broken = types.ModuleType("broken")
    broken.__name__ = "broken"
    for spec in contract.KERNELS[1:]:
        setattr(broken, spec.name, getattr(reference, spec.name))

    def collapse_weighted(vol, weights):  # no out=
        return vol

    broken.collapse_pixels = collapse_weighted
    problems = contract.violations(broken)
    assert any("does not provide collapse_weighted" in p for p in problems)
    assert any("broken.collapse_pixels" in p for p in problems)  # wrong signature and home
    assert any("availability" in p for p in problems)


def test_registry_order_names_and_errors():
    assert BACKENDS[-1] == registry.ORACLE
    assert registry.resolve("auto") in BACKENDS
    assert registry.availability(registry.ORACLE) is None
    with pytest.raises(KeyError):
        registry.get("tpu")


def test_the_oracle_is_the_numpy_reference_and_quantises_any_shape():
    oracle = registry.load(registry.ORACLE)
    assert oracle.__name__ == "stv_kernels.reference"
    values = np.array([0.5, 1.0, -1.0, np.nan], np.float32)
    assert oracle.quantise(values).tolist() == [128, 255, 0, 0]


def run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    "module", ["stv_cli", "stv_kernels", "stv_kernels.reference", "stv_kernels.registry"]
)
def test_importing_does_not_import_numba(module):
    assert run_python(f"import sys, {module}; print('numba' in sys.modules)") == "False"


CALL_EVERY_KERNEL = """
import importlib, json, numpy as np
from numba.core.registry import CPUDispatcher
from stv_kernels import cpu
# (the package's attribute ``diffuse`` is the kernel; the family module is reached by name)
families = [importlib.import_module(f"stv_kernels.cpu.{f}")
            for f in ("collapse", "diffuse", "interpolate", "stats", "upscale")]
v = np.arange(2 * 3 * 4 * 3, dtype=np.float32).reshape(2, 3, 4, 3)
cpu.collapse_weighted(v, np.ones(2, np.float32))
for method in ("nearest", "linear", "cubic"):
    cpu.interpolate_z(v, method)
cpu.upscale_bilinear(v, 2)
cpu.diffuse(v, 2, 0.5)
cpu.slice_statistics(v)
misses = hits = 0
for module in families:
    for obj in vars(module).values():
        if isinstance(obj, CPUDispatcher):
            misses += sum(obj.stats.cache_misses.values())
            hits += sum(obj.stats.cache_hits.values())
print(json.dumps({"misses": misses, "hits": hits}))
"""


@pytest.mark.slow
def test_a_second_process_loads_kernels_from_the_cache():
    run_python(CALL_EVERY_KERNEL)  # compiles and writes the kernels' __pycache__ if needed
    second = json.loads(run_python(CALL_EVERY_KERNEL))
    assert second["misses"] == 0
    assert second["hits"] >= 5  # one per parallel kernel at least
