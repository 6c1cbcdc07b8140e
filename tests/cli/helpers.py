"""Helpers of the CLI tests: seeded stacks, a CliRunner call, and the library's picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner
from PIL import Image

from stv_cli.cli.main import main

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "focus_stack"


def make_stack(folder: Path, depth=4, height=6, width=8, channels=1, seed=0) -> Path:
    """A folder of 8-bit slices z01.png, z02.png, ... with seeded random pixels."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for z in range(depth):
        shape = (height, width) if channels == 1 else (height, width, channels)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(
            folder / f"z{z + 1:02d}.png"
        )
    return folder


def run(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def read_png(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img)


def library_projection(stack: Path, focus=0.5, spread=0.35, window="hann") -> np.ndarray:
    """What the library gives for ``stack``, quantised as save_image does."""
    from stv_cli.io.grid import to_uint8
    from stv_cli.io.images import load_volume
    from stv_cli.model.projector import VisionProjector
    from stv_cli.model.resonance import DifferentialResonance
    from stv_cli.model.volume import ZSpaceVolume
    from stv_cli.model.windows import SpectralWindow

    volume = ZSpaceVolume(load_volume(stack))
    projector = VisionProjector(focus, spread, 0.0).with_spectral_window(
        getattr(SpectralWindow, window)()
    )
    return to_uint8(projector.project(volume, DifferentialResonance.uniform()))
