"""One clip's outputs: naming, the contact sheet, frames folders and telemetry rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stv_cli.errors import InvalidValue
from stv_cli.video import outputs as video_outputs
from stv_cli.video.outputs import plan_outputs
from stv_cli.video.settings import VideoOutputSettings
from stv_cli.video.sinks import ContactSheet, RowWriter


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


# ------------------------------------------------------------- whole clips vs the library


def test_atomic_folder_publishes_on_success_and_leaves_nothing_on_error(tmp_path):
    from stv_cli.io.atomic import OutputExists

    target = tmp_path / "frames"
    with video_outputs.atomic_folder(target) as temp:
        assert temp.parent == tmp_path and temp.name.startswith(".frames.tmp-")
        (temp / "000000.png").write_bytes(b"x")
    assert [p.name for p in target.iterdir()] == ["000000.png"]
    with pytest.raises(RuntimeError), video_outputs.atomic_folder(tmp_path / "other") as temp:
        (temp / "000000.png").write_bytes(b"x")
        raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]
    with pytest.raises(OutputExists, match="exists"), video_outputs.atomic_folder(target):
        pass
    with video_outputs.atomic_folder(target, overwrite=True) as temp:
        (temp / "000001.png").write_bytes(b"y")
    assert [p.name for p in target.iterdir()] == ["000001.png"]
    (target / "thesis.tex").write_text("precious")
    with pytest.raises(OutputExists, match="not a folder of frame files"):
        with video_outputs.atomic_folder(target, overwrite=True):
            pass
    assert (target / "thesis.tex").exists()


def test_row_writer_csv_and_json_stream_rows_with_nan_as_null(tmp_path):
    import csv
    import json

    rows = [{"frame": 0, "value": 0.5}, {"frame": 1, "value": float("nan")}]
    writer = RowWriter(tmp_path / "t.json", "json", {"clip": "a.mp4"})
    for row in rows:
        writer.write(row)
    writer.close({"resets": [1]})
    data = json.loads((tmp_path / "t.json").read_text())
    assert data == {
        "clip": "a.mp4",
        "frames": [rows[0], {"frame": 1, "value": None}],
        "resets": [1],
    }
    writer = RowWriter(tmp_path / "t.csv", "csv")
    for row in rows:
        writer.write(row)
    writer.close()
    with open(tmp_path / "t.csv", newline="") as handle:
        read = list(csv.DictReader(handle))
    assert read[0] == {"frame": "0", "value": "0.5"} and read[1]["value"] == "nan"
    with pytest.raises(InvalidValue, match="csv or .json"):
        RowWriter(tmp_path / "t.txt", "txt")


def test_row_writer_csv_uses_unix_line_ends(tmp_path):
    writer = RowWriter(tmp_path / "t.csv", "csv")
    writer.write({"frame": 0})
    writer.close()
    assert (tmp_path / "t.csv").read_bytes() == b"frame\n0\n"
