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


def test_the_cgroup_limit_is_read_from_v1_and_v2_trees(tmp_path):
    from stv_cli.model.memory import cgroup_memory_bytes

    proc = tmp_path / "cgroup"
    proc.write_text("0::/job/step\n")
    v2 = tmp_path / "v2"
    (v2 / "job" / "step").mkdir(parents=True)
    (v2 / "job" / "step" / "memory.max").write_text("2147483648\n")
    assert cgroup_memory_bytes(str(v2), str(proc)) == 2**31
    (v2 / "job" / "step" / "memory.max").write_text("max\n")
    assert cgroup_memory_bytes(str(v2), str(proc)) is None
    proc.write_text("4:memory:/slurm/job_7\n1:cpu:/\n")
    v1 = tmp_path / "v1"
    (v1 / "memory").mkdir(parents=True)  # a container sees its own group at the root
    (v1 / "memory" / "memory.limit_in_bytes").write_text("1073741824\n")
    assert cgroup_memory_bytes(str(v1), str(proc)) == 2**30
    (v1 / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    assert cgroup_memory_bytes(str(v1), str(proc)) is None
    assert cgroup_memory_bytes(str(tmp_path / "none"), str(tmp_path / "missing")) is None


def test_the_default_limit_is_the_smaller_of_ram_and_the_cgroup(monkeypatch):
    from stv_cli.model import memory

    monkeypatch.setattr(memory, "physical_memory_bytes", lambda: 10 * 2**30)
    monkeypatch.setattr(memory, "cgroup_memory_bytes", lambda: None)
    assert memory.default_memory_limit() == 8 * 2**30
    monkeypatch.setattr(memory, "cgroup_memory_bytes", lambda: 3 * 2**30)
    assert memory.default_memory_limit() == 3 * 2**30
    assert memory.memory_limit() == 3 * 2**30
