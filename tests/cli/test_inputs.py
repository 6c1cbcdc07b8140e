"""Input lists, globs, shards and the streaming report of batch commands."""

from __future__ import annotations

import json

import click
import numpy as np
import pytest

from stv_cli.cli.inputs import collect_inputs, parse_shard, read_list
from tests.cli.helpers import make_stack, run


def _options(**given):
    return {"files_from": None, "null": False, "shard": None, **given}


def test_list_files_by_line_and_by_nul(tmp_path):
    lines = tmp_path / "list.txt"
    lines.write_bytes(b"a\r\nb c\n\n  d\n")
    assert read_list(str(lines)) == ["a", "b c", "  d"]
    nul = tmp_path / "list.bin"
    nul.write_bytes(b"with space\0with\nnewline\0\0last")
    assert read_list(str(nul), null=True) == ["with space", "with\nnewline", "last"]
    with pytest.raises(click.BadParameter, match="cannot read"):
        read_list(str(tmp_path / "missing.txt"))


def test_twenty_thousand_entries_and_shards_that_partition_them(tmp_path):
    names = [f"stacks/s{k:05d}" for k in range(20_000)]
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(names) + "\n")
    inputs = collect_inputs([], _options(files_from=str(listing)))
    assert [str(p) for p in inputs] == names
    shards = [collect_inputs([], _options(files_from=str(listing), shard=f"{k}/7"))
              for k in range(1, 8)]  # fmt: skip
    flat = [str(p) for shard in shards for p in shard]
    assert sorted(flat) == sorted(names) and len(flat) == len(set(flat))
    listing.write_text("\n".join([*names, "stacks/new"]) + "\n")  # appended: nothing moves
    again = collect_inputs([], _options(files_from=str(listing), shard="3/7"))
    assert again[: len(shards[2])] == shards[2]


def test_slurm_shards_and_bad_specs():
    env = {"SLURM_ARRAY_TASK_ID": "12", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_MAX": "14"}
    assert parse_shard("slurm", env) == (3, 5)
    env["SLURM_ARRAY_TASK_COUNT"] = "8"
    assert parse_shard("slurm", env) == (3, 8)
    with pytest.raises(click.BadParameter, match="SLURM_ARRAY_TASK_ID"):
        parse_shard("slurm", {})
    for bad in ("0/3", "4/3", "x", "1/2/3"):
        with pytest.raises(click.BadParameter):
            parse_shard(bad)


def test_globs_are_expanded_in_natural_order(tmp_path):
    for name in ("s10", "s2", "s1"):
        (tmp_path / name).mkdir()
    got = collect_inputs([str(tmp_path / "s*")], _options())
    assert [p.name for p in got] == ["s1", "s2", "s10"]
    with pytest.raises(click.BadParameter, match="matches nothing"):
        collect_inputs([str(tmp_path / "x*")], _options())
    with pytest.raises(click.BadParameter, match="does not exist"):
        collect_inputs([str(tmp_path / "nope")], _options())
    with pytest.raises(click.UsageError, match="no inputs"):
        collect_inputs([], _options())


def test_project_reads_its_inputs_from_a_list_and_stdin(tmp_path):
    a = make_stack(tmp_path / "a b", depth=2, height=3, width=4)  # a space in the name
    b = make_stack(tmp_path / "c", depth=2, height=3, width=4)
    listing = tmp_path / "list.bin"
    listing.write_bytes(f"{a}\0{b}\0".encode())
    result = run("project", "-o", f"{tmp_path / 'out'}/", "--files-from", listing, "-0")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a b.png", "c.png"]
    from click.testing import CliRunner

    from stv_cli.cli.main import main

    piped = CliRunner().invoke(
        main, ["project", "-o", f"{tmp_path / 'piped'}/", "--files-from", "-"],
        input=f"{a}\n{b}\n",
    )  # fmt: skip
    assert piped.exit_code == 0, piped.output
    assert len(list((tmp_path / "piped").iterdir())) == 2
    none = run("project", "-o", f"{tmp_path / 'x'}/")
    assert none.exit_code == 2 and "no inputs" in none.output


def test_the_report_gets_a_line_per_input_as_it_finishes(tmp_path, monkeypatch):
    import stv_cli.pipeline.project as project

    stacks = [make_stack(tmp_path / f"s{k}", depth=2, height=3, width=4) for k in range(3)]
    np.save(tmp_path / "bad.npy", np.zeros((2, 3), np.float32))  # 2-D: fails alone
    report = tmp_path / "report.jsonl"
    real = project.run_project_input
    seen = []

    def watching(path, **kwargs):
        seen.append(len(report.read_text().splitlines()) if report.exists() else 0)
        return real(path, **kwargs)

    monkeypatch.setattr(project, "run_project_input", watching)
    result = run("project", *stacks[:2], tmp_path / "bad.npy", stacks[2],
                 "-o", f"{tmp_path / 'out'}/", "--report", report)  # fmt: skip
    assert result.exit_code == 1
    assert seen == [0, 1, 2, 3]  # each line was there before the next input started
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert [line["status"] for line in lines] == ["ok", "ok", "failed", "ok"]
    assert {"input", "outputs", "error", "warnings", "seconds", "host", "worker"} <= set(lines[0])
    assert lines[0]["command"] == "project" and lines[2]["error"]


def test_output_templates_resolve_per_input_and_refuse_clashes(tmp_path):
    a = make_stack(tmp_path / "dupA" / "stack", depth=2, height=3, width=4)
    b = make_stack(tmp_path / "dupB" / "stack", depth=2, height=3, width=4)
    out = tmp_path / "out"
    clash = run("project", a, b, "-o", f"{out}/{{name}}.png")
    assert clash.exit_code == 2 and "would both write" in clash.output and "dupA" in clash.output
    result = run("project", a, b, "-o", f"{out}/{{parent}}/{{name}}_{{index}}.png")
    assert result.exit_code == 0, result.output
    assert (out / "dupA" / "stack_0.png").exists() and (out / "dupB" / "stack_1.png").exists()
    again = run("project", a, b, "-o", f"{out}/{{parent}}/{{name}}_{{index}}.png",
                "--skip-existing", "--json", "--quiet")  # fmt: skip
    assert [r["status"] for r in json.loads(again.output)["results"]] == ["skipped", "skipped"]
    folders = run("project", a, b, "-o", f"{out}/by-parent/{{parent}}/")
    assert folders.exit_code == 0, folders.output
    assert (out / "by-parent" / "dupA" / "stack.png").exists()
    bad = run("project", a, "-o", f"{out}/{{nope}}.png")
    assert bad.exit_code == 2 and "{name}" in bad.output


def test_dry_run_plans_every_input_without_reading_pixels(tmp_path, monkeypatch):
    import stv_cli.io.images as images

    def never(*args, **kwargs):
        raise AssertionError("pixels were read")

    monkeypatch.setattr(images, "load_volume", never)
    monkeypatch.setattr(images, "load_slices", never)
    stack = make_stack(tmp_path / "s", depth=3, height=5, width=6)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "s.png").write_bytes(b"old")
    names = [str(stack)] + [str(tmp_path / f"missing{k:05d}") for k in range(20_000)]
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(names) + "\n")
    result = run("project", "--files-from", listing, "-o", f"{tmp_path / 'out'}/",
                 "--upscale", "2", "--dry-run")  # fmt: skip
    assert result.exit_code == 0, result.output[-500:]
    records = [json.loads(line) for line in result.output.splitlines()]
    assert len(records) == 20_001
    first = records[0]
    assert first["action"] == "refuse" and first["shape"] == [3, 5, 6, 1]
    assert first["mode"] == "tiles" and first["memory_estimate"] > 0
    assert first["outputs"] == [str(tmp_path / "out" / "s.png")]
    assert records[1]["action"] == "fail" and "does not exist" in records[1]["error"]
    assert not (tmp_path / "out" / "s.png").read_bytes() != b"old"  # nothing written


def test_grid_reads_a_list_and_reports_in_the_common_shape(tmp_path):
    from PIL import Image

    files = []
    for k in range(3):
        files.append(tmp_path / f"i{k}.png")
        Image.fromarray(np.full((4, 5), 40 * k, np.uint8)).save(files[-1])
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(map(str, files[1:])) + "\n")
    result = run("grid", files[0], "--files-from", listing, "-o", tmp_path / "g.png", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["command"] == "grid" and report["ok"] == 1 and report["exit_code"] == 0
    record = report["results"][0]
    assert {"input", "status", "outputs", "error", "warnings", "seconds", "host", "worker"} <= set(
        record
    )
    assert report["images"] == [str(f) for f in files]


def test_decode_and_video_dry_runs_plan_without_decoding(tmp_path):
    from stv_cli.io import pattern_clip

    np.save(tmp_path / "lat.npy", np.ones((3, 4), np.float32))
    result = run("decode", tmp_path / "lat.npy", "-o", f"{tmp_path / 'out'}/", "--dry-run",
                 "--depth", "2", "--height", "3", "--width", "4")  # fmt: skip
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["action"] == "run" and len(record["outputs"]) == 3
    assert record["shape"] == [2, 3, 4, 1] and not (tmp_path / "out").exists()
    clip = pattern_clip.write_pattern_clip(tmp_path / "c.mp4", frames=5, height=24, width=32)
    video = run("video", clip, "-o", f"{tmp_path / 'v'}/", "--dry-run")
    assert video.exit_code == 0, video.output
    plan = json.loads(video.output)
    assert plan["shape"][1:] == [24, 32, 3] and plan["mode"] == "stream"
    assert plan["outputs"] and not (tmp_path / "v").exists()
