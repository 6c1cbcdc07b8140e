"""``stv decode`` end to end, through click's CliRunner on files in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.cli.helpers import read_png, run


def library_decode(latents: np.ndarray, depth, height, width, seed) -> list[np.ndarray]:
    from stv_cli.io.grid import to_uint8
    from stv_cli.model.decoder import ZDecoder
    from stv_cli.model.projector import VisionProjector
    from stv_cli.model.resonance import DifferentialResonance

    decoder = ZDecoder(depth, height, width, seed)
    projector = VisionProjector(0.5, 0.35, 0.0)
    images = []
    for latent in latents:
        image = projector.project(decoder.decode(latent), DifferentialResonance.uniform())
        images.append(to_uint8((image + np.float32(1)) / np.float32(2)))
    return images


def test_decode_matches_the_library(tmp_path):
    latents = np.random.default_rng(3).standard_normal((3, 5)).astype(np.float32)
    np.save(tmp_path / "lat.npy", latents)
    out = tmp_path / "out"
    args = ["--depth", "4", "--height", "6", "--width", "7", "--seed", "11"]
    result = run("decode", tmp_path / "lat.npy", "-o", out, *args, "--grid", "--weights")
    assert result.exit_code == 0, result.output
    expected = library_decode(latents, 4, 6, 7, 11)
    for i, image in enumerate(expected):
        np.testing.assert_array_equal(read_png(out / f"lat_{i:03d}.png"), image[..., 0])
    assert read_png(out / "lat_grid.png").shape == (10, 3 * 9 + 2, 3)
    weights = json.loads((out / "lat_weights.json").read_text())["weights"]
    assert len(weights) == 3 and len(weights[0]) == 4


def test_decode_single_latent_to_file_and_value_range(tmp_path):
    latents = np.random.default_rng(4).standard_normal((1, 3)).astype(np.float32)
    np.save(tmp_path / "one.npy", latents)
    args = ["--depth", "2", "--height", "4", "--width", "4", "--value-range", "-0.5", "0.5"]
    result = run("decode", tmp_path / "one.npy", "-o", tmp_path / "one.png", *args)
    assert result.exit_code == 0, result.output
    from stv_cli.io.grid import to_uint8
    from stv_cli.model.decoder import ZDecoder
    from stv_cli.model.projector import VisionProjector
    from stv_cli.model.resonance import DifferentialResonance

    volume = ZDecoder(2, 4, 4, 0).decode(latents[0])
    image = VisionProjector().project(volume, DifferentialResonance.uniform())
    np.testing.assert_array_equal(
        read_png(tmp_path / "one.png"), to_uint8(image + np.float32(0.5))[..., 0]
    )


def test_decode_bad_latent_file_fails_that_input(tmp_path):
    np.save(tmp_path / "good.npy", np.ones((1, 3), np.float32))
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    result = run("decode", tmp_path / "bad.npy", tmp_path / "good.npy", "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert "failed:" in result.stderr and "bad.npy" in result.stderr
    assert (tmp_path / "out" / "good_000.png").is_file()


def test_decode_skip_existing_and_json(tmp_path):
    np.save(tmp_path / "lat.npy", np.ones((2, 3), np.float32))
    args = ["--depth", "2", "--height", "3", "--width", "3", "--json"]
    first = run("decode", tmp_path / "lat.npy", "-o", tmp_path / "out", *args)
    assert first.exit_code == 0, first.output
    outputs = json.loads(first.stdout)["results"][0]["outputs"]
    assert [Path(p).name for p in outputs] == ["lat_000.png", "lat_001.png"]
    again = run("decode", tmp_path / "lat.npy", "-o", tmp_path / "out", *args, "--skip-existing")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["results"][0]["status"] == "skipped"


def test_decode_over_the_memory_limit_names_its_size_options(tmp_path):
    np.save(tmp_path / "l.npy", np.zeros((1, 4), np.float32))
    result = run(
        "decode",
        tmp_path / "l.npy",
        "-o",
        tmp_path / "o",
        "--memory-limit",
        "1M",
        "--depth",
        "64",
        "--height",
        "64",
        "--width",
        "128",
    )
    assert result.exit_code == 1
    assert "smaller --depth, --height, --width" in result.stderr
    assert not (tmp_path / "o").exists()
