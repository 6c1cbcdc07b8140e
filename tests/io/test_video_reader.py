"""Video reading: counts, frame rates, grey clips, bad inputs, bounded queues, to_float."""

from __future__ import annotations

import threading
from fractions import Fraction

import numpy as np
import pytest

from stv_cli.errors import InputError
from stv_cli.io import pattern_clip as video_clips
from stv_cli.io import video_reader as video_io
from stv_cli.io import video_writer

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


def test_to_float_is_the_float32_quotient_of_every_code():
    codes8 = np.arange(256, dtype=np.uint8).reshape(16, 16)
    codes16 = np.arange(65536, dtype=np.uint16).reshape(256, 256, 1)
    got8, got16 = video_io.to_float(codes8), video_io.to_float(codes16)
    assert got8.shape == (16, 16, 1) and got8.dtype == got16.dtype == np.float32
    np.testing.assert_array_equal(got8[..., 0], codes8.astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(got16, codes16.astype(np.float32) / np.float32(65535))
    assert got8.max() == 1.0 and got16.max() == 1.0


def test_frames_carry_their_pixels_and_make_the_float_image_once(tmp_path):
    clip = video_clips.write_pattern_clip(tmp_path / "p.mp4", frames=2, height=8, width=10)
    with video_io.VideoReader(clip) as reader:
        frame = next(iter(reader))
    assert frame.pixels.dtype == np.uint8 and frame.pixels.shape == (8, 10, 3)
    image = frame.image
    assert image is frame.image  # made on first use, then kept
    np.testing.assert_array_equal(image, video_io.to_float(frame.pixels))
