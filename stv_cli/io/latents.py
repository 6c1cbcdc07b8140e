"""Numbers from files: latents for ``decode``, resonance records and multi-view set-ups.

Latent files (:func:`load_latents`) hold one latent per row and give a float32 (N, F) array:

* ``.npy`` (``allow_pickle=False``): (F,) is one latent, (N, F) is N;
* ``.npz`` (``allow_pickle=False``): its single array, or the one named ``latents``;
* ``.json``: a list of numbers, a list of lists, or ``{"latents": ...}`` holding either;
* ``.csv`` / ``.txt``: one latent per line, numbers separated by commas or white space;
  ``#`` starts a comment, blank lines are skipped.

A resonance file (:func:`load_resonance`, JSON or TOML) maps the five fields of
:class:`~stv_cli.model.resonance.DifferentialResonance` to lists (or nested lists) of numbers;
``infinity_energy`` and ``recursive_objective`` are required and non-empty.

A views file (:func:`load_views`, JSON or TOML) describes a
:class:`~stv_cli.model.multiview.MultiViewFusion`::

    focus_direction = [0.0, 0.0, 1.0]   # optional, default (0, 0, 1)
    alignment_gamma = 1.0               # optional, in [0.25, 8], default 1

    [[views]]                           # one table per view, in depth order
    id = "z01"
    origin = [0.0, 0.0, -1.0]           # optional, default (0, 0, 0); stored, never weighted
    forward = [0.0, 0.0, 1.0]
    baseline_weight = 1.0               # optional, >= 0, default 1

Every value must be finite (decision D3); errors name the file, the row or key, and the fix.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from numbers import Real
from pathlib import Path

import numpy as np

from ..errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["LATENT_SUFFIXES", "load_latents", "load_resonance", "load_views", "read_config"]

LATENT_SUFFIXES = (".npy", ".npz", ".json", ".csv", ".txt")

RESONANCE_FIELDS = (
    "infinity_energy",
    "recursive_objective",
    "homotopy_flow",
    "functor_linearisation",
    "infinity_projection",
)
_REQUIRED_RESONANCE = RESONANCE_FIELDS[:2]
_VIEW_KEYS = ("id", "origin", "forward", "baseline_weight")
_FUSION_KEYS = ("views", "focus_direction", "alignment_gamma")
_GAMMA_RANGE = (0.25, 8.0)
_F32_MAX = float(np.finfo(np.float32).max)


def _name(path: Path) -> str:
    return repr(str(path))


# -- latents -----------------------------------------------------------------------------


def _check_latents(values: np.ndarray, path: Path, row_label=None) -> np.ndarray:
    """(F,) or (N, F) real numbers, finite, non-empty -> C-contiguous float32 (N, F)."""
    where = _name(path)
    if values.dtype.kind not in "biuf":
        raise InputError(f"{where} holds {values.dtype} values; latents must be real numbers")
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim != 2:
        raise InputError(
            f"{where} has shape {values.shape} ({values.ndim}-D); latents are a list of "
            f"numbers (one latent) or a 2-D table with one latent per row"
        )
    if values.size == 0:
        raise InputError(f"{where} holds no latents (shape {values.shape})")
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below as inf
        latents = np.ascontiguousarray(values, dtype=np.float32)
    bad = np.argwhere(~np.isfinite(latents))
    if bad.size:
        row, col = (int(i) for i in bad[0])
        label = row_label(row) if row_label else f"latent {row}"
        raise InputError(
            f"{where}: {label}, value {col} is {latents[row, col]}; latents must be finite "
            f"(this is after conversion to float32, so huge values read as inf)"
        )
    return latents


def _load_npz(path: Path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as archive:
        names = list(archive.files)
        if "latents" in names:
            return archive["latents"]
        if len(names) == 1:
            return archive[names[0]]
    raise InputError(
        f"{_name(path)} holds arrays {names}; it must hold exactly one array, "
        f"or one named 'latents'"
    )


def _is_number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _json_latents(data, path: Path) -> np.ndarray:
    if isinstance(data, dict):
        if "latents" not in data:
            raise InputError(
                f"{_name(path)} is a JSON object without a 'latents' key (keys: {sorted(data)})"
            )
        data = data["latents"]
    if not isinstance(data, list) or not data:
        raise InputError(
            f"{_name(path)}: latents must be a non-empty list of numbers or of lists of numbers"
        )
    if all(_is_number(v) for v in data):
        return np.array([data], dtype=np.float64)
    width = None
    for row, values in enumerate(data):
        if not isinstance(values, list):
            raise InputError(
                f"{_name(path)}: latent {row} is {values!r}; with several latents every row "
                f"must be a list of numbers"
            )
        for col, value in enumerate(values):
            if isinstance(value, list):
                raise InputError(f"{_name(path)}: latent {row} is nested deeper than 2-D")
            if not _is_number(value):
                raise InputError(
                    f"{_name(path)}: latent {row}, value {col} is {value!r}, not a number"
                )
        if width is None:
            width = len(values)
        elif len(values) != width:
            raise InputError(
                f"{_name(path)}: ragged rows: latent {row} has {len(values)} values, "
                f"latent 0 has {width}"
            )
    try:
        return np.array(data, dtype=np.float64)
    except OverflowError:  # integers beyond float range
        raise InputError(f"{_name(path)} holds a number too large for float32") from None


def _text_latents(path: Path) -> tuple[np.ndarray, list[int]]:
    rows, lines = [], []
    text = path.read_text(encoding="utf-8-sig")
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = re.split(r"\s*,\s*|\s+", line)
        values = []
        for col, token in enumerate(fields):
            try:
                values.append(float(token))
            except ValueError:
                what = "an empty field" if token == "" else f"{token!r}, not a number"
                raise InputError(
                    f"{_name(path)}: line {number}, value {col} is {what} "
                    f"(comments and header lines must start with '#')"
                ) from None
        if rows and len(values) != len(rows[0]):
            raise InputError(
                f"{_name(path)}: ragged rows: line {number} has {len(values)} values, "
                f"line {lines[0]} has {len(rows[0])}"
            )
        rows.append(values)
        lines.append(number)
    if not rows:
        raise InputError(f"{_name(path)} holds no latents (only comments or blank lines)")
    return np.array(rows, dtype=np.float64), lines


def load_latents(path: str | os.PathLike) -> np.ndarray:
    """Read a latent file as a C-contiguous float32 (N, F) array, one latent per row.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npy``, ``.npz``, ``.json``, ``.csv`` or ``.txt`` file (see the module docstring).

    Raises
    ------
    InputError
        Missing or unreadable file, unknown extension, pickled arrays, non-numbers, ragged
        rows, no latents, more than two dimensions, NaN or infinite values, naming the file
        and the row (line numbers from 1 for text, latent indices from 0 otherwise).
    """
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix not in LATENT_SUFFIXES:
        raise InputError(
            f"latent file {_name(source)} has extension {source.suffix!r}; "
            f"use one of {', '.join(LATENT_SUFFIXES)}"
        )
    if not source.is_file():
        raise InputError(f"latent file {_name(source)} does not exist or is not a file")
    row_label = None
    try:
        if suffix == ".npy":
            values = np.load(source, allow_pickle=False)
        elif suffix == ".npz":
            values = _load_npz(source)
        elif suffix == ".json":
            values = _json_latents(json.loads(source.read_text(encoding="utf-8-sig")), source)
        else:
            values, lines = _text_latents(source)
            row_label = lambda row: f"line {lines[row]} (latent {row})"  # noqa: E731
    except InputError:
        raise
    except (OSError, ValueError, EOFError) as err:  # json.JSONDecodeError is a ValueError
        raise InputError(f"cannot read latent file {_name(source)}: {err}") from None
    return _check_latents(np.asarray(values), source, row_label)


# -- resonance and views -------------------------------------------------------------------


def read_config(path: str | os.PathLike) -> dict | list:
    """Parse a ``.json`` or ``.toml`` file (by extension) into plain Python values."""
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix not in (".json", ".toml"):
        raise InputError(f"{_name(source)} has extension {source.suffix!r}; use .json or .toml")
    try:
        text = source.read_text(encoding="utf-8-sig")
        return tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    except FileNotFoundError:
        raise InputError(f"{_name(source)} does not exist") from None
    except (OSError, ValueError) as err:  # JSONDecodeError, TOMLDecodeError, UnicodeError
        raise InputError(f"cannot parse {_name(source)}: {err}") from None


def _check_keys(table: dict, allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise InputError(f"{where}: unknown key(s) {unknown}; allowed: {', '.join(allowed)}")


def _finite_number(value, where: str) -> float:
    """A real number (not a bool) that is finite in float32."""
    try:
        number = float(value) if _is_number(value) else math.nan
    except OverflowError:  # a JSON integer beyond float range
        number = math.inf
    if not math.isfinite(number) or abs(number) > _F32_MAX:
        raise InputError(f"{where} must be a finite number (float32 range), got {value!r}")
    return number


def _numbers(value, where: str) -> np.ndarray:
    """A list of numbers, or a rectangular list of lists of numbers, all finite."""
    if not isinstance(value, list):
        raise InputError(f"{where} must be a list of numbers (or of lists), got {value!r}")
    rows = value if value and all(isinstance(v, list) for v in value) else [value]
    for r, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(rows[0]):
            raise InputError(f"{where}: rows must all be lists of the same length (row {r})")
        for c, item in enumerate(row):
            label = f"{where}[{r}][{c}]" if rows is value else f"{where}[{c}]"
            _finite_number(item, label)
    return np.array(rows, dtype=np.float32)


def _vector3(value, where: str, nonzero: bool) -> list[float]:
    if not isinstance(value, list) or len(value) != 3:
        raise InputError(f"{where} must be a list of 3 numbers [x, y, z], got {value!r}")
    vector = [_finite_number(v, f"{where}[{k}]") for k, v in enumerate(value)]
    if nonzero and not any(vector):
        raise InputError(f"{where} is a direction and must not be [0, 0, 0]")
    return vector


def load_resonance(path: str | os.PathLike):
    """Read a :class:`~stv_cli.model.resonance.DifferentialResonance` from a JSON or TOML file.

    Parameters
    ----------
    path : str or os.PathLike
        An object with ``infinity_energy`` and ``recursive_objective`` (required, non-empty)
        and optionally ``homotopy_flow``, ``functor_linearisation``, ``infinity_projection``:
        lists or nested lists of finite numbers (read row-major, as the model does).

    Raises
    ------
    InputError
        Unparsable file, a missing, empty, unknown or malformed key (named), NaN or inf.
    """
    from ..model.resonance import DifferentialResonance

    source = Path(path)
    data = read_config(source)
    where = _name(source)
    if not isinstance(data, dict):
        raise InputError(f"{where} must hold an object with keys {', '.join(RESONANCE_FIELDS)}")
    _check_keys(data, RESONANCE_FIELDS, where)
    fields = {}
    for key in RESONANCE_FIELDS:
        if key not in data:
            if key in _REQUIRED_RESONANCE:
                raise InputError(f"{where}: key {key!r} is required (a list of numbers)")
            continue
        fields[key] = _numbers(data[key], f"{where}: {key}")
        if key in _REQUIRED_RESONANCE and fields[key].size == 0:
            raise InputError(f"{where}: {key} must not be empty")
    return DifferentialResonance(**fields)


def load_views(path: str | os.PathLike):
    """Read a :class:`~stv_cli.model.multiview.MultiViewFusion` from a JSON or TOML file.

    Parameters
    ----------
    path : str or os.PathLike
        An object with ``views`` (a non-empty list of tables with ``id``, ``forward`` and
        optionally ``origin`` and ``baseline_weight``), and optionally ``focus_direction``
        and ``alignment_gamma`` (see the module docstring). A JSON list is read as the
        ``views`` alone.

    Raises
    ------
    InputError
        Unparsable file; missing, unknown or malformed keys; a duplicate id; a zero
        direction; a negative baseline weight; gamma outside [0.25, 8]; NaN or inf.
    """
    from ..model.multiview import MultiViewFusion, ViewDescriptor

    source = Path(path)
    data = read_config(source)
    where = _name(source)
    if isinstance(data, list):
        data = {"views": data}
    if not isinstance(data, dict):
        raise InputError(f"{where} must hold an object with a 'views' list")
    _check_keys(data, _FUSION_KEYS, where)
    tables = data.get("views")
    if not isinstance(tables, list) or not tables:
        raise InputError(f"{where}: 'views' must be a non-empty list of views ([[views]] in TOML)")
    views, seen = [], {}
    for k, table in enumerate(tables):
        at = f"{where}: views[{k}]"
        if not isinstance(table, dict):
            raise InputError(f"{at} must be a table with id and forward, got {table!r}")
        _check_keys(table, _VIEW_KEYS, at)
        if "id" not in table or "forward" not in table:
            raise InputError(f"{at} needs 'id' and 'forward' (origin and baseline_weight optional)")
        view_id = table["id"]
        if not isinstance(view_id, (str, int)) or isinstance(view_id, bool):
            raise InputError(f"{at}.id must be a string, got {view_id!r}")
        view_id = str(view_id)
        if view_id in seen:
            raise InputError(f"{at}.id {view_id!r} repeats views[{seen[view_id]}].id")
        seen[view_id] = k
        origin = _vector3(table.get("origin", [0.0, 0.0, 0.0]), f"{at}.origin", nonzero=False)
        forward = _vector3(table["forward"], f"{at}.forward", nonzero=True)
        weight = _finite_number(table.get("baseline_weight", 1.0), f"{at}.baseline_weight")
        if weight < 0:
            raise InputError(f"{at}.baseline_weight must be >= 0, got {weight}")
        views.append(ViewDescriptor(view_id, origin, forward).with_baseline_weight(weight))
    fusion = MultiViewFusion(views)
    if "focus_direction" in data:
        focus = _vector3(data["focus_direction"], f"{where}: focus_direction", nonzero=True)
        fusion = fusion.with_focus_direction(focus)
    if "alignment_gamma" in data:
        gamma = _finite_number(data["alignment_gamma"], f"{where}: alignment_gamma")
        if not _GAMMA_RANGE[0] <= gamma <= _GAMMA_RANGE[1]:
            raise InputError(
                f"{where}: alignment_gamma must be in [{_GAMMA_RANGE[0]}, {_GAMMA_RANGE[1]}], "
                f"got {gamma}"
            )
        fusion = fusion.with_alignment_gamma(gamma)
    return fusion
