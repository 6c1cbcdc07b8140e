"""The per-clip driver: ring, contact sheet, naming, and whole clips against the library."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stv_cli import video_io
from stv_cli.errors import InvalidValue
from stv_cli.video import (
    ContactSheet,
    FrameRing,
    VideoOutputSettings,
    parse_super_resolution,
    plan_outputs,
)

CODEC = video_io.default_codec()
H, W = 24, 32


# ---------------------------------------------------------------------- small pieces


def test_frame_ring_holds_the_last_depth_frames_oldest_first_and_clears():
    ring = FrameRing(3, (2, 2, 1))
    windows = [ring.push(np.full((2, 2, 1), t, np.float32))[:, 0, 0, 0].tolist() for t in range(6)]
    assert windows == [[0], [0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]]
    ring.clear()
    assert ring.push(np.full((2, 2, 1), 6, np.float32))[:, 0, 0, 0].tolist() == [6]
    window = ring.push(np.full((2, 2, 1), 7, np.float32))
    assert window[:, 0, 0, 0].tolist() == [6, 7] and window.flags.c_contiguous


def test_contact_sheet_step_from_total_and_doubling_when_unbounded():
    sheet = ContactSheet(None, total=100, max_cells=10)
    assert sheet.every == 10
    for i in range(100):
        sheet.offer(i, np.full((1, 1, 1), i, np.float32))
    assert [int(c[0, 0, 0]) for c in sheet.cells] == list(range(0, 100, 10))
    sheet = ContactSheet(1, total=None, max_cells=4)
    for i in range(9):
        sheet.offer(i, np.full((1, 1, 1), i, np.float32))
    assert len(sheet.cells) <= 4
    assert [int(c[0, 0, 0]) for c in sheet.cells] == list(range(0, 9, sheet.every))


def test_parse_super_resolution():
    assert parse_super_resolution("cubic:2") == ("cubic", 2)
    assert parse_super_resolution("Linear:1") == ("linear", 1)
    assert parse_super_resolution(None) is None
    for bad in ("cubic", "spline:2", "cubic:0", "cubic:-1", "cubic:x"):
        with pytest.raises(InvalidValue, match="super_resolution"):
            parse_super_resolution(bad)


def test_output_naming(tmp_path):
    out = VideoOutputSettings(
        out=tmp_path,
        frames=str(tmp_path / "{name}_frames"),
        contact_sheet=str(tmp_path / "{name}_sheet.png"),
        telemetry=str(tmp_path / "t.csv"),
    )
    paths = plan_outputs(Path("clips/walk.mkv"), out)
    assert paths == {
        "video": tmp_path / "walk.mp4",
        "frames": tmp_path / "walk_frames",
        "contact_sheet": tmp_path / "walk_sheet.png",
        "telemetry": tmp_path / "t.csv",
    }
    webm = VideoOutputSettings(out=tmp_path, codec="libvpx-vp9")
    assert plan_outputs(Path("a.mp4"), webm)["video"] == tmp_path / "a.webm"
    single = VideoOutputSettings(out=tmp_path / "x.mov", to_directory=False)
    assert plan_outputs(Path("a.mp4"), single)["video"] == tmp_path / "x.mov"
