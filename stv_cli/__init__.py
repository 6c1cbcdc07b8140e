"""stv: SpiralTorchVision on the command line.

Z-space volumes from image stacks, clips and latents, refined and collapsed into pictures by
numba kernels. The public names are imported on first use (PEP 562), so ``import stv_cli``
imports neither numba nor the model modules and compiles nothing. ``make_grid``,
``save_image`` and ``load_volume`` follow torchvision's and tifffile's habits, channels last.

>>> import numpy as np, stv_cli
>>> vol = stv_cli.ZSpaceVolume.from_slices([np.zeros((4, 4)), np.ones((4, 4))])
>>> vol.voxels.shape
(2, 4, 4, 1)
"""

from __future__ import annotations

import importlib

from .backend import get_backend, set_backend, use_backend
from .errors import (
    DataLength,
    EmptyInput,
    InputError,
    InvalidDimensions,
    InvalidValue,
    NonFiniteValue,
    ShapeMismatch,
    StvError,
)

__version__ = "0.1.0"

# public name -> module of stv_cli that defines it
_LAZY = {
    "ZSpaceVolume": "model.volume",
    "InterpolationMethod": "model.refine",
    "SpectralWindow": "model.windows",
    "DifferentialResonance": "model.resonance",
    "VisionProjector": "model.projector",
    "TemporalResonanceBuffer": "model.temporal",
    "ZDiffuser": "model.diffuser",
    "ViewDescriptor": "model.multiview",
    "MultiViewFusion": "model.multiview",
    "ZSliceProfile": "model.telemetry",
    "ZSpaceTelemetryReport": "model.telemetry",
    "ChronoSummary": "model.telemetry",
    "ChronoSnapshot": "model.telemetry",
    "AtlasFrame": "model.telemetry",
    "AtlasMetric": "model.telemetry",
    "normalise": "model.floats",
    "ZDecoder": "model.decoder",
    "SpiralRnn": "model.rnn",
    "ResonanceGenerator": "model.generator",
    "VideoStreamProjector": "model.stream",
    "VideoPipeline": "model.video.pipeline",
    "VideoPipelineConfig": "model.video.pipeline",
    "memory_limit": "model.memory",
    "set_memory_limit": "model.memory",
    "make_grid": "io.grid",
    "save_image": "io.grid",
    "load_volume": "io.images",
    "RunContext": "context",
}
__all__ = [
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
    *_LAZY,
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'stv_cli' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
