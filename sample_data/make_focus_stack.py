"""Regenerate stv's sample data: a simulated focus stack and small latent/resonance/view files.

The stack is *simulated*: one sharp photograph (``source/coffee_256.png``) is given a smooth
depth map (the table recedes towards the top of the picture, the cup and saucer stand in front
of it), and slice k is what a camera focused at depth k/(D-1) would see: every pixel is blurred
by a Gaussian whose sigma grows linearly with the distance between its depth and the focal
plane. Only numpy and Pillow are used; the output is deterministic.

Usage (from the repository root)::

    python sample_data/make_focus_stack.py                  # rewrite everything from source/
    python sample_data/make_focus_stack.py --original PATH  # first re-crop source/ from the
                                                            # original skimage/data/coffee.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "source" / "coffee_256.png"
DEPTH = 10  # slices z1.png .. z10.png (unpadded, so only a natural sort orders them right)
SIZE = 256
MAX_SIGMA = 4.0  # blur (pixels) of a point one full depth range away from the focal plane


def prepare_source(original: Path) -> None:
    """Crop the centre square of the 600x400 original around the cup and resize to 256x256."""
    photo = Image.open(original).convert("RGB")
    width, height = photo.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    square = photo.crop((left, top, left + side, top + side))
    SOURCE.parent.mkdir(parents=True, exist_ok=True)
    square.resize((SIZE, SIZE), Image.Resampling.LANCZOS).save(SOURCE, optimize=True)


def depth_map(height: int, width: int) -> np.ndarray:
    """Smooth depth in [0, 1]: 0 nearest the camera (bottom), 1 farthest (top)."""
    y, x = np.mgrid[0:height, 0:width] / np.array([height - 1, width - 1])[:, None, None]
    table = 0.85 * (1.0 - y) + 0.15 * x  # a tilted plane receding towards the top-right
    # The cup and saucer stand up from the table: pull an elliptical region towards the
    # camera, with a soft edge so that the depth stays smooth.
    r2 = ((x - 0.5) / 0.42) ** 2 + ((y - 0.48) / 0.40) ** 2
    cup = np.exp(-(r2**2) * 2.0)
    depth = (1.0 - cup) * table + cup * 0.35
    return (depth - depth.min()) / (depth.max() - depth.min())


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of an (H, W, C) float image, edges reflected."""
    if sigma <= 0:
        return image.copy()
    radius = int(np.ceil(3.0 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    out = image
    for axis in (0, 1):
        pad = [(0, 0)] * image.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="reflect")
        acc = np.zeros_like(image)
        for k, tap in enumerate(taps):
            acc += tap * np.take(padded, np.arange(k, k + image.shape[axis]), axis=axis)
        out = acc
    return out


def focus_stack(image: np.ndarray, depth: np.ndarray, slices: int) -> list[np.ndarray]:
    """Slices focused at depths 0, 1/(slices-1), ..., 1.

    Depth is split into ``slices`` bands centred on the focal planes, blended with hat
    weights (they sum to 1 at every pixel). Band b seen from focal plane k is blurred with
    sigma = MAX_SIGMA * |b - k| / (slices - 1), so only ``slices`` distinct blurs are needed.
    """
    position = depth * (slices - 1)
    bands = np.arange(slices)[:, None, None]
    weights = np.clip(1.0 - np.abs(position[None] - bands), 0.0, 1.0)[..., None]
    blurred = [gaussian_blur(image, MAX_SIGMA * j / (slices - 1)) for j in range(slices)]
    stack = []
    for k in range(slices):
        picture = sum(weights[b] * blurred[abs(b - k)] for b in range(slices))
        stack.append(np.clip(picture, 0.0, 1.0))
    return stack


def write_stack(stack: list[np.ndarray], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("z*.png"):
        old.unlink()
    for k, picture in enumerate(stack, start=1):
        pixels = np.floor(picture * 255.0 + 0.5).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"z{k}.png", optimize=True)


def write_numbers(slices: int) -> None:
    """latents.npy/.csv (4 x 16), resonance.json and views.toml/.json (one view per slice)."""
    rng = np.random.default_rng(20240607)
    latents = rng.normal(0.0, 1.0, (4, 16)).astype(np.float32)
    np.save(HERE / "latents.npy", latents, allow_pickle=False)
    rows = [",".join(f"{v:.9g}" for v in row) for row in latents]
    header = "# 4 latents of 16 features, one per line (same values as latents.npy)\n"
    (HERE / "latents.csv").write_text(header + "\n".join(rows) + "\n", encoding="utf-8")

    z = np.arange(slices) / (slices - 1)
    resonance = {
        "infinity_energy": np.round(0.2 + np.exp(-(((z - 0.35) / 0.2) ** 2)), 4).tolist(),
        "recursive_objective": np.round(np.linspace(-0.5, 0.5, slices), 4).tolist(),
        "homotopy_flow": [0.0, 0.25],
    }
    (HERE / "resonance.json").write_text(json.dumps(resonance, indent=2) + "\n", "utf-8")

    # Views on an arc from -40 to +40 degrees about the y axis, each looking at the origin.
    angles = np.radians(np.linspace(-40.0, 40.0, slices))
    views = []
    for k, a in enumerate(angles, start=1):
        origin = [round(-3.0 * np.sin(a), 4), 0.0, round(-3.0 * np.cos(a), 4)]
        forward = [round(np.sin(a), 4), 0.0, round(np.cos(a), 4)]
        views.append({"id": f"z{k}", "origin": origin, "forward": forward})
    views[0]["baseline_weight"] = views[-1]["baseline_weight"] = 0.5
    fusion = {"focus_direction": [0.0, 0.0, 1.0], "alignment_gamma": 2.0, "views": views}
    (HERE / "views.json").write_text(json.dumps(fusion, indent=2) + "\n", "utf-8")
    lines = [
        f"# {slices} views (one per slice of focus_stack/), on an arc about the y axis.",
        "focus_direction = [0.0, 0.0, 1.0]",
        "alignment_gamma = 2.0",
    ]
    for view in views:
        lines += ["", "[[views]]", f'id = "{view["id"]}"']
        lines += [f"{key} = {json.dumps(view[key])}" for key in ("origin", "forward")]
        if "baseline_weight" in view:
            lines.append(f"baseline_weight = {view['baseline_weight']}")
    (HERE / "views.toml").write_text("\n".join(lines) + "\n", "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--original", type=Path, help="skimage/data/coffee.png to re-crop")
    args = parser.parse_args()
    if args.original is not None:
        prepare_source(args.original)
    image = np.asarray(Image.open(SOURCE).convert("RGB"), dtype=np.float64) / 255.0
    stack = focus_stack(image, depth_map(*image.shape[:2]), DEPTH)
    write_stack(stack, HERE / "focus_stack")
    write_numbers(DEPTH)


if __name__ == "__main__":
    main()
