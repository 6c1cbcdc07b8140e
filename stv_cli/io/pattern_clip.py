"""A synthetic test clip: a moving pattern with an optional scene cut (tests, bench, README)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .grid import to_uint8
from .video_writer import VideoWriter, default_codec


def pattern_frame(index: int, height: int, width: int, *, scene: int = 0) -> np.ndarray:
    """A moving test pattern (float32 (H, W, 3) in [0, 1]); ``scene`` changes its look.

    Diagonal stripes drifting one pixel per frame and a bright bar sweeping down; an odd
    ``scene`` mirrors the stripes and recolours them (a scene cut). Used by the tests, the
    benchmark and the README demo.
    """
    y = np.arange(height, dtype=np.float32)[:, None]
    x = np.arange(width, dtype=np.float32)[None, :]
    slope = np.float32(-0.1 if scene % 2 else 0.1)
    base = 0.5 + 0.5 * np.sin((x - index) * np.float32(0.2) + y * slope)
    bar = (np.abs(y - (index * 2) % height) < max(1, height // 12)).astype(np.float32)
    bar = np.broadcast_to(bar, base.shape)
    channels = [base, 0.6 * base + 0.4 * bar, bar]
    if scene % 2:
        channels = [0.3 * base + 0.7 * bar, base, 1.0 - base]
    rgb = np.stack(channels, axis=-1)
    return np.ascontiguousarray(np.clip(rgb, 0.0, 1.0), dtype=np.float32)


def write_pattern_clip(
    path: str | Path,
    *,
    frames: int,
    height: int,
    width: int,
    fps: float = 30.0,
    codec: str | None = None,
    scene_cut_at: int | None = None,
) -> Path:
    """Write ``frames`` frames of ``pattern_frame`` to a clip (synchronously, for fixtures).

    ``scene_cut_at`` switches to a different-looking scene from that frame on. Odd sizes are
    padded to even by the encoder's yuv420p rule; GIF files are written with Pillow.
    """
    path = Path(path)
    images = (
        pattern_frame(i, height, width, scene=int(scene_cut_at is not None and i >= scene_cut_at))
        for i in range(frames)
    )
    if path.suffix.lower() == ".gif":
        from PIL import Image

        pictures = [Image.fromarray(to_uint8(img)) for img in images]
        pictures[0].save(
            path, save_all=True, append_images=pictures[1:], duration=int(1000 / fps), loop=0
        )
        return path
    writer = VideoWriter(path, fps=fps, codec=codec or default_codec())
    try:
        for img in images:
            writer.write(img)
    except BaseException:
        writer.abort()
        raise
    writer.close()
    return path
