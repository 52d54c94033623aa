"""Fault tolerance of the embedded default: a lost executor and a restarted submitter during a KINC run.

One federation of its own (deployment cftest-fault-<pid>, addresses 10.93.<pid % 250>.0/24) is built by
site.yml and brought up once. An undisturbed run through kinc.yml gives the reference network and chunk
files; then two runs are disturbed while their similarity jobs run (slowed by `submit --job-delay`, which
only makes each job wait before its work):

- executor lost: executor1 is killed with jobs running on it; they must come back to idle when their job
  lease ends, run again (on executor2, or on executor1 once it is started again), and the run must end
  with every chunk merged exactly once, no job lost, and the reference network.
- submitter restarted: `docker restart` of the submitter with some chunks done and others running; the
  same DAGMan job must come back in recovery mode, the chunks finished before the restart must not run
  again (their records and job ids unchanged), and the network must be the reference one.

A chunk started more than once (job event log, `started` > 1) counts as "run twice"; its chunk files are
compared with the reference run's to count "run twice with differing output", which must be 0.
`bench/fault_recovery.py` runs the same drills and prints the figures.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .flock_helpers import RUNS, WORKFLOW, Federation, Submitter

pytestmark = [pytest.mark.docker]

CHUNKS = 12
THRESHOLD = 0.85
JOB_DELAY_S = 15.0
WAIT_S = 600.0

# Run inside the submitter: per chunk, the SHA-256 of its .cmx and .ccm chunk files, and whether the merged
# network.cmx / network.ccm bodies are exactly the chunks' bodies, each once, in order.
_CHUNK_CHECK = r"""
import hashlib, json, sys
from pathlib import Path
run, n = Path(sys.argv[1]), int(sys.argv[2])
def split(path):
    data = path.read_bytes()
    head, _, body = data.partition(b"\n")
    return json.loads(head), body
out = {"digests": {}, "merge_exact": True, "problems": []}
for kind in ("cmx", "ccm"):
    merged_head, merged = split(run / f"network.{kind}")
    bodies = []
    for i in range(n):
        path = run / f"network.{kind}.chunk-{i}-of-{n}"
        if not path.exists():
            out["problems"].append(f"{path.name} missing")
            continue
        head, body = split(path)
        if head.get("chunk") != [i, n]:
            out["problems"].append(f"{path.name} has chunk {head.get('chunk')}")
        bodies.append(body)
        out["digests"].setdefault(str(i), {})[kind] = hashlib.sha256(path.read_bytes()).hexdigest()
    if b"".join(bodies) != merged:
        out["merge_exact"] = False
        out["problems"].append(f"network.{kind} is not the {n} chunks each once in order")
print(json.dumps(out))
"""

_HISTORY = (f"import json, sys; sys.path.insert(0, {WORKFLOW!r}); import kincflow; "
            "print(json.dumps(kincflow.job_history(kincflow.RUNS / sys.argv[1])))")


@dataclass
class Outcome:
    """What one run ended with, compared with the reference run."""

    run_id: str
    status: dict[str, Any]
    summary: dict[str, Any]
    history: dict[str, dict[str, Any]]
    chunk_check: dict[str, Any]
    network: str
    reference_digests: dict[str, Any] = field(default_factory=dict)
    reference_network: str = ""

    @property
    def jobs_lost(self) -> int:
        """Chunks without a successful record or without their files in the merge."""
        done = {job["chunk"] for job in self.summary.get("jobs", []) if job.get("exit_code") == 0}
        merged = set(self.chunk_check["digests"]) if self.chunk_check["merge_exact"] else set()
        return sum(1 for i in range(self.summary["jobs_total"]) if i not in done or str(i) not in merged)

    @property
    def run_twice(self) -> list[int]:
        return sorted(int(node[5:]) for node, entry in self.history.items()
                      if node.startswith("chunk") and entry["started"] > 1)

    @property
    def run_twice_differing(self) -> list[int]:
        """Chunks started more than once whose files differ from the reference run's (or from their own
        record's digests)."""
        differing = []
        records = {job["chunk"]: job for job in self.summary.get("jobs", [])}
        for chunk in self.run_twice:
            mine = self.chunk_check["digests"].get(str(chunk))
            recorded = records.get(chunk, {}).get("outputs", {})
            own = {name.split(".")[1]: digest for name, digest in recorded.items()}
            if mine is None or mine != self.reference_digests.get(str(chunk)) or (own and own != mine):
                differing.append(chunk)
        return differing

    @property
    def network_identical(self) -> bool:
        return bool(self.network) and self.network == self.reference_network

    def figures(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "jobs_lost": self.jobs_lost, "jobs_run_twice": len(self.run_twice),
                "jobs_run_twice_differing": len(self.run_twice_differing),
                "network_identical": self.network_identical, "makespan_s": self.summary.get("makespan_s"),
                "disconnects": self.status.get("disconnects"), "reconnects": self.status.get("reconnects"),
                "reconnect_failures": self.status.get("reconnect_failures")}


class Drill(Submitter):
    """Runs, observes and disturbs KINC runs in a federation's submitter with docker exec."""

    def __init__(self, fed: Federation, chunks: int = CHUNKS, threshold: float = THRESHOLD,
                 delay_s: float = JOB_DELAY_S) -> None:
        super().__init__(fed)
        self.chunks, self.threshold, self.delay_s = chunks, threshold, delay_s

    def submit(self) -> str:
        done = self.exec(f"{WORKFLOW}/submit", str(self.chunks), "--threshold", str(self.threshold),
                         "--no-plots", "--job-delay", str(self.delay_s), "--json")
        return str(json.loads(done.stdout)["run_id"])

    def wait_done(self, run_id: str) -> dict[str, Any]:
        return self.wait(run_id, lambda s: s["state"] == "done", "end of the run", timeout=WAIT_S)

    def read(self, run_id: str, name: str) -> str:
        return self.exec("cat", f"{RUNS}/{run_id}/{name}").stdout

    def running_nodes(self, run_id: str, pool: str) -> list[str]:
        """DAG nodes whose job runs on a slot of the pool right now."""
        status = self.status(run_id) or {}
        done = self.exec("condor_q", "-constraint", f"DAGManJobId == {status.get('dagman_cluster')} "
                         "&& JobStatus == 2", "-af", "DAGNodeName", "RemoteHost", check=False)
        return sorted(line.split()[0] for line in done.stdout.splitlines()
                      if len(line.split()) == 2 and line.split()[1].endswith(f"@{pool}"))

    def history(self, run_id: str) -> dict[str, dict[str, Any]]:
        return dict(json.loads(self.exec("python3", "-c", _HISTORY, run_id).stdout))

    def chunk_check(self, run_id: str) -> dict[str, Any]:
        chunks = json.loads(self.read(run_id, "run.json"))["chunks"]
        return dict(json.loads(self.exec("python3", "-c", _CHUNK_CHECK, f"{RUNS}/{run_id}", str(chunks)).stdout))

    def meta_records(self, run_id: str) -> dict[str, str]:
        listing = self.exec("sh", "-c", f"cd {RUNS}/{run_id} && for f in chunk-*.meta.json; do "
                            "[ -f \"$f\" ] && printf '%s\\t%s\\n' \"$f\" \"$(cat \"$f\")\"; done", check=False)
        return dict(line.split("\t", 1) for line in listing.stdout.splitlines() if "\t" in line)

    def outcome(self, run_id: str, status: dict[str, Any], reference: Outcome | None = None) -> Outcome:
        return Outcome(
            run_id=run_id, status=status, summary=json.loads(self.read(run_id, "summary.json")),
            history=self.history(run_id), chunk_check=self.chunk_check(run_id),
            network=self.read(run_id, "network.txt"),
            reference_digests=reference.chunk_check["digests"] if reference else {},
            reference_network=reference.network if reference else "")

    def wait_healthy(self, pool: str, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.fed.pool_docker(pool, "inspect", "-f", "{{.State.Health.Status}}").stdout
            if state.strip() == "healthy":
                return
            time.sleep(2)
        raise AssertionError(f"the {pool} container is not healthy within {timeout:.0f} s")

    def executor_lost(self, reference: Outcome, pool: str = "executor1",
                      restart: bool = True) -> tuple[Outcome, list[str]]:
        """Kill the pool's container with jobs running on it. With restart, start it again once they are back
        to idle; without, whatever runs the container (Marathon) is expected to replace it."""
        run_id = self.submit()
        self.wait(run_id, lambda s: s["running_by_pool"].get(pool, 0) >= 1, f"jobs running on {pool}")
        victims = self.running_nodes(run_id, pool)
        assert victims, f"no node of run {run_id} runs on {pool} after all"
        self.fed.pool_docker(pool, "kill", check=True)
        if restart:
            try:
                # The victims' jobs are idle again (or already ran elsewhere) once their reconnects failed.
                self.wait(run_id, lambda s: s["reconnect_failures"] >= len(victims)
                          and pool not in s["running_by_pool"], f"the jobs lost with {pool} back in the queue")
            finally:
                self.fed.pool_docker(pool, "start", check=True)
        status = self.wait_done(run_id)
        self.wait_healthy(pool)
        return self.outcome(run_id, status, reference), victims

    def submitter_restart(self, reference: Outcome) -> tuple[Outcome, dict[str, Any]]:
        """Restart the submitter with chunks done and chunks running; note what was finished before."""
        run_id = self.submit()
        before = self.wait(run_id, lambda s: s["jobs_done"] >= 2 and s["jobs_running"] >= 2,
                           "chunks done and chunks running")
        history = self.history(run_id)
        finished = {node: entry for node, entry in history.items() if entry["terminated"] >= 1}
        snapshot = {"status": before, "finished": finished, "meta": self.meta_records(run_id)}
        self.fed.pool_docker("submitter", "restart", check=True)
        status = self.wait_done(run_id)
        snapshot["dagman_out"] = self.read(run_id, "run.dag.dagman.out")
        return self.outcome(run_id, status, reference), snapshot


def reference_outcome(drill: Drill, run_id: str, fetched_network: Path | None = None) -> Outcome:
    """A finished run's outcome as the reference for the others. With fetched_network (the copy kinc.yml
    brought back to the controller), that copy must be the submitter's."""
    outcome = drill.outcome(run_id, drill.status(run_id) or {})
    if fetched_network is not None:
        assert fetched_network.read_text() == outcome.network, f"{fetched_network} differs from the submitter's"
    outcome.reference_digests = outcome.chunk_check["digests"]
    outcome.reference_network = outcome.network
    return outcome


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Federation]:
    fed = Federation(tmp_path_factory.mktemp("fault"), f"cftest-fault-{os.getpid()}",
                     f"10.93.{os.getpid() % 250}")
    fed.playbook("playbooks/teardown.yml")
    provision = fed.playbook("site.yml")
    assert provision.rc == 0, provision.output[-4000:]
    up = fed.playbook("kinc.yml", "--tags", "flock")
    assert up.rc == 0, up.output[-4000:]
    yield fed
    fed.playbook("playbooks/teardown.yml")


@pytest.fixture(scope="module")
def drill(federation: Federation) -> Drill:
    return Drill(federation)


@pytest.fixture(scope="module")
def reference(federation: Federation, drill: Drill) -> Outcome:
    run = federation.playbook("kinc.yml", "--tags", "run",
                              extra={"kinc_jobs": CHUNKS, "kinc_threshold": THRESHOLD})
    assert run.rc == 0, run.output[-4000:]
    summary = federation.summary(run)
    assert summary["jobs_done"] == CHUNKS and summary["edges"] > 0
    return reference_outcome(drill, summary["run_id"], federation.results / summary["run_id"] / "network.txt")


def test_undisturbed_run_merges_every_chunk_once(reference: Outcome) -> None:
    assert reference.chunk_check["merge_exact"], reference.chunk_check["problems"]
    assert sorted(map(int, reference.chunk_check["digests"])) == list(range(CHUNKS))
    assert reference.jobs_lost == 0
    assert reference.run_twice == [], reference.history
    assert reference.network.startswith("Source\tTarget\t") and len(reference.network.splitlines()) > 1


def test_lost_executor_jobs_run_again_and_the_network_is_unchanged(drill: Drill, reference: Outcome) -> None:
    outcome, victims = drill.executor_lost(reference)
    figures = outcome.figures()
    assert outcome.chunk_check["merge_exact"], outcome.chunk_check["problems"]
    assert figures["jobs_lost"] == 0, figures
    assert outcome.summary["jobs_done"] == CHUNKS
    # Every job that ran on the killed executor was started again, and only those needed to be.
    victim_chunks = sorted(int(node[5:]) for node in victims)
    assert set(victim_chunks) <= set(outcome.run_twice), (victims, outcome.history)
    assert outcome.status["reconnect_failures"] >= len(victims), outcome.status
    assert figures["jobs_run_twice"] >= len(victims)
    assert outcome.run_twice_differing == [], figures
    assert figures["network_identical"], f"network of {outcome.run_id} differs from {reference.run_id}"
    # Each chunk's files came back once: the record of the run that finished names the job that wrote them.
    for job in outcome.summary["jobs"]:
        assert job["job_id"] == outcome.history[f"chunk{job['chunk']}"]["jobs"][-1], job


def test_submitter_restart_resumes_the_dag_without_rerunning_finished_chunks(
        drill: Drill, reference: Outcome) -> None:
    outcome, before = drill.submitter_restart(reference)
    figures = outcome.figures()
    # The same DAGMan job came back and recovered its state from the job event log.
    assert outcome.status["dagman_cluster"] == before["status"]["dagman_cluster"]
    assert "Running in RECOVERY mode" in before["dagman_out"]
    assert before["finished"], "no chunk had finished before the restart"
    after_meta = drill.meta_records(outcome.run_id)
    for node, entry in before["finished"].items():
        if not node.startswith("chunk"):
            continue
        now = outcome.history[node]
        assert now["jobs"] == entry["jobs"] and now["started"] == 1, (node, entry, now)
        meta = f"chunk-{node[5:]}.meta.json"
        assert after_meta[meta] == before["meta"][meta], f"{meta} changed across the restart"
    assert outcome.chunk_check["merge_exact"], outcome.chunk_check["problems"]
    assert figures["jobs_lost"] == 0, figures
    assert outcome.run_twice_differing == [], figures
    assert figures["network_identical"], f"network of {outcome.run_id} differs from {reference.run_id}"


def test_federation_is_whole_again(federation: Federation, drill: Drill) -> None:
    for pool in ("submitter", "executor1", "executor2"):
        drill.wait_healthy(pool)
    # Both executors advertise their two slots again (a restarted pool takes a few cycles).
    for entry in federation.spec["flock_network"]["containers"][1:]:
        deadline, slots = time.monotonic() + 120, []
        while time.monotonic() < deadline:
            listed = drill.exec("condor_status", "-pool", entry["ip"], "-af", "Name", check=False).stdout.split()
            slots = sorted(name for name in listed if name.startswith("slot"))
            if len(slots) == 2:
                break
            time.sleep(2)
        assert slots == [f"slot1@{entry['id']}", f"slot2@{entry['id']}"], (entry, slots)

