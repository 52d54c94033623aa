"""Membership changes while a KINC run is going: an executor pool added, another removed, the run unharmed.

One federation of its own (deployment cftest-member-<pid>, addresses 10.94.<pid % 250>.0/24: a submitter
and executor1, executor2) is built by site.yml and brought up once. One run of slowed similarity jobs
(kinc.yml --tags run with kinc_job_delay) goes on in the background while

- executor3 joins: added to the spec, then playbooks/add_executor.yml -e executor=executor3. Only its container
  is created; the submitter keeps its container and its DAGMan job, and idle jobs flock to executor3;
- executor1 leaves: playbooks/remove_executor.yml -e executor=executor1, with jobs running on it, drains it,
  takes it out of the submitter's FLOCK_TO and removes its container; the run ends with every job done.

Afterwards the spec without executor1 is what runs: a second kinc.yml --tags flock changes nothing.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.flock import RUNS, Federation, Submitter, deployed_federation
from tests.support.playbook import PlaybookRun

pytestmark = [pytest.mark.docker]

CHUNKS = 24
JOB_DELAY_S = 15.0
WAIT_S = 600.0


@dataclass
class Observed:
    """What the membership changes during one run did, for the tests to check."""

    run: PlaybookRun
    summary: dict[str, Any]
    run_id: str
    ids_before: dict[str, str]
    ids_after_add: dict[str, str]
    dag_before: int
    dag_after_add: int
    dag_at_end: int
    add: PlaybookRun
    remove: PlaybookRun
    running_on_removed: int
    flock_to_after_add: str
    flock_to_after_remove: str
    removed_ip: str
    added_ip: str
    statuses: list[dict[str, Any]] = field(default_factory=list)


def flock_to(fed: Federation) -> str:
    return Submitter(fed).exec("condor_config_val", "FLOCK_TO").stdout.strip()


def ended_early(kinc: Future[PlaybookRun]) -> Callable[[], str | None]:
    """For Submitter.wait: the background kinc.yml run ended before what was awaited happened."""
    return lambda: f"the run ended:\n{kinc.result().output[-3000:]}" if kinc.done() else None


def container_ids(fed: Federation) -> dict[str, str]:
    out = fed.docker("ps", "-a", "--filter", f"label=cloudflock.deployment={fed.name}",
                     "--format", "{{.Names}} {{.ID}}").stdout
    return dict(line.split() for line in out.splitlines() if line.strip())


def with_executor3(spec: dict[str, Any], prefix: str) -> dict[str, Any]:
    spec = json.loads(json.dumps(spec))
    spec["flock_containers"].append({"id": "executor3", "cluster": "local", "role": "executor",
                                     "cpus": 2, "mem": 2048})
    spec["flock_network"]["containers"].append({"id": "executor3", "ip": f"{prefix}.5"})
    return spec


def without(spec: dict[str, Any], pool: str) -> dict[str, Any]:
    spec = json.loads(json.dumps(spec))
    spec["flock_containers"] = [c for c in spec["flock_containers"] if c["id"] != pool]
    spec["flock_network"]["containers"] = [c for c in spec["flock_network"]["containers"] if c["id"] != pool]
    return spec


PREFIX = f"10.94.{os.getpid() % 250}"


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Federation]:
    # Whatever the spec lists by the end, no pool of this federation outlives the test.
    yield from deployed_federation(tmp_path_factory.mktemp("member"), f"cftest-member-{os.getpid()}", PREFIX)


@pytest.fixture(scope="module")
def observed(federation: Federation) -> Observed:
    fed, submitter = federation, Submitter(federation)
    removed_ip = next(c["ip"] for c in fed.spec["flock_network"]["containers"] if c["id"] == "executor1")
    with ThreadPoolExecutor(max_workers=1) as pool:
        kinc = pool.submit(fed.playbook, "kinc.yml", "--tags", "run", extra={
            "kinc_jobs": CHUNKS, "kinc_threshold": 0.85, "kinc_job_delay": JOB_DELAY_S, "kinc_poll_interval": 2})
        deadline, runs = time.monotonic() + WAIT_S, []
        while not runs and time.monotonic() < deadline and not kinc.done():
            runs = submitter.exec("ls", RUNS).stdout.split()
            time.sleep(1)
        assert len(runs) == 1, (runs, kinc.result().output[-3000:] if kinc.done() else "")
        run_id = runs[0]
        before = submitter.wait(run_id, lambda s: s["jobs_running"] >= 2, "similarity jobs running",
                                gave_up=ended_early(kinc))
        ids_before = container_ids(fed)

        fed.write_spec(with_executor3(fed.spec, PREFIX))
        add = fed.playbook("playbooks/add_executor.yml", extra={"executor": "executor3"})
        assert add.rc == 0, add.output[-4000:]
        ids_after_add = container_ids(fed)
        flock_to_after_add = flock_to(fed)
        on3 = submitter.wait(run_id, lambda s: s["running_by_pool"].get("executor3", 0) >= 1,
                             "a job running on executor3", gave_up=ended_early(kinc))

        busy = submitter.wait(run_id, lambda s: s["running_by_pool"].get("executor1", 0) >= 1,
                              "a job running on executor1", gave_up=ended_early(kinc))
        remove = fed.playbook("playbooks/remove_executor.yml", extra={"executor": "executor1"})
        fed.write_spec(without(fed.spec, "executor1"))
        flock_to_after_remove = flock_to(fed)
        run = kinc.result()
    assert run.rc == 0, run.output[-4000:]
    end = submitter.status(run_id) or {}
    return Observed(
        run=run, summary=fed.summary(run), run_id=run_id, ids_before=ids_before, ids_after_add=ids_after_add,
        dag_before=before["dagman_cluster"], dag_after_add=on3["dagman_cluster"],
        dag_at_end=end.get("dagman_cluster", -1), add=add, remove=remove,
        running_on_removed=busy["running_by_pool"].get("executor1", 0), flock_to_after_add=flock_to_after_add,
        flock_to_after_remove=flock_to_after_remove, removed_ip=removed_ip, added_ip=f"{PREFIX}.5",
        statuses=[before, on3, busy, end])


def test_adding_an_executor_keeps_the_submitter_and_its_dag(federation: Federation, observed: Observed) -> None:
    submitter = f"{federation.name}-submitter"
    assert observed.ids_after_add[submitter] == observed.ids_before[submitter]
    # Only the new pool's container was created; the others are the very same containers.
    created = set(observed.ids_after_add) - set(observed.ids_before)
    assert created == {f"{federation.name}-executor3"}
    for name, container_id in observed.ids_before.items():
        assert observed.ids_after_add[name] == container_id, name
    assert observed.dag_before == observed.dag_after_add == observed.dag_at_end
    assert observed.summary["run_id"] == observed.run_id
    assert observed.added_ip in observed.flock_to_after_add.replace(" ", "").split(",")


def test_new_jobs_flock_to_the_added_executor(observed: Observed) -> None:
    assert observed.summary["jobs_by_pool"].get("executor3", 0) > 0, observed.summary["jobs_by_pool"]


def test_removing_an_executor_during_a_run_loses_no_job(federation: Federation, observed: Observed) -> None:
    assert observed.remove.rc == 0, observed.remove.output[-4000:]
    assert observed.running_on_removed >= 1
    summary = observed.summary
    assert summary["jobs_total"] == CHUNKS
    assert summary["jobs_done"] == summary["jobs_total"], summary
    assert sorted(job["chunk"] for job in summary["jobs"]) == list(range(CHUNKS))
    assert f"{federation.name}-executor1" not in federation.containers()
    listed = observed.flock_to_after_remove.replace(" ", "").split(",")
    assert observed.removed_ip not in listed and observed.added_ip in listed, listed


def test_flock_role_after_the_changes_changes_nothing(federation: Federation, observed: Observed) -> None:
    again = federation.playbook("kinc.yml", "--tags", "flock")
    assert again.rc == 0, again.output[-4000:]
    assert again.recap["changed"] == 0, again.output[-4000:]


def test_check_mode_shows_the_flock_list_change_and_makes_none(federation: Federation, observed: Observed) -> None:
    spec = json.loads(json.dumps(federation.spec))
    spec["flock_containers"].append({"id": "executor4", "cluster": "local", "role": "executor", "cpus": 1, "mem": 512})
    spec["flock_network"]["containers"].append({"id": "executor4", "ip": f"{PREFIX}.6"})
    before = flock_to(federation)
    check = federation.playbook("kinc.yml", "--tags", "flock", "--check", "--diff",
                                extra={"flock_containers": spec["flock_containers"],
                                       "flock_network": spec["flock_network"]})
    assert check.rc == 0, check.output[-4000:]
    assert check.recap["changed"] >= 1
    assert f"+FLOCK_TO = {before}, {PREFIX}.6" in check.output, check.output[-4000:]
    assert flock_to(federation) == before
    assert f"{federation.name}-executor4" not in federation.containers()


@pytest.mark.parametrize(("extra", "words"), [
    ({}, "Name the executor pool to remove with -e executor=<container id>"),
    ({"executor": "executor9"}, "is no executor pool of the spec"),
])
def test_remove_executor_asks_explicitly(federation: Federation, observed: Observed, extra: dict[str, str],
                                         words: str) -> None:
    run = federation.playbook("playbooks/remove_executor.yml", extra=extra or None)
    assert run.rc != 0
    assert words in run.output, run.output[-3000:]
    assert len(federation.containers()) == 3
