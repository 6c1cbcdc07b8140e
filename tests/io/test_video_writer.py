"""VideoWriter: padding to even sizes, frame rates, containers, errors from its thread."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from stv_cli.errors import InvalidValue
from stv_cli.io import pattern_clip as video_clips
from stv_cli.io import video_reader as video_io
from stv_cli.io import video_writer
from stv_cli.io.grid import to_uint8

CODEC = video_writer.default_codec()


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


def _decoded(path):
    with video_io.VideoReader(path) as reader:
        return [frame.pixels for frame in reader]


def _recording(monkeypatch) -> list[np.ndarray]:
    """What every VideoWriter hands its encoder from now on (copies, in order)."""
    handed: list[np.ndarray] = []
    handle = video_writer.VideoWriter._handle

    def record(self, item):
        handed.append(item[0].copy())
        handle(self, item)

    monkeypatch.setattr(video_writer.VideoWriter, "_handle", record)
    return handed


def test_writer_takes_pixels_as_they_are_and_floats_quantised(tmp_path, backend, monkeypatch):
    handed = _recording(monkeypatch)
    codes = np.random.default_rng(3).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    paths = tmp_path / "pixels.mp4", tmp_path / "floats.mp4"
    for path, frame in zip(paths, (codes, np.divide(codes, np.float32(255))), strict=True):
        writer = video_writer.VideoWriter(path, fps=10, codec=CODEC)
        for _ in range(3):
            writer.write(frame)
        writer.close()
        assert len(_decoded(path)) == 3
    assert len(handed) == 6
    for pixels in handed:
        np.testing.assert_array_equal(pixels, codes)  # float k/255 quantises back to code k


def test_the_caller_may_reuse_its_float_frame_once_write_returns(tmp_path, monkeypatch):
    # write() quantises on the caller's thread: overwriting the float frame afterwards must not
    # change what is encoded, even with frames still queued for the encoder
    handed = _recording(monkeypatch)
    buffer = np.empty((16, 16, 3), np.float32)
    writer = video_writer.VideoWriter(tmp_path / "reused.mp4", fps=10, codec=CODEC, queue_size=8)
    for i in range(6):
        buffer[...] = video_clips.pattern_frame(i, 16, 16)
        writer.write(buffer)
    writer.close()
    assert len(handed) == 6
    for i, pixels in enumerate(handed):
        np.testing.assert_array_equal(pixels, to_uint8(video_clips.pattern_frame(i, 16, 16)))


def test_writer_refuses_frames_it_cannot_encode(tmp_path):
    writer = video_writer.VideoWriter(tmp_path / "c.mp4", fps=10, codec=CODEC)
    with pytest.raises(InvalidValue, match="float in \\[0, 1\\] or uint8 pixels, got uint16"):
        writer.write(np.zeros((8, 8, 3), np.uint16))
    writer.abort()


def test_lent_buffers_come_back_once_encoded(tmp_path, monkeypatch):
    handed = _recording(monkeypatch)
    writer = video_writer.VideoWriter(tmp_path / "lent.mp4", fps=10, codec=CODEC, queue_size=2)
    seen = set()
    for i in range(12):
        buffer = writer.lend((16, 16, 3))
        seen.add(id(buffer))
        buffer[...] = to_uint8(video_clips.pattern_frame(i, 16, 16))
        writer.write(buffer)
    writer.close()
    assert len(seen) < 12  # buffers were reused rather than made for every frame
    assert len(_decoded(tmp_path / "lent.mp4")) == 12
    for i, pixels in enumerate(handed):  # and none was refilled before the encoder took it
        np.testing.assert_array_equal(pixels, to_uint8(video_clips.pattern_frame(i, 16, 16)))


def test_the_callers_own_pixels_are_never_lent_out(tmp_path):
    writer = video_writer.VideoWriter(tmp_path / "own.mp4", fps=10, codec=CODEC, queue_size=1)
    unused = writer.lend((8, 8, 3))  # lent and never written: it must not confuse the writer
    own = [np.full((8, 8, 3), i, np.uint8) for i in range(6)]
    for frame in own:
        writer.write(frame)
    writer.close()
    lent = [writer.lend((8, 8, 3)) for _ in range(4)]
    assert not any(b is f for b in lent for f in own)
    assert not any(b is unused for b in lent)  # still lent: never handed out twice
    np.testing.assert_array_equal(own[3], 3)  # the caller's arrays are untouched
