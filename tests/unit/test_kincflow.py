"""The submitter's workflow driver: the DAG it writes and how it reads DAGMan's node status file, the job event
log and the queue, through HTCondor's Python bindings (the htcondor wheel of the test extra)."""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.payload import kinc_command

# No HTCondor configuration on the test machine: the bindings' null configuration (no local schedd), without the
# warning they give when they find none. Set before kincflow imports them.
os.environ.setdefault("CONDOR_CONFIG", os.devnull)

import classad  # noqa: E402
import htcondor  # noqa: E402

_PATH = Path(__file__).resolve().parents[2] / "images" / "submitter" / "workflow" / "kincflow.py"
_EXTRACT_JOB = _PATH.parent / "extract-job"


@pytest.fixture()
def kincflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KINCFLOW_HOME", str(tmp_path))
    (tmp_path / "payload").mkdir()
    monkeypatch.setenv("KINC", str(kinc_command(tmp_path / "payload")))  # submit imports the GEM with the payload
    spec = importlib.util.spec_from_file_location("kincflow", _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["kincflow"] = module
    spec.loader.exec_module(module)
    return module


NODE_STATUS = """[
  Type = "DagStatus";
  DagFiles = {
    "run.dag"
  };
  Timestamp = 1795595234; /* "Wed Nov 25 08:27:14 2026" */
  DagStatus = 6; /* "STATUS_ERROR (failed)" */
  NodesTotal = 3;
]
[
  Type = "NodeStatus";
  Node = "import";
  NodeStatus = 6; /* "STATUS_ERROR" */
  StatusDetails = "Job proc (18.0.0) failed with status 2 (after 2 node retries)";
  RetryCount = 2;
]
[
  Type = "NodeStatus";
  Node = "chunk0";
  NodeStatus = 7; /* "STATUS_FUTILE" */
  StatusDetails = "Had an ancestor node fail";
]
[
  Type = "StatusEnd";
  EndTime = 1795595234; /* "Wed Nov 25 08:27:14 2026" */
]
"""


def options(**overrides: object) -> argparse.Namespace:
    values = dict(chunks=3, gem=None, gem_source="", threshold=None, corrmethod="spearman", minsamp=30, minexpr="-inf",
                  maxexpr="inf", preout="true", mincorr=0.5, maxcorr=1.0, nan="NA", request_memory=512,
                  retries=2, mode="kinc", job_seconds=1.0, plots=True, job_delay=0.0)
    values.update(overrides)
    return argparse.Namespace(**values)


def _tiny_run(kincflow, tmp_path: Path, **overrides: object) -> Path:
    """A run built, with options(**overrides), for a GEM of one gene and two samples."""
    gem = tmp_path / "gem.txt"
    gem.write_text("s1\ts2\nG1\t1\t2\n")
    return kincflow.build_run(options(gem=str(gem), **overrides))


def test_node_status_file_is_parsed_with_comments(kincflow) -> None:
    ads = kincflow._classads(NODE_STATUS)
    assert [ad["Type"] for ad in ads] == ["DagStatus", "NodeStatus", "NodeStatus", "StatusEnd"]
    assert ads[0]["DagStatus"] == 6 and ads[0]["DagFiles"] == ["run.dag"]
    assert ads[1]["Node"] == "import" and ads[1]["NodeStatus"] == 6
    assert ads[2]["StatusDetails"] == "Had an ancestor node fail"


def test_a_node_status_file_cut_short_gives_the_whole_ads_before_the_cut(kincflow) -> None:
    cut = NODE_STATUS.index('  Node = "chunk0"')
    assert [ad["Type"] for ad in kincflow._classads(NODE_STATUS[:cut])] == ["DagStatus", "NodeStatus"]


def test_failed_run_reports_the_node_and_its_error(kincflow, tmp_path: Path) -> None:
    run = _tiny_run(kincflow, tmp_path)
    (run / "run.dag.status").write_text(NODE_STATUS.replace('Node = "import"', 'Node = "chunk1"'))
    (run / "logs" / "chunk-1.err").write_text("kinc: error: input.emx: truncated while reading\n")
    status = kincflow.status(run.name)
    assert status["state"] == "failed"
    assert status["failed_node"] == "chunk1" and "failed_step" not in status
    assert "truncated while reading" in status["error"]


def _dag_nodes(dag: str) -> list[str]:
    return [line.split()[1] for line in dag.splitlines() if line.startswith("JOB ")]


def _steps(run: Path) -> dict[str, list[str] | None]:
    """The finish node's steps of a run, by name: the command of each (None: the summary, in-process)."""
    return {step["name"]: step["argv"] for step in json.loads((run / "run.json").read_text())["finish"]}


def _kinc_step(run: Path, name: str) -> str:
    """A finish step's kinc arguments, after the command."""
    return " ".join(_steps(run)[name][1:])


def test_kinc_dag_splits_similarity_and_finishes_in_one_node(kincflow, tmp_path: Path) -> None:
    run = _tiny_run(kincflow, tmp_path)
    dag = (run / "run.dag").read_text()
    assert _dag_nodes(dag) == ["chunk0", "chunk1", "chunk2", "finish"]
    assert "PARENT chunk0 chunk1 chunk2 CHILD finish" in dag and dag.count("PARENT") == 1
    assert "--corrmethod spearman" in dag
    chunk_sub = (run / "chunk.sub").read_text()
    assert "universe = vanilla" in chunk_sub and "transfer_input_files = input.emx" in chunk_sub
    assert "job_machine_attrs = CLOUDFLOCK_POOL" in chunk_sub
    # The outputs are named (with no list the starter sleeps 1 s after each input transfer).
    assert ("transfer_output_files = chunk-$(chunk).meta.json, network.ccm.chunk-$(chunk)-of-$(chunks), "
            "network.cmx.chunk-$(chunk)-of-$(chunks)\n") in chunk_sub
    # The finish node is no job: DAGMan runs it as the node's PRE script, with the node's output in logs/.
    assert f"JOB finish {kincflow.FINISH_NODE_FILE} NOOP\n" in dag
    assert f"SCRIPT PRE finish {_PATH} finish {run.name} --logs\n" in dag
    assert not (run / kincflow.FINISH_NODE_FILE).exists() and not (run / "finish.sub").exists()
    assert "RETRY finish 2 UNLESS-EXIT 2\n" in dag
    steps = _steps(run)
    assert list(steps) == ["merge", "rmt", "extract", "summary"] and steps["summary"] is None
    assert _kinc_step(run, "merge").startswith("merge 3 similarity --input input.emx --ccm network.ccm")
    # The GEM was imported at submit, with the run's --nan.
    assert (run / "input.emx").is_file() and "1 genes x 2 samples" in (run / "logs" / "import.out").read_text()


def test_fixed_threshold_skips_rmt(kincflow, tmp_path: Path) -> None:
    run = _tiny_run(kincflow, tmp_path, threshold=0.9)
    assert list(_steps(run)) == ["merge", "extract", "summary"]
    assert _steps(run)["extract"][1:] == ["0.9"]


def test_missing_gem_is_named(kincflow, tmp_path: Path) -> None:
    with pytest.raises(kincflow.FlowError, match="nowhere.txt"):
        kincflow.build_run(options(gem=str(tmp_path / "nowhere.txt")))


def test_a_gem_kinc_refuses_stops_the_submit_and_leaves_no_run(kincflow, tmp_path: Path) -> None:
    gem = tmp_path / "gem.txt"
    gem.write_text("s1\ts2\nG1\t1\tx\n")
    with pytest.raises(kincflow.FlowError, match="import-emx of GEM .*gem.txt.* failed: kinc: error: .*line 2"):
        kincflow.build_run(options(gem=str(gem)))
    assert not list((tmp_path / "runs").iterdir())


def test_summary_counts_jobs_per_pool_from_the_records(kincflow, tmp_path: Path) -> None:
    run = kincflow.build_run(options(mode="test", chunks=3))
    for chunk, pool in enumerate(["executor1", "executor2", "executor1"]):
        (run / f"chunk-{chunk}.meta.json").write_text(
            f'{{"chunk": {chunk}, "pool": "{pool}", "exit_code": 0, "start": 10.0, "end": 12.5}}')
    summary = kincflow.summarize(run.name)
    assert summary["jobs_by_pool"] == {"executor1": 2, "executor2": 1}
    assert summary["jobs_done"] == 3 and summary["job_runtime_s"] == 7.5
    assert (run / "summary.json").exists()


def test_rmt_and_extract_draw_their_plots_by_default(kincflow, tmp_path: Path) -> None:
    run = _tiny_run(kincflow, tmp_path)
    assert _kinc_step(run, "rmt") == "run rmt --input network.cmx --log rmt.log --plot rmt.png"
    assert _steps(run)["extract"] == [str(_EXTRACT_JOB)]
    assert json.loads((run / "run.json").read_text())["plots"] is True


def test_no_plots_leaves_the_plot_options_out(kincflow, tmp_path: Path) -> None:
    run = _tiny_run(kincflow, tmp_path, plots=False)
    assert "--plot" not in _kinc_step(run, "rmt")
    assert _steps(run)["extract"][1:] == ["--no-plots"]
    fixed = _tiny_run(kincflow, tmp_path, plots=False, threshold=0.9)
    assert _steps(fixed)["extract"][1:] == ["--no-plots", "0.9"]


def test_submit_parses_no_plots(kincflow) -> None:
    parser = kincflow._parser()
    assert parser.parse_args(["submit", "4"]).plots is True
    assert parser.parse_args(["submit", "4", "--no-plots"]).plots is False


def _run_extract_job(tmp_path: Path, *args: str) -> list[str]:
    """Run extract-job in tmp_path with a stand-in kinc that records its arguments, one per line."""
    stub = tmp_path / "kinc-stub"
    stub.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > kinc-args\n')
    stub.chmod(0o755)
    (tmp_path / "rmt.log").write_text("0.99\t1\t1\t-1\n0.831002\n")
    subprocess.run(["sh", str(_EXTRACT_JOB), *args], cwd=tmp_path, check=True,
                   env={**os.environ, "KINC": str(stub)})
    return (tmp_path / "kinc-args").read_text().splitlines()


def test_extract_job_draws_the_histogram_and_degrees_with_rmts_threshold(tmp_path: Path) -> None:
    argv = _run_extract_job(tmp_path)
    assert argv[:2] == ["run", "extract"]
    assert argv[argv.index("--mincorr") + 1] == "0.831002"
    assert argv[argv.index("--plot-histogram") + 1] == "similarity-histogram.png"
    assert argv[argv.index("--plot-degree") + 1] == "degree-distribution.png"
    assert (tmp_path / "threshold.txt").read_text() == "0.831002\n"


def test_extract_job_without_plots_takes_the_fixed_threshold(tmp_path: Path) -> None:
    argv = _run_extract_job(tmp_path, "--no-plots", "0.9")
    assert argv[argv.index("--mincorr") + 1] == "0.9"
    assert not any(arg.startswith("--plot") for arg in argv)


def test_summary_lists_the_plots_the_run_drew(kincflow, tmp_path: Path) -> None:
    run = _tiny_run(kincflow, tmp_path, chunks=1)
    (run / "chunk-0.meta.json").write_text('{"chunk": 0, "pool": "executor1", "exit_code": 0, "start": 1, "end": 2}')
    (run / "threshold.txt").write_text("0.831002\n")
    (run / "network.txt").write_text("Source\tTarget\tSimilarity_Score\nG2\tG1\t0.9\n")
    for name in ("rmt.png", "degree-distribution.png"):
        (run / name).write_bytes(b"\x89PNG\r\n\x1a\n")
    summary = kincflow.summarize(run.name)
    assert summary["plots"] == {"rmt": "rmt.png", "degree_distribution": "degree-distribution.png"}
    assert json.loads((run / "summary.json").read_text())["plots"] == summary["plots"]
    assert summary["edges"] == 1 and summary["threshold"] == 0.831002


def _submit_event(cluster: int, node: str | None = None) -> str:
    """A submit event as the schedd writes it to a job's log (DAGMan's node jobs carry their node's name)."""
    notes = f"    DAG Node: {node}\n" if node else ""
    return (f"000 ({cluster:03d}.000.000) 2026-11-25 08:57:30 Job submitted from host: "
            f"<10.0.0.2:9618?addrs=10.0.0.2-9618&alias=submitter&noUDP&sock=schedd_31_7f1c>\n{notes}...\n")


class _Schedd:
    """The submitter's schedd as htcondor.Schedd answers a query: the queued job ads (real ClassAds) that the
    query's constraint matches, with the projected attributes."""

    jobs: list[classad.ClassAd] = []

    def query(self, constraint: str = "true", projection: list[str] = ()) -> list[classad.ClassAd]:
        matching = [job for job in self.jobs if classad.ExprTree(constraint).eval(job) is True]
        return [classad.ClassAd({key: job[key] for key in projection if key in job}) for job in matching]


def _fake_schedd(monkeypatch: pytest.MonkeyPatch, *jobs: dict) -> type[_Schedd]:
    schedd = type("Schedd", (_Schedd,), {"jobs": [classad.ClassAd(job) for job in jobs]})
    monkeypatch.setattr(htcondor, "Schedd", schedd)
    return schedd


def _fake_condor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *jobs: dict,
                 stdout: str = "Submitting job(s).\\n1 job(s) submitted to cluster 77.\\n") -> Path:
    """A schedd queueing jobs; condor_submit_dag recording its arguments and printing stdout (by default what
    HTCondor 23's prints for a DAGMan job put in cluster 77)."""
    _fake_schedd(monkeypatch, *jobs)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "condor_submit_dag").write_text(
        f"#!/bin/sh\necho \"$@\" > submit-dag-args\nprintf '{stdout}'\n")
    (bin_dir / "condor_submit_dag").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return bin_dir


def _with_dagman_cluster(run: Path, cluster: int) -> None:
    """Record the run's DAGMan job, as submit does."""
    record = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**record, "dagman_cluster": cluster}))


def test_resume_resubmits_a_stopped_run_from_its_rescue_dag(kincflow, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_condor(tmp_path, monkeypatch)
    run = kincflow.build_run(options(mode="test", chunks=2))
    _with_dagman_cluster(run, 12)
    (run / "run.dag.rescue001").write_text("DONE chunk0\n")
    result = kincflow.resume(run.name)
    assert result == {"run_id": run.name, "dagman_cluster": 77, "rescue": "run.dag.rescue001"}
    args = (run / "submit-dag-args").read_text().split()
    assert "-update_submit" in args and "-force" not in args and args[-1] == "run.dag"
    saved = json.loads((run / "run.json").read_text())
    assert saved["dagman_cluster"] == 77 and saved["resumed"][0]["previous_cluster"] == 12


def test_submit_records_the_dagman_cluster_it_printed(kincflow, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_condor(tmp_path, monkeypatch, stdout="Submitting job(s).\\n1 job(s) submitted to cluster 78.\\n")
    result = kincflow.submit(options(mode="test", chunks=2))
    assert result["dagman_cluster"] == 78
    run = Path(result["run_dir"])
    assert json.loads((run / "run.json").read_text())["dagman_cluster"] == 78
    assert (run / "submit-dag-args").read_text().split() == ["-batch-name", run.name, "-MaxIdle", "1000", "run.dag"]


def test_submit_without_a_printed_cluster_records_none(kincflow, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # The DAG is submitted either way; resume then cannot tell whether its DAGMan job is still queued.
    _fake_condor(tmp_path, monkeypatch, stdout="Submitting job(s).\\n")
    result = kincflow.submit(options(mode="test", chunks=2))
    assert result["dagman_cluster"] is None


def test_submit_names_condor_submit_dag_failing(kincflow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = _fake_condor(tmp_path, monkeypatch)
    (bin_dir / "condor_submit_dag").write_text("#!/bin/sh\necho 'ERROR: no schedd' >&2\nexit 1\n")
    with pytest.raises(kincflow.FlowError, match="condor_submit_dag failed in .*: ERROR: no schedd"):
        kincflow.submit(options(mode="test", chunks=2))


def test_resume_leaves_a_queued_dagman_job_alone(kincflow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_condor(tmp_path, monkeypatch, {"ClusterId": 12, "JobStatus": 2, "JobUniverse": 7})
    run = kincflow.build_run(options(mode="test", chunks=2))
    _with_dagman_cluster(run, 12)
    with pytest.raises(kincflow.FlowError, match="DAGMan job 12 .* still queued \\(running\\)"):
        kincflow.resume(run.name)
    assert not (run / "submit-dag-args").exists()


# A job event log as HTCondor 23 writes it for two DAG nodes: chunk0's first executor vanishes (disconnect,
# failed reconnect after the lease) and its job runs again on executor2; chunk1 runs once. Transfer events (040)
# are among them, as the shadow logs them.
_TERMINATED = "\n".join([
    "005 ({job}) 2026-11-25 08:58:30 Job terminated.",
    "\t(1) Normal termination (return value 0)",
    "\t\tUsr 0 00:00:01, Sys 0 00:00:00  -  Run Remote Usage",
    "\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Local Usage",
    "\t\tUsr 0 00:00:01, Sys 0 00:00:00  -  Total Remote Usage",
    "\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Total Local Usage",
    "\t120  -  Run Bytes Sent By Job",
    "\t2048  -  Run Bytes Received By Job",
    "\t120  -  Total Bytes Sent By Job",
    "\t2048  -  Total Bytes Received By Job",
    "\tPartitionable Resources :    Usage  Request Allocated ",
    "\t   Cpus                 :                 1         1 ",
    "\t   Disk (KB)            :       40   100000    100000 ",
    "\t   Memory (MB)          :        3      512       512 ",
    "\tJob terminated of its own accord at 2026-11-25T08:58:30Z with exit-code 0.",
    "...",
    "",
])


def _executing(job: str, pool: str, address: str) -> str:
    return (f"001 ({job}) 2026-11-25 08:57:34 Job executing on host: "
            f"<{address}:9618?addrs={address}-9618&alias={pool}&noUDP&sock=startd_40_91a2>\n"
            f"\tSlotName: slot1_1@{pool}\n\tCondorScratchDir = \"/var/lib/condor/execute/dir_57\"\n"
            "\tCpus = 1\n\tDisk = 100000\n\tMemory = 512\n...\n")


RUN_LOG = (_submit_event(3, "chunk0")
           + "040 (003.000.000) 2026-11-25 08:57:33 Started transferring input files\n"
           "\tTransferring to host: <10.0.0.3:9618?addrs=10.0.0.3-9618&alias=executor1&noUDP&sock=slot1_1_40_91a2>\n"
           "...\n"
           + _executing("003.000.000", "executor1", "10.0.0.3")
           + """022 (003.000.000) 2026-11-25 08:57:40 Job disconnected, attempting to reconnect
    Socket between submit and execute hosts closed unexpectedly
    Trying to reconnect to slot1_1@executor1 <10.0.0.3:9618?addrs=10.0.0.3-9618&alias=executor1&sock=startd_40_91a2>
...
024 (003.000.000) 2026-11-25 08:58:10 Job reconnection failed
    Job disconnected too long: JobLeaseDuration (20 seconds) expired
    Can not reconnect to slot1_1@executor1, rescheduling job
...
"""
           + _executing("003.000.000", "executor2", "10.0.0.4")
           + _TERMINATED.format(job="003.000.000")
           + _submit_event(4, "chunk1")
           + _executing("004.000.000", "executor2", "10.0.0.4")
           + _TERMINATED.format(job="004.000.000"))


def test_job_history_counts_restarts_per_node(kincflow, tmp_path: Path) -> None:
    run = kincflow.build_run(options(mode="test", chunks=2))
    (run / "run.log").write_text(RUN_LOG)
    history = kincflow.job_history(run)
    assert history["chunk0"]["jobs"] == ["3.0"] and history["chunk0"]["executed"] == 2
    assert history["chunk0"]["hosts"] == ["executor1", "executor2"]
    assert history["chunk0"]["disconnected"] == 1 and history["chunk0"]["reconnect_failed"] == 1
    assert history["chunk1"]["executed"] == 1 and history["chunk1"]["terminated"] == 1
    assert history["chunk0"]["started"] == 2 and history["chunk1"]["started"] == 1
    status = kincflow.status(run.name)
    assert status["reruns"] == {"chunk0": 2} and status["disconnects"] == 1
    for chunk, pool in enumerate(["executor2", "executor2"]):
        (run / f"chunk-{chunk}.meta.json").write_text(
            f'{{"chunk": {chunk}, "pool": "{pool}", "exit_code": 0, "start": 1.0, "end": 2.0}}')
    summary = kincflow.summarize(run.name)
    assert summary["jobs_rerun"] == 1 and [job["executions"] for job in summary["jobs"]] == [2, 1]


def _chunk_job(scratch: Path, outputs: list[str], *argv: str) -> subprocess.CompletedProcess:
    """chunk-job as a starter runs it: in its scratch directory, with a job ad naming its outputs."""
    scratch.mkdir(exist_ok=True)
    (scratch / ".job.ad").write_text(f'ClusterId = 7\nProcId = 0\nTransferOutput = "{",".join(outputs)}"\n')
    env = {**os.environ, "_CONDOR_JOB_AD": str(scratch / ".job.ad"),
           "PYTHONPATH": str(_PATH.parents[2] / "kinc")}
    return subprocess.run([sys.executable, str(_PATH.parent / "chunk-job"), *argv], cwd=scratch, env=env,
                          capture_output=True, text=True, check=False)


def test_a_failed_chunk_leaves_every_named_output_so_it_fails_instead_of_being_held(tmp_path: Path) -> None:
    outputs = ["chunk-1.meta.json", "network.ccm.chunk-1-of-2", "network.cmx.chunk-1-of-2"]
    done = _chunk_job(tmp_path / "s", outputs, "1", "2", "kinc", "--input", "missing.emx", "--ccm", "network.ccm",
                      "--cmx", "network.cmx", "--clusmethod", "none")
    assert done.returncode != 0
    assert all((tmp_path / "s" / name).exists() for name in outputs)
    assert (tmp_path / "s" / "network.ccm.chunk-1-of-2").stat().st_size == 0
    record = json.loads((tmp_path / "s" / "chunk-1.meta.json").read_text())
    assert record["exit_code"] == done.returncode and record["job_id"] == "7.0"


def test_a_chunk_that_exits_0_without_a_named_output_fails(tmp_path: Path) -> None:
    done = _chunk_job(tmp_path / "s", ["chunk-0.meta.json", "network.cmx.chunk-0-of-1"], "0", "1", "test", "0")
    assert done.returncode == 1 and "without writing network.cmx.chunk-0-of-1" in done.stderr
    assert json.loads((tmp_path / "s" / "chunk-0.meta.json").read_text())["exit_code"] == 1
    ok = _chunk_job(tmp_path / "t", ["chunk-0.meta.json"], "0", "1", "test", "0")
    assert ok.returncode == 0 and sorted(p.name for p in (tmp_path / "t").iterdir()) == [".job.ad", "chunk-0.meta.json"]


def test_job_delay_reaches_the_chunk_jobs_environment(kincflow, tmp_path: Path) -> None:
    run = kincflow.build_run(options(mode="test", chunks=2, job_delay=15.0))
    assert 'environment = "KINCFLOW_JOB_DELAY=15"' in (run / "chunk.sub").read_text()
    assert json.loads((run / "run.json").read_text())["job_delay_s"] == 15.0
    plain = kincflow.build_run(options(mode="test", chunks=2))
    assert "KINCFLOW_JOB_DELAY" not in (plain / "chunk.sub").read_text()
    with pytest.raises(kincflow.FlowError, match="--job-delay -1"):
        kincflow.build_run(options(mode="test", chunks=2, job_delay=-1.0))


def test_an_attempt_lost_before_its_execute_event_counts_as_a_start(kincflow, tmp_path: Path) -> None:
    run = kincflow.build_run(options(mode="test", chunks=1))
    events = RUN_LOG.split("...\n")
    assert events[2].startswith("001 (003.000.000)")
    # chunk0 without its first execute event: killed while its input was still being transferred.
    (run / "run.log").write_text("...\n".join(events[:2] + events[3:]))
    history = kincflow.job_history(run)["chunk0"]
    assert history["started"] == 2 and history["executed"] == 1 and history["hosts"] == ["executor2"]


def test_a_reconnect_is_no_new_start_and_the_event_being_written_waits(kincflow, tmp_path: Path) -> None:
    run = kincflow.build_run(options(mode="test", chunks=1))
    reconnected = """023 (003.000.000) 2026-11-25 08:57:45 Job reconnected to slot1_1@executor1
    startd address: <10.0.0.3:9618?addrs=10.0.0.3-9618&alias=executor1&noUDP&sock=startd_40_91a2>
    starter address: <10.0.0.3:9618?addrs=10.0.0.3-9618&alias=executor1&noUDP&sock=starter_60_2b3c_7>
...
"""
    events = RUN_LOG.split("...\n")
    # chunk0 reconnects after its disconnect (a submitter restart within the lease) and finishes there; the log
    # ends in an event DAGMan's schedd is still writing.
    log = "...\n".join(events[:4]) + "...\n" + reconnected + _TERMINATED.format(job="003.000.000")
    (run / "run.log").write_text(log + _executing("003.000.000", "executor2", "10.0.0.4")[:90])
    history = kincflow.job_history(run)["chunk0"]
    assert history["started"] == 1 and history["executed"] == 1 and history["hosts"] == ["executor1"]
    assert (history["disconnected"], history["reconnected"], history["terminated"]) == (1, 1, 1)


def test_run_is_done_only_after_dagman_has_left_the_queue(kincflow, monkeypatch: pytest.MonkeyPatch) -> None:
    run = kincflow.build_run(options(mode="test", chunks=1))
    record = json.loads((run / "run.json").read_text())
    record["dagman_cluster"] = 42
    (run / "run.json").write_text(json.dumps(record))
    (run / "chunk-0.meta.json").write_text('{"chunk": 0, "pool": "executor1", "exit_code": 0, "start": 1, "end": 2}')
    kincflow.summarize(run.name)
    schedd = _fake_schedd(monkeypatch, {"ClusterId": 42, "JobStatus": 2, "JobUniverse": 7})
    status = kincflow.status(run.name)
    # DAGMan's own job is no job of its DAG (it has no DAGManJobId): none idle or running.
    assert status["state"] == "running" and (status["jobs_idle"], status["jobs_running"]) == (0, 0)
    schedd.jobs = []
    assert kincflow.status(run.name)["state"] == "done"


def test_status_counts_the_queued_jobs_of_the_dag_by_pool(kincflow, monkeypatch: pytest.MonkeyPatch) -> None:
    run = kincflow.build_run(options(mode="test", chunks=3))
    _with_dagman_cluster(run, 42)
    _fake_schedd(monkeypatch, {"ClusterId": 42, "JobStatus": 2, "JobUniverse": 7},
                 {"ClusterId": 43, "DAGManJobId": 42, "JobStatus": 2, "DAGNodeName": "chunk0",
                  "MachineAttrCLOUDFLOCK_POOL0": "executor1", "RemoteHost": "slot1_1@executor1"},
                 {"ClusterId": 44, "DAGManJobId": 42, "JobStatus": 2, "DAGNodeName": "chunk1",
                  "RemoteHost": "slot1_1@executor2"},
                 {"ClusterId": 45, "DAGManJobId": 42, "JobStatus": 1, "DAGNodeName": "chunk2"},
                 {"ClusterId": 46, "DAGManJobId": 41, "JobStatus": 2, "DAGNodeName": "chunk0",
                  "MachineAttrCLOUDFLOCK_POOL0": "executor1"})
    status = kincflow.status(run.name)
    assert status["state"] == "running" and (status["jobs_idle"], status["jobs_running"]) == (1, 2)
    # The pool a job matched (its machine's CLOUDFLOCK_POOL), else the host it runs on.
    assert status["running_by_pool"] == {"executor1": 1, "executor2": 1}


def test_a_schedd_that_does_not_answer_leaves_a_run_as_it_is(kincflow, tmp_path: Path) -> None:
    # No schedd here (the bindings find none in the null configuration): the DAGMan job may still be queued.
    run = kincflow.build_run(options(mode="test", chunks=2))
    _with_dagman_cluster(run, 12)
    assert kincflow.attach(run.name) == {"run_id": run.name, "action": "running", "dagman_cluster": 12}
    with pytest.raises(kincflow.FlowError, match="condor_q 12 failed: .+"):
        kincflow.resume(run.name)
    assert kincflow.status(run.name)["jobs_running"] == 0


def test_a_run_records_its_gem_digest_shape_and_settings(kincflow, tmp_path: Path) -> None:
    gem = tmp_path / "gem.txt"
    gem.write_bytes(b"s1\ts2\ts3\nG1\t1\tNA\t2\n\nG2\t3\t4\t5\n")
    run = kincflow.build_run(options(gem=str(gem), gem_source="/home/me/my.gem", minsamp=2, mincorr=0.6))
    record = json.loads((run / "run.json").read_text())
    assert record["gem"] == "/home/me/my.gem" and record["gem_path"] == str(gem)
    assert record["gem_sha256"] == hashlib.sha256(gem.read_bytes()).hexdigest()
    assert (record["gem_genes"], record["gem_samples"]) == (2, 3)
    assert record["settings"] == {"jobs": 3, "corrmethod": "spearman", "minsamp": 2, "minexpr": "-inf",
                                  "maxexpr": "inf", "preout": True, "mincorr": 0.6, "maxcorr": 1.0, "nan": "NA",
                                  "threshold": None}
    for chunk in range(3):
        (run / f"chunk-{chunk}.meta.json").write_text(
            f'{{"chunk": {chunk}, "pool": "executor1", "exit_code": 0, "start": 1.0, "end": 2.0}}')
    summary = kincflow.summarize(run.name)
    assert summary["gem"] == "/home/me/my.gem" and summary["gem_sha256"] == record["gem_sha256"]
    assert summary["settings"]["minsamp"] == 2 and (summary["gem_genes"], summary["gem_samples"]) == (2, 3)


def test_attach_says_done_for_a_finished_run(kincflow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_condor(tmp_path, monkeypatch)
    run = kincflow.build_run(options(mode="test", chunks=2))
    (run / "summary.json").write_text("{}")
    assert kincflow.attach(run.name) == {"run_id": run.name, "action": "done"}
    assert not (run / "submit-dag-args").exists()


def test_attach_waits_for_a_queued_dagman_job(kincflow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_condor(tmp_path, monkeypatch, {"ClusterId": 12, "JobStatus": 1, "JobUniverse": 7})
    run = kincflow.build_run(options(mode="test", chunks=2))
    _with_dagman_cluster(run, 12)
    assert kincflow.attach(run.name) == {"run_id": run.name, "action": "running", "dagman_cluster": 12}
    assert not (run / "submit-dag-args").exists()


def test_attach_resumes_a_stopped_run(kincflow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another run's DAGMan job is queued: not this run's.
    _fake_condor(tmp_path, monkeypatch, {"ClusterId": 13, "JobStatus": 2, "JobUniverse": 7})
    run = kincflow.build_run(options(mode="test", chunks=2))
    _with_dagman_cluster(run, 12)
    (run / "run.dag.rescue001").write_text("DONE chunk0\n")
    result = kincflow.attach(run.name)
    assert result == {"run_id": run.name, "dagman_cluster": 77, "rescue": "run.dag.rescue001",
                      "action": "resubmitted"}
    assert "-update_submit" in (run / "submit-dag-args").read_text().split()


def test_attach_names_an_unknown_run(kincflow) -> None:
    with pytest.raises(kincflow.FlowError, match="run 'kinc-nope' does not exist"):
        kincflow.attach("kinc-nope")


def test_runs_are_listed_newest_first(kincflow, tmp_path: Path) -> None:
    first = kincflow.build_run(options(mode="test", chunks=1))
    second = kincflow.build_run(options(mode="test", chunks=1))
    record = json.loads((first / "run.json").read_text())
    (first / "run.json").write_text(json.dumps({**record, "submitted_at": record["submitted_at"] - 60}))
    (first / "summary.json").write_text("{}")
    listed = kincflow.runs()
    assert [run["run_id"] for run in listed][:2] == [second.name, first.name]
    assert listed[1]["done"] is True and listed[0]["done"] is False


def test_pools_names_the_visible_and_the_missing(kincflow, monkeypatch: pytest.MonkeyPatch) -> None:
    collector = htcondor.Collector
    asked = []

    class Collector:
        """The central manager at 10.0.0.3 answers with a startd; any other address goes to the bindings'
        own collector client."""

        def __init__(self, pool: str) -> None:
            self.pool = pool

        def query(self, ad_type, constraint: str = "", projection: list[str] = ()) -> list[classad.ClassAd]:
            asked.append((self.pool, ad_type, list(projection)))
            if self.pool == "10.0.0.3":
                return [classad.ClassAd({"Name": "slot1@executor1"})]
            return collector(self.pool).query(ad_type, constraint, projection)

    monkeypatch.setattr(htcondor, "Collector", Collector)
    # Nothing listens on 127.0.0.1:1: the query fails at once, as for a pool that is not up yet.
    result = kincflow.visible_pools(["executor1=10.0.0.3", "executor2=127.0.0.1:1"])
    assert asked[0] == ("10.0.0.3", htcondor.AdTypes.Startd, ["Name"]) and asked[1][0] == "127.0.0.1:1"
    assert result["state"] == "running"
    assert result["visible"] == ["executor1"] and result["missing"] == ["executor2"]
    assert result["progress"] == "executor pools visible 1/2: executor1; waiting for executor2"
    assert kincflow.visible_pools(["executor1=10.0.0.3"])["state"] == "done"


def test_a_resumed_run_ignores_the_stopped_dagmans_node_status(kincflow, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_condor(tmp_path, monkeypatch)
    run = _tiny_run(kincflow, tmp_path)
    (run / "run.dag.status").write_text(NODE_STATUS)  # the removed DAGMan's last word: nodes failed
    assert kincflow.status(run.name)["state"] == "failed"
    record = json.loads((run / "run.json").read_text())
    later = (run / "run.dag.status").stat().st_mtime + 5
    (run / "run.json").write_text(json.dumps({**record, "resumed": [{"at": later}]}))
    status = kincflow.status(run.name)
    assert status["state"] == "running" and status["nodes_failed"] == 0
    os.utime(run / "run.dag.status", (later + 1, later + 1))  # the new DAGMan wrote it
    assert kincflow.status(run.name)["state"] == "failed"


def test_deterministic_failures_are_not_retried(kincflow, tmp_path: Path) -> None:
    dag = (_tiny_run(kincflow, tmp_path, retries=2) / "run.dag").read_text()
    retries = {line.split()[1]: line.split()[2:] for line in dag.splitlines() if line.startswith("RETRY ")}
    # Every node retries transient failures; the payload's verdicts stop it (exit 2: the chunks' kinc for bad
    # input, the finish node for any step's verdict, rmt's no threshold included).
    assert retries == {name: ["2", "UNLESS-EXIT", "2"] for name in ("chunk0", "chunk1", "chunk2", "finish")}
    assert "ALL_NODES" not in dag


def _script(path: Path, body: str) -> str:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return str(path)


def _with_steps(run: Path, steps: list[dict]) -> None:
    record = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**record, "finish": steps}))


def test_finish_runs_its_steps_in_order_and_times_them(kincflow, tmp_path: Path) -> None:
    run = kincflow.build_run(options(mode="test", chunks=1))
    first = _script(tmp_path / "first", "echo one >> order; echo said-one")
    second = _script(tmp_path / "second", "echo two >> order; echo warned >&2")
    _with_steps(run, [{"name": "merge", "argv": [first]}, {"name": "extract", "argv": [second]},
                      {"name": "summary", "argv": None}])
    assert kincflow.finish(run.name) == 0
    assert (run / "order").read_text() == "one\ntwo\n"
    assert (run / "logs" / "merge.out").read_text() == "said-one\n"
    assert (run / "logs" / "extract.err").read_text() == "warned\n"
    steps = json.loads((run / "finish.json").read_text())["steps"]
    assert [(step["name"], step["exit_code"]) for step in steps] == [("merge", 0), ("extract", 0), ("summary", 0)]
    assert all(step["start"] <= step["end"] for step in steps)
    summary = json.loads((run / "summary.json").read_text())
    assert [step["name"] for step in summary["steps"]] == ["merge", "extract"]
    assert 0 <= summary["steps"][0]["start_s"] <= summary["steps"][1]["end_s"] <= summary["makespan_s"]


@pytest.mark.parametrize("step,code,node_exit", [("rmt", 1, 2), ("rmt", 2, 2), ("merge", 2, 2), ("merge", 1, 1),
                                                 ("extract", 137, 1)])
def test_finish_stops_at_a_failing_step_and_says_whether_to_retry(kincflow, tmp_path: Path, step: str, code: int,
                                                                  node_exit: int) -> None:
    run = kincflow.build_run(options(mode="test", chunks=1))
    fails = _script(tmp_path / "fails", f"echo broken >&2; exit {code}")
    later = _script(tmp_path / "later", "touch ran-later")
    _with_steps(run, [{"name": step, "argv": [fails]}, {"name": "after", "argv": [later]},
                      {"name": "summary", "argv": None}])
    assert kincflow.finish(run.name) == node_exit
    assert not (run / "ran-later").exists() and not (run / "summary.json").exists()
    assert kincflow.failed_step(run) == step


def test_finish_counts_its_attempts_and_status_reports_them_as_reruns(kincflow, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_condor(tmp_path, monkeypatch)
    run = _tiny_run(kincflow, tmp_path)
    assert kincflow.status(run.name)["reruns"] == {}
    fails = _script(tmp_path / "fails", "exit 1")
    _with_steps(run, [{"name": "merge", "argv": [fails]}, {"name": "summary", "argv": None}])
    assert kincflow.finish(run.name) == 1
    assert json.loads((run / "finish.json").read_text())["attempts"] == 1
    assert kincflow.status(run.name)["reruns"] == {}
    assert kincflow.finish(run.name) == 1  # DAGMan's retry
    assert json.loads((run / "finish.json").read_text())["attempts"] == 2
    assert kincflow.status(run.name)["reruns"] == {"finish": 2}
    # Finishing with a fixed threshold is no retry: the count starts again.
    (run / "network.cmx").write_bytes(b"cmx")
    (run / "network.ccm").write_bytes(b"ccm")
    kincflow.rethreshold(run.name, 0.85)
    assert json.loads((run / "finish.json").read_text())["attempts"] == 0
    assert kincflow.status(run.name)["reruns"] == {}


def test_finish_as_the_dag_runs_it_logs_its_output_and_its_steps_end_with_it(kincflow, tmp_path: Path) -> None:
    # As DAGMan's PRE script (--logs): the node's own messages land in logs/finish.err; a step still running
    # when the node is killed (DAGMan kills its script when the DAG is removed) ends with it.
    run = kincflow.build_run(options(mode="test", chunks=1))
    fails = _script(tmp_path / "fails", "exit 3")
    _with_steps(run, [{"name": "merge", "argv": [fails]}, {"name": "summary", "argv": None}])
    env = {**os.environ, "KINCFLOW_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, str(_PATH), "finish", run.name, "--logs"], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1 and done.stdout == done.stderr == ""
    assert "step merge failed (exit 3)" in (run / "logs" / "finish.err").read_text()

    pid_file = tmp_path / "step.pid"
    hangs = _script(tmp_path / "hangs", f"echo $$ > {pid_file}; exec sleep 60")
    _with_steps(run, [{"name": "rmt", "argv": [hangs]}, {"name": "summary", "argv": None}])
    node = subprocess.Popen([sys.executable, str(_PATH), "finish", run.name, "--logs"], env=env)
    try:
        for _ in range(300):
            if pid_file.exists() and pid_file.read_text().strip():
                break
            time.sleep(0.05)
        step = int(pid_file.read_text())
        os.kill(step, 0)  # running
        node.kill()
        node.wait()
        for _ in range(100):
            if not _alive(step):
                break
            time.sleep(0.05)
        assert not _alive(step), "the step outlived the finish node"
    finally:
        node.kill()


def _alive(pid: int) -> bool:
    """Whether PID runs (a zombie, reaped by nobody yet, has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def test_finish_runs_a_test_runs_summary(kincflow, tmp_path: Path) -> None:
    run = kincflow.build_run(options(mode="test", chunks=2))
    assert json.loads((run / "run.json").read_text())["finish"] == [{"name": "summary", "argv": None}]
    assert kincflow.main(["finish", run.name]) == 0
    assert json.loads((run / "summary.json").read_text())["jobs_total"] == 2


def _failed_dag_status(node_statuses: dict[str, int]) -> str:
    """A node status file of a failed DAG (DagStatus 6) with these nodes' NodeStatus codes, in NODE_STATUS's form."""
    ads = ['[\n  Type = "DagStatus";\n  DagStatus = 6;\n]']
    ads += [f'[\n  Type = "NodeStatus";\n  Node = "{node}";\n  NodeStatus = {code};\n]'
            for node, code in node_statuses.items()]
    return "\n".join(ads) + "\n"


RMT_FAILED = _failed_dag_status({"chunk0": 5, "finish": 6})  # 5: STATUS_DONE, 6: STATUS_ERROR


def _rmt_failed_run(kincflow, tmp_path: Path) -> Path:
    """A run whose finish node failed at rmt, as finish leaves it."""
    run = _tiny_run(kincflow, tmp_path)
    (run / "run.dag.status").write_text(RMT_FAILED)
    (run / "logs" / "rmt.err").write_text("kinc: error: rmt: reached --tstop 0.5 without a threshold\n")
    (run / "finish.json").write_text(json.dumps({"steps": [
        {"name": "merge", "start": 1.0, "end": 2.0, "exit_code": 0},
        {"name": "rmt", "start": 2.0, "end": 3.0, "exit_code": 1}]}))
    return run


def test_a_failed_finish_names_its_failed_step(kincflow, tmp_path: Path) -> None:
    run = _rmt_failed_run(kincflow, tmp_path)
    status = kincflow.status(run.name)
    assert status["state"] == "failed" and status["failed_node"] == "finish" and status["failed_step"] == "rmt"
    assert "without a threshold" in status["error"]
    assert "rmt.log" in status["hint"] and "rethreshold" in status["hint"]
    (run / "finish.json").write_text(json.dumps({"steps": [{"name": "merge", "start": 1.0, "end": 2.0,
                                                            "exit_code": 2}]}))
    (run / "logs" / "merge.err").write_text("kinc: error: network.cmx.chunk-1-of-3: truncated while reading\n")
    status = kincflow.status(run.name)
    assert status["failed_step"] == "merge" and "truncated" in status["error"] and "hint" not in status


# A DAG whose finish node's PRE script failed 1 s after the last node status write: DAGMan's job state log, as
# HTCondor 23.9 wrote it (the status file still says the node is in PRERUN and the DAG submitted).
JOBSTATE_PRE_FAILED = """1796591357 INTERNAL *** DAGMAN_STARTED 14.0 ***
1796591358 chunk0 SUBMIT 15.0 - - 1
1796591360 chunk0 EXECUTE 15.0 - - 1
1796591360 chunk0 JOB_TERMINATED 15.0 - - 1
1796591360 chunk0 JOB_SUCCESS 0 - - 1
1796591360 finish PRE_SCRIPT_STARTED - - - 3
1796591361 finish PRE_SCRIPT_FAILURE - - - 3
1796591362 INTERNAL *** DAGMAN_FINISHED 1 ***
"""


def test_a_dag_that_stopped_on_a_failure_is_failed_whatever_its_stale_node_status_file_says(
        kincflow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_condor(tmp_path, monkeypatch)  # DAGMan has left the queue
    run = _rmt_failed_run(kincflow, tmp_path)
    stale = RMT_FAILED.replace("DagStatus = 6", "DagStatus = 3").replace("NodeStatus = 6", "NodeStatus = 2")
    (run / "run.dag.status").write_text(stale)
    # While DAGMan's job state log has not said it finished, the run is still running.
    (run / "run.jobstate.log").write_text(JOBSTATE_PRE_FAILED.rsplit("1796591362", 1)[0])
    assert kincflow.status(run.name)["state"] == "running"
    (run / "run.jobstate.log").write_text(JOBSTATE_PRE_FAILED)
    status = kincflow.status(run.name)
    assert status["state"] == "failed" and status["failed_node"] == "finish" and status["failed_step"] == "rmt"
    assert "without a threshold" in status["error"]
    # A resumed DAGMan starts the log's story again: its own start, no end yet.
    with (run / "run.jobstate.log").open("a") as log:
        log.write("1796591400 INTERNAL *** DAGMAN_STARTED 20.0 ***\n1796591401 finish PRE_SCRIPT_STARTED - - - 3\n")
    assert kincflow.status(run.name)["state"] == "running"


def test_rethreshold_keeps_the_similarity_and_runs_extract_with_the_threshold(kincflow, tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_condor(tmp_path, monkeypatch)
    run = _rmt_failed_run(kincflow, tmp_path)
    with pytest.raises(kincflow.FlowError, match="no merged similarity \\(network.cmx, network.ccm missing\\)"):
        kincflow.rethreshold(run.name, 0.85)
    (run / "network.cmx").write_bytes(b"cmx")
    (run / "network.ccm").write_bytes(b"ccm")
    (run / "run.dag.rescue001").write_text("DONE chunk0\n")
    with pytest.raises(kincflow.FlowError, match="threshold 1.5 must be from 0 to 1"):
        kincflow.rethreshold(run.name, 1.5)
    result = kincflow.rethreshold(run.name, 0.85)
    assert result == {"run_id": run.name, "threshold": 0.85, "rescue": "run.dag.rescue002", "done_nodes": 3}
    done = [line.split()[1] for line in (run / "run.dag.rescue002").read_text().splitlines()
            if line.startswith("DONE ")]
    assert done == ["chunk0", "chunk1", "chunk2"]
    assert list(_steps(run)) == ["merge", "extract", "summary"] and _steps(run)["extract"][1:] == ["0.85"]
    assert json.loads((run / "run.json").read_text())["threshold"] == 0.85
    (run / "summary.json").write_text("{}")
    with pytest.raises(kincflow.FlowError, match="is done"):
        kincflow.rethreshold(run.name, 0.85)


def test_rethreshold_leaves_a_running_dag_alone(kincflow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_condor(tmp_path, monkeypatch, {"ClusterId": 5, "JobStatus": 2, "JobUniverse": 7})
    run = _rmt_failed_run(kincflow, tmp_path)
    _with_dagman_cluster(run, 5)
    with pytest.raises(kincflow.FlowError, match="still running \\(DAGMan job 5\\)"):
        kincflow.rethreshold(run.name, 0.85)


def _gmm_options(gem: Path, **overrides: object) -> argparse.Namespace:
    values = dict(gem=str(gem), clusmethod="gmm", minclus=1, maxclus=5, crit="ICL", postout="true", alpha=0.001,
                  power=0.8, annotations="", feat_tests="", feat_types="", pvalue=0.001, rsquare=0.3,
                  reduction="maxcorr")
    values.update(overrides)
    return options(**values)


def _chunk_vars(dag: str, node: str) -> str:
    return next(line for line in dag.splitlines() if line.startswith(f"VARS {node} "))


def test_gmm_chunks_cluster_and_filter_by_power_and_finish_reduces_for_rmt(kincflow, tmp_path: Path) -> None:
    gem = tmp_path / "gem.txt"
    gem.write_text("s1\ts2\nG1\t1\t2\n")
    run = kincflow.build_run(_gmm_options(gem))
    dag = (run / "run.dag").read_text()
    assert _dag_nodes(dag) == ["chunk0", "chunk1", "chunk2", "finish"]
    corrpower = ("--ccm-in similarity.ccm --cmx-in similarity.cmx --ccm-out network.ccm --cmx-out network.cmx "
                 "--alpha 0.001 --power 0.8")
    vars_line = _chunk_vars(dag, "chunk1")
    assert 'mode="gmm"' in vars_line and vars_line.endswith(f' -- {corrpower}"')
    assert ("--ccm similarity.ccm --cmx similarity.cmx --clusmethod gmm" in vars_line
            and "--minclus 1 --maxclus 5 --crit icl --postout true" in vars_line)
    assert list(_steps(run)) == ["merge", "corrpower", "rmt", "extract", "summary"]
    assert _kinc_step(run, "merge").startswith("merge 3 similarity --input input.emx --ccm similarity.ccm")
    assert _kinc_step(run, "corrpower") == f"merge 3 corrpower {corrpower}"
    assert _kinc_step(run, "rmt") == "run rmt --input network.cmx --log rmt.log --reduction maxcorr --plot rmt.png"
    assert _steps(run)["extract"] == [str(_EXTRACT_JOB)]
    assert "transfer_input_files = input.emx\n" in (run / "chunk.sub").read_text()
    settings = json.loads((run / "run.json").read_text())["settings"]
    assert settings["clusmethod"] == "gmm" and settings["crit"] == "icl" and settings["reduction"] == "maxcorr"
    assert settings["annotations"] is False and settings["pvalue"] == 0.001 and settings["rsquare"] == 0.3
    assert kincflow.summarize(run.name)["settings"] == settings


def test_gmm_chunks_with_annotations_test_their_own_clusters_and_extract_uses_the_csm(kincflow,
                                                                                       tmp_path: Path) -> None:
    gem = tmp_path / "gem.txt"
    gem.write_text("s1\ts2\nG1\t1\t2\n")
    amx = tmp_path / "amx.txt"
    amx.write_text("Sample\tTreatment\tAge\ns1\tA\t3\ns2\tB\t4\n")
    run = kincflow.build_run(_gmm_options(gem, annotations=str(amx), feat_types="Age:quantitative"))
    dag = (run / "run.dag").read_text()
    assert _dag_nodes(dag) == ["chunk0", "chunk1", "chunk2", "finish"]
    tests = "--feat-tests Treatment,Age --feat-types Age:quantitative --alpha 0.001 --power 0.8 --nan NA"
    own = ("--emx input.emx --ccm network.ccm.chunk-1-of-3 --cmx network.cmx.chunk-1-of-3 --amx annotations.txt "
           f"--output network.csm {tests}")
    assert _chunk_vars(dag, "chunk1").endswith(f' -- {own}"')
    assert _kinc_step(run, "condtest") == (
        "merge 3 cond-test --emx input.emx --ccm network.ccm --cmx network.cmx --amx annotations.txt "
        f"--output network.csm {tests}")
    assert list(_steps(run)) == ["merge", "corrpower", "condtest", "rmt", "extract", "summary"]
    assert "transfer_input_files = input.emx,annotations.txt\n" in (run / "chunk.sub").read_text()
    assert (run / "annotations.txt").read_bytes() == amx.read_bytes()
    assert _steps(run)["extract"][1:] == ["--", "--csm", "network.csm", "--filter-pvalue", "0.001",
                                          "--filter-rsquare", "0.3"]
    record = json.loads((run / "run.json").read_text())
    assert record["feat_tests"] == ["Treatment", "Age"] and record["settings"]["annotations"] is True
    assert record["settings"]["feat_types"] == "Age:quantitative"


def test_gmm_feature_list_and_fixed_threshold(kincflow, tmp_path: Path) -> None:
    gem = tmp_path / "gem.txt"
    gem.write_text("s1\ts2\nG1\t1\t2\n")
    amx = tmp_path / "amx.txt"
    amx.write_text("Sample\tTreatment\tAge\ns1\tA\t3\ns2\tB\t4\n")
    run = kincflow.build_run(_gmm_options(gem, annotations=str(amx), feat_tests="Age", threshold=0.9, plots=False))
    assert "rmt" not in _steps(run)
    assert "--feat-tests Age --alpha" in (run / "run.dag").read_text()
    assert _steps(run)["extract"][1:] == ["--no-plots", "0.9", "--", "--csm", "network.csm", "--filter-pvalue",
                                          "0.001", "--filter-rsquare", "0.3"]
    with pytest.raises(kincflow.FlowError, match="nowhere.amx"):
        kincflow.build_run(_gmm_options(gem, annotations=str(tmp_path / "nowhere.amx")))


def test_extract_job_passes_the_csm_options_after_its_own(tmp_path: Path) -> None:
    fake = tmp_path / "kinc"
    fake.write_text("#!/bin/sh\nprintf '%s\\n' \"$@\" > argv.txt\n")
    fake.chmod(0o755)
    (tmp_path / "rmt.log").write_text("0.9 10 5 1\n0.83\n")
    subprocess.run([str(_EXTRACT_JOB), "--no-plots", "--", "--csm", "network.csm", "--filter-pvalue", "0.001"],
                   cwd=tmp_path, env={**os.environ, "KINC": str(fake)}, check=True)
    argv = (tmp_path / "argv.txt").read_text().split()
    assert argv[:2] == ["run", "extract"] and argv[argv.index("--mincorr") + 1] == "0.83"
    assert argv[-4:] == ["--csm", "network.csm", "--filter-pvalue", "0.001"]
