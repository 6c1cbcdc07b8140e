"""``stv video`` through click's CliRunner: outputs, batches, bad inputs, usage errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from stv_cli.cli.video import video
from stv_cli.io import pattern_clip as video_clips
from stv_cli.io import video_reader as video_io
from stv_cli.io import video_writer
from stv_cli.io.grid import to_uint8

CODEC = video_writer.default_codec()
H, W = 24, 32


def invoke(*args):
    # the codec this PyAV has (libx264, else mpeg4) first, so a test's own --codec wins
    arguments = ["--codec", CODEC, *(str(a) for a in args)]
    return CliRunner().invoke(video, arguments, catch_exceptions=False)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    return video_clips.write_pattern_clip(folder / "walk.mp4", frames=8, height=H, width=W)


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
    other = video_clips.write_pattern_clip(tmp_path / "run.mp4", frames=3, height=H, width=W)
    result = invoke(clip, other, "-o", tmp_path / "one.mp4")
    assert result.exit_code == 2 and "must be a directory" in result.output
    result = invoke(clip, other, "-o", tmp_path, "--telemetry", tmp_path / "t.csv")
    assert result.exit_code == 2 and "{name}" in result.output
    result = invoke(clip, "-o", tmp_path / "x.png")
    assert result.exit_code == 2 and "extension '.png'" in result.output


def test_help_lists_the_outputs_and_options():
    result = CliRunner().invoke(video, ["--help"])
    assert result.exit_code == 0
    for text in (
        "--scene-cut",
        "--super-resolution",
        "--contact-sheet",
        "{name}",
        "--no-calibrate",
    ):
        assert text in result.output


# ------------------------------------------------------------------------ batches


@pytest.fixture(scope="module")
def bad_clips(tmp_path_factory):
    """One clip per way of failing, each named after it."""
    folder = tmp_path_factory.mktemp("bad")
    full = video_clips.write_pattern_clip(folder / "source.mp4", frames=12, height=H, width=W)
    data = full.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) * 6 // 10])
    (folder / "zero.mkv").write_bytes(b"")
    (folder / "garbage.mov").write_bytes(b"this is not a video" * 10)
    avi = video_clips.write_pattern_clip(
        folder / "tmp.avi", frames=3, height=H, width=W, codec="mpeg4"
    ).read_bytes()
    (folder / "unknown_codec.avi").write_bytes(avi.replace(b"FMP4", b"QQQQ"))
    first = video_clips.write_pattern_clip(folder / "a.ts", frames=4, height=H, width=W)
    second = video_clips.write_pattern_clip(folder / "b.ts", frames=3, height=32, width=48)
    (folder / "resized.ts").write_bytes(first.read_bytes() + second.read_bytes())
    return {
        "truncated.mp4": "truncated",
        "zero.mkv": "cannot be read as a video",
        "garbage.mov": "cannot be read as a video",
        "unknown_codec.avi": "unknown codec",
        "resized.ts": "frame 4 has size 48x32x3",
    }, folder


def test_batch_goes_on_past_bad_clips_and_exits_1(clip, bad_clips, tmp_path):
    messages, folder = bad_clips
    out = tmp_path / "out"
    inputs = [folder / name for name in messages] + [clip]
    result = invoke(
        *inputs,
        "-o",
        out,
        "--device",
        "numpy",
        "--telemetry",
        out / "{name}.csv",
        "--contact-sheet",
        out / "{name}_sheet.png",
    )
    assert result.exit_code == 1, result.output
    for name, message in messages.items():
        line = next(x for x in result.stderr.splitlines() if name in x)
        assert "failed" in line and message in line, line
    assert "5 of 6 inputs failed" in result.stderr
    # the good clip's outputs, and nothing else (no partial files of the failed clips)
    assert sorted(p.name for p in out.iterdir()) == ["walk.csv", "walk.mp4", "walk_sheet.png"]
    expected = sorted(str(out / n) for n in ("walk.mp4", "walk.csv", "walk_sheet.png"))
    assert sorted(result.stdout.split()) == expected


def test_each_bad_clip_alone_exits_1_naming_clip_and_frame(bad_clips, tmp_path):
    messages, folder = bad_clips
    for name, message in messages.items():
        result = invoke(folder / name, "-o", tmp_path / "out", "--device", "numpy")
        assert result.exit_code == 1, (name, result.output)
        assert name in result.stderr and message in result.stderr
        assert "frame" in result.stderr  # the frame reached
        assert result.stderr.count(name) == 1  # named once, not once per layer
        assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_json_report_skip_existing_and_overwrite(clip, tmp_path):
    out = tmp_path / "out"
    first = invoke(clip, "-o", out, "--device", "numpy", "--json")
    assert first.exit_code == 0
    report = json.loads(first.stdout)
    assert report["ok"] == 1 and report["results"][0]["outputs"] == [str(out / "walk.mp4")]
    again = invoke(clip, "-o", out, "--device", "numpy")
    assert again.exit_code == 1 and "--overwrite" in again.stderr
    skipped = invoke(clip, "-o", out, "--device", "numpy", "--skip-existing", "--json")
    assert skipped.exit_code == 0 and json.loads(skipped.stdout)["skipped"] == 1
    replaced = invoke(clip, "-o", out, "--device", "numpy", "--overwrite")
    assert replaced.exit_code == 0 and replaced.stdout.strip() == str(out / "walk.mp4")


def test_single_file_output_odd_size_note_and_frame_rate(tmp_path):
    gif = video_clips.write_pattern_clip(
        tmp_path / "odd.gif", frames=5, height=23, width=31, fps=10
    )
    result = invoke(gif, "-o", tmp_path / "projected.mkv", "--device", "numpy", "--depth", "2")
    assert result.exit_code == 0, result.output
    assert "31x23 padded to 32x24" in result.stderr
    info = video_io.probe(tmp_path / "projected.mkv")
    assert (info.width, info.height, info.fps) == (32, 24, 10)
    assert video_io.frame_total(info) == 5


def test_frames_in_folder_and_super_resolution_size(tmp_path):
    from PIL import Image

    folder = tmp_path / "shots"
    folder.mkdir()
    for i in range(4):
        image = to_uint8(video_clips.pattern_frame(i, 12, 16))
        Image.fromarray(image).save(folder / f"{i}.png")
    result = invoke(
        folder,
        "--frames-in",
        "--fps",
        "8",
        "-o",
        tmp_path / "out",
        "--device",
        "numpy",
        "--super-resolution",
        "linear:2",
        "--frames",
        tmp_path / "frames",
    )
    assert result.exit_code == 0, result.output
    info = video_io.probe(tmp_path / "out" / "shots.mp4")
    assert (info.width, info.height, info.fps) == (32, 24, 8)
    assert video_io.frame_total(info) == 4
    assert sorted(p.name for p in (tmp_path / "frames").iterdir())[-1] == "000003.png"
    np.testing.assert_array_equal(
        np.asarray(Image.open(tmp_path / "frames" / "000000.png")).shape, (24, 32, 3)
    )


def test_a_folder_without_frames_in_and_16_bit_jpeg_are_refused(clip, tmp_path):
    folder = tmp_path / "shots"
    folder.mkdir()
    result = invoke(folder, "-o", tmp_path / "out", "--device", "numpy")
    assert result.exit_code == 1 and "--frames-in" in result.stderr
    result = invoke(clip, "-o", tmp_path / "out", "--format", "jpg", "--bit-depth", "16")
    assert result.exit_code == 2 and "16-bit" in result.output


def test_preset_reaches_the_encoder(clip, tmp_path):
    if CODEC != "libx264":
        pytest.skip("presets are libx264's")
    sizes = {}
    for preset in ("ultrafast", "medium"):
        out = tmp_path / preset
        result = invoke(clip, "-o", out, "--device", "numpy", "--preset", preset, "--crf", "18")
        assert result.exit_code == 0, result.output
        sizes[preset] = (out / "walk.mp4").stat().st_size
    # ultrafast turns off CABAC and most of the motion search: the file must differ
    assert sizes["ultrafast"] != sizes["medium"]
    assert invoke(clip, "-o", tmp_path, "--preset", "warp").exit_code == 2


def test_numba_runs_one_thread_unless_threads_is_given(clip, tmp_path, monkeypatch):
    numba = pytest.importorskip("numba")
    from stv_cli.video import clip as video_module

    seen = []
    real = video_module.run_clip

    def spy(*args, **kwargs):
        seen.append(numba.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(video_module, "run_clip", spy)
    before = numba.get_num_threads()
    assert invoke(clip, "-o", tmp_path / "a", "--device", "cpu").exit_code == 0
    assert seen == [1] and numba.get_num_threads() == before  # restored after the command
    if numba.config.NUMBA_NUM_THREADS >= 2:
        assert (
            invoke(clip, "-o", tmp_path / "b", "--device", "cpu", "--threads", "2").exit_code == 0
        )
        assert seen == [1, 2]
