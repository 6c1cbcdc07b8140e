"""The per-clip driver: the frame ring, settings, and whole clips against the library."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from stv_cli.errors import InputError, InvalidValue
from stv_cli.io import pattern_clip as video_clips
from stv_cli.io import video_reader as video_io
from stv_cli.io import video_writer
from stv_cli.io.grid import to_uint8
from stv_cli.model.video.frame_ring import FrameRing
from stv_cli.video.clip import run_clip
from stv_cli.video.settings import (
    StreamSettings,
    VideoOutputSettings,
    VideoSettings,
    parse_super_resolution,
)
from stv_cli.video.streaming import make_pipeline, make_stream_projector

CODEC = video_writer.default_codec()
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


def test_frame_ring_profile_is_the_window_slice_profile(backend):
    from stv_cli.model.volume import ZSpaceVolume

    rng = np.random.default_rng(4)
    ring = FrameRing(3, (5, 7, 3))
    for t in range(5):
        if t == 3:
            ring.clear()
        window = ring.push(rng.random((5, 7, 3), dtype=np.float32) * np.float32(t + 1))
        got, want = ring.profile(), ZSpaceVolume(window).slice_profile()
        assert got.depth == len(window)
        for name in ("means", "stds", "energies"):
            # the same float64 sums up to their order: bit for bit on the NumPy backend
            if backend == "numpy":
                np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
            np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=1e-6)


def test_parse_super_resolution():
    assert parse_super_resolution("cubic:2") == ("cubic", 2)
    assert parse_super_resolution("Linear:1") == ("linear", 1)
    assert parse_super_resolution(None) is None
    for bad in ("cubic", "spline:2", "cubic:0", "cubic:-1", "cubic:x"):
        with pytest.raises(InvalidValue, match="super_resolution"):
            parse_super_resolution(bad)


def _settings(tmp_path, stream=None, **outputs):
    out = VideoOutputSettings(out=tmp_path / "out", codec=CODEC, **outputs)
    return VideoSettings(stream=stream or StreamSettings(), output=out)


def _decoded(path):
    """(pixels, float image, timestamp) of each frame of the clip at ``path``."""
    with video_io.VideoReader(path) as reader:
        return [(f.pixels, f.image, f.timestamp) for f in reader]


def _library_run(frames, stream: StreamSettings):
    """The oracle: the library's VideoPipeline and VideoStreamProjector driven by hand.

    The pipeline gets the decoded pixels, as ``stv video`` gives it; the projector gets
    float volumes of the frames' values.
    """
    from stv_cli.model.volume import ZSpaceVolume

    pipeline, projector = make_pipeline(stream), make_stream_projector(stream)
    held, images, outputs, resets = [], [], [], []
    for index, (pixels, image, timestamp) in enumerate(frames):
        result = pipeline.push_pixels(pixels, timestamp)
        motion = next(m.value for m in result.atlas.metrics if m.name == "z.motion_energy")
        if stream.scene_cut is not None and index > 0 and motion > stream.scene_cut:
            projector.reset()
            held, resets = [], [*resets, index]
        held = [*held, image][-stream.depth :]
        volume = ZSpaceVolume.from_slices(held)
        if stream.calibrate:
            out, _ = projector.step(volume, result.chrono_snapshot, result.atlas)
        else:
            out, _ = projector.step(volume)
        images.append(out)
        outputs.append(result)
    return images, outputs, resets


def _read_png16(path) -> np.ndarray:
    """A 16-bit PNG as float32 (H, W, C) in [0, 1] (Pillow reads 16-bit colour at 8 bits)."""
    import av

    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        grey = frame.format.name.startswith("gray")
        pixels = frame.to_ndarray(format="gray16le" if grey else "rgb48le")
    return video_io.to_float(pixels)


def _frames_from_disk(folder):
    return [_read_png16(f) for f in sorted(Path(folder).iterdir())]


@pytest.mark.parametrize(
    "stream",
    [
        StreamSettings(depth=3, scene_cut=0.2),
        StreamSettings(depth=2, calibrate=False, temporal_alpha=0.8),
        StreamSettings(
            depth=3, diffuse_iterations=1, diffuse_rate=0.3, super_resolution=("cubic", 2)
        ),
    ],
    ids=["scene-cut", "no-calibrate", "diffuse-super-resolution"],
)
def test_projected_frames_and_telemetry_equal_the_library(tmp_path, backend, stream):
    clip = video_clips.write_pattern_clip(
        tmp_path / "walk.mkv", frames=9, height=H, width=W, scene_cut_at=5
    )
    settings = _settings(
        tmp_path,
        stream,
        frames=str(tmp_path / "frames"),
        telemetry=str(tmp_path / "t.csv"),
        bit_depth=16,
    )
    result = run_clip(clip, settings)
    images, outputs, resets = _library_run(_decoded(clip), stream)

    assert result.frames == 9 and result.resets == resets
    if stream.scene_cut is not None:
        assert resets == [5]  # the pattern's scene changes at frame 5, nowhere else
    on_disk = _frames_from_disk(tmp_path / "frames")
    assert len(on_disk) == 9
    factor = stream.super_resolution[1] if stream.super_resolution else 1
    for saved, expected in zip(on_disk, images, strict=True):
        assert expected.shape == (H * factor, W * factor, 3)
        # 16-bit PNG: the quantisation step is 1/65535
        np.testing.assert_allclose(saved, np.clip(expected, 0, 1), atol=0.51 / 65535 + 1e-7)

    with open(tmp_path / "t.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 9
    for row, output in zip(rows, outputs, strict=True):
        metrics = {m.name: m.value for m in output.atlas.metrics}
        assert int(row["frame"]) == output.index
        assert float(row["timestamp"]) == output.timestamp
        assert float(row["motion_energy"]) == metrics["z.motion_energy"]
        assert float(row["resonance_energy"]) == metrics["z.resonance_energy"]
        assert float(row["weight_entropy"]) == metrics["z.weight_entropy"]
        assert float(row["z_signal"]) == output.atlas.z_signal
        weights = [float(row["weight_0"]), float(row["weight_1"])]
        assert weights == output.smoothed_weights.tolist()
        assert int(row["reset"]) == (output.index in resets)


def test_video_contact_sheet_and_long_exposure(tmp_path):

    clip = video_clips.write_pattern_clip(tmp_path / "walk.mp4", frames=10, height=H, width=W)
    settings = _settings(
        tmp_path,
        StreamSettings(depth=2),
        frames=str(tmp_path / "frames"),
        contact_sheet=str(tmp_path / "sheet.png"),
        long_exposure=str(tmp_path / "exposure.png"),
        max_cells=4,
        bit_depth=16,
    )
    result = run_clip(clip, settings)
    info = video_io.probe(tmp_path / "out" / "walk.mp4")
    assert video_io.frame_total(info) == 10 and info.fps == 30
    assert (info.width, info.height) == (W, H) and result.notes == []
    assert len(_decoded(tmp_path / "out" / "walk.mp4")) == 10  # every frame decodes
    frames = _frames_from_disk(tmp_path / "frames")
    # every = ceil(10 / 4) = 3: frames 0, 3, 6, 9 in a 4-cell grid (one row, padding 2)
    sheet = _read_png16(tmp_path / "sheet.png")
    assert sheet.shape == (H + 4, 4 * (W + 2) + 2, 3)
    for cell, k in enumerate((0, 3, 6, 9)):
        left = 2 + cell * (W + 2)
        np.testing.assert_allclose(sheet[2 : 2 + H, left : left + W], frames[k], atol=2e-5)
    exposure = _read_png16(tmp_path / "exposure.png")
    np.testing.assert_allclose(exposure, np.mean(frames, axis=0), atol=2e-4)


def test_timing_is_printed_only_when_asked(tmp_path, monkeypatch, capsys):
    clip = video_clips.write_pattern_clip(tmp_path / "walk.mp4", frames=5, height=H, width=W)
    settings = _settings(tmp_path, overwrite=True)
    monkeypatch.delenv("STV_VIDEO_TIMING", raising=False)
    run_clip(clip, settings)
    assert "timing" not in capsys.readouterr().err
    monkeypatch.setenv("STV_VIDEO_TIMING", "1")
    run_clip(clip, settings)
    line = capsys.readouterr().err
    assert line.startswith("stv video timing:") and "5 frames" in line
    assert "writer busy" in line and "reader blocked" in line


def test_odd_sized_gif_is_padded_to_even_with_a_note(tmp_path):
    clip = video_clips.write_pattern_clip(
        tmp_path / "odd.gif", frames=6, height=23, width=31, fps=10
    )
    result = run_clip(clip, _settings(tmp_path))
    info = video_io.probe(tmp_path / "out" / "odd.mp4")
    assert (info.width, info.height) == (32, 24)
    assert video_io.frame_total(info) == 6 and info.fps == 10
    assert result.notes and "31x23 padded to 32x24" in result.notes[0]


def test_grey_frames_folder_is_a_clip(tmp_path):
    from PIL import Image

    folder = tmp_path / "shots"
    folder.mkdir()
    for i in range(5):
        grey = video_clips.pattern_frame(i, H, W)[:, :, 0]
        Image.fromarray(to_uint8(grey)).save(folder / f"shot{i}.png")
    settings = VideoSettings(
        stream=StreamSettings(depth=2),
        output=VideoOutputSettings(out=tmp_path / "out", codec=CODEC, frames=str(tmp_path / "f")),
        frames_in=True,
        fps=12.0,
    )
    run_clip(folder, settings)
    info = video_io.probe(tmp_path / "out" / "shots.mp4")
    assert video_io.frame_total(info) == 5 and info.fps == 12
    with Image.open(tmp_path / "f" / "000000.png") as first:
        assert first.mode in ("L", "I;16")  # grey stays one channel


# ----------------------------------------------------------------------- bad inputs


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_size_change_mid_clip_fails_naming_the_frame_and_leaves_nothing(tmp_path):
    first = video_clips.write_pattern_clip(tmp_path / "a.ts", frames=4, height=H, width=W)
    second = video_clips.write_pattern_clip(tmp_path / "b.ts", frames=3, height=32, width=48)
    joined = tmp_path / "joined.ts"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    settings = _settings(
        tmp_path, frames=str(tmp_path / "out" / "f"), telemetry=str(tmp_path / "out" / "t.json")
    )
    with pytest.raises(InputError, match=r"joined\.ts: frame 4 has size 48x32x3 .* 32x24x3"):
        run_clip(joined, settings)
    assert _leftovers(tmp_path / "out") == []


def test_truncated_and_empty_clips_fail_and_leave_nothing(tmp_path):
    clip = video_clips.write_pattern_clip(tmp_path / "full.mp4", frames=12, height=H, width=W)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size * 6 // 10])
    with pytest.raises(InputError, match=r"cut\.mp4"):
        run_clip(cut, _settings(tmp_path, telemetry=str(tmp_path / "out" / "t.csv")))
    empty = tmp_path / "empty.mkv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.mkv"):
        run_clip(empty, _settings(tmp_path))
    assert _leftovers(tmp_path / "out") == []


def test_telemetry_json_has_rows_and_resets(tmp_path):
    clip = video_clips.write_pattern_clip(
        tmp_path / "cut.mp4", frames=8, height=H, width=W, scene_cut_at=4
    )
    stream = StreamSettings(depth=2, scene_cut=0.2)
    run_clip(clip, _settings(tmp_path, stream, telemetry=str(tmp_path / "t.json")))
    data = json.loads((tmp_path / "t.json").read_text())
    assert data["clip"] == str(clip) and data["fps"] == 30.0
    assert data["frame_count"] == 8 and data["resets"] == [4]
    assert [row["frame"] for row in data["frames"]] == list(range(8))
    assert [row["reset"] for row in data["frames"]] == [0, 0, 0, 0, 1, 0, 0, 0]


# ------------------------------------------------------------------- pixel frames


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize(
    "stream",
    [
        StreamSettings(depth=3, scene_cut=0.2),
        StreamSettings(depth=5, calibrate=False),
        StreamSettings(depth=2, diffuse_iterations=1, super_resolution=("linear", 2)),
    ],
    ids=["scene-cut", "no-calibrate", "refined"],
)
def test_streaming_projection_of_pixels_equals_their_floats(backend, dtype, stream):
    from stv_cli.video.streaming import StreamingProjection

    top = np.iinfo(dtype).max
    pixels = [
        np.rint(video_clips.pattern_frame(k, 9, 11, scene=k // 5) * top).astype(dtype)
        for k in range(9)
    ]
    by_pixels, by_floats = StreamingProjection(stream), StreamingProjection(stream)
    out = None
    for k, frame in enumerate(pixels):
        a, ra, cut_a = by_pixels.push(frame, k / 30, out)
        b, rb, cut_b = by_floats.push(np.divide(frame, np.float32(top), dtype=np.float32), k / 30)
        # a pixel clip's pipeline keeps the image slice as means (float64 EMAs of the
        # frame's mean, not float32 voxels) and the ring's statistics of pixels are their
        # exact moments: telemetry and weights agree to ~1e-7, not bit for bit
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
        assert cut_a == cut_b
        np.testing.assert_allclose(ra.smoothed_weights, rb.smoothed_weights, rtol=1e-6)
        assert [(m.name, m.district) for m in ra.atlas.metrics] == [
            (m.name, m.district) for m in rb.atlas.metrics
        ]
        np.testing.assert_allclose(
            [m.value for m in ra.atlas.metrics], [m.value for m in rb.atlas.metrics], rtol=1e-6
        )
        assert out is None or a is out  # projected into the buffer given
        out = a
    assert by_pixels.resets == by_floats.resets
    if stream.scene_cut is not None:
        assert by_pixels.resets == [5]


def test_streaming_projection_refuses_a_change_of_pixel_format():
    from stv_cli.video.streaming import StreamingProjection

    model = StreamingProjection(StreamSettings(depth=2), "clip.mp4")
    model.push(np.zeros((4, 4, 3), np.uint8), 0.0)
    with pytest.raises(InputError, match=r"clip.mp4: frame 1 is float32 but the clip started"):
        model.push(np.zeros((4, 4, 3), np.float32), 0.1)


def test_frame_ring_keeps_pixels_and_sums_their_values(backend):
    from stv_cli.model.pixel_volume import pixel_values
    from stv_cli.model.volume import ZSpaceVolume

    rng = np.random.default_rng(6)
    ring = FrameRing(3, (5, 7, 3), np.uint8)
    for _ in range(4):
        window = ring.push(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8))
        assert window.dtype == np.uint8
        got, want = ring.profile(), ZSpaceVolume(pixel_values(window)).slice_profile()
        for name in ("means", "stds", "energies"):
            np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=1e-6)


def test_projecting_into_8_bits_is_the_quantised_float_projection(backend):
    from stv_cli.video.streaming import StreamingProjection
    from stv_kernels.reference import quantise

    frames = [np.rint(video_clips.pattern_frame(k, 9, 11) * 255).astype(np.uint8) for k in range(6)]
    by_floats, by_bytes = (
        StreamingProjection(StreamSettings(depth=3)),
        StreamingProjection(StreamSettings(depth=3)),
    )
    out = np.empty((9, 11, 3), np.uint8)
    for k, frame in enumerate(frames):
        want, _, _ = by_floats.push(frame, k / 30)
        got, _, _ = by_bytes.push(frame, k / 30, out)
        assert got is out and got.dtype == np.uint8
        np.testing.assert_array_equal(got, quantise(want))


def test_an_8_bit_projection_needs_pixels_and_no_refinement():
    from stv_cli.video.streaming import StreamingProjection

    out = np.empty((4, 4, 3), np.uint8)
    with pytest.raises(InvalidValue, match="8-bit projection .* needs pixel frames"):
        StreamingProjection(StreamSettings(depth=2)).push(np.zeros((4, 4, 3), np.float32), 0.0, out)
    refined = StreamingProjection(StreamSettings(depth=2, diffuse_iterations=1))
    with pytest.raises(InvalidValue, match="and no refinement"):
        refined.push(np.zeros((4, 4, 3), np.uint8), 0.0, out)


def test_the_video_alone_encodes_the_frames_a_contact_sheet_run_encodes(tmp_path, monkeypatch):
    # with only the video asked for, stv video collapses straight to 8 bits in buffers the
    # encoder lends; with a contact sheet it keeps float frames and the encoder quantises.
    # Compared where it matters, at the encoder's door (libx264's own output may vary with
    # thread timing, so two encodes are not compared).
    handed: list[list[np.ndarray]] = []
    handle = video_writer.VideoWriter._handle

    def record(self, item):
        handed[-1].append(item[0].copy())
        handle(self, item)

    clip = video_clips.write_pattern_clip(tmp_path / "walk.mp4", frames=12, height=H, width=W)
    monkeypatch.setattr(video_writer.VideoWriter, "_handle", record)
    sheet = str(tmp_path / "sheet.png")
    for folder, extra in (("plain", {}), ("floats", {"contact_sheet": sheet})):
        handed.append([])
        run_clip(clip, _settings(tmp_path / folder, StreamSettings(depth=3), **extra))
    assert len(handed[0]) == len(handed[1]) == 12
    for x, y in zip(*handed, strict=True):
        assert x.dtype == y.dtype == np.uint8
        np.testing.assert_array_equal(x, y)
