"""Fault drills on a federation: KINC runs in its submitter, disturbed (an executor killed, the submitter
restarted, a pool cut off the pool network) while their similarity jobs run, and what each run ended with
against an undisturbed reference run. tests/integration/test_faults.py asserts on them; the federation test
runs them on two clouds, and bench/fault_recovery.py prints their figures.

A chunk started more than once (job event log, `started` > 1) counts as "run twice"; its chunk files are
compared with the reference run's to count "run twice with differing output".
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .flock import RUNS, WORKFLOW, Federation, Submitter

# The drills' defaults: a KINC run of CHUNKS similarity jobs at a fixed threshold, each job waiting
# JOB_DELAY_S before its work (submit --job-delay) so that faults land while jobs run.
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


_EVENT_HEAD = re.compile(r"^(\d{3}) \((\d+)\.(\d+)\.\d+\) (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (.*)$")
_ALIAS = re.compile(r"alias=([^&>]+)")


@dataclass(frozen=True)
class JobEvent:
    """One event of a run's job event log: its code, job, DAG node, time (the log's 1 s resolution, as epoch
    seconds) and, for an execute event (001) or the start of an input transfer (040), the pool concerned."""

    code: str
    job: str
    node: str
    at: float
    pool: str = ""


def job_events(run_log: str, utc_offset_s: float = 0.0) -> list[JobEvent]:
    """Every event of a job event log in order; the log's times are the submitter's local time, which is
    utc_offset_s ahead of UTC."""
    nodes: dict[str, str] = {}
    events: list[JobEvent] = []
    head: tuple[str, ...] | None = None
    body: list[str] = []
    for line in run_log.splitlines():
        if head is None:
            match = _EVENT_HEAD.match(line)
            if match:
                head, body = match.groups(), []
            continue
        if line != "...":
            body.append(line)
            continue
        code, cluster, proc, stamp, text = head
        job = f"{int(cluster)}.{int(proc)}"
        if code == "000":
            nodes[job] = next((entry.split(":", 1)[1].strip() for entry in body
                               if entry.strip().startswith("DAG Node:")), "")
        alias = _ALIAS.search(text) if code == "001" else None
        if code == "040" and text.startswith("Started transferring input"):
            alias = next((found for found in map(_ALIAS.search, body) if found), None)
        at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp() - utc_offset_s
        events.append(JobEvent(code, job, nodes.get(job, ""), at, alias.group(1) if alias else ""))
        head = None
    return events


# How each event changes what a chunk job is doing: waiting in the queue, placed on a pool (its input on
# the way there, 040), running there (001), held, or finished. A disconnected job (022) stays bound to its
# pool, and so does one whose reconnect failed (024) until its shadow has given the claim up: the evict event
# (004) that follows puts it back in the queue.
_BACK_IN_QUEUE = {"000", "004", "007", "013"}
_FINISHED = {"005", "009"}


def longest_wait_with_idle_jobs(events: list[JobEvent], pool: str, slots: int, start: float, end: float) -> float:
    """The longest stretch within [start, end] during which fewer jobs ran on the pool than it has slots
    while chunk jobs waited for it: in the queue, or placed there but not started (1 s resolution, as the
    log). A schedd that stops answering shows here as jobs placed on the pool that do not start."""
    state: dict[str, str] = {}
    longest, since = 0.0, None
    for event in [*(e for e in events if e.node.startswith("chunk")), JobEvent("end", "", "", end)]:
        if since is not None:
            longest = max(longest, min(event.at, end) - max(since, start))
        if event.code == "end":
            break
        if event.code in _BACK_IN_QUEUE:
            state[event.job] = "idle"
        elif event.code == "040" and event.pool:
            state[event.job] = f"placed on {event.pool}"
        elif event.code == "001":
            state[event.job] = f"running on {event.pool}"
        elif event.code == "012":
            state[event.job] = "held"
        elif event.code in _FINISHED:
            state[event.job] = "done"
        running = sum(1 for value in state.values() if value == f"running on {pool}")
        waiting = sum(1 for value in state.values() if value in ("idle", f"placed on {pool}"))
        if running < slots and waiting and event.at < end:
            since = since if since is not None else event.at
        else:
            since = None
    return max(longest, 0.0)


@dataclass
class Partition:
    """A run during which one pool was cut off the pool network, and what its job event log says."""

    outcome: Outcome
    pool: str
    victims: list[str]
    cut_at: float
    back_at: float
    events: list[JobEvent]
    slots: dict[str, int]

    def reruns_elsewhere(self) -> dict[str, float | None]:
        """Per job caught on the cut pool: seconds from the cut until it began again on another pool."""
        found: dict[str, float | None] = dict.fromkeys(self.victims)
        for event in self.events:
            if (event.code == "001" and event.node in found and found[event.node] is None
                    and event.pool != self.pool and event.at >= int(self.cut_at)):
                found[event.node] = max(event.at - self.cut_at, 0.0)
        return found

    def returned_pool_first_job_s(self) -> float | None:
        """Seconds from the end of the cut until the cut pool began a job again; None if it never did."""
        starts = [e.at for e in self.events if e.code == "001" and e.pool == self.pool and e.at >= int(self.back_at)]
        return max(min(starts) - self.back_at, 0.0) if starts else None

    def healthy_longest_wait_s(self) -> dict[str, float]:
        """Per pool left alone: its longest wait with a free slot while jobs waited, during the cut."""
        return {pool: longest_wait_with_idle_jobs(self.events, pool, slots, self.cut_at, self.back_at)
                for pool, slots in self.slots.items() if pool != self.pool}

    def figures(self) -> dict[str, Any]:
        reruns = self.reruns_elsewhere()
        return {**self.outcome.figures(), "pool_cut": self.pool, "cut_s": round(self.back_at - self.cut_at, 1),
                "jobs_caught": len(self.victims),
                "caught_rerun_elsewhere_after_s": {node: None if at is None else round(at, 1)
                                                   for node, at in reruns.items()},
                "healthy_longest_wait_s": self.healthy_longest_wait_s(),
                "returned_pool_first_job_s": self.returned_pool_first_job_s()}


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


    def utc_offset_s(self) -> float:
        """How far the submitter's clock, in which its job event logs are written, is ahead of UTC."""
        zone = self.exec("date", "+%z").stdout.strip()
        sign = -1 if zone.startswith("-") else 1
        return sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])).total_seconds()

    def events(self, run_id: str) -> list[JobEvent]:
        return job_events(self.read(run_id, "run.log"), self.utc_offset_s())

    def wait_reported(self, run_id: str, pool: str, seconds: float = 5.0, timeout: float = 180.0) -> None:
        """Until every job running on the pool has been executing for `seconds`: long enough for its starter's
        first report to the shadow (STARTER_UPDATE_INTERVAL after it began)."""
        cluster = (self.status(run_id) or {}).get("dagman_cluster")
        # Seconds this attempt has been executing; -1 before it began (or while the date is an earlier one's).
        age = ("ifThenElse(JobCurrentStartExecutingDate =?= undefined || "
               "JobCurrentStartExecutingDate < JobCurrentStartDate, -1, time() - JobCurrentStartExecutingDate)")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            listed = self.exec("condor_q", "-constraint", f"DAGManJobId == {cluster} && JobStatus == 2",
                               "-af", "RemoteHost", age, check=False).stdout.split("\n")
            ages = [int(line.split()[1]) if line.split()[1].lstrip("-").isdigit() else -1 for line in listed
                    if len(line.split()) == 2 and line.split()[0].endswith(f"@{pool}")]
            if ages and min(ages) >= seconds:
                return
            time.sleep(1)
        raise AssertionError(f"no job of run {run_id} has run {seconds:g} s on {pool} within {timeout:.0f} s")

    def partition(self, reference: Outcome, pool: str = "executor1", *, when: str = "reported",
                  cut_s: float | None = None, timeout: float = 420.0) -> Partition:
        """Cut the pool off the pool network while a run's jobs run on it, its container and jobs left running.
        when: "claimed" cuts as soon as the submitter has started jobs there, "reported" once those jobs have
        reported from the pool. cut_s: how long the cut lasts; None: until every job caught there has begun
        again on another pool (at most `timeout`)."""
        run_id = self.submit()
        self.wait(run_id, lambda s: s["running_by_pool"].get(pool, 0) >= 1, f"jobs running on {pool}")
        if when == "reported":
            self.wait_reported(run_id, pool)
        victims = self.running_nodes(run_id, pool)
        assert victims, f"no node of run {run_id} runs on {pool} after all"
        network = self.fed.spec["flock_network"]["name"]
        address = next(c["ip"] for c in self.fed.spec["flock_network"]["containers"] if c["id"] == pool)
        self.fed.pool_docker(pool, "network", "disconnect", network, check=True)
        cut_at = time.time()
        try:
            if cut_s is not None:
                time.sleep(max(cut_at + cut_s - time.time(), 0.0))
            else:
                deadline = cut_at + timeout
                while True:
                    cut = Partition(Outcome(run_id, {}, {}, {}, {}, ""), pool, victims, cut_at, time.time(),
                                    self.events(run_id), {})
                    pending = [node for node, at in cut.reruns_elsewhere().items() if at is None]
                    if not pending:
                        break
                    if time.time() > deadline:
                        raise AssertionError(f"{', '.join(pending)} caught on {pool} did not begin again elsewhere "
                                             f"within {timeout:.0f} s of the cut")
                    time.sleep(2)
        finally:
            self.fed.pool_docker(pool, "network", "connect", "--ip", address, network, check=True)
            back_at = time.time()
        status = self.wait_done(run_id)
        self.wait_healthy(pool)
        slots = {c["id"]: int(c["cpus"]) for c in self.fed.spec["flock_containers"] if c["role"] == "executor"}
        return Partition(self.outcome(run_id, status, reference), pool, victims, cut_at, back_at,
                         self.events(run_id), slots)


def reference_outcome(drill: Drill, run_id: str, fetched_network: Path | None = None) -> Outcome:
    """A finished run's outcome as the reference for the others. With fetched_network (the copy kinc.yml
    brought back to the controller), that copy must be the submitter's."""
    outcome = drill.outcome(run_id, drill.status(run_id) or {})
    if fetched_network is not None:
        assert fetched_network.read_text() == outcome.network, f"{fetched_network} differs from the submitter's"
    outcome.reference_digests = outcome.chunk_check["digests"]
    outcome.reference_network = outcome.network
    return outcome
