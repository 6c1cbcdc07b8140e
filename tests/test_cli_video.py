"""``stv video`` through click's CliRunner: outputs, batches, bad inputs, usage errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from stv_cli import video_io
from stv_cli.cli_video import video

CODEC = video_io.default_codec()
H, W = 24, 32


def invoke(*args):
    return CliRunner().invoke(video, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    return video_io.write_pattern_clip(folder / "walk.mp4", frames=8, height=H, width=W)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--super-resolution", "spline:2"], "METHOD:FACTOR"),
        (["--super-resolution", "cubic:0"], "FACTOR must be >= 1"),
        (["--telemetry", "t.txt"], ".csv or .json"),
        (["--codec", "no-such-codec"], "'no-such-codec'"),
        (["--temporal-alpha", "1.5"], "[0, 1]"),
        (["--temporal-alpha", "nan"], "[0, 1]"),
        (["--scene-cut", "-1"], ">= 0"),
        (["--depth", "0"], "--depth"),
        (["--contact-sheet", "sheet.mp4"], "image extension"),
        (["--overwrite", "--skip-existing"], "exclude each other"),
    ],
)
def test_usage_errors_exit_2_and_name_the_option(clip, tmp_path, args, message):
    result = invoke(clip, "-o", tmp_path / "out", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_several_clips_need_a_directory_and_name_templates(clip, tmp_path):
    other = video_io.write_pattern_clip(tmp_path / "run.mp4", frames=3, height=H, width=W)
    result = invoke(clip, other, "-o", tmp_path / "one.mp4")
    assert result.exit_code == 2 and "must be a directory" in result.output
    result = invoke(clip, other, "-o", tmp_path, "--telemetry", tmp_path / "t.csv")
    assert result.exit_code == 2 and "{name}" in result.output
    result = invoke(clip, "-o", tmp_path / "x.png")
    assert result.exit_code == 2 and "extension '.png'" in result.output


def test_help_lists_the_outputs_and_options():
    result = invoke("--help")
    assert result.exit_code == 0
    for text in (
        "--scene-cut",
        "--super-resolution",
        "--contact-sheet",
        "{name}",
        "--no-calibrate",
    ):
        assert text in result.output


_ = (json, np)
