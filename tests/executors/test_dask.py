"""Batches on a real Dask cluster: a LocalCluster of worker processes on the loopback interface.

The outputs of a 12-input batch run on two worker processes must equal a local run's byte for
byte; when a worker process is killed mid-batch, every input still ends written exactly once,
by another worker, with a correct report; an existing scheduler is reached by address.
"""

from __future__ import annotations

import functools
import os
import signal
import time

import numpy as np
import pytest

pytest.importorskip("distributed", reason="the dask extra is not installed")

from stv_cli.context import RunContext  # noqa: E402
from stv_cli.executors.batch import run_batch  # noqa: E402
from stv_cli.executors.dask import DaskExecutor, parse_scheduler  # noqa: E402
from stv_cli.pipeline.project import run_project_input  # noqa: E402
from stv_cli.pipeline.settings import (  # noqa: E402
    OutputSettings,
    ProjectSettings,
    RefineSettings,
)
from tests.cli.helpers import make_stack, run  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    root = tmp_path_factory.mktemp("stacks")
    return [make_stack(root / f"s{k:02d}", depth=3, height=12, width=10, channels=3, seed=k)
            for k in range(12)]  # fmt: skip


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_local_cluster_writes_the_local_run_s_outputs(stacks, tmp_path):
    local = run("project", *stacks, "-o", f"{tmp_path / 'local'}/", "--upscale", "2")
    assert local.exit_code == 0, local.output
    report = tmp_path / "r.jsonl"
    cluster = run("project", *stacks, "-o", f"{tmp_path / 'dask'}/", "--upscale", "2",
                  "--scheduler", "local:2", "--report", report)  # fmt: skip
    assert cluster.exit_code == 0, cluster.output
    assert _files(tmp_path / "dask") == _files(tmp_path / "local")
    lines = report.read_text().splitlines()
    assert len(lines) == 12 and all('"status": "ok"' in line for line in lines)
    workers = {line.split('"worker": "')[1].split(":")[0] for line in lines}
    assert len(workers) == 2 and str(os.getpid()) not in workers  # two other processes


def test_a_worker_killed_mid_batch_loses_no_input(stacks, tmp_path):
    # the batch's start marks its own outputs, as the CLI's --scheduler does: an input whose
    # worker died after publishing is found done when it is run again
    output = OutputSettings(out=tmp_path / "out", batch_started=time.time() - 0.1)
    settings = ProjectSettings(output=output, refine=RefineSettings(upscale=2))
    process = functools.partial(run_project_input, settings=settings,
                                context=RunContext(threads=1, progress=False))  # fmt: skip
    killed = []
    with DaskExecutor("local:2") as executor:
        pids = list(executor.client.run(os.getpid).values())

        def kill_one(result):
            if not killed:  # after the first input: the others are queued or running
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

        report = run_batch(stacks, process, command="project", quiet=True,
                           on_result=kill_one, executor=executor)  # fmt: skip
    assert killed
    assert [r.status for r in report.results] == ["ok"] * 12, [r.error for r in report.results]
    expected = run("project", *stacks, "-o", f"{tmp_path / 'local'}/", "--upscale", "2")
    assert expected.exit_code == 0
    assert _files(tmp_path / "out") == _files(tmp_path / "local")  # each once, no temp left


def test_an_existing_scheduler_is_reached_by_address(stacks, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:  # fmt: skip
        result = run("project", *stacks[:3], "-o", f"{tmp_path / 'out'}/",
                     "--scheduler", cluster.scheduler_address)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "out").iterdir())) == 3


def test_bad_schedulers_are_usage_errors(stacks, tmp_path):
    for spec in ("local:0", "nowhere", "local:x"):
        result = run("project", stacks[0], "-o", f"{tmp_path}/", "--scheduler", spec)
        assert result.exit_code == 2, (spec, result.output)
        assert "--scheduler" in result.output
    start = time.perf_counter()
    unreachable = run("project", stacks[0], "-o", f"{tmp_path}/", "--scheduler",
                      "tcp://127.0.0.1:9")  # fmt: skip
    assert unreachable.exit_code == 2 and "cannot reach" in unreachable.output
    assert time.perf_counter() - start < 30
    assert parse_scheduler("local:3") == ("local", 3)
    assert np.isfinite(1.0)


def test_clips_run_on_a_local_cluster(tmp_path):
    from stv_cli.io import pattern_clip

    clips = [pattern_clip.write_pattern_clip(tmp_path / f"c{k}.mp4", frames=6 + k, height=24,
                                             width=32) for k in range(2)]  # fmt: skip
    local = run("video", *clips, "-o", f"{tmp_path / 'local'}/", "--telemetry",
                f"{tmp_path / 'local'}/{{name}}.csv")  # fmt: skip
    assert local.exit_code == 0, local.output
    cluster = run("video", *clips, "-o", f"{tmp_path / 'dask'}/", "--telemetry",
                  f"{tmp_path / 'dask'}/{{name}}.csv", "--scheduler", "local:1")  # fmt: skip
    assert cluster.exit_code == 0, cluster.output
    for k in range(2):  # the telemetry is the data: equal, row for row
        assert (tmp_path / "dask" / f"c{k}.csv").read_text() == (
            tmp_path / "local" / f"c{k}.csv"
        ).read_text()


def test_ctrl_c_cancels_the_inputs_not_yet_done(stacks, tmp_path):
    settings = ProjectSettings(output=OutputSettings(out=tmp_path / "out"))
    process = functools.partial(run_project_input, settings=settings,
                                context=RunContext(threads=1, progress=False))  # fmt: skip

    def interrupt(result):
        raise KeyboardInterrupt

    with DaskExecutor("local:2") as executor:
        with pytest.raises(KeyboardInterrupt):
            run_batch(stacks, process, command="project", quiet=True, on_result=interrupt,
                      executor=executor)  # fmt: skip
        deadline = time.time() + 20
        while time.time() < deadline and any(executor.client.processing().values()):
            time.sleep(0.1)
        assert not any(executor.client.processing().values())  # nothing left running
        written = len(list((tmp_path / "out").iterdir()))
    assert 1 <= written < len(stacks)
