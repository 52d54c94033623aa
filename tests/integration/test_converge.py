"""The spec is the desired state: pools it no longer names go, and teardown leaves nothing of the deployment.

One federation of its own (deployment cftest-converge-<pid>, addresses 10.98.<pid % 125>.0/24) is brought up
with four executor pools (the spec given as extra vars), while its inventory names two. kinc.yml --tags flock
with the inventory's spec first shows in check mode which two would go and changes nothing, then drains them,
takes them out of the submitter's flock list and removes them; a second run changes nothing. With the four
pools up again (extra vars), teardown with the inventory's two-pool spec removes every container, the network
and the host files of the deployment. A second docker cluster, on the inventory host "edge" (this same
engine by another name), shows that a cluster dropped from the spec takes its pools with it, at converge as at
teardown: the controller remembers the clusters the deployment ran on.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import REPO
from tests.support.flock import Federation, Submitter
from tests.support.local_spec import local_spec
from tests.support.playbook import PlaybookRun

pytestmark = [pytest.mark.docker]

PREFIX = f"10.98.{os.getpid() % 125}"
GONE = ("executor3", "executor4")
# flock_host_secrets_dir on the Docker host, this machine.
KEY_DIRS = Path("/etc/cloudflock")
LOCAL = local_spec()


def four_pools(spec: dict[str, Any]) -> dict[str, Any]:
    """The inventory's spec with executor3 and executor4 added (extra vars for flock_containers, flock_network)."""
    spec = json.loads(json.dumps(spec))
    for index, pool in enumerate(GONE):
        spec["flock_containers"].append({"id": pool, "cluster": "local", "role": "executor", "cpus": 1, "mem": 512})
        spec["flock_network"]["containers"].append({"id": pool, "ip": f"{PREFIX}.{index + 5}"})
    return {"flock_containers": spec["flock_containers"], "flock_network": spec["flock_network"]}


def with_edge(spec: dict[str, Any]) -> dict[str, Any]:
    """Extra vars: the spec given (flock_* variables) with a docker cluster "edge" running executor5."""
    spec = json.loads(json.dumps(spec))
    spec.setdefault("flock_clusters", json.loads(json.dumps(LOCAL["flock_clusters"])))
    spec["flock_clusters"].append({"id": "edge", "type": "docker", "docker_host": "edge"})
    spec["flock_containers"].append({"id": "executor5", "cluster": "edge", "role": "executor", "cpus": 1,
                                     "mem": 512})
    spec["flock_network"]["containers"].append({"id": "executor5", "ip": f"{PREFIX}.7"})
    return {key: spec[key] for key in ("flock_clusters", "flock_containers", "flock_network")}


def flock_to(fed: Federation) -> list[str]:
    """The submitter's flock list as its HTCondor reads it (the file flock_to.yml writes)."""
    text = Submitter(fed).exec("condor_config_val", "FLOCK_TO").stdout
    return sorted(address for address in text.replace(" ", "").strip().split(",") if address)


def task_index(run: PlaybookRun, name: str) -> int:
    """Where in the output the task of that name (the end of its title) first ran."""
    match = re.search(rf"^TASK \[[^\]]*{re.escape(name)}\]", run.output, flags=re.M)
    assert match, f"no task {name!r} ran:\n{run.output[-4000:]}"
    return match.start()


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Federation]:
    hosts = yaml.safe_load((REPO / "inventory/local/hosts.yml").read_text())
    hosts["all"]["hosts"] = {"edge": hosts["all"]["children"]["docker_hosts"]["hosts"]["localhost"]}
    fed = Federation(tmp_path_factory.mktemp("converge"), f"cftest-converge-{os.getpid()}", PREFIX, hosts=hosts)
    provision = fed.playbook("site.yml")
    assert provision.rc == 0, provision.output[-4000:]
    up = fed.playbook("kinc.yml", "--tags", "flock", extra=four_pools(fed.spec))
    assert up.rc == 0, up.output[-4000:]
    yield fed
    # Whatever a failed test left, removed without the playbooks under test.
    for name in fed.containers():
        fed.docker("rm", "-f", name)
    fed.docker("network", "rm", fed.name)
    shutil.rmtree(KEY_DIRS / fed.name, ignore_errors=True)


@pytest.fixture(scope="module")
def addresses(federation: Federation) -> dict[str, str]:
    extra = four_pools(federation.spec)["flock_network"]["containers"]
    return {entry["id"]: entry["ip"] for entry in extra}


def test_four_pools_run_while_the_inventory_names_two(federation: Federation, addresses: dict[str, str]) -> None:
    names = [f"{federation.name}-{pool}" for pool in ("executor1", "executor2", *GONE, "submitter")]
    assert federation.containers() == sorted(names)
    assert flock_to(federation) == sorted(ip for pool, ip in addresses.items() if pool != "submitter")


def test_check_mode_names_the_pools_that_would_go_and_changes_nothing(
        federation: Federation, addresses: dict[str, str]) -> None:
    before = federation.containers()
    check = federation.playbook("kinc.yml", "--tags", "flock", "--check", "--diff")
    assert check.rc == 0, check.output[-4000:]
    assert check.recap["changed"] >= 1, check.output[-4000:]
    # The debug task's message: one line per container that would go.
    said = re.search(r"^ +Would remove what the spec no longer names:\n((?: {8,}\S.*\n)+)", check.output, flags=re.M)
    assert said, check.output[-4000:]
    assert said.group(1).split() == [word for pool in GONE
                                     for word in (f"{federation.name}-{pool}:", "executor,", "cluster", "local")]
    # The flock list's diff drops exactly their addresses.
    assert re.search(rf"^\+FLOCK_TO = {re.escape(addresses['executor1'])}, {re.escape(addresses['executor2'])}$",
                     check.output, flags=re.M), check.output[-4000:]
    assert federation.containers() == before
    assert len(flock_to(federation)) == 4
    for pool in GONE:
        state = federation.docker("inspect", "-f", "{{.State.Running}}", f"{federation.name}-{pool}").stdout
        assert state.strip() == "true", pool


def test_the_pools_the_spec_no_longer_names_are_drained_taken_out_and_removed(
        federation: Federation, addresses: dict[str, str]) -> None:
    run = federation.playbook("kinc.yml", "--tags", "flock")
    assert run.rc == 0, run.output[-4000:]
    names = [f"{federation.name}-{pool}" for pool in ("executor1", "executor2", "submitter")]
    assert federation.containers() == sorted(names)
    assert flock_to(federation) == sorted([addresses["executor1"], addresses["executor2"]])
    # Drained first, out of the flock list next, removed last.
    drained = task_index(run, "Let the running jobs finish and start no new one on the executors to take out")
    listed = task_index(run, "Write the submitter's flock list")
    removed = task_index(run, "Remove the containers of the pools taken out")
    assert drained < listed < removed
    for pool in GONE:
        assert re.search(rf"^changed: \[localhost[^\]]*\] => \(item={pool}\)$", run.output[drained:listed],
                         flags=re.M), run.output[drained:listed]


def test_a_second_run_with_the_same_spec_changes_nothing(federation: Federation) -> None:
    again = federation.playbook("kinc.yml", "--tags", "flock")
    assert again.rc == 0, again.output[-4000:]
    assert again.recap["changed"] == 0, again.output[-4000:]
    assert "Removing what the spec no longer names" not in again.output


def remembered(fed: Federation) -> list[str]:
    """The ids of the clusters the controller remembers the deployment ran on."""
    return [cluster["id"] for cluster in json.loads((fed.secrets / "clusters.json").read_text())]


def test_a_cluster_dropped_from_the_spec_takes_its_pools_with_it(federation: Federation) -> None:
    up = federation.playbook("kinc.yml", "--tags", "flock", extra=with_edge(federation.spec))
    assert up.rc == 0, up.output[-4000:]
    assert f"{federation.name}-executor5" in federation.containers()
    assert len(flock_to(federation)) == 3
    assert remembered(federation) == ["local", "edge"]

    run = federation.playbook("kinc.yml", "--tags", "flock")
    assert run.rc == 0, run.output[-4000:]
    assert re.search(r"The spec no longer names the docker cluster\(s\) edge", run.output), run.output[-4000:]
    # edge and localhost are one engine: the container is listed under the first host's cluster.
    assert re.search(rf"{federation.name}-executor5: executor, cluster (edge|local)", run.output), run.output[-4000:]
    names = [f"{federation.name}-{pool}" for pool in ("executor1", "executor2", "submitter")]
    assert federation.containers() == sorted(names)
    assert len(flock_to(federation)) == 2
    assert remembered(federation) == ["local"]
    # edge is this machine, as localhost is: the directory they share stays.
    assert (KEY_DIRS / federation.name / "pools" / "executor1").is_dir()
    again = federation.playbook("kinc.yml", "--tags", "flock")
    assert again.rc == 0 and again.recap["changed"] == 0, again.output[-4000:]


def renamed_submitter(spec: dict[str, Any]) -> dict[str, Any]:
    """Extra vars: the spec with its submitter renamed "head", at another address."""
    spec = json.loads(json.dumps(spec))
    for entry in spec["flock_containers"] + spec["flock_network"]["containers"]:
        if entry["id"] == "submitter":
            entry["id"] = "head"
    next(entry for entry in spec["flock_network"]["containers"] if entry["id"] == "head")["ip"] = f"{PREFIX}.8"
    return {key: spec[key] for key in ("flock_clusters", "flock_containers", "flock_network")}


def test_a_submitter_the_spec_no_longer_names_is_kept_while_it_holds_jobs(federation: Federation) -> None:
    fed = federation
    held = Submitter(fed).exec("sh", "-c", "cd /tmp && printf 'executable=/bin/true\\nhold=true\\nqueue\\n' "
                                           "| condor_submit -terse -")
    before = fed.containers()
    key = (fed.secrets / "pools" / "submitter" / "key").read_text()
    refused = fed.playbook("kinc.yml", "--tags", "flock", extra=renamed_submitter(fed.spec))
    assert refused.rc != 0
    assert re.search(r"submitter submitter \(cluster local\), which the spec no longer names, still holds\s+1 job",
                     refused.output), refused.output[-4000:]
    assert "Nothing was changed" in refused.output
    # Nothing was changed: no new submitter, the old one's credentials kept and it still runs.
    assert fed.containers() == before
    assert (fed.secrets / "pools" / "submitter" / "key").read_text() == key
    assert re.search(r"changed=0 ", refused.output), refused.output[-2000:]

    Submitter(fed).exec("condor_rm", held.stdout.split()[0].split(".")[0])
    moved = fed.playbook("kinc.yml", "--tags", "flock", extra=renamed_submitter(fed.spec))
    assert moved.rc == 0, moved.output[-4000:]
    assert f"{fed.name}-head" in fed.containers() and f"{fed.name}-submitter" not in fed.containers()
    assert not (fed.secrets / "pools" / "submitter").exists()
    back = fed.playbook("kinc.yml", "--tags", "flock")
    assert back.rc == 0, back.output[-4000:]
    assert fed.containers() == sorted(f"{fed.name}-{pool}" for pool in ("executor1", "executor2", "submitter"))


def test_teardown_removes_everything_of_the_deployment_whatever_the_spec_names(federation: Federation) -> None:
    up = federation.playbook("kinc.yml", "--tags", "flock", extra=with_edge(four_pools(federation.spec)))
    assert up.rc == 0, up.output[-4000:]
    assert len(federation.containers()) == 6
    key_dir = KEY_DIRS / federation.name
    assert key_dir.is_dir()

    down = federation.playbook("playbooks/teardown.yml")
    assert down.rc == 0, down.output[-4000:]
    assert federation.containers() == []
    networks = federation.docker("network", "ls", "-q", "--filter", f"label=cloudflock.deployment={federation.name}")
    assert networks.returncode == 0 and networks.stdout.strip() == "", networks.stdout
    assert federation.docker("network", "inspect", federation.name).returncode != 0
    assert not key_dir.exists()
    assert not (federation.secrets / "clusters.json").exists()
    again = federation.playbook("playbooks/teardown.yml")
    assert again.rc == 0 and again.recap["changed"] == 0, again.output[-4000:]
