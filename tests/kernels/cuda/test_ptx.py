"""Every CUDA kernel compiles to PTX for sm_90 (an H100) without a GPU.

The simulator runs kernels as Python, so it misses what only the CUDA compiler sees (a type
it cannot unify, a float64 literal that would halve the speed, an operation it cannot lower).
This compiles each kernel, with the signatures its module declares in ``PTX_SIGNATURES``, in a
process without the simulator, and checks that no float32 multiply-add was fused: the order of
float32 roundings is part of the semantics, so every kernel adds and multiplies through
``_device.add``/``mul`` (``__nv_fadd_rn``/``__nv_fmul_rn``, which NVVM never contracts).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from stv_kernels import contract

COMPILE_ALL = r"""
import importlib, json, sys
from numba import cuda
from numba.cuda.dispatcher import CUDADispatcher
report = {}
for family in sys.argv[1:]:
    module = importlib.import_module(f"stv_kernels.cuda.{family}")
    signatures = getattr(module, "PTX_SIGNATURES", {})
    kernels = {n for n, o in vars(module).items()
               if isinstance(o, CUDADispatcher) and not o.targetoptions.get("device")}
    uncached = [n for n in kernels if type(getattr(module, n)._cache).__name__ == "NullCache"]
    entry = report[family] = {"undeclared": sorted(kernels - set(signatures)), "ptx": {},
                              "uncached": sorted(uncached)}
    for name, sigs in signatures.items():
        for sig in ([sigs] if isinstance(sigs, str) else sigs):
            ptx, _ = cuda.compile_ptx(getattr(module, name).py_func, sig, cc=(9, 0))
            entry["ptx"][f"{name}{sig}"] = {
                "target": [l for l in ptx.splitlines() if l.startswith(".target")],
                "fma_f32": ptx.count("fma.rn.f32"),
                "bytes": len(ptx),
            }
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def compiled():
    pytest.importorskip("numba_cuda", reason="numba-cuda is not installed")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0")
    done = subprocess.run(
        [sys.executable, "-c", COMPILE_ALL, *contract.FAMILIES],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("family", contract.FAMILIES)
def test_every_kernel_of_the_family_compiles_for_sm_90(compiled, family):
    entry = compiled[family]
    assert entry["undeclared"] == [], "kernels without PTX_SIGNATURES: not compiled here"
    # cached on disk like the cpu kernels: a second process skips NVVM (seconds per kernel)
    assert entry["uncached"] == [], "kernels without cache=True"
    assert entry["ptx"], f"stv_kernels.cuda.{family} declares no kernel to compile"
    for name, ptx in entry["ptx"].items():
        assert ptx["target"] == [".target sm_90"], name
        assert ptx["bytes"] > 0, name


@pytest.mark.parametrize("family", contract.FAMILIES)
def test_no_float32_multiply_add_is_fused(compiled, family):
    fused = {name: ptx["fma_f32"] for name, ptx in compiled[family]["ptx"].items()}
    assert all(count == 0 for count in fused.values()), fused
