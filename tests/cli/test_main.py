"""The stv group end to end (info, help, common options, batches), through CliRunner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stv_cli import backend
from tests.cli.helpers import library_projection, make_stack, read_png, run


def test_help_does_not_import_numba():
    code = (
        "import sys\n"
        "from stv_cli.cli.main import main\n"
        "commands = [[name, '-h'] for name in main.commands if name != 'info']\n"
        "for args in [['--help'], *commands]:\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit as exit:\n"
        "        assert exit.code == 0, exit.code\n"
        "assert 'numba' not in sys.modules, 'numba was imported'\n"
        "print('clean')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("clean")


def test_version():
    from stv_cli import __version__

    result = run("--version")
    assert result.exit_code == 0
    assert __version__ in result.output


def test_info_json_lists_backends_threads_and_cache():
    result = run("info", "--json")
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout)
    assert facts["backends"]["numpy"] is True
    assert list(facts["backends"]) == ["cuda", "cpu", "numpy"]  # the registry, auto's order
    # a backend that cannot run says why; one that runs has no entry there
    assert set(facts["unavailable"]) == {k for k, v in facts["backends"].items() if not v}
    assert facts["threads"] >= 1
    assert facts["numba"]
    assert facts["numba_cache"]


def test_info_text():
    result = run("info")
    assert result.exit_code == 0
    assert "version" in result.stdout and "numba_cache" in result.stdout


def test_unknown_command_is_usage_error():
    assert run("frobnicate").exit_code == 2


def test_several_inputs_need_a_directory(tmp_path):
    a = make_stack(tmp_path / "a")
    b = make_stack(tmp_path / "b", seed=1)
    result = run("project", a, b, "-o", tmp_path / "x.png")
    assert result.exit_code == 2
    assert "with 2 inputs -o must be a directory" in result.output


def test_inputs_with_the_same_name_are_refused(tmp_path):
    a = make_stack(tmp_path / "one" / "stack")
    b = make_stack(tmp_path / "two" / "stack", seed=1)
    result = run("project", a, b, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "would both write outputs named 'stack'" in result.output


def test_unknown_output_extension(tmp_path):
    stack = make_stack(tmp_path / "stack")
    result = run("project", stack, "-o", tmp_path / "x.xyz")
    assert result.exit_code == 2
    assert "cannot write images with extension '.xyz'" in result.output
    assert "end it with / to make it a directory" in result.output
    dotted = run("project", stack, "-o", f"{tmp_path / 'run.v1'}/")  # a folder with a dot
    assert dotted.exit_code == 0, dotted.output
    assert dotted.stdout.strip() == str(tmp_path / "run.v1" / "stack.png")


def test_missing_input_is_usage_error(tmp_path):
    result = run("project", tmp_path / "nope", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_batch_with_one_bad_input_goes_on(tmp_path):
    good1 = make_stack(tmp_path / "good1")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "notes.txt").write_text("not an image")
    good2 = make_stack(tmp_path / "good2", seed=2)
    out = tmp_path / "out"
    result = run("project", good1, bad, good2, "-o", out, "--json")
    assert result.exit_code == 1
    assert (out / "good1.png").is_file() and (out / "good2.png").is_file()
    assert not (out / "bad.png").exists()
    assert f"failed: {bad}:" in result.stderr
    assert "1 of 3 inputs failed" in result.stderr
    report = json.loads(result.stdout)
    assert report["exit_code"] == 1
    assert [r["status"] for r in report["results"]] == ["ok", "failed", "ok"]
    assert report["results"][1]["outputs"] == [] and report["results"][1]["error"]
    assert report["results"][0]["outputs"] == [str(out / "good1.png")]


def test_existing_output_is_refused_then_overwritten(tmp_path):
    stack = make_stack(tmp_path / "stack")
    out = tmp_path / "out"
    assert run("project", stack, "-o", out).exit_code == 0
    (out / "stack.png").write_bytes(b"old")
    result = run("project", stack, "-o", out)
    assert result.exit_code == 1
    assert str(out / "stack.png") in result.stderr and "--overwrite" in result.stderr
    assert (out / "stack.png").read_bytes() == b"old"
    assert run("project", stack, "-o", out, "--overwrite").exit_code == 0
    np.testing.assert_array_equal(read_png(out / "stack.png"), library_projection(stack)[..., 0])


def test_skip_existing_resumes_a_batch(tmp_path):
    a = make_stack(tmp_path / "a")
    b = make_stack(tmp_path / "b", seed=1)
    out = tmp_path / "out"
    assert run("project", a, "-o", out, "--grid").exit_code == 0
    before = (out / "a.png").stat().st_mtime_ns
    result = run("project", a, b, "-o", out, "--grid", "--skip-existing", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [r["status"] for r in report["results"]] == ["skipped", "ok"]
    assert (out / "a.png").stat().st_mtime_ns == before
    assert (out / "b.png").is_file() and (out / "b_grid.png").is_file()


def test_skip_existing_redoes_a_half_done_input(tmp_path):
    a = make_stack(tmp_path / "a")
    out = tmp_path / "out"
    assert run("project", a, "-o", out).exit_code == 0  # the grid is missing
    result = run("project", a, "-o", out, "--grid", "--skip-existing")
    assert result.exit_code == 0, result.output
    assert (out / "a_grid.png").is_file()


def test_overwrite_and_skip_existing_exclude_each_other(tmp_path):
    stack = make_stack(tmp_path / "stack")
    result = run("project", stack, "-o", tmp_path / "o", "--overwrite", "--skip-existing")
    assert result.exit_code == 2
    assert "exclude each other" in result.output


def test_interrupt_exits_130_and_leaves_no_partial_file(tmp_path, monkeypatch):
    import stv_cli.pipeline.project as pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "write_weights_plot", interrupted)
    stack = make_stack(tmp_path / "stack")
    out = tmp_path / "out"
    result = run("project", stack, "-o", out, "--weights-plot")
    assert result.exit_code == 130
    assert "interrupted" in result.stderr
    # the picture finished before the interrupt is whole; no temporary file is left
    assert sorted(p.name for p in out.iterdir()) == ["stack.png"]


def test_interrupt_inside_a_write_leaves_nothing(tmp_path, monkeypatch):
    import stv_cli.io.atomic as atomic

    def interrupted_publish(tmp, target, overwrite):
        assert tmp.stat().st_size > 0  # the temporary file was written, then Ctrl-C
        raise KeyboardInterrupt

    stack = make_stack(tmp_path / "stack")
    monkeypatch.setattr(atomic, "_publish", interrupted_publish)
    out = tmp_path / "out"
    result = run("project", stack, "-o", out)
    assert result.exit_code == 130
    assert not out.exists() or list(out.iterdir()) == []


def test_a_device_that_cannot_run_here_is_a_usage_error_saying_why(tmp_path, monkeypatch):
    reasons = {"cuda": "no NVIDIA driver found on this machine"}
    monkeypatch.setattr(backend, "unavailable_reason", lambda name: reasons.get(name))
    stack = make_stack(tmp_path / "stack")
    result = run("project", stack, "-o", tmp_path / "out", "--device", "cuda")
    assert result.exit_code == 2, result.output
    assert "cuda is not available on this machine: no NVIDIA driver found" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--threads", "0"], "--threads"),
        (["--device", "cpu", "--threads", "100000"], "threads the cpu backend has here"),
        (["--focus", "nan"], "--focus"),
        (["--upscale", "0"], "--upscale"),
        (["--nrow", "0"], "--nrow"),
        (["--memory-limit", "0"], "--memory-limit"),
    ],
)
def test_bad_common_options_are_usage_errors(tmp_path, args, message):
    if "cpu" in args and not backend.is_available("cpu"):
        pytest.skip("the numba cpu backend is not available here")
    stack = make_stack(tmp_path / "stack")
    result = run("project", stack, "-o", tmp_path / "out", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("device", ["cpu", "numpy", "auto"])
def test_devices_give_the_same_picture(tmp_path, device):
    if device == "cpu" and not backend.is_available("cpu"):
        pytest.skip("the numba cpu backend is not available here")
    stack = make_stack(tmp_path / "stack", depth=5)
    out = tmp_path / device
    result = run("project", stack, "-o", out, "--device", device, "--threads", "1")
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(read_png(out / "stack.png"), library_projection(stack)[..., 0])


def test_options_from_environment_variables(tmp_path):
    stack = make_stack(tmp_path / "stack", depth=6)
    env = {"STV_PROJECT_FOCUS": "0.1", "STV_PROJECT_WINDOW": "rectangular"}
    result = run("project", stack, "-o", tmp_path / "p.png", env=env)
    assert result.exit_code == 0, result.output
    expected = library_projection(stack, focus=0.1, window="rectangular")
    np.testing.assert_array_equal(read_png(tmp_path / "p.png"), expected[..., 0])
    bad = run("project", stack, "-o", tmp_path / "q.png", env={"STV_PROJECT_FOCUS": "7"})
    assert bad.exit_code == 2
    assert "focus" in bad.output


def test_quiet_and_verbose(tmp_path):
    stack = make_stack(tmp_path / "stack")
    verbose = run("project", stack, "-o", tmp_path / "v", "-v")
    assert verbose.exit_code == 0 and " s" in verbose.stderr
    quiet = run("project", stack, "-o", tmp_path / "v", "-q", "--skip-existing")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_console_script_entry_point(tmp_path):
    script = Path(sys.executable).parent / "stv"
    if not script.exists():
        pytest.skip("stv console script not installed in this environment")
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, env=dict(os.environ)
    )
    assert result.returncode == 0 and "stv" in result.stdout


def test_sigint_in_a_real_process_exits_130(tmp_path):
    import signal

    stack = make_stack(tmp_path / "stack")
    out = tmp_path / "out"
    code = (
        "import sys, time\n"
        "import stv_cli.pipeline.project as pipeline\n"
        "def slow_refine(volume, settings, workspace=None):\n"
        "    print('refining', file=sys.stderr, flush=True)\n"
        "    time.sleep(60)\n"
        "pipeline.refine = slow_refine\n"
        "from stv_cli.cli.main import main\n"
        f"main(['project', {str(stack)!r}, '-o', {str(out)!r}, '--device', 'numpy'])\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr.readline().strip() == "refining"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "interrupted" in err
    assert not out.exists() or list(out.iterdir()) == []


def test_trailing_slash_makes_output_a_directory(tmp_path):
    a = make_stack(tmp_path / "a")
    b = make_stack(tmp_path / "b", seed=1)
    out = str(tmp_path / "out.d") + "/"
    result = run("project", a, b, "-o", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out.d").iterdir()) == ["a.png", "b.png"]


def test_device_and_limits_do_not_leak_out_of_a_command(tmp_path):
    from stv_cli.model.memory import memory_limit

    before = (backend.get_backend(), memory_limit())
    stack = make_stack(tmp_path / "stack")
    args = ["--device", "numpy", "--memory-limit", "1G"]
    assert run("project", stack, "-o", tmp_path / "out", *args).exit_code == 0
    assert (backend.get_backend(), memory_limit()) == before


def test_shell_completion_answers_without_numba():
    code = (
        "import sys\n"
        "from stv_cli.cli.main import main\n"
        "try:\n"
        "    main(prog_name='stv')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('numba' in sys.modules)\n"
    )
    env = dict(os.environ, _STV_COMPLETE="bash_complete", COMP_WORDS="stv pro", COMP_CWORD="1")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert "project" in result.stdout
    assert result.stdout.strip().endswith("False")
    script = dict(os.environ, _STV_COMPLETE="bash_source")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=script
    )
    assert "_STV_COMPLETE" in result.stdout


def test_quiet_silences_library_warnings(tmp_path):
    stack = make_stack(tmp_path / "stack")
    (stack / "README.txt").write_text("not an image")
    loud = run("project", stack, "-o", tmp_path / "a")
    assert loud.exit_code == 0, loud.output
    assert "README.txt" in loud.stderr
    quiet = run("project", stack, "-o", tmp_path / "b", "-q")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""
    assert quiet.stdout.strip() == str(tmp_path / "b" / "stack.png")


def test_overwrite_from_the_environment_gives_way_to_skip_existing_typed(tmp_path):
    stack = make_stack(tmp_path / "stack")
    assert run("project", stack, "-o", tmp_path / "o").exit_code == 0
    picture = tmp_path / "o" / "stack.png"
    before = picture.stat().st_mtime_ns
    skip = run(
        "project",
        stack,
        "-o",
        tmp_path / "o",
        "--skip-existing",
        "--json",
        env={"STV_PROJECT_OVERWRITE": "1"},
    )
    assert skip.exit_code == 0, skip.output
    assert json.loads(skip.stdout)["skipped"] == 1
    assert picture.stat().st_mtime_ns == before
    again = run(
        "project",
        stack,
        "-o",
        tmp_path / "o",
        "--overwrite",
        env={"STV_PROJECT_SKIP_EXISTING": "1"},
    )
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == str(picture)
    both = run(
        "project",
        stack,
        "-o",
        tmp_path / "o",
        env={"STV_PROJECT_SKIP_EXISTING": "1", "STV_PROJECT_OVERWRITE": "1"},
    )
    assert both.exit_code == 2
    assert "exclude each other" in both.output


def test_existing_file_without_extension_as_output_is_a_usage_error(tmp_path):
    stack = make_stack(tmp_path / "stack")
    (tmp_path / "notes").write_text("keep")
    result = run("project", stack, "-o", tmp_path / "notes")
    assert result.exit_code == 2
    assert "is an existing file, not a directory" in result.output
    assert (tmp_path / "notes").read_text() == "keep"


def test_outputs_inside_an_input_folder_are_refused(tmp_path, monkeypatch):
    stack = make_stack(tmp_path / "stack")
    for out in (stack, stack / "p.png"):
        result = run("project", stack, "-o", out)
        assert result.exit_code == 2
        assert "inside the input folder" in result.output
    monkeypatch.chdir(stack)
    assert run("project", ".", "-o", "./").exit_code == 2
    assert sorted(p.name for p in stack.iterdir()) == [f"z0{k}.png" for k in range(1, 5)]
    assert run("project", stack, "-o", stack / "sub").exit_code == 0  # sub-folders are not read
