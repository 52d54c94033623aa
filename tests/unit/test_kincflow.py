"""The submitter's workflow driver: the DAG it writes and how it reads DAGMan's node status file."""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "images" / "submitter" / "workflow" / "kincflow.py"
_EXTRACT_JOB = _PATH.parent / "extract-job"


@pytest.fixture()
def kincflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KINCFLOW_HOME", str(tmp_path))
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
    assert ads[0]["DagStatus"] == "6"
    assert ads[1]["Node"] == "import" and ads[1]["NodeStatus"] == "6"
    assert ads[2]["StatusDetails"] == "Had an ancestor node fail"


def test_failed_run_reports_the_node_and_its_error(kincflow, tmp_path: Path) -> None:
    run = _tiny_run(kincflow, tmp_path)
    (run / "run.dag.status").write_text(NODE_STATUS)
    (run / "logs" / "import.err").write_text("kinc: error: gem.txt: line 2, column 3: 'x' is not a number\n")
    status = kincflow.status(run.name)
    assert status["state"] == "failed"
    assert status["failed_node"] == "import"
    assert "line 2, column 3" in status["error"]


def test_kinc_dag_splits_similarity_and_thresholds_with_rmt(kincflow, tmp_path: Path) -> None:
    run = _tiny_run(kincflow, tmp_path)
    dag = (run / "run.dag").read_text()
    assert [line.split()[1] for line in dag.splitlines() if line.startswith("JOB ")] == [
        "import", "chunk0", "chunk1", "chunk2", "merge", "extract", "rmt", "summary"]
    assert "PARENT import CHILD chunk0 chunk1 chunk2" in dag
    assert "PARENT chunk0 chunk1 chunk2 CHILD merge" in dag
    assert "PARENT merge CHILD rmt" in dag and "PARENT rmt CHILD extract" in dag
    assert "PARENT extract CHILD summary" in dag
    assert "--corrmethod spearman" in dag
    chunk_sub = (run / "chunk.sub").read_text()
    assert "universe = vanilla" in chunk_sub and "transfer_input_files = input.emx" in chunk_sub
    assert "job_machine_attrs = CLOUDFLOCK_POOL" in chunk_sub
    assert "universe = local" in (run / "merge.sub").read_text()


def test_fixed_threshold_skips_rmt(kincflow, tmp_path: Path) -> None:
    run = _tiny_run(kincflow, tmp_path, threshold=0.9)
    dag = (run / "run.dag").read_text()
    assert "JOB rmt" not in dag and "PARENT merge CHILD extract" in dag
    assert "0.9" in (run / "extract.sub").read_text()


def test_missing_gem_is_named(kincflow, tmp_path: Path) -> None:
    with pytest.raises(kincflow.FlowError, match="nowhere.txt"):
        kincflow.build_run(options(gem=str(tmp_path / "nowhere.txt")))


def test_summary_counts_jobs_per_pool_from_the_records(kincflow, tmp_path: Path) -> None:
    run = kincflow.build_run(options(mode="test", chunks=3))
    for chunk, pool in enumerate(["executor1", "executor2", "executor1"]):
        (run / f"chunk-{chunk}.meta.json").write_text(
            f'{{"chunk": {chunk}, "pool": "{pool}", "exit_code": 0, "start": 10.0, "end": 12.5}}')
    summary = kincflow.summarize(run.name)
    assert summary["jobs_by_pool"] == {"executor1": 2, "executor2": 1}
    assert summary["jobs_done"] == 3 and summary["job_runtime_s"] == 7.5
    assert (run / "summary.json").exists()


def _arguments(submit_file: Path) -> str:
    line = next(line for line in submit_file.read_text().splitlines() if line.startswith("arguments = "))
    return line.removeprefix("arguments = ").strip('"')


def test_rmt_and_extract_draw_their_plots_by_default(kincflow, tmp_path: Path) -> None:
    run = _tiny_run(kincflow, tmp_path)
    assert _arguments(run / "rmt.sub") == "run rmt --input network.cmx --log rmt.log --plot rmt.png"
    assert _arguments(run / "extract.sub") == ""
    assert json.loads((run / "run.json").read_text())["plots"] is True


def test_no_plots_leaves_the_plot_options_out(kincflow, tmp_path: Path) -> None:
    run = _tiny_run(kincflow, tmp_path, plots=False)
    assert "--plot" not in _arguments(run / "rmt.sub")
    assert _arguments(run / "extract.sub") == "--no-plots"
    fixed = _tiny_run(kincflow, tmp_path, plots=False, threshold=0.9)
    assert _arguments(fixed / "extract.sub") == "--no-plots 0.9"


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


def _fake_condor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, queue_status: str) -> Path:
    """condor_q answering queue_status for any job, condor_submit_dag recording its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "condor_q").write_text(f"#!/bin/sh\nprintf '{queue_status}'\n")
    (bin_dir / "condor_submit_dag").write_text(
        "#!/bin/sh\necho \"$@\" > submit-dag-args\necho '1 job(s) submitted to cluster 77.'\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return bin_dir


def _with_dagman_cluster(run: Path, cluster: int) -> None:
    """Record the run's DAGMan job, as submit does."""
    record = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**record, "dagman_cluster": cluster}))


def test_resume_resubmits_a_stopped_run_from_its_rescue_dag(kincflow, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_condor(tmp_path, monkeypatch, "")
    run = kincflow.build_run(options(mode="test", chunks=2))
    _with_dagman_cluster(run, 12)
    (run / "run.dag.rescue001").write_text("DONE chunk0\n")
    result = kincflow.resume(run.name)
    assert result == {"run_id": run.name, "dagman_cluster": 77, "rescue": "run.dag.rescue001"}
    args = (run / "submit-dag-args").read_text().split()
    assert "-update_submit" in args and "-force" not in args and args[-1] == "run.dag"
    saved = json.loads((run / "run.json").read_text())
    assert saved["dagman_cluster"] == 77 and saved["resumed"][0]["previous_cluster"] == 12


def test_resume_leaves_a_queued_dagman_job_alone(kincflow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_condor(tmp_path, monkeypatch, "2\\n")
    run = kincflow.build_run(options(mode="test", chunks=2))
    _with_dagman_cluster(run, 12)
    with pytest.raises(kincflow.FlowError, match="DAGMan job 12 .* still queued \\(running\\)"):
        kincflow.resume(run.name)
    assert not (run / "submit-dag-args").exists()


RUN_LOG = """000 (003.000.000) 2026-11-25 08:57:32 Job submitted from host: <10.0.0.2:9618?alias=submitter>
    DAG Node: chunk0
...
001 (003.000.000) 2026-11-25 08:57:34 Job executing on host: <10.0.0.3:9618?addrs=10.0.0.3-9618&alias=executor1&noUDP>
...
022 (003.000.000) 2026-11-25 08:57:40 Job disconnected, attempting to reconnect
    Socket between submit and execute hosts closed unexpectedly
...
024 (003.000.000) 2026-11-25 08:58:10 Job reconnection failed
    Job disconnected too long: JobLeaseDuration (20 seconds) expired
...
001 (003.000.000) 2026-11-25 08:58:20 Job executing on host: <10.0.0.4:9618?addrs=10.0.0.4-9618&alias=executor2&noUDP>
...
005 (003.000.000) 2026-11-25 08:58:30 Job terminated.
	(1) Normal termination (return value 0)
...
000 (004.000.000) 2026-11-25 08:57:32 Job submitted from host: <10.0.0.2:9618?alias=submitter>
    DAG Node: chunk1
...
001 (004.000.000) 2026-11-25 08:57:34 Job executing on host: <10.0.0.4:9618?addrs=10.0.0.4-9618&alias=executor2&noUDP>
...
005 (004.000.000) 2026-11-25 08:57:50 Job terminated.
	(1) Normal termination (return value 0)
...
"""


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
    # chunk0 without its first execute event: killed while its input was still being transferred.
    (run / "run.log").write_text("...\n".join(events[:1] + events[2:]))
    assert kincflow.job_history(run)["chunk0"]["started"] == 2


def test_run_is_done_only_after_dagman_has_left_the_queue(kincflow, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    run = kincflow.build_run(options(mode="test", chunks=1))
    record = json.loads((run / "run.json").read_text())
    record["dagman_cluster"] = 42
    (run / "run.json").write_text(json.dumps(record))
    (run / "chunk-0.meta.json").write_text('{"chunk": 0, "pool": "executor1", "exit_code": 0, "start": 1, "end": 2}')
    kincflow.summarize(run.name)
    in_queue = {"dagman": "42\n"}

    def fake_run(argv, **_kwargs):
        stdout = in_queue["dagman"] if argv[:2] == ["condor_q", "42"] else ""
        return subprocess.CompletedProcess(argv, 0, stdout=stdout, stderr="")

    monkeypatch.setattr(kincflow.subprocess, "run", fake_run)
    assert kincflow.status(run.name)["state"] == "running"
    in_queue["dagman"] = ""
    assert kincflow.status(run.name)["state"] == "done"


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
    _fake_condor(tmp_path, monkeypatch, "")
    run = kincflow.build_run(options(mode="test", chunks=2))
    (run / "summary.json").write_text("{}")
    assert kincflow.attach(run.name) == {"run_id": run.name, "action": "done"}
    assert not (run / "submit-dag-args").exists()


def test_attach_waits_for_a_queued_dagman_job(kincflow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_condor(tmp_path, monkeypatch, "12\\n")
    run = kincflow.build_run(options(mode="test", chunks=2))
    _with_dagman_cluster(run, 12)
    assert kincflow.attach(run.name) == {"run_id": run.name, "action": "running", "dagman_cluster": 12}
    assert not (run / "submit-dag-args").exists()


def test_attach_resumes_a_stopped_run(kincflow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_condor(tmp_path, monkeypatch, "")
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


def test_pools_names_the_visible_and_the_missing(kincflow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # Only the central manager at 10.0.0.3 answers with a startd.
    (bin_dir / "condor_status").write_text(
        '#!/bin/sh\n[ "$2" = 10.0.0.3 ] && echo slot1@executor1 && exit 0\necho "no collector" >&2; exit 1\n')
    (bin_dir / "condor_status").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    result = kincflow.visible_pools(["executor1=10.0.0.3", "executor2=10.0.0.4"])
    assert result["state"] == "running"
    assert result["visible"] == ["executor1"] and result["missing"] == ["executor2"]
    assert result["progress"] == "executor pools visible 1/2: executor1; waiting for executor2"
    assert kincflow.visible_pools(["executor1=10.0.0.3"])["state"] == "done"


def test_a_resumed_run_ignores_the_stopped_dagmans_node_status(kincflow, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_condor(tmp_path, monkeypatch, "")
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
    # Every node retries transient failures; the payload's verdicts (2: bad input, rmt's 1: no threshold) stop it.
    assert retries == {"import": ["2", "UNLESS-EXIT", "2"], "chunk0": ["2", "UNLESS-EXIT", "2"],
                       "chunk1": ["2", "UNLESS-EXIT", "2"], "chunk2": ["2", "UNLESS-EXIT", "2"],
                       "merge": ["2", "UNLESS-EXIT", "2"], "extract": ["2", "UNLESS-EXIT", "2"],
                       "rmt": ["2", "UNLESS-EXIT", "1"], "summary": ["2", "UNLESS-EXIT", "2"]}
    assert "ALL_NODES" not in dag


def _failed_dag_status(node_statuses: dict[str, int]) -> str:
    """A node status file of a failed DAG (DagStatus 6) with these nodes' NodeStatus codes, in NODE_STATUS's form."""
    ads = ['[\n  Type = "DagStatus";\n  DagStatus = 6;\n]']
    ads += [f'[\n  Type = "NodeStatus";\n  Node = "{node}";\n  NodeStatus = {code};\n]'
            for node, code in node_statuses.items()]
    return "\n".join(ads) + "\n"


RMT_FAILED = _failed_dag_status({"extract": 7, "rmt": 6})  # 7: STATUS_FUTILE, 6: STATUS_ERROR


def _rmt_failed_run(kincflow, tmp_path: Path) -> Path:
    run = _tiny_run(kincflow, tmp_path)
    (run / "run.dag.status").write_text(RMT_FAILED)
    (run / "logs" / "rmt.err").write_text("kinc: error: rmt: reached --tstop 0.5 without a threshold\n")
    return run


def test_the_failed_node_is_the_one_that_failed_not_a_futile_one(kincflow, tmp_path: Path) -> None:
    run = _rmt_failed_run(kincflow, tmp_path)
    status = kincflow.status(run.name)
    assert status["state"] == "failed" and status["failed_node"] == "rmt"
    assert "without a threshold" in status["error"]
    assert "rmt.log" in status["hint"] and "rethreshold" in status["hint"]


def test_rethreshold_keeps_the_similarity_and_runs_extract_with_the_threshold(kincflow, tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_condor(tmp_path, monkeypatch, "")
    run = _rmt_failed_run(kincflow, tmp_path)
    with pytest.raises(kincflow.FlowError, match="no merged similarity \\(network.cmx, network.ccm missing\\)"):
        kincflow.rethreshold(run.name, 0.85)
    (run / "network.cmx").write_bytes(b"cmx")
    (run / "network.ccm").write_bytes(b"ccm")
    (run / "run.dag.rescue001").write_text("DONE import\n")
    with pytest.raises(kincflow.FlowError, match="threshold 1.5 must be from 0 to 1"):
        kincflow.rethreshold(run.name, 1.5)
    result = kincflow.rethreshold(run.name, 0.85)
    assert result == {"run_id": run.name, "threshold": 0.85, "rescue": "run.dag.rescue002", "done_nodes": 6}
    done = [line.split()[1] for line in (run / "run.dag.rescue002").read_text().splitlines()
            if line.startswith("DONE ")]
    assert done == ["import", "chunk0", "chunk1", "chunk2", "merge", "rmt"]
    assert _arguments(run / "extract.sub") == "0.85"
    assert json.loads((run / "run.json").read_text())["threshold"] == 0.85
    (run / "summary.json").write_text("{}")
    with pytest.raises(kincflow.FlowError, match="is done"):
        kincflow.rethreshold(run.name, 0.85)


def test_rethreshold_leaves_a_running_dag_alone(kincflow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_condor(tmp_path, monkeypatch, "5\\n")
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


def _dag_nodes(dag: str) -> list[str]:
    return [line.split()[1] for line in dag.splitlines() if line.startswith("JOB ")]


def test_gmm_dag_clusters_filters_by_power_and_reduces_for_rmt(kincflow, tmp_path: Path) -> None:
    gem = tmp_path / "gem.txt"
    gem.write_text("s1\ts2\nG1\t1\t2\n")
    run = kincflow.build_run(_gmm_options(gem))
    dag = (run / "run.dag").read_text()
    assert _dag_nodes(dag) == ["import", "chunk0", "chunk1", "chunk2", "merge", "extract", "corrpower", "rmt",
                               "summary"]
    assert "PARENT merge CHILD corrpower\nPARENT corrpower CHILD rmt\nPARENT rmt CHILD extract\n" in dag
    assert ("--ccm similarity.ccm --cmx similarity.cmx --clusmethod gmm" in dag
            and "--minclus 1 --maxclus 5 --crit icl --postout true" in dag)
    assert _arguments(run / "merge.sub").startswith("merge 3 similarity --input input.emx --ccm similarity.ccm")
    assert _arguments(run / "corrpower.sub") == (
        "run corrpower --ccm-in similarity.ccm --cmx-in similarity.cmx --ccm-out network.ccm --cmx-out network.cmx "
        "--alpha 0.001 --power 0.8")
    assert _arguments(run / "rmt.sub") == "run rmt --input network.cmx --log rmt.log --reduction maxcorr --plot rmt.png"
    assert _arguments(run / "extract.sub") == ""
    assert not (run / "condtest.sub").exists()
    for node in ("corrpower", "extract", "merge"):
        assert f"RETRY {node} 2 UNLESS-EXIT 2\n" in dag
    settings = json.loads((run / "run.json").read_text())["settings"]
    assert settings["clusmethod"] == "gmm" and settings["crit"] == "icl" and settings["reduction"] == "maxcorr"
    assert settings["annotations"] is False and settings["pvalue"] == 0.001 and settings["rsquare"] == 0.3
    assert kincflow.summarize(run.name)["settings"] == settings


def test_gmm_dag_with_annotations_splits_cond_test_and_extracts_with_the_csm(kincflow, tmp_path: Path) -> None:
    gem = tmp_path / "gem.txt"
    gem.write_text("s1\ts2\nG1\t1\t2\n")
    amx = tmp_path / "amx.txt"
    amx.write_text("Sample\tTreatment\tAge\ns1\tA\t3\ns2\tB\t4\n")
    run = kincflow.build_run(_gmm_options(gem, annotations=str(amx), feat_types="Age:quantitative"))
    dag = (run / "run.dag").read_text()
    assert _dag_nodes(dag) == ["import", "chunk0", "chunk1", "chunk2", "merge", "extract", "corrpower", "rmt",
                               "condtest0", "condtest1", "condtest2", "condmerge", "summary"]
    assert "PARENT corrpower CHILD condtest0 condtest1 condtest2\n" in dag
    assert "PARENT condtest0 condtest1 condtest2 CHILD condmerge\n" in dag
    assert "PARENT rmt condmerge CHILD extract\n" in dag
    condtest_args = ("--emx input.emx --ccm network.ccm --cmx network.cmx --amx annotations.txt --output network.csm "
                     "--feat-tests Treatment,Age --feat-types Age:quantitative --alpha 0.001 --power 0.8 --nan NA")
    assert f'VARS condtest1 chunk="1" chunks="3" mode="condtest" job_args="{condtest_args}"' in dag
    assert _arguments(run / "condmerge.sub") == f"merge 3 cond-test {condtest_args}"
    condtest_sub = (run / "condtest.sub").read_text()
    assert "universe = vanilla" in condtest_sub and "job_machine_attrs = CLOUDFLOCK_POOL" in condtest_sub
    assert "transfer_input_files = input.emx,network.ccm,network.cmx,annotations.txt" in condtest_sub
    assert "output = logs/condtest-$(chunk).out" in condtest_sub
    assert (run / "annotations.txt").read_bytes() == amx.read_bytes()
    assert _arguments(run / "extract.sub") == "-- --csm network.csm --filter-pvalue 0.001 --filter-rsquare 0.3"
    for node in ("condtest0", "condtest2", "condmerge", "corrpower"):
        assert f"RETRY {node} 2 UNLESS-EXIT 2\n" in dag
    record = json.loads((run / "run.json").read_text())
    assert record["feat_tests"] == ["Treatment", "Age"] and record["settings"]["annotations"] is True
    assert record["settings"]["feat_types"] == "Age:quantitative"


def test_gmm_feature_list_and_fixed_threshold(kincflow, tmp_path: Path) -> None:
    gem = tmp_path / "gem.txt"
    gem.write_text("s1\ts2\nG1\t1\t2\n")
    amx = tmp_path / "amx.txt"
    amx.write_text("Sample\tTreatment\tAge\ns1\tA\t3\ns2\tB\t4\n")
    run = kincflow.build_run(_gmm_options(gem, annotations=str(amx), feat_tests="Age", threshold=0.9, plots=False))
    dag = (run / "run.dag").read_text()
    assert "JOB rmt" not in dag and "PARENT condmerge CHILD extract\n" in dag
    assert "--feat-tests Age --alpha" in dag
    assert _arguments(run / "extract.sub") == (
        "--no-plots 0.9 -- --csm network.csm --filter-pvalue 0.001 --filter-rsquare 0.3")
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
