"""Tests for stv_cli.model.memory: the guard every volume-sized allocation asks first."""

from __future__ import annotations

import pytest

from stv_cli.errors import InvalidDimensions, InvalidValue
from stv_cli.model import memory


@pytest.fixture
def limit_reset():
    yield
    memory.set_memory_limit(None)


def test_estimate_is_four_bytes_per_value_without_overflow():
    assert memory.estimate_volume_bytes(2, 3, 4, 3) == 2 * 3 * 4 * 3 * 4
    assert memory.estimate_volume_bytes(2, 3, 4) == 96
    assert memory.estimate_volume_bytes(100_000, 100_000, 100_000) == 4 * 10**15


@pytest.mark.parametrize("bad", [0, -5, 1.5, "1GB", True])
def test_bad_limits_are_rejected_naming_the_value(bad, limit_reset):
    with pytest.raises(InvalidValue, match="memory limit must be a positive integer of bytes"):
        memory.set_memory_limit(bad)


def test_default_limit_is_80_percent_of_physical_memory(limit_reset):
    physical = memory.physical_memory_bytes()
    if physical is None:
        assert memory.memory_limit() is None
    else:
        assert memory.memory_limit() == int(physical * 0.8)


def test_check_memory_names_what_the_estimate_and_the_limit(limit_reset):
    memory.set_memory_limit(1000)
    memory.check_memory(1000, "an output")  # at the limit is allowed
    with pytest.raises(
        InvalidDimensions,
        match=r"an output needs an estimated 1001 B \(1001 bytes\).*limit of 1000 B \(1000 bytes\)",
    ):
        memory.check_memory(1001, "an output")


def test_sizes_in_human_units_one_formatter():
    from stv_cli.model.memory import describe_bytes, format_bytes

    assert format_bytes(512) == "512 B"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(3 * 2**30) == "3.0 GiB"
    assert format_bytes(5 * 2**40) == "5.0 TiB"
    assert describe_bytes(1536) == "1.5 KiB (1536 bytes)"
