"""The embedded default for real: pools on this machine's Docker engine, jobs flocking to both executors.

One federation (its own deployment name, network and addresses, so a developer's `make demo` is left alone)
is brought up once for the module; the tests run jobs through it, check its security and idempotence,
and the last one tears it down.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest

from tests.support.flock import WORKFLOW, Federation, Submitter

pytestmark = [pytest.mark.docker]


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Federation:
    # Unique per process, so two test runs on one engine do not tear down each other's pools.
    fed = Federation(tmp_path_factory.mktemp("flock"), f"cftest-{os.getpid()}", f"10.89.{os.getpid() % 250}")
    fed.playbook("playbooks/teardown.yml")
    provision = fed.playbook("site.yml")
    assert provision.rc == 0, provision.output[-4000:]
    return fed


def test_site_yml_second_run_changes_nothing(federation: Federation) -> None:
    again = federation.playbook("site.yml")
    assert again.rc == 0, again.output[-4000:]
    assert again.recap["changed"] == 0, again.output[-4000:]


def test_jobs_flock_to_both_executor_pools(federation: Federation) -> None:
    run = federation.playbook("kinc.yml", extra={"kinc_test_jobs": 12, "kinc_test_job_seconds": 2})
    assert run.rc == 0, run.output[-4000:]
    summary = federation.summary(run)
    assert summary["jobs_total"] == 12
    assert summary["jobs_done"] == 12
    assert set(summary["jobs_by_pool"]) == {"executor1", "executor2"}
    assert all(count > 0 for count in summary["jobs_by_pool"].values())
    assert sum(summary["jobs_by_pool"].values()) == 12
    assert summary["jobs_by_cluster"] == {"local": 12}
    assert summary["pool_ready_s"] is None or summary["pool_ready_s"] >= 0
    assert "jobs done" in run.output  # progress lines were printed while waiting
    assert sorted(job["chunk"] for job in summary["jobs"]) == list(range(12))


def test_flock_role_second_run_changes_nothing(federation: Federation) -> None:
    first = federation.playbook("kinc.yml", "--tags", "flock")
    assert first.rc == 0, first.output[-4000:]
    second = federation.playbook("kinc.yml", "--tags", "flock")
    assert second.rc == 0, second.output[-4000:]
    assert second.recap["changed"] == 0, second.output[-4000:]


def test_check_mode_reports_a_change_and_makes_none(federation: Federation) -> None:
    spec = json.loads(json.dumps(federation.spec))
    spec["flock_containers"][1]["mem"] = 3072
    before = federation.docker("inspect", "-f", "{{.HostConfig.Memory}}", f"{federation.name}-executor1").stdout
    check = federation.playbook("kinc.yml", "--tags", "flock", "--check", "--diff",
                                extra={"flock_containers": spec["flock_containers"]})
    assert check.rc == 0, check.output[-4000:]
    assert check.recap["changed"] >= 1
    after = federation.docker("inspect", "-f", "{{.HostConfig.Memory}}", f"{federation.name}-executor1").stdout
    assert before == after == f"{2048 * 1024 * 1024}\n"


def test_invalid_spec_names_the_field_and_creates_nothing(tmp_path: Path, docker_engine: None) -> None:
    fed = Federation(tmp_path, f"cftest-invalid-{os.getpid()}", f"10.90.{os.getpid() % 250}")
    spec = fed.spec
    spec["flock_network"]["containers"][2]["ip"] = spec["flock_network"]["containers"][1]["ip"]
    spec["flock_containers"][1]["cpus"] = 0
    run = fed.playbook("kinc.yml", extra={"flock_network": spec["flock_network"],
                                          "flock_containers": spec["flock_containers"]})
    assert run.rc != 0
    assert "containers[1].cpus: 0 must be positive" in run.output
    duplicate = spec["flock_network"]["containers"][1]["ip"]
    assert f"network.containers[2].ip: {duplicate} is already the address of 'executor1'" in run.output
    assert fed.containers() == []
    assert fed.docker("network", "inspect", fed.name).returncode != 0


def test_unauthenticated_client_is_refused(federation: Federation) -> None:
    executor_ip = federation.spec["flock_network"]["containers"][1]["ip"]
    image = federation.docker("inspect", "-f", "{{.Config.Image}}", f"{federation.name}-executor1").stdout.strip()
    # The same query from the submitter, whose user holds a token signed with executor1's key, succeeds ...
    allowed = federation.docker("exec", "-u", "condor_pool", f"{federation.name}-submitter",
                                "condor_status", "-pool", executor_ip, "-af", "Name")
    assert allowed.returncode == 0 and "slot1@executor1" in allowed.stdout
    # ... and from a container on the pool network without the key it is refused.
    refused = federation.docker(
        "run", "--rm", "--network", federation.name, "--ip", executor_ip.rsplit(".", 1)[0] + ".200",
        "--entrypoint", "sh", image, "-c",
        f"condor_status -pool {executor_ip} -af Name; echo status=$?; "
        f"condor_ping -pool {executor_ip} -type collector WRITE; echo ping=$?")
    assert "status=1" in refused.stdout, refused.stdout + refused.stderr
    assert "ping=1" in refused.stdout, refused.stdout + refused.stderr
    assert "slot1@executor1" not in refused.stdout


def test_executors_spend_no_cpu_on_benchmarks(federation: Federation) -> None:
    # HTCondor's startd runs condor_mips and condor_kflops when it starts: a core's worth of CPU beside the
    # pool's first jobs, for figures nothing here matches or ranks on.
    executors = [c for c in federation.spec["flock_network"]["containers"] if c["id"].startswith("executor")]
    assert executors
    for executor in executors:
        slots = federation.docker("exec", "-u", "condor_pool", f"{federation.name}-submitter", "condor_status",
                                  "-pool", executor["ip"], "-af", "Name", "LastBenchmark").stdout.split("\n")
        slots = [line.split() for line in slots if line.strip()]
        assert slots and all(benchmarked == "0" for _, benchmarked in slots), slots
        running = federation.docker("exec", f"{federation.name}-{executor['id']}", "sh", "-c",
                                    "cat /proc/[0-9]*/comm").stdout.split()
        assert "condor_startd" in running and not {"condor_mips", "condor_kflops"} & set(running), running


def test_pool_keys_are_secret_files_not_baked_or_in_the_environment(federation: Federation) -> None:
    keys = {}
    for pool in ("submitter", "executor1", "executor2"):
        key_file = federation.secrets / "pools" / pool / "key"
        keys[pool] = key_file.read_text().strip()
        assert len(keys[pool]) >= 32
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(set(keys.values())) == 3
    for name in federation.containers():
        inspected = federation.docker("inspect", name).stdout
        assert not any(key in inspected for key in keys.values()), name
        image = json.loads(inspected)[0]["Config"]["Image"]
        history = federation.docker("history", "--no-trunc", image).stdout
        assert not any(key in history for key in keys.values())
    mounted = federation.docker("exec", f"{federation.name}-executor1", "stat", "-c", "%a %U",
                                "/etc/condor/passwords.d/executor1").stdout.split()
    assert mounted == ["600", "root"]


def test_a_failing_node_fails_the_play_with_its_error(federation: Federation) -> None:
    # A GEM that passes every check on the controller, but too small for RMT: 40 genes give fewer unique
    # eigenvalues than it needs at every step, so the finish node's rmt step fails with its own message.
    gem = federation.root / "small.gem"
    values = [[math.sin(gene * 7.3 + sample * 1.9) for sample in range(30)] for gene in range(40)]
    gem.write_text("\t".join(f"S{s}" for s in range(30)) + "\n" + "".join(
        f"G{g}\t" + "\t".join(f"{v:.4f}" for v in row) + "\n" for g, row in enumerate(values)))
    run = federation.playbook("kinc.yml", "--tags", "run", extra={
        "kinc_gem": str(gem), "kinc_jobs": 2, "kinc_minsamp": 20, "kinc_run_timeout": 300})
    assert run.rc != 0
    assert "failed at node finish (step rmt)" in run.output, run.output[-4000:]
    assert "without a threshold" in run.output and "kinc_threshold=" in run.output
    run_id = re.search(r"run (kinc-[0-9a-f-]+) failed at node finish", run.output).group(1)
    # Deterministic: the finish node (and its rmt) ran once. Its walk came back with the run's directory, one
    # line per step.
    run_dir = federation.results / run_id
    walk = (run_dir / "rmt.log").read_text().splitlines()
    assert len(walk) == 491 and all(len(line.split("\t")) == 4 for line in walk)
    history = Submitter(federation).exec("python3", f"{WORKFLOW}/kincflow.py", "status", run_id, "--json")
    assert json.loads(history.stdout)["reruns"] == {}, history.stdout
    assert json.loads(history.stdout)["failed_step"] == "rmt", history.stdout

    # Finished with a fixed threshold: extract and summary run, the similarity is not computed again.
    finished = federation.playbook("playbooks/kinc_resume.yml", extra={"kinc_run_id": run_id, "kinc_threshold": 0.9})
    assert finished.rc == 0, finished.output[-4000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["threshold"] == 0.9 and summary["threshold_source"] == "fixed"
    assert summary["jobs_done"] == 2 and summary["jobs_rerun"] == 0
    assert all(job["executions"] == 1 for job in summary["jobs"])
    edges = (run_dir / "network.txt").read_text().splitlines()[1:]
    assert summary["edges"] == len(edges) > 0 and all(abs(float(e.split("\t")[2])) >= 0.9 for e in edges)


def test_kinc_workflow_runs_across_the_pools(federation: Federation) -> None:
    # The example's chunks take a fraction of a second each: without the delay (results unchanged) executor1's
    # slots could run all eight before executor2's negotiator matches one, first come, first served.
    run = federation.playbook("kinc.yml", extra={"kinc_jobs": 8, "kinc_job_delay": 3})
    assert run.rc == 0, run.output[-4000:]
    summary = federation.summary(run)
    assert summary["mode"] == "kinc" and summary["threshold_source"] == "rmt"
    assert 0.5 < summary["threshold"] < 1.0
    assert summary["jobs_done"] == 8 and set(summary["jobs_by_pool"]) == {"executor1", "executor2"}
    network = federation.results / summary["run_id"] / "network.txt"
    lines = network.read_text().splitlines()
    assert summary["edges"] == len(lines) - 1 > 0
    genes = {field for line in lines[1:] for field in line.split("\t")[:2]}
    assert summary["genes"] == len(genes)
    assert all(abs(float(line.split("\t")[2])) >= summary["threshold"] for line in lines[1:])


def _condition_gem(root: Path) -> tuple[Path, Path]:
    """60 samples, 30 of condition A and 30 of B. g0 and g1 rise together across condition A's samples only (and
    sit lower, without a relation, in B); the other genes are noise. The answer is known: the one edge is g0-g1,
    on a cluster of A's samples, tied to A by the condition test."""
    rng = np.random.default_rng(11)
    samples = [f"S{s}" for s in range(60)]
    condition = ["A" if s % 2 == 0 else "B" for s in range(60)]
    shared = rng.normal(size=60)
    rows = []
    for gene in range(12):
        values = rng.normal(size=60)
        if gene < 2:
            values = [4 + shared[s] + rng.normal(scale=0.1) if condition[s] == "A" else rng.normal(scale=0.5)
                      for s in range(60)]
        rows.append(f"g{gene}\t" + "\t".join(f"{v:.4f}" for v in values))
    gem = root / "condition.gem"
    gem.write_text("\t".join(samples) + "\n" + "\n".join(rows) + "\n")
    annotations = root / "condition.annotations.txt"
    annotations.write_text("Sample\tTreatment\tAge\n" + "".join(
        f"{s}\t{c}\t{20 + i % 7}\n" for i, (s, c) in enumerate(zip(samples, condition, strict=True))))
    return gem, annotations


def test_gmm_run_with_condition_tests_across_the_pools(federation: Federation) -> None:
    gem, annotations = _condition_gem(federation.root)
    run = federation.playbook("kinc.yml", extra={
        "kinc_gem": str(gem), "kinc_clusmethod": "gmm", "kinc_annotations": str(annotations),
        "kinc_feat_tests": "Treatment", "kinc_jobs": 4, "kinc_minsamp": 20, "kinc_maxclus": 3,
        # Each chunk of this small GEM takes well under a second: first come, first served, executor1's two
        # slots would run all four before executor2's negotiator matches one. The delay leaves results unchanged.
        "kinc_threshold": 0.8, "kinc_run_timeout": 600, "kinc_job_delay": 3})
    assert run.rc == 0, run.output[-4000:]
    summary = federation.summary(run)
    assert summary["settings"]["clusmethod"] == "gmm" and summary["settings"]["annotations"] is True
    assert summary["settings"]["feat_tests"] == "Treatment"
    run_dir = federation.results / summary["run_id"]
    # Each chunk job, spread over the pools, clustered its pairs, kept the powered clusters and tested them.
    chunks = [json.loads(path.read_text()) for path in run_dir.glob("chunk-*.meta.json")]
    assert len(chunks) == 4 and {chunk["mode"] for chunk in chunks} == {"gmm"}
    assert {chunk["pool"] for chunk in chunks} == {"executor1", "executor2"}
    for chunk in chunks:
        assert {name.split(".chunk-")[0] for name in chunk["outputs"]} == {
            "similarity.cmx", "similarity.ccm", "network.cmx", "network.ccm", "network.csm"}, chunk["outputs"]
    assert [step["name"] for step in summary["steps"]] == ["merge", "corrpower", "condtest", "extract"]
    lines = (run_dir / "network.txt").read_text().splitlines()
    header, edges = lines[0].split("\t"), [line.split("\t") for line in lines[1:]]
    assert {tuple(sorted(edge[:2])) for edge in edges} == {("g0", "g1")}, lines
    edge = dict(zip(header, edges[0], strict=True))
    assert float(edge["Treatment__A_pVal"]) < 1e-3, edge
    members = [i for i, mark in enumerate(edge["Samples"]) if mark == "1"]
    assert members and all(i % 2 == 0 for i in members), edge["Samples"]


def test_teardown_removes_containers_and_network(federation: Federation) -> None:
    down = federation.playbook("playbooks/teardown.yml")
    assert down.rc == 0, down.output[-4000:]
    assert federation.containers() == []
    assert federation.docker("network", "inspect", federation.name).returncode != 0
    again = federation.playbook("playbooks/teardown.yml")
    assert again.rc == 0 and again.recap["changed"] == 0, again.output[-4000:]
