"""stv: SpiralTorchVision on the command line.

Z-space volumes from image stacks, clips and latents, refined and collapsed into pictures by
numba kernels. The model classes are imported on first use (PEP 562), so ``import stv_cli``
imports neither numba nor the model modules and compiles nothing.

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
    "ZSpaceVolume": "volume",
    "InterpolationMethod": "volume",
    "SpectralWindow": "windows",
    "DifferentialResonance": "resonance",
    "VisionProjector": "projector",
    "TemporalResonanceBuffer": "temporal",
    "ZDiffuser": "diffuser",
    "ViewDescriptor": "multiview",
    "MultiViewFusion": "multiview",
    "ZSliceProfile": "telemetry",
    "ZSpaceTelemetryReport": "telemetry",
    "ChronoSummary": "telemetry",
    "ChronoSnapshot": "telemetry",
    "AtlasFrame": "telemetry",
    "AtlasMetric": "telemetry",
    "normalise": "weights",
    "ZDecoder": "decoder",
    "SpiralRnn": "rnn",
    "ResonanceGenerator": "generator",
    "VideoStreamProjector": "stream",
    "VideoPipeline": "video_pipeline",
    "VideoPipelineConfig": "video_pipeline",
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
