"""Latent, resonance and views files: every format, and errors that say where and what."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stv_cli.errors import InputError
from stv_cli.io.latents import load_latents, load_resonance, load_views, read_config

LATENTS = np.array([[0.5, -1.0, 2.0], [3.0, 4.25, -0.125]], np.float32)


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# -- latents ---------------------------------------------------------------------------------


def test_npy_npz_json_csv_txt_agree(tmp_path):
    np.save(tmp_path / "a.npy", LATENTS.astype(np.float64))
    np.savez(tmp_path / "one.npz", x=LATENTS)
    np.savez(tmp_path / "named.npz", other=np.zeros(2), latents=LATENTS)
    _write(tmp_path / "a.json", json.dumps(LATENTS.tolist()))
    _write(tmp_path / "b.json", json.dumps({"latents": LATENTS.tolist()}))
    _write(tmp_path / "a.csv", "# header: f0,f1,f2\n0.5, -1, 2\n\n3,4.25,-0.125  # last\n")
    _write(tmp_path / "a.txt", "0.5 -1\t2\n3 4.25 -0.125\n")
    for name in ("a.npy", "one.npz", "named.npz", "a.json", "b.json", "a.csv", "a.txt"):
        latents = load_latents(tmp_path / name)
        assert latents.dtype == np.float32 and latents.flags.c_contiguous, name
        np.testing.assert_array_equal(latents, LATENTS, err_msg=name)


def test_a_single_latent_is_one_row(tmp_path):
    np.save(tmp_path / "v.npy", np.arange(4))
    _write(tmp_path / "v.json", "[1, 2, 3, 4]")
    _write(tmp_path / "v.csv", "1,2,3,4\n")
    for name in ("v.npy", "v.json", "v.csv"):
        assert load_latents(tmp_path / name).shape == (1, 4), name


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("nan.csv", "1,2\n3,nan\n", r"line 2 \(latent 1\), value 1 is nan"),
        ("inf.txt", "# c\n\n1 2\ninf 3\n", r"line 4 \(latent 1\), value 0 is inf"),
        ("ragged.csv", "1,2,3\n4,5\n", "ragged rows: line 2 has 2 values, line 1 has 3"),
        ("header.csv", "a,b\n1,2\n", "line 1, value 0 is 'a', not a number"),
        ("gap.csv", "1,,2\n", "line 1, value 1 is an empty field"),
        ("empty.csv", "# nothing\n\n", "holds no latents"),
        ("ragged.json", "[[1, 2], [3]]", "latent 1 has 1 values, latent 0 has 2"),
        ("deep.json", "[[[1, 2]]]", "nested deeper than 2-D"),
        ("word.json", '[[1, "x"]]', "latent 0, value 1 is 'x', not a number"),
        ("bool.json", "[[1, true]]", "value 1 is True, not a number"),
        ("nan.json", "[[1, NaN]]", "latent 0, value 1 is nan"),
        ("big.json", "[[1, 1e300]]", "latent 0, value 1 is inf"),
        ("empty.json", "[]", "non-empty list"),
        ("obj.json", '{"z": [1]}', "without a 'latents' key"),
        ("broken.json", "[1, 2", "cannot read latent file"),
        ("latents.yaml", "- 1", "extension '.yaml'"),
    ],
)
def test_bad_text_latents_name_file_row_and_problem(tmp_path, name, content, message):
    path = _write(tmp_path / name, content)
    with pytest.raises(InputError, match=message) as err:
        load_latents(path)
    assert name in str(err.value)


def test_bad_array_latents(tmp_path):
    np.save(tmp_path / "3d.npy", np.zeros((2, 3, 4)))
    np.save(tmp_path / "empty.npy", np.zeros((0, 4)))
    np.save(tmp_path / "nan.npy", np.array([[1.0, 2.0], [3.0, np.nan]]))
    np.save(tmp_path / "obj.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
    np.save(tmp_path / "str.npy", np.array([["a"]]))
    np.savez(tmp_path / "two.npz", a=np.zeros(2), b=np.zeros(2))
    cases = {
        "3d.npy": r"shape \(2, 3, 4\) \(3-D\)",
        "empty.npy": "holds no latents",
        "nan.npy": "latent 1, value 1 is nan",
        "obj.npy": "allow_pickle",
        "str.npy": "real numbers",
        "two.npz": r"holds arrays \['a', 'b'\]",
    }
    for name, message in cases.items():
        with pytest.raises(InputError, match=message):
            load_latents(tmp_path / name)
    with pytest.raises(InputError, match="does not exist"):
        load_latents(tmp_path / "missing.npy")


# -- resonance --------------------------------------------------------------------------------


def test_resonance_file_gives_the_model_record(tmp_path):
    path = _write(
        tmp_path / "r.json",
        json.dumps(
            {
                "infinity_energy": [1, 2],
                "recursive_objective": [[0.0], [0.5]],
                "homotopy_flow": [0.25],
            }
        ),
    )
    resonance = load_resonance(path)
    np.testing.assert_array_equal(resonance.infinity_energy, [1, 2])
    np.testing.assert_array_equal(resonance.recursive_objective, [0.0, 0.5])
    np.testing.assert_array_equal(resonance.homotopy_flow, [0.25])
    assert resonance.infinity_projection.size == 0
    toml = _write(tmp_path / "r.toml", "infinity_energy = [1, 2]\nrecursive_objective = [0]\n")
    np.testing.assert_array_equal(load_resonance(toml).infinity_energy, [1, 2])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"recursive_objective": [0]}, "key 'infinity_energy' is required"),
        ({"infinity_energy": [], "recursive_objective": [0]}, "infinity_energy must not be empty"),
        ({"infinity_energy": [1], "recursive_objective": [0], "energy": [1]}, r"unknown key"),
        ({"infinity_energy": [1, "a"], "recursive_objective": [0]}, r"infinity_energy\[1\]"),
        ({"infinity_energy": 3, "recursive_objective": [0]}, "must be a list"),
        ({"infinity_energy": [[1, 2], [3]], "recursive_objective": [0]}, "same length"),
        ({"infinity_energy": [1], "recursive_objective": [[0, 1e39]]}, r"objective\[0\]\[1\]"),
        ([1, 2], "must hold an object"),
    ],
)
def test_bad_resonance_files_name_the_key(tmp_path, content, message):
    path = _write(tmp_path / "r.json", json.dumps(content))
    with pytest.raises(InputError, match=message) as err:
        load_resonance(path)
    assert "r.json" in str(err.value)


def test_resonance_file_rejects_nan(tmp_path):
    path = _write(tmp_path / "r.json", '{"infinity_energy": [NaN], "recursive_objective": [0]}')
    with pytest.raises(InputError, match=r"infinity_energy\[0\] must be a finite number"):
        load_resonance(path)


# -- views ------------------------------------------------------------------------------------

VIEWS_TOML = """
focus_direction = [0.0, 0.0, 2.0]
alignment_gamma = 2.0

[[views]]
id = "front"
origin = [0.0, 0.0, -1.0]
forward = [0.0, 0.0, 1.0]

[[views]]
id = "side"
forward = [1.0, 0.0, 1.0]
baseline_weight = 0.5
"""


def test_views_toml_and_json_give_the_same_fusion(tmp_path):
    toml_fusion = load_views(_write(tmp_path / "v.toml", VIEWS_TOML))
    data = read_config(tmp_path / "v.toml")
    json_fusion = load_views(_write(tmp_path / "v.json", json.dumps(data)))
    for fusion in (toml_fusion, json_fusion):
        assert fusion.view_count == 2
        assert [v.id for v in fusion.views] == ["front", "side"]
        np.testing.assert_allclose(fusion.focus_direction, [0, 0, 1])
        assert fusion.alignment_gamma == 2.0
        assert fusion.views[1].baseline_weight == 0.5
        np.testing.assert_allclose(fusion.views[1].forward, np.float32([1, 0, 1]) / np.sqrt(2))
        np.testing.assert_array_equal(fusion.views[0].origin, [0, 0, -1])
    np.testing.assert_array_equal(toml_fusion.normalised_biases(), json_fusion.normalised_biases())
    bare = load_views(_write(tmp_path / "list.json", json.dumps(data["views"])))
    assert bare.alignment_gamma == 1.0 and bare.view_count == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"views": []}, "non-empty list"),
        ({}, "non-empty list"),
        ({"views": [{"id": "a"}]}, r"views\[0\] needs 'id' and 'forward'"),
        ({"views": [{"id": "a", "forward": [0, 0]}]}, r"views\[0\].forward must be a list of 3"),
        ({"views": [{"id": "a", "forward": [0, 0, 0]}]}, "must not be"),
        ({"views": [{"id": "a", "forward": [0, 0, 1], "up": 1}]}, r"unknown key\(s\) \['up'\]"),
        (
            {"views": [{"id": "a", "forward": [0, 0, 1]}, {"id": "a", "forward": [0, 1, 0]}]},
            r"views\[1\].id 'a' repeats views\[0\].id",
        ),
        ({"views": [{"id": "a", "forward": [0, 0, 1], "baseline_weight": -1}]}, ">= 0"),
        ({"views": [{"id": True, "forward": [0, 0, 1]}]}, "id must be a string"),
        ({"views": [{"id": "a", "forward": [0, 0, 1]}], "alignment_gamma": 20}, r"\[0.25, 8.0\]"),
        ({"views": [{"id": "a", "forward": [0, 0, 1]}], "focus_direction": [0, 0, 0]}, "must not"),
        ({"views": [{"id": "a", "forward": [0, 0, 1]}], "gamma": 2}, "unknown key"),
    ],
)
def test_bad_views_files_name_the_key(tmp_path, content, message):
    path = _write(tmp_path / "v.json", json.dumps(content))
    with pytest.raises(InputError, match=message) as err:
        load_views(path)
    assert "v.json" in str(err.value)


def test_views_file_format_errors(tmp_path):
    with pytest.raises(InputError, match="cannot parse"):
        load_views(_write(tmp_path / "v.toml", "[[views]\nid = 1"))
    with pytest.raises(InputError, match="use .json or .toml"):
        load_views(_write(tmp_path / "v.yaml", "views: []"))
    with pytest.raises(InputError, match="does not exist"):
        load_views(tmp_path / "missing.toml")
    nan = '{"views": [{"id": "a", "forward": [0, NaN, 1]}]}'
    with pytest.raises(InputError, match=r"forward\[1\] must be a finite number"):
        load_views(_write(tmp_path / "n.json", nan))


# -- the shipped sample data -------------------------------------------------------------------

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.mark.skipif(not (SAMPLE / "focus_stack").is_dir(), reason="sample_data not present")
def test_sample_data_files_load_and_agree():
    from stv_cli.io.images import probe_volume

    info = probe_volume(SAMPLE / "focus_stack")
    assert info.shape == (10, 256, 256, 3)
    assert [p.name for p in info.files][:3] == ["z1.png", "z2.png", "z3.png"]
    np.testing.assert_array_equal(
        load_latents(SAMPLE / "latents.npy"), load_latents(SAMPLE / "latents.csv")
    )
    assert load_latents(SAMPLE / "latents.npy").shape == (4, 16)
    for name in ("views.toml", "views.json"):
        assert load_views(SAMPLE / name).view_count == info.depth
    np.testing.assert_array_equal(
        load_views(SAMPLE / "views.toml").normalised_biases(),
        load_views(SAMPLE / "views.json").normalised_biases(),
    )
    assert load_resonance(SAMPLE / "resonance.json").infinity_energy.size == info.depth
