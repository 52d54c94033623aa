"""The whole path on several hosts: three systemd host containers in two "clouds", provisioned by site.yml
(Docker from Debian, a swarm across all three and the attachable overlay network of the pool spec), one test
double of Marathon's API per cloud starting the pool containers on that cloud's hosts, and kinc.yml with the
seed's layout: the submitter and executor1 in the first cloud, executor2 in the second, pinned addresses.

Networks (all ``cffed-*``, off 172.16.0.0/12, which the nested Docker daemons use):

* ``cffed-cloud1`` 10.240.1.0/24 and ``cffed-cloud2`` 10.240.2.0/24, each cloud's private network;
* ``cffed-inet`` 10.240.0.0/24, the "internet" every host is also on: the swarm advertises these addresses
  (``overlay_advertise_address``), and the doubles reach each host's dockerd there (TCP 2375, opened by a
  systemd drop-in for docker.socket written before site.yml; these hosts only).

The pool images are built once on this machine's engine (site.yml on localhost, tag ``images``) and loaded into
each host (``docker save | docker exec -i HOST docker load``); site.yml skips the htcondor_images role there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.marathon_double import MarathonApiDouble
from tests.support.fault_drills import Drill, reference_outcome
from tests.support.flock import RUNS, Submitter
from tests.support.host_clouds import sh
from tests.support.three_host_federation import (
    CIDR_PREFIX,
    CLOUDS,
    HOSTS,
    NAME,
    HostFederation,
    three_host_federation,
)

# The fault drill: a KINC run of FAULT_CHUNKS similarity jobs at a fixed threshold, each job waiting before
# its work so that the executor is lost while jobs run on it (see test_faults.py).
FAULT_CHUNKS = 8
THRESHOLD = 0.85
FAULT_JOB_DELAY_S = 12.0
MEMBERSHIP_CHUNKS = 12


Built = tuple[HostFederation, dict[str, MarathonApiDouble]]


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HostFederation, dict[str, MarathonApiDouble]]]:
    pytest.importorskip("docker")
    with three_host_federation(tmp_path_factory.mktemp("federation")) as built:
        yield built


def pool_diagnostics() -> str:
    return CLOUDS.pool_diagnostics(NAME)


def pools_by_host() -> dict[str, list[str]]:
    return CLOUDS.pools_by_host(NAME)


def pinned_address(federation: HostFederation, pool: str) -> str:
    networks = json.loads(federation.pool_docker(pool, "inspect", "--format", "{{json .NetworkSettings.Networks}}",
                                                 check=True).stdout)
    return str(networks[NAME]["IPAddress"])


@pytest.mark.docker
@pytest.mark.slow
def test_jobs_run_in_both_clouds_across_three_hosts(fed: Built) -> None:
    federation, doubles = fed
    # The swarm spans the three hosts, and the pool network is the overlay on all of them.
    nodes = sh("docker", "exec", "cffed-c1a", "docker", "node", "ls", "--format", "{{.Hostname}} {{.Status}}")
    assert sorted(nodes.stdout.split("\n")[:-1]) == [f"{host} Ready" for host in sorted(HOSTS)], nodes.stdout

    # Each swarm node's load-balancer endpoint takes an address of the network: by default from the largest
    # block without a pinned address, here the upper half.
    ipam = json.loads(sh("docker", "exec", "cffed-c1a", "docker", "network", "inspect", NAME, "--format",
                         "{{json .IPAM.Config}}").stdout)
    assert ipam == [{"Subnet": f"{CIDR_PREFIX}.0/24", "IPRange": f"{CIDR_PREFIX}.128/25",
                     "Gateway": f"{CIDR_PREFIX}.1"}], ipam

    # 3 s jobs: shorter ones may all run on the first pool to match before the other's negotiator comes by.
    run = federation.playbook("kinc.yml", extra={"kinc_test_jobs": 8, "kinc_test_job_seconds": 3})
    assert run.rc == 0, run.output[-5000:] + pool_diagnostics()
    summary = federation.summary(run)
    assert summary["jobs_total"] == summary["jobs_done"] == 8, summary
    assert set(summary["jobs_by_pool"]) == {"executor1", "executor2"}, summary
    assert all(count > 0 for count in summary["jobs_by_pool"].values()), summary
    # Jobs ran in both clouds: chameleon's executor1 and azure's executor2.
    assert summary["jobs_by_cluster"] == {"chameleon": summary["jobs_by_pool"]["executor1"],
                                          "azure": summary["jobs_by_pool"]["executor2"]}, summary

    # Each pool ran on its own host: the first cloud's two pools on its two hosts, executor2 in the second.
    placed = pools_by_host()
    assert sorted(placed["cffed-c1a"] + placed["cffed-c1b"]) == ["executor1", "submitter"], placed
    assert placed["cffed-c1a"] and placed["cffed-c1b"], placed
    assert placed["cffed-c2a"] == ["executor2"], placed
    for cloud, double in doubles.items():
        for app_id in double.apps:
            (task,) = double.stored_app(app_id)["tasks"]
            assert HOSTS[task["host"]][0] == cloud
    for index, pool in enumerate(["submitter", "executor1", "executor2"]):
        assert pinned_address(federation, pool) == f"{CIDR_PREFIX}.{index + 2}", pool


@pytest.mark.docker
@pytest.mark.slow
def test_losing_the_second_clouds_executor_loses_no_job(fed: Built) -> None:
    """executor2, the only pool of the second cloud, is killed with jobs running on it. Marathon (its double)
    replaces the task at the same pinned address; the lost jobs run again, and the network is the one of an
    undisturbed run on the same federation."""
    federation, doubles = fed
    run = federation.playbook("kinc.yml", "--tags", "run", extra={"kinc_jobs": FAULT_CHUNKS,
                                                                  "kinc_threshold": THRESHOLD})
    assert run.rc == 0, run.output[-5000:] + pool_diagnostics()
    drill = Drill(federation, FAULT_CHUNKS, THRESHOLD, FAULT_JOB_DELAY_S)
    reference = reference_outcome(drill, federation.summary(run)["run_id"])
    assert reference.jobs_lost == 0 and reference.run_twice == [], reference.figures()
    (app_id,) = doubles["azure"].apps
    (before,) = doubles["azure"].stored_app(app_id)["tasks"]

    outcome, victims = drill.executor_lost(reference, "executor2", restart=False)
    figures = outcome.figures()
    print(f"executor2 lost in the second cloud: {json.dumps(figures)} victims {victims}")
    assert outcome.chunk_check["merge_exact"], outcome.chunk_check["problems"]
    assert figures["jobs_lost"] == 0, figures
    assert outcome.summary["jobs_done"] == FAULT_CHUNKS
    assert set(int(node[5:]) for node in victims) <= set(outcome.run_twice), (victims, outcome.history)
    assert outcome.run_twice_differing == [], figures
    assert figures["network_identical"], f"network of {outcome.run_id} differs from {reference.run_id}"
    # Jobs ran in both clouds, and the executor came back as a new task at its pinned address.
    assert set(outcome.summary["jobs_by_pool"]) == {"executor1", "executor2"}, outcome.summary["jobs_by_pool"]
    app = doubles["azure"].stored_app(app_id)
    (after,) = app["tasks"]
    assert after["id"] != before["id"] and app["lastTaskFailure"]["taskId"] == before["id"], app
    assert pinned_address(federation, "executor2") == f"{CIDR_PREFIX}.4"


def containers_by_pool() -> dict[str, str]:
    """Each pool's container id, whichever host runs it."""
    found = {}
    for host in HOSTS:
        out = sh("docker", "exec", host, "docker", "ps", "-a", "--filter", f"label=cloudflock.deployment={NAME}",
                 "--format", '{{.Label "cloudflock.pool"}} {{.ID}}').stdout
        found.update(line.split() for line in out.splitlines() if line.strip())
    return found


@pytest.mark.docker
@pytest.mark.slow
def test_an_executor_joins_the_second_cloud_and_one_leaves_the_first_during_a_run(fed: Built) -> None:
    """executor3 is added in the second cloud while a run goes on: Marathon (its double) starts only that
    app, the submitter keeps its container and DAG, and jobs flock to executor3. Then executor1 leaves the
    first cloud with jobs running on it: drained, out of the flock list, its app deleted; no job is lost."""
    federation, doubles = fed
    submitter = Submitter(federation)
    ip3 = f"{CIDR_PREFIX}.5"
    grown = json.loads(json.dumps(federation.spec))
    grown["flock_containers"].append({"id": "executor3", "cluster": "azure", "role": "executor", "cpus": 1,
                                      "mem": 1024})
    grown["flock_network"]["containers"].append({"id": "executor3", "ip": ip3})
    ip1 = next(c["ip"] for c in grown["flock_network"]["containers"] if c["id"] == "executor1")
    earlier = set(submitter.exec("ls", RUNS).stdout.split())
    with ThreadPoolExecutor(max_workers=1) as pool:
        kinc = pool.submit(federation.playbook, "kinc.yml", "--tags", "run", extra={
            "kinc_jobs": MEMBERSHIP_CHUNKS, "kinc_threshold": THRESHOLD, "kinc_job_delay": FAULT_JOB_DELAY_S,
            "kinc_poll_interval": 2})
        run_id = wait_for_run(submitter, kinc, earlier)
        before = submitter.wait(run_id, lambda s: s["jobs_running"] >= 2 and s["jobs_idle"] >= 4,
                                "similarity jobs running and queued")
        ids_before = containers_by_pool()
        writes_before = {cloud: len(double.writes()) for cloud, double in doubles.items()}
        # Test plumbing, not the product: the run's queued jobs are held while executor3 is added, so work is
        # left for it however long add_executor takes (on a slower machine the run once finished first).
        queued = f"DAGManJobId == {before['dagman_cluster']} && JobStatus == %d"
        submitter.exec("condor_hold", "-constraint", queued % 1)

        federation.write_spec(grown)
        add = federation.playbook("playbooks/add_executor.yml", extra={"executor": "executor3"})
        submitter.exec("condor_release", "-constraint", queued % 5)
        assert add.rc == 0, add.output[-4000:] + pool_diagnostics()
        on3 = submitter.wait(run_id, lambda s: s["running_by_pool"].get("executor3", 0) >= 1,
                             "a job running on executor3")
        assert ip3 in flock_list(submitter)
        ids_after_add = containers_by_pool()
        # Only executor3's app was written (in the second cloud's Marathon); the other pools are the same
        # containers as before.
        assert len(doubles["chameleon"].writes()) == writes_before["chameleon"]
        added = [write.body["id"] if write.path == "/v2/apps" else write.path
                 for write in doubles["azure"].writes()[writes_before["azure"]:]]
        assert added and all(app.endswith(f"/{NAME}/executor3") for app in added), added
        assert {pool: cid for pool, cid in ids_after_add.items() if pool != "executor3"} == ids_before
        assert pinned_address(federation, "executor3") == ip3

        submitter.wait(run_id, lambda s: s["running_by_pool"].get("executor1", 0) >= 1, "a job running on executor1")
        remove = federation.playbook("playbooks/remove_executor.yml", extra={"executor": "executor1"})
        assert remove.rc == 0, remove.output[-4000:]
        federation.write_spec({**grown, "flock_containers": [c for c in grown["flock_containers"]
                                                             if c["id"] != "executor1"],
                               "flock_network": {**grown["flock_network"], "containers": [
                                   c for c in grown["flock_network"]["containers"] if c["id"] != "executor1"]}})
        flock_to = flock_list(submitter)
        run = kinc.result()
    assert run.rc == 0, run.output[-4000:] + pool_diagnostics()
    summary = federation.summary(run)
    assert summary["run_id"] == run_id
    assert summary["jobs_done"] == summary["jobs_total"] == MEMBERSHIP_CHUNKS, summary
    assert sorted(job["chunk"] for job in summary["jobs"]) == list(range(MEMBERSHIP_CHUNKS))
    assert summary["jobs_by_pool"].get("executor3", 0) > 0, summary["jobs_by_pool"]
    # executor3 joined after kinc.yml read the spec: its jobs are counted apart, not lost from the summary.
    assert summary["jobs_by_cluster"]["pools added during the run"] == summary["jobs_by_pool"]["executor3"]
    assert sum(summary["jobs_by_cluster"].values()) == MEMBERSHIP_CHUNKS, summary
    assert (submitter.status(run_id) or {}).get("dagman_cluster") == before["dagman_cluster"] == on3["dagman_cluster"]
    assert ids_after_add["submitter"] == containers_by_pool()["submitter"]
    assert ip1 not in flock_to and ip3 in flock_to, flock_to
    assert "executor1" not in containers_by_pool()
    assert sorted(doubles["chameleon"].apps) == [f"/{NAME}/submitter"]
    # The spec without executor1 is what runs now: the flock role changes nothing.
    again = federation.playbook("kinc.yml", "--tags", "flock")
    assert again.rc == 0, again.output[-4000:]
    assert again.recap["changed"] == 0, again.output[-4000:]


def flock_list(submitter: Submitter) -> list[str]:
    return submitter.exec("condor_config_val", "FLOCK_TO").stdout.strip().replace(" ", "").split(",")


def wait_for_run(submitter: Submitter, kinc: Any, earlier: set[str]) -> str:
    """The id of the run kinc.yml (running in the background) started: the one not among the earlier runs."""
    deadline, runs = time.monotonic() + 300, []
    while time.monotonic() < deadline and not kinc.done():
        runs = sorted(set(submitter.exec("ls", RUNS).stdout.split()) - earlier)
        if runs:
            return runs[0]
        time.sleep(1)
    raise AssertionError(f"no new run in the submitter: {kinc.result().output[-3000:] if kinc.done() else runs}")


@pytest.mark.docker
@pytest.mark.slow
def test_teardown_deletes_every_app_and_container(fed: Built) -> None:
    federation, doubles = fed
    down = federation.playbook("playbooks/teardown.yml")
    assert down.rc == 0, down.output[-4000:]
    for cloud, double in doubles.items():
        assert double.apps == {}, cloud
    assert pools_by_host() == {host: [] for host in HOSTS}
