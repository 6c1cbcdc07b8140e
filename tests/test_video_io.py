"""Video reading and writing: counts, frame rates, grey, padding, bad inputs, bounded queues."""

from __future__ import annotations

import threading
from fractions import Fraction

import numpy as np
import pytest

from stv_cli import video_clips, video_io, video_outputs, video_writer
from stv_cli.errors import InputError, InvalidValue
from stv_cli.grid import to_uint8

CODEC = video_writer.default_codec()


def _read_all(path):
    with video_io.VideoReader(path) as reader:
        return list(reader)


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv", ".avi", ".gif"])
def test_containers_round_trip_count_fps_and_pixels(tmp_path, suffix):
    fps = 10.0 if suffix == ".gif" else 25.0
    path = video_clips.write_pattern_clip(
        tmp_path / f"clip{suffix}", frames=9, height=24, width=32, fps=fps
    )
    info = video_io.probe(path)
    frames = _read_all(path)
    assert (info.width, info.height, info.channels) == (32, 24, 3)
    assert info.fps == Fraction(fps)
    assert video_io.frame_total(info) == 9 == len(frames)
    assert [f.index for f in frames] == list(range(9))
    assert frames[0].timestamp == 0.0
    assert frames[-1].timestamp == pytest.approx(8 / fps, abs=1e-3)
    first = frames[0].image
    assert first.dtype == np.float32 and first.shape == (24, 32, 3)
    assert 0.0 <= first.min() and first.max() <= 1.0
    # lossy codecs: the decoded frame is close to what was written, not equal
    expected = video_clips.pattern_frame(0, 24, 32)
    tolerance = 0.01 if suffix == ".gif" else 0.2
    assert np.abs(first - expected).mean() < tolerance


@pytest.mark.skipif(
    not video_writer.has_encoder("libvpx-vp9"), reason="this PyAV build has no libvpx-vp9 encoder"
)
def test_webm_has_no_header_count_and_is_counted_from_packets(tmp_path):
    path = video_clips.write_pattern_clip(
        tmp_path / "clip.webm", frames=7, height=24, width=32, codec="libvpx-vp9"
    )
    info = video_io.probe(path)
    assert info.frame_count is None
    assert video_io.count_frames(path) == 7 == video_io.frame_total(info)


def test_grey_clip_stays_one_channel(tmp_path):
    path = tmp_path / "grey.mkv"
    av = pytest.importorskip("av")
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=10)
        stream.width, stream.height, stream.pix_fmt = 16, 12, "gray"
        for i in range(4):
            pixels = np.full((12, 16), 40 * i, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="gray")))
        container.mux(stream.encode(None))
    frames = _read_all(path)
    assert video_io.probe(path).channels == 1
    assert frames[2].image.shape == (12, 16, 1)
    np.testing.assert_allclose(frames[2].image, np.float32(80 / 255), atol=1e-7)


def test_writer_pads_odd_sizes_to_even_and_keeps_the_frame_count(tmp_path):
    path = tmp_path / "odd.mp4"
    writer = video_writer.VideoWriter(path, fps=Fraction(30000, 1001), codec=CODEC)
    for i in range(5):
        writer.write(video_clips.pattern_frame(i, 23, 31))
    writer.close()
    assert writer.padded
    info = video_io.probe(path)
    assert (info.width, info.height) == (32, 24)
    assert info.fps == Fraction(30000, 1001)
    assert video_io.frame_total(info) == 5


def test_writer_with_temporary_name_needs_and_uses_container_format(tmp_path):
    path = tmp_path / "out.mp4.part"
    writer = video_writer.VideoWriter(path, fps=12, codec=CODEC, container_format="mp4")
    writer.write(np.zeros((8, 8, 1), np.float32))
    writer.close()
    assert video_io.probe(path).frame_count == 1


def test_writer_refuses_a_size_change_and_an_unknown_codec(tmp_path):
    writer = video_writer.VideoWriter(tmp_path / "a.mp4", fps=10, codec=CODEC)
    writer.write(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(InvalidValue, match=r"frame 1 has size \(6, 8\)"):
        writer.write(np.zeros((6, 8, 3), np.float32))
    writer.abort()
    with pytest.raises(InvalidValue, match="'no-such-codec'"):
        video_writer.VideoWriter(tmp_path / "b.mp4", fps=10, codec="no-such-codec")


def test_pad_even_and_to_uint8_rounding():
    pixels = np.arange(15, dtype=np.uint8).reshape(3, 5, 1)
    padded = video_writer.pad_even(pixels)
    assert padded.shape == (4, 6, 1)
    np.testing.assert_array_equal(padded[3, :5], pixels[2])
    np.testing.assert_array_equal(padded[:3, 5], pixels[:, 4])
    values = np.array([[[0.5, np.nan, 1.5, -0.2, 0.5 / 255]]], np.float32)
    np.testing.assert_array_equal(to_uint8(values)[0, 0], [128, 0, 255, 0, 1])


def test_truncated_clip_fails_naming_file_and_frame(tmp_path):
    path = video_clips.write_pattern_clip(tmp_path / "full.mp4", frames=12, height=24, width=32)
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 6 // 10])
    with pytest.raises(InputError, match=r"cut\.mp4: .*(truncated|frame \d+)"):
        _read_all(cut)


def test_zero_frame_and_unreadable_clips_fail(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty.mp4"):
        video_io.VideoReader(empty)
    junk = tmp_path / "junk.avi"
    junk.write_bytes(b"RIFF" + bytes(range(256)) * 4)
    with pytest.raises(InputError, match="junk.avi"):
        video_io.VideoReader(junk)
    with pytest.raises(InputError, match="no such file"):
        video_io.VideoReader(tmp_path / "missing.mp4")


def test_unknown_codec_is_named(tmp_path):
    path = video_clips.write_pattern_clip(
        tmp_path / "clip.avi", frames=3, height=16, width=16, codec="mpeg4"
    )
    data = path.read_bytes()
    assert b"FMP4" in data
    path.write_bytes(data.replace(b"FMP4", b"QQQQ"))
    with pytest.raises(InputError, match="unknown codec"):
        video_io.VideoReader(path)


def test_mid_clip_size_change_is_delivered_as_decoded(tmp_path):
    # Two MPEG-TS clips concatenated are one valid stream whose size changes mid-clip; the
    # reader reports frames as they are (the driver rejects the change, SPEC D9).
    first = video_clips.write_pattern_clip(tmp_path / "a.ts", frames=3, height=24, width=32)
    second = video_clips.write_pattern_clip(tmp_path / "b.ts", frames=3, height=32, width=48)
    joined = tmp_path / "joined.ts"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    shapes = [f.image.shape for f in _read_all(joined)]
    assert shapes == [(24, 32, 3)] * 3 + [(32, 48, 3)] * 3


def test_reader_is_lazy_and_bounded(tmp_path):
    path = video_clips.write_pattern_clip(tmp_path / "clip.mkv", frames=12, height=16, width=16)
    reader = video_io.VideoReader(path, queue_size=2)
    iterator = iter(reader)
    first = next(iterator)
    assert first.index == 0
    # the decoder thread may run ahead by at most the queue size (+1 frame in hand)
    assert reader._pump._queue.qsize() <= 2
    reader.close()  # stopping early must not hang
    assert not any(t.name.startswith("stv-read") for t in threading.enumerate())


def test_folder_reader_natural_order_grey_and_fps(tmp_path):
    from PIL import Image

    for i in (10, 2, 1):
        Image.fromarray(np.full((6, 8), i * 20, np.uint8)).save(tmp_path / f"f_{i}.png")
    (tmp_path / "notes.txt").write_text("not a frame")
    reader = video_io.FolderReader(tmp_path, fps=5)
    assert reader.info.frame_count == 3 and reader.info.channels == 1
    with reader:
        frames = list(reader)
    assert [round(float(f.image[0, 0, 0]) * 255) for f in frames] == [20, 40, 200]
    assert [f.timestamp for f in frames] == [0.0, 0.2, 0.4]
    with pytest.raises(InputError, match="no frames"):
        video_io.FolderReader(_empty_dir(tmp_path))


def _empty_dir(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def test_atomic_folder_publishes_on_success_and_leaves_nothing_on_error(tmp_path):
    from stv_cli.atomic import OutputExists

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
    writer = video_outputs.RowWriter(tmp_path / "t.json", "json", {"clip": "a.mp4"})
    for row in rows:
        writer.write(row)
    writer.close({"resets": [1]})
    data = json.loads((tmp_path / "t.json").read_text())
    assert data == {
        "clip": "a.mp4",
        "frames": [rows[0], {"frame": 1, "value": None}],
        "resets": [1],
    }
    writer = video_outputs.RowWriter(tmp_path / "t.csv", "csv")
    for row in rows:
        writer.write(row)
    writer.close()
    with open(tmp_path / "t.csv", newline="") as handle:
        read = list(csv.DictReader(handle))
    assert read[0] == {"frame": "0", "value": "0.5"} and read[1]["value"] == "nan"
    with pytest.raises(InvalidValue, match="csv or .json"):
        video_outputs.RowWriter(tmp_path / "t.txt", "txt")


def test_writer_thread_error_reaches_the_caller(tmp_path):
    # A folder cannot be opened as an output file: the encoder thread fails on the first
    # frame, and the error surfaces in write() or close() on the caller's thread.
    writer = video_writer.VideoWriter(tmp_path, fps=10, codec=CODEC, container_format="mp4")
    with pytest.raises(Exception) as caught:  # noqa: B017 - PyAV's own error type
        for _ in range(50):
            writer.write(np.zeros((8, 8, 3), np.float32))
        writer.close()
    assert "Is a directory" in str(caught.value) or isinstance(caught.value, OSError)
    writer.abort()


def test_row_writer_csv_uses_unix_line_ends(tmp_path):
    writer = video_outputs.RowWriter(tmp_path / "t.csv", "csv")
    writer.write({"frame": 0})
    writer.close()
    assert (tmp_path / "t.csv").read_bytes() == b"frame\n0\n"


def test_to_float_is_the_float32_quotient_of_every_code():
    codes8 = np.arange(256, dtype=np.uint8).reshape(16, 16)
    codes16 = np.arange(65536, dtype=np.uint16).reshape(256, 256, 1)
    got8, got16 = video_io.to_float(codes8), video_io.to_float(codes16)
    assert got8.shape == (16, 16, 1) and got8.dtype == got16.dtype == np.float32
    np.testing.assert_array_equal(got8[..., 0], codes8.astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(got16, codes16.astype(np.float32) / np.float32(65535))
    assert got8.max() == 1.0 and got16.max() == 1.0
