"""Shared option types: every bad value is exit 2 with the option and its range named."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from stv_cli.cli import options as options_module
from stv_cli.cli.model_options import projection_options, projector_options, refinement_options
from stv_cli.cli.options import grid_options
from stv_cli.cli.param_types import BoundedInt, ByteSize, FiniteFloat


@click.command()
@refinement_options
@projection_options
@grid_options
def probe(**options):
    click.echo(repr(sorted(options.items())))


def _run(*args):
    return CliRunner().invoke(probe, list(args))


@pytest.mark.parametrize(
    ("args", "option", "allowed"),
    [
        (["--focus", "nan"], "--focus", "[0, 1]"),
        (["--focus", "1.5"], "--focus", "[0, 1]"),
        (["--focus", "-0.1"], "--focus", "[0, 1]"),
        (["--diffuse-rate", "inf"], "--diffuse-rate", "[0, 1]"),
        (["--diffuse-rate", "2"], "--diffuse-rate", "[0, 1]"),
        (["--spread", "0"], "--spread", "> 0"),
        (["--spread", "-1"], "--spread", "> 0"),
        (["--sigma", "nan"], "--sigma", "> 0"),
        (["--energy-bias", "nan"], "--energy-bias", "a finite number"),
        (["--upscale", "0"], "--upscale", "[1, 64]"),
        (["--diffuse-iterations", "-1"], "--diffuse-iterations", ">= 0"),
        (["--interpolate-passes", "0"], "--interpolate-passes", "[1, 8]"),
        (["--nrow", "0"], "--nrow", ">= 1"),
        (["--padding", "-2"], "--padding", "[0, 1024]"),
        (["--pad-value", "1.5"], "--pad-value", "[0, 1]"),
        (["--value-range", "1", "0"], "--value-range", "LOW must be smaller than HIGH"),
        (["--value-range", "0", "nan"], "--value-range", "a finite number"),
        (["--resonance", "nosuchfile.json"], "--resonance", "neither 'uniform'"),
        (["--window", "kaiser"], "--window", "hann"),
        (["--interpolate", "spline"], "--interpolate", "cubic"),
    ],
)
def test_bad_values_are_usage_errors_naming_option_and_range(args, option, allowed):
    result = _run(*args)
    assert result.exit_code == 2, result.output
    assert option in result.output
    assert allowed in result.output


def test_defaults_and_good_values_pass():
    result = _run(
        "--focus", "0.25", "--spread", "0.1", "--upscale", "3", "--value-range", "-1", "1"
    )
    assert result.exit_code == 0, result.output
    assert "('focus', 0.25)" in result.output
    assert "('upscale', 3)" in result.output
    assert "('value_range', (-1.0, 1.0))" in result.output
    assert "('interpolate', 'none')" in result.output


def test_finite_float_describes_ranges():
    assert FiniteFloat(0, 1).describe() == "a finite number in [0, 1]"
    assert FiniteFloat(0, low_open=True).describe() == "a finite number > 0"
    assert FiniteFloat(high=1, high_open=True).describe() == "a finite number < 1"
    assert FiniteFloat(0, 1).convert("1", None, None) == 1.0
    with pytest.raises(click.BadParameter, match="not a number"):
        FiniteFloat().convert("abc", None, None)


def test_bounded_int_refuses_floats_and_out_of_range():
    assert BoundedInt(1).convert("7", None, None) == 7
    with pytest.raises(click.BadParameter, match="not an integer"):
        BoundedInt(1).convert("1.5", None, None)
    with pytest.raises(click.BadParameter, match=r"an integer in \[1, 3\]"):
        BoundedInt(1, 3).convert("4", None, None)


@pytest.mark.parametrize(
    ("text", "size"), [("1024", 1024), ("512M", 512 * 2**20), ("4G", 4 * 2**30), ("2GiB", 2**31)]
)
def test_byte_size_parses_binary_units(text, size):
    assert ByteSize().convert(text, None, None) == size


@pytest.mark.parametrize("text", ["0", "-1G", "lots", "nanG"])
def test_byte_size_refuses_nonsense(text):
    with pytest.raises(click.BadParameter, match="not a size"):
        ByteSize().convert(text, None, None)


def _param_names(decorator) -> list[str]:
    @click.command()
    @decorator
    def command(**options):
        pass

    return [param.name for param in command.params]


def test_projector_options_are_the_projectors_alone():
    assert _param_names(projector_options) == ["window", "sigma", "focus", "spread", "energy_bias"]


def test_projection_options_are_projector_options_plus_resonance_and_views():
    assert _param_names(projection_options) == [
        "window",
        "sigma",
        "focus",
        "spread",
        "energy_bias",
        "resonance",
        "hidden_dim",
        "views",
    ]


def test_output_choices_match_the_writers():
    from stv_cli.cli import options
    from stv_cli.io.tiff_write import TIFF_COMPRESSIONS
    from stv_cli.io.volume_write import VOLUME_FORMATS

    assert options.TIFF_COMPRESSIONS == TIFF_COMPRESSIONS
    assert options.VOLUME_FORMATS == VOLUME_FORMATS


@click.command()
@options_module.bit_depth_option()
@options_module.compression_option()
@options_module.volume_format_option()
def outputs(**options):
    click.echo(repr(sorted(options.items())))


def test_output_option_defaults_and_choices():
    result = CliRunner().invoke(outputs, [])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == repr(
        [("bit_depth", "8"), ("compression", None), ("volume_format", "npy")]
    )
    result = CliRunner().invoke(outputs, ["--bit-depth", "32", "--compression", "ZSTD"])
    assert "('bit_depth', '32')" in result.output and "('compression', 'zstd')" in result.output
    for args, option in (
        (["--bit-depth", "12"], "--bit-depth"),
        (["--compression", "jpeg"], "--compression"),
        (["--volume-format", "h5"], "--volume-format"),
    ):
        result = CliRunner().invoke(outputs, args)
        assert result.exit_code == 2 and option in result.output
