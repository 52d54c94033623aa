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

- partition: executor1 is cut off the pool network (`docker network disconnect`, the container and its
  jobs left running) once its jobs have reported to the submitter; the other pool must keep taking jobs,
  the jobs caught on executor1 must run again elsewhere while it is cut off (the shadow hears nothing for
  CLOUDFLOCK_SILENCE_TIMEOUT, drops it, and the job lease spent the job is back in the queue), and once the
  cut ends executor1 must take work again. A run with more chunks than the others, so that work is left.

A chunk started more than once (job event log, `started` > 1) counts as "run twice"; its chunk files are
compared with the reference run's to count "run twice with differing output", which must be 0.
`bench/fault_recovery.py` runs the same drills and prints the figures.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from tests.support.fault_drills import CHUNKS, THRESHOLD, Drill, Outcome, reference_outcome
from tests.support.flock import Federation, deployed_federation

pytestmark = [pytest.mark.docker]

# The partition drill's run: enough chunks that the pool left alone is still busy when the cut ends.
PARTITION_CHUNKS = 24


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Federation]:
    yield from deployed_federation(tmp_path_factory.mktemp("fault"), f"cftest-fault-{os.getpid()}",
                                   f"10.93.{os.getpid() % 250}")


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


@pytest.fixture(scope="module")
def partition_drill(federation: Federation) -> Drill:
    return Drill(federation, chunks=PARTITION_CHUNKS)


@pytest.fixture(scope="module")
def partition_reference(partition_drill: Drill) -> Outcome:
    run_id = partition_drill.submit()
    partition_drill.wait_done(run_id)
    return reference_outcome(partition_drill, run_id)


def test_a_pool_cut_off_costs_only_its_own_work(partition_drill: Drill, partition_reference: Outcome) -> None:
    cut = partition_drill.partition(partition_reference, "executor1", when="reported")
    outcome, figures = cut.outcome, cut.figures()
    # Nothing lost, nothing corrupted: every chunk merged once, the network the undisturbed run's, and every
    # chunk that ran twice came back with the reference's bytes (its record's digests are its files').
    assert outcome.chunk_check["merge_exact"], outcome.chunk_check["problems"]
    assert figures["jobs_lost"] == 0, figures
    assert outcome.summary["jobs_done"] == PARTITION_CHUNKS
    assert outcome.run_twice_differing == [], figures
    assert figures["network_identical"], f"network of {outcome.run_id} differs from {partition_reference.run_id}"
    # The pool left alone kept taking jobs while executor1 was cut off.
    assert any(e.code == "001" and e.pool == "executor2" and cut.cut_at <= e.at <= cut.back_at for e in cut.events)
    # Every job caught on executor1 began again on executor2 before the cut ended, and the files of its
    # chunk are that run's: the record names executor2 and the job that finished.
    reruns = cut.reruns_elsewhere()
    assert all(at is not None and at <= cut.back_at - cut.cut_at for at in reruns.values()), figures
    records = {job["chunk"]: job for job in outcome.summary["jobs"]}
    for node in cut.victims:
        assert records[int(node[5:])]["pool"] == "executor2", (node, records[int(node[5:])])
        assert int(node[5:]) in outcome.run_twice, (node, outcome.history[node])
    # Back on the network, executor1 took work again.
    assert figures["returned_pool_first_job_s"] is not None, figures
    assert any(job["pool"] == "executor1" and job["start"] >= cut.back_at for job in outcome.summary["jobs"])


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

