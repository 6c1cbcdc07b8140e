"""The kernel contract: the functions every backend provides, with their signatures.

A backend package (:mod:`stv_kernels.reference`, :mod:`stv_kernels.cpu`, ...) exports each
function of :data:`KERNELS` under that name, with exactly these parameters and defaults, and
the numbers of the NumPy reference within the tolerances of the semantics. The model calls
kernels only through the backend in force (``stv_cli.backend.ops()``), so a backend that keeps
this contract plugs in without any other change. :func:`violations` checks a module against it
(the test suite runs it on every backend that can run).

Conventions of every kernel: volumes are C-contiguous float32 (D, H, W, C), channels last;
``out``, when given, is written and returned (allocated by the function otherwise, never inside
compiled code); bad arguments raise ``ValueError`` before any work.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from types import ModuleType

import numpy as np

#: Marks a parameter without a default.
REQUIRED = inspect.Parameter.empty


@dataclass(frozen=True)
class KernelSpec:
    """One kernel: its family (the module it lives in), parameters and what it returns."""

    name: str
    family: str
    parameters: tuple[tuple[str, object], ...]
    returns: str

    def signature(self) -> str:
        """The parameters as Python writes them, e.g. ``(vol, weights, out=None)``."""
        parts = [
            p if d is REQUIRED else f"{p}={getattr(d, '__name__', repr(d))}"
            for p, d in self.parameters
        ]
        return f"({', '.join(parts)})"


def _spec(name: str, family: str, params: str, returns: str) -> KernelSpec:
    defaults = {"None": None, "uint8": np.uint8, "False": False}
    parsed = []
    for item in params.split(","):
        key, _, default = item.strip().partition("=")
        parsed.append((key, defaults[default] if default else REQUIRED))
    return KernelSpec(name, family, tuple(parsed), returns)


_STEP = "frame, previous, fused, envelope, gain, alpha, momentum, first, motion=None"

#: Every kernel a backend must provide.
KERNELS: tuple[KernelSpec, ...] = (
    _spec(
        "collapse_weighted",
        "collapse",
        "vol, weights, out=None, accumulate=False",
        "(H, W, C) float32",
    ),
    _spec("interpolate_z", "interpolate", "vol, method, out=None", "(2D-1, H, W, C) float32"),
    _spec(
        "collapse_upscaled",
        "collapse",
        "vol, factor, weights, rows=None, out=None, accumulate=False",
        "(H*f, W*f, C) float32 (or the band's rows)",
    ),
    _spec(
        "upscale_bilinear",
        "upscale",
        "vol, factor, out=None, rows=None",
        "(D, H*f, W*f, C) float32 (or the band's rows)",
    ),
    _spec("diffuse_pass", "diffuse", "vol, rate, out=None", "(D, H, W, C) float32"),
    _spec("diffuse", "diffuse", "vol, iterations, rate, out=None", "(D, H, W, C) float32"),
    _spec("slice_statistics", "stats", "vol", "dict of five float32 (D,) arrays"),
    _spec(
        "decode_latent",
        "decode",
        "key_words, start_draw, latent, depth, height, width, out=None",
        "(D, H, W, 1) float32",
    ),
    _spec("collapse_pixels", "pixels", "pixels, weights, out=None", "(H, W, C) float32 or uint8"),
    _spec(
        "collapse_scaled",
        "pixels",
        "pixels, weights, out=None, accumulate=False",
        "(H, W, C) float32",
    ),
    _spec("quantise", "pixels", "image, dtype=uint8, out=None", "uint8 or uint16, image's shape"),
    _spec("count_nonfinite", "video_frame", "frame", "int"),
    _spec("motion_ema_step", "video_frame", _STEP, "float32 (4,) energies"),
    _spec("motion_slice_step", "video_frame", _STEP, "float64 (4,) means"),
    _spec("ring_store", "video_frame", "frame, slot_a, slot_b, columns=None", "float64 (2,) sums"),
)

#: The device memory protocol. A backend whose kernels also take and return arrays in its own
#: memory (a GPU's) provides every one of these, from its module ``memory`` (see
#: :mod:`stv_kernels.cuda.memory`); a host-only backend provides none of them. ``stv_cli``
#: uses them to keep a volume on the device from load to collapse.
MEMORY: tuple[str, ...] = (
    "is_device_array",
    "device_empty",
    "pinned_empty",
    "to_device",
    "to_host",
    "device_copy",
    "memory_info",
)

#: The kernel families: one module of each name in every backend package.
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(spec.family for spec in KERNELS))


def violations(module: ModuleType) -> list[str]:
    """What ``module`` (a backend package) gets wrong about the contract; empty when nothing.

    Each kernel must be exported under its name, defined in the backend's module of its family,
    and have exactly the contract's parameters (names, order, defaults).
    """
    problems = []
    package = module.__name__
    for spec in KERNELS:
        function = getattr(module, spec.name, None)
        if function is None or not callable(function):
            problems.append(f"{package} does not provide {spec.name}{spec.signature()}")
            continue
        home = getattr(inspect.unwrap(function), "__module__", "")
        if home != f"{package}.{spec.family}":
            problems.append(
                f"{package}.{spec.name} is defined in {home}, not in {package}.{spec.family}"
            )
        params = tuple((p.name, p.default) for p in inspect.signature(function).parameters.values())
        if params != spec.parameters:
            got = ", ".join(p if d is REQUIRED else f"{p}={d!r}" for p, d in params)
            problems.append(f"{package}.{spec.name}({got}) should be {spec.name}{spec.signature()}")
    memory = [name for name in MEMORY if callable(getattr(module, name, None))]
    if memory and len(memory) != len(MEMORY):
        missing = ", ".join(name for name in MEMORY if name not in memory)
        problems.append(f"{package} provides part of the device memory protocol; missing {missing}")
    for name in memory:
        home = getattr(inspect.unwrap(getattr(module, name)), "__module__", "")
        if home != f"{package}.memory":
            problems.append(f"{package}.{name} is defined in {home}, not in {package}.memory")
    if not callable(getattr(module, "availability", None)):
        problems.append(f"{package} has no availability() function")
    return problems
