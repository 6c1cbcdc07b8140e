"""Atomic outputs: nothing half-written, nothing left behind, nothing overwritten unasked."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from stv_cli.errors import StvError
from stv_cli.io.atomic import (
    OutputExists,
    atomic_directory,
    atomic_output,
    save_json,
    save_npy,
)


def test_success_moves_the_temporary_file_into_place(tmp_path):
    target = tmp_path / "deep" / "er" / "out.png"
    with atomic_output(target) as tmp:
        assert tmp.parent == target.parent
        assert tmp.name.startswith(".out.tmp-") and tmp.suffix == ".png"
        tmp.write_bytes(b"data")
        assert not target.exists()
    assert target.read_bytes() == b"data"
    assert os.listdir(target.parent) == ["out.png"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # as open() would, not mkstemp's 0600


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_an_exception_leaves_nothing_behind(tmp_path, error):
    target = tmp_path / "out.npy"
    with pytest.raises(error), atomic_output(target) as tmp:
        tmp.write_bytes(b"half")
        raise error()
    assert list(tmp_path.iterdir()) == []


def test_an_existing_target_is_refused_before_the_block_runs(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    ran = []
    with pytest.raises(OutputExists, match="overwrite"), atomic_output(target):
        ran.append(True)
    assert ran == [] and target.read_text() == "old"
    assert isinstance(OutputExists("x"), StvError) and isinstance(OutputExists("x"), OSError)
    with atomic_output(target, overwrite=True, fsync=True) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_target_that_appears_meanwhile_is_not_clobbered(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(OutputExists, match="appeared"), atomic_output(target) as tmp:
        tmp.write_text("mine")
        target.write_text("theirs")
    assert target.read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_directory_is_never_a_target(tmp_path):
    with pytest.raises(OutputExists, match="directory"), atomic_output(tmp_path, overwrite=True):
        pass


def test_save_npy_round_trip_and_refuses_objects(tmp_path):
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    path = save_npy(tmp_path / "a.npy", arr)
    np.testing.assert_array_equal(np.load(path, allow_pickle=False), arr)
    odd = save_npy(tmp_path / "latents.bin", arr)  # no ".npy" appended
    assert odd.name == "latents.bin" and np.load(odd).shape == (3, 4)
    with pytest.raises(ValueError):
        save_npy(tmp_path / "b.npy", np.array([{"a": 1}], dtype=object))
    assert not (tmp_path / "b.npy").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "latents.bin"]
    with pytest.raises(OutputExists):
        save_npy(path, arr)


def test_save_json_converts_numpy_and_non_finite(tmp_path):
    data = {
        "weights": np.array([0.25, 0.75], np.float32),
        "depth": np.int64(3),
        "nan": float("nan"),
        "inf": np.float32(np.inf),
        "ok": np.bool_(True),
        "path": tmp_path / "x",
    }
    path = save_json(tmp_path / "r.json", data)
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert loaded == {
        "weights": [0.25, 0.75],
        "depth": 3,
        "nan": None,
        "inf": None,
        "ok": True,
        "path": str(tmp_path / "x"),
    }


def _fill(folder, text):
    (folder / "sub").mkdir()
    (folder / "sub" / "data.txt").write_text(text)
    (folder / "meta.json").write_text("{}")


def test_directory_success_moves_the_temporary_folder_into_place(tmp_path):
    target = tmp_path / "deep" / "vol.zarr"
    with atomic_directory(target) as tmp:
        assert tmp.is_dir() and tmp.parent == target.parent and list(tmp.iterdir()) == []
        assert tmp.name.startswith(".vol.tmp-") and tmp.suffix == ".zarr"
        _fill(tmp, "new")
        assert not target.exists()
    assert (target / "sub" / "data.txt").read_text() == "new"
    assert os.listdir(target.parent) == ["vol.zarr"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o777 & ~umask  # as mkdir would, not mkdtemp's


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_a_failed_directory_leaves_nothing_behind(tmp_path, error):
    with pytest.raises(error), atomic_directory(tmp_path / "vol.zarr") as tmp:
        _fill(tmp, "half")
        raise error()
    assert list(tmp_path.iterdir()) == []


def test_an_existing_directory_is_refused_then_replaced_when_asked(tmp_path):
    target = tmp_path / "vol.zarr"
    target.mkdir()
    _fill(target, "old")
    ran = []
    with pytest.raises(OutputExists, match="overwrite"), atomic_directory(target):
        ran.append(True)
    assert ran == [] and (target / "sub" / "data.txt").read_text() == "old"
    with atomic_directory(target, overwrite=True) as tmp:
        (tmp / "only.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["only.txt"]  # nothing old mixed in
    assert [p.name for p in tmp_path.iterdir()] == ["vol.zarr"]  # the old copy is gone


def test_a_failed_replacement_keeps_the_old_directory(tmp_path):
    target = tmp_path / "vol.zarr"
    target.mkdir()
    _fill(target, "old")
    with pytest.raises(RuntimeError), atomic_directory(target, overwrite=True) as tmp:
        _fill(tmp, "new")
        raise RuntimeError
    assert (target / "sub" / "data.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["vol.zarr"]


def test_a_directory_that_appears_meanwhile_is_not_clobbered(tmp_path):
    target = tmp_path / "vol.zarr"
    with pytest.raises(OutputExists, match="appeared"), atomic_directory(target) as tmp:
        _fill(tmp, "mine")
        target.mkdir()
        (target / "theirs.txt").write_text("theirs")
    assert [p.name for p in target.iterdir()] == ["theirs.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["vol.zarr"]


def test_a_file_is_never_a_directory_target(tmp_path):
    target = tmp_path / "vol.zarr"
    target.write_text("a file")
    with pytest.raises(OutputExists, match="is a file"), atomic_directory(target, overwrite=True):
        pass
    assert target.read_text() == "a file"


def test_a_temporary_file_of_a_dead_writer_is_removed_by_the_next_write(tmp_path):
    import subprocess
    import sys

    from stv_cli.io import atomic

    host = atomic._WRITER.split("~")[0]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    orphan = tmp_path / f".pic.tmp-{host}~{dead}-abcd.png"
    orphan.write_bytes(b"half")
    alive = tmp_path / f".pic.tmp-{host}~{os.getpid()}-efgh.png"  # a live writer's: kept
    alive.write_bytes(b"busy")
    with atomic.atomic_output(tmp_path / "pic.png") as tmp:
        tmp.write_bytes(b"done")
    assert not orphan.exists() and alive.exists()
    assert (tmp_path / "pic.png").read_bytes() == b"done"


def test_a_zombie_writer_counts_as_gone():
    import subprocess
    import sys
    import time

    from stv_cli.io import atomic

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.time() + 10
    while time.time() < deadline:  # exited, not yet reaped: a zombie
        with open(f"/proc/{child.pid}/stat") as handle:
            if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)
    assert not atomic._alive(child.pid)
    assert atomic._alive(os.getpid())
    child.wait()
