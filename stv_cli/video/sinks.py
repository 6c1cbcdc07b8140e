"""The sinks of one ``stv video`` clip: every projected frame goes to each output it feeds.

``ClipSinks`` feeds the video (:class:`~stv_cli.io.video_writer.VideoWriter`), the frame images
(``ImageSink``, a background thread: PNG encoding is slow), the contact sheet (``ContactSheet``:
at most ``max_cells`` frames), the long exposure (one running frame) and the telemetry
(``RowWriter``: CSV or JSON streamed row by row). Nothing here grows with the clip.
"""

from __future__ import annotations

import csv
import json
import math
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from ..errors import InvalidValue
from ..io.grid import save_image
from ..io.images import save_array_image
from ..io.video_writer import VideoWriter, _Consumer
from ..model.volume import ZSpaceVolume
from .settings import VideoOutputSettings

METRICS = ("z.motion_energy", "z.resonance_energy", "z.weight_entropy")


class ImageSink(_Consumer):
    """Write frame images ``folder/000000.png``, ... on a background thread (PNG is slow)."""

    def __init__(
        self,
        folder: str | Path,
        image_format: str = "png",
        bit_depth: int = 8,
        compress_level: int | None = None,
        queue_size: int = 8,
    ) -> None:
        self.folder = Path(folder)
        self.image_format = image_format
        self.bit_depth, self.compress_level = bit_depth, compress_level
        super().__init__(queue_size, "stv-frames")

    def submit(self, index: int, image: np.ndarray) -> None:
        """Queue frame ``index`` (the array must not change afterwards)."""
        self._submit((index, image))

    def _handle(self, item) -> None:
        index, image = item
        save_array_image(
            self.folder / f"{index:06d}.{self.image_format}",
            image,
            bit_depth=self.bit_depth,
            compress_level=self.compress_level,
            overwrite=True,
        )


class RowWriter:
    """Stream rows (dicts with the same keys) to a .csv or .json file, one at a time.

    JSON is ``{**header, "frames": [row, ...], **footer}`` with NaN written as null; CSV is
    one line per row with a header line (NaN written as ``nan``).
    """

    def __init__(self, path: str | Path, kind: str, header: dict | None = None) -> None:
        if kind not in ("csv", "json"):
            raise InvalidValue(f"telemetry must be a .csv or .json file, got kind {kind!r}")
        self.kind, self.rows = kind, 0
        self._file = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._csv = None
        if kind == "json":
            text = json.dumps(_json_ready(header or {}), allow_nan=False)
            self._file.write(text[:-1] + (", " if header else "") + '"frames": [')

    def write(self, row: dict) -> None:
        """Append one row."""
        if self.kind == "csv":
            if self._csv is None:
                self._csv = csv.DictWriter(self._file, fieldnames=list(row), lineterminator="\n")
                self._csv.writeheader()
            self._csv.writerow(row)
        else:
            comma = ",\n  " if self.rows else "\n  "
            self._file.write(comma + json.dumps(_json_ready(row), allow_nan=False))
        self.rows += 1

    def abandon(self) -> None:
        """Close the file as it is (an error happened; the caller removes it)."""
        self._file.close()

    def close(self, footer: dict | None = None) -> None:
        """Finish the file (JSON: close the list and add ``footer``'s keys)."""
        if self.kind == "json":
            tail = json.dumps(_json_ready(footer or {}), allow_nan=False)[1:]
            self._file.write("\n]" + (", " + tail if footer else "}") + "\n")
        self._file.close()


def _json_ready(value):
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


# ------------------------------------------------------------------- one clip's sinks


def metric(atlas, name: str) -> float:
    """The value of the atlas metric ``name`` (NaN when absent: only finite ones are pushed)."""
    for item in getattr(atlas, "metrics", None) or ():
        if item.name == name:
            return float(item.value)
    return math.nan


class ContactSheet:
    """Every k-th frame, at most ``max_cells`` of them (k doubles when they would overflow)."""

    def __init__(self, every: int | None, total: int | None, max_cells: int) -> None:
        self.max_cells = max(1, max_cells)
        if every is None:
            every = max(1, math.ceil((total or 1) / self.max_cells))
        self.every = every
        self.cells: list[np.ndarray] = []

    def offer(self, index: int, image: np.ndarray) -> None:
        """Keep ``image`` if ``index`` is a multiple of the current step."""
        if index % self.every:
            return
        self.cells.append(image.copy())  # the caller may reuse its frame buffer
        if len(self.cells) > self.max_cells:
            self.cells = self.cells[::2]  # indices stay multiples of the doubled step
            self.every *= 2


def telemetry_row(index: int, timestamp: float, result, reset: bool) -> dict:
    """One telemetry row from a ``VideoPipeline.push`` result (SPEC A.14 step 11)."""
    atlas = result.atlas
    row = {"frame": index, "timestamp": timestamp}
    for name in METRICS:
        row[name.removeprefix("z.")] = metric(atlas, name)
    z_signal = getattr(atlas, "z_signal", None)
    row["z_signal"] = math.nan if z_signal is None else float(z_signal)
    for z, weight in enumerate(np.asarray(result.smoothed_weights, dtype=np.float64).ravel()):
        row[f"weight_{z}"] = float(weight)
    row["reset"] = int(reset)
    return row


class ClipSinks:
    """Every output of one clip, fed one projected frame at a time, on temporary paths."""

    def __init__(self, stack: ExitStack, temp: dict, clip: Path, info, out, total) -> None:
        self.temp, self.out = temp, out
        self.video = VideoWriter(
            temp["video"], fps=info.fps, codec=out.codec, crf=out.crf, preset=out.preset
        )
        stack.callback(self.video.abort)  # a no-op after close; stops the thread on errors
        self.telemetry = _telemetry_writer(stack, temp.get("telemetry"), clip, info)
        self.save_frame = _frame_saver(stack, temp.get("frames"), out)
        wants_sheet = "contact_sheet" in temp
        self.sheet = ContactSheet(out.every, total, out.max_cells) if wants_sheet else None
        self.exposure = None
        self.frames = 0

    @property
    def keeps_frames(self) -> bool:
        """Whether an output holds on to the projected frames after :meth:`add` returns.

        Only the frame images do (their writer thread encodes them later); otherwise the
        caller may project every frame into one buffer.
        """
        return self.save_frame is not None

    @property
    def needs_floats(self) -> bool:
        """Whether an output needs the float projection: frame images, the contact sheet and
        the long exposure do; the video (8 bits) and the telemetry do not."""
        return self.save_frame is not None or self.sheet is not None or "long_exposure" in self.temp

    def add(self, index: int, projection: np.ndarray, result, reset: bool) -> None:
        """Hand one projected frame (and its pipeline output) to every output."""
        self.video.write(projection)
        if self.save_frame is not None:
            self.save_frame(index, projection)
        if self.sheet is not None:
            self.sheet.offer(index, projection)
        if "long_exposure" in self.temp:
            self.exposure = _expose(self.exposure, projection, index, self.out.exposure_alpha)
        if self.telemetry is not None:
            self.telemetry.write(telemetry_row(index, result.timestamp, result, reset))
        self.frames = index + 1

    def finish(self, resets: list[int]) -> list[str]:
        """Flush the encoder and write the images; returns notes for the user."""
        self.video.close()
        if self.telemetry is not None:
            self.telemetry.close({"frame_count": self.frames, "resets": resets})
        if self.sheet is not None:
            _save_grid(self.temp["contact_sheet"], self.sheet.cells, self.out)
        if self.exposure is not None:
            _save_image(self.temp["long_exposure"], self.exposure.voxels[0], self.out)
        if not self.video.padded:
            return []
        h, w = self.video.size
        return [f"{w}x{h} padded to {w + w % 2}x{h + h % 2} (yuv420p needs even sizes)"]


def _expose(state, projection: np.ndarray, index: int, alpha: float | None):
    """One step of the long exposure: EMA with ``alpha``, or the running mean (1/(k+1))."""
    frame = ZSpaceVolume(projection[np.newaxis])
    if state is None:
        return ZSpaceVolume(projection[np.newaxis], copy=True)
    state.accumulate(frame, 1.0 / (index + 1) if alpha is None else alpha)
    return state


def _frame_saver(stack: ExitStack, folder: Path | None, out: VideoOutputSettings):
    """A function queueing frame images to a writer thread (PNG encoding is slow), or None."""
    if folder is None:
        return None
    sink = ImageSink(folder, out.image_format, out.bit_depth, out.compress_level)
    stack.enter_context(sink)
    return sink.submit


def _telemetry_writer(stack: ExitStack, temp: Path | None, clip: Path, info):
    """A RowWriter on the telemetry's temporary file, or None."""
    if temp is None:
        return None
    kind = temp.suffix.lower().lstrip(".")
    header = {"clip": str(clip), "fps": float(info.fps)}
    writer = RowWriter(temp, kind, header)
    stack.callback(writer.abandon)
    return writer


def _save_grid(path: Path, cells: list[np.ndarray], out: VideoOutputSettings) -> None:
    save_image(
        np.stack(cells),
        path,
        bit_depth=out.bit_depth,
        compress_level=out.compress_level,
        overwrite=True,
        **out.grid.options(),
    )


def _save_image(path: Path, image: np.ndarray, out: VideoOutputSettings) -> None:
    save_array_image(
        path, image, bit_depth=out.bit_depth, compress_level=out.compress_level, overwrite=True
    )
