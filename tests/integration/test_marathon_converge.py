"""The spec is the desired state on a Marathon cluster too, here a test double of Marathon's API that starts its
apps as containers on this machine's Docker engine (see test_marathon_flock.py).

Deployment cftest-mconverge-<pid>, addresses 10.98.<125 + pid % 125>.0/24, one cluster. Three executor pools
are brought up (the spec as extra vars) while the inventory names one: check mode names the two apps that
would go and sends no write; the converge drains them, takes them out of the submitter's flock list and
deletes their apps; a second run sends no write; teardown after another shrink deletes every app of the
deployment's group and leaves no container, network or host file of the deployment.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.marathon_double import MarathonApiDouble
from tests.support.flock import Federation

pytestmark = [pytest.mark.docker]

NAME = f"cftest-mconverge-{os.getpid()}"
PREFIX = f"10.98.{125 + os.getpid() % 125}"
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
HOSTS = {"all": {"children": {"docker_hosts": {"hosts": {"localhost": LOCAL}}, "mesos_masters": {"hosts": {}},
                              "marathon_test_agents": {"hosts": {"converge-agent": LOCAL}}}}}
KEY_DIR = Path("/etc/cloudflock") / NAME


def executor(pool: str) -> dict[str, Any]:
    return {"id": pool, "cluster": "cloud", "role": "executor", "cpus": 1, "mem": 512}


def layout(url: str) -> dict[str, Any]:
    """The inventory's spec: the submitter and executor1."""
    return {
        "flock_clusters": [{"id": "cloud", "type": "marathon", "marathon_url": url, "agents": ["converge-agent"]}],
        "flock_containers": [{"id": "submitter", "cluster": "cloud", "role": "submitter", "cpus": 1, "mem": 512},
                             executor("executor1")],
        "flock_network": {"name": NAME, "cidr": f"{PREFIX}.0/24", "containers": [{"id": "submitter"},
                                                                                 {"id": "executor1"}]},
        "flock_marathon_ip_mode": "docker_network",
    }


def more_pools(spec: dict[str, Any], pools: tuple[str, ...]) -> dict[str, Any]:
    """Extra vars: the inventory's spec with more executor pools, at the next addresses."""
    spec = json.loads(json.dumps(spec))
    for pool in pools:
        spec["flock_containers"].append(executor(pool))
        spec["flock_network"]["containers"].append({"id": pool, "ip": f"{PREFIX}.{len(spec['flock_containers']) + 1}"})
    return {"flock_containers": spec["flock_containers"], "flock_network": spec["flock_network"]}


def remove_leftovers() -> None:
    found = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=cloudflock.deployment={NAME}"],
                           capture_output=True, text=True, check=True).stdout.split()
    if found:
        subprocess.run(["docker", "rm", "-f", *found], capture_output=True, check=True)
    subprocess.run(["docker", "network", "rm", NAME], capture_output=True, check=False)
    shutil.rmtree(KEY_DIR, ignore_errors=True)


def app_ids(double: MarathonApiDouble) -> list[str]:
    with double._lock:
        return sorted(double.apps)


def pools_running(fed: Federation) -> list[str]:
    out = fed.docker("ps", "-a", "--filter", f"label=cloudflock.deployment={NAME}",
                     "--format", '{{.Label "cloudflock.pool"}}').stdout
    return sorted(out.split())


def flock_to(fed: Federation) -> list[str]:
    """The submitter's flock list as its HTCondor reads it, in the container the double started."""
    (container,) = fed.docker("ps", "-q", "--filter", f"label=cloudflock.deployment={NAME}",
                              "--filter", "label=cloudflock.pool=submitter").stdout.split()
    text = fed.docker("exec", container, "condor_config_val", "FLOCK_TO", check=True).stdout
    return sorted(address for address in text.replace(" ", "").strip().split(",") if address)


@pytest.fixture(scope="module")
def cloud(docker_engine: None) -> Iterator[MarathonApiDouble]:
    docker = pytest.importorskip("docker")
    client = docker.from_env()
    remove_leftovers()
    double = MarathonApiDouble(version="1.10.17", deployment_delay=0.3, agent_host="converge-agent",
                               docker_client=client, docker_name_prefix="cftest-mesos-").start()
    yield double
    double.stop()
    client.close()
    remove_leftovers()


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory, cloud: MarathonApiDouble) -> Federation:
    fed = Federation(tmp_path_factory.mktemp("mconverge"), NAME, PREFIX, layout=layout(cloud.url), hosts=HOSTS)
    provision = fed.playbook("site.yml")
    assert provision.rc == 0, provision.output[-4000:]
    up = fed.playbook("kinc.yml", "--tags", "flock", extra=more_pools(fed.spec, ("executor2", "executor3")))
    assert up.rc == 0, up.output[-4000:]
    assert app_ids(cloud) == [f"/{NAME}/{pool}" for pool in ("executor1", "executor2", "executor3", "submitter")]
    assert len(flock_to(fed)) == 3
    return fed


def test_a_shrunk_spec_deletes_the_apps_it_no_longer_names_after_check_mode_showed_them(
        federation: Federation, cloud: MarathonApiDouble) -> None:
    cloud.clear_requests()
    check = federation.playbook("kinc.yml", "--tags", "flock", "--check", "--diff")
    assert check.rc == 0, check.output[-4000:]
    said = re.search(r"^ +Would remove what the spec no longer names:\n((?: {8,}\S.*\n)+)", check.output, flags=re.M)
    assert said, check.output[-4000:]
    assert said.group(1).split() == [word for pool in ("executor2", "executor3")
                                     for word in (f"/{NAME}/{pool}:", "executor,", "cluster", "cloud")]
    assert cloud.writes() == []
    assert len(app_ids(cloud)) == 4 and len(flock_to(federation)) == 3

    run = federation.playbook("kinc.yml", "--tags", "flock")
    assert run.rc == 0, run.output[-4000:]
    assert [(w.method, w.path) for w in cloud.writes()] == [
        ("DELETE", f"/v2/apps/{NAME}/executor2"), ("DELETE", f"/v2/apps/{NAME}/executor3")]
    assert app_ids(cloud) == [f"/{NAME}/executor1", f"/{NAME}/submitter"]
    assert pools_running(federation) == ["executor1", "submitter"]
    assert flock_to(federation) == [f"{PREFIX}.3"]

    cloud.clear_requests()
    again = federation.playbook("kinc.yml", "--tags", "flock")
    assert again.rc == 0, again.output[-4000:]
    assert again.recap["changed"] == 0, again.output[-4000:]
    assert cloud.writes() == []


def test_teardown_after_a_shrink_deletes_every_app_of_the_group(
        federation: Federation, cloud: MarathonApiDouble) -> None:
    up = federation.playbook("kinc.yml", "--tags", "flock", extra=more_pools(federation.spec, ("executor2",)))
    assert up.rc == 0, up.output[-4000:]
    assert pools_running(federation) == ["executor1", "executor2", "submitter"]
    assert KEY_DIR.is_dir()

    cloud.clear_requests()
    down = federation.playbook("playbooks/teardown.yml")
    assert down.rc == 0, down.output[-4000:]
    assert sorted(w.path for w in cloud.writes()) == [
        f"/v2/apps/{NAME}/{pool}" for pool in ("executor1", "executor2", "submitter")]
    assert app_ids(cloud) == []
    assert pools_running(federation) == []
    assert federation.docker("network", "inspect", NAME).returncode != 0
    assert not KEY_DIR.exists()
