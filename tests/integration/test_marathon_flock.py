"""kinc.yml through Marathon: two clouds, each a test double of Marathon's API that starts its apps as
real containers on this machine's Docker engine, the way Mesos' Docker containerizer would.

The seed's layout: the submitter and executor1 in the first cloud (chameleon, answering as Marathon 1.4.3),
executor2 in the second (azure, answering as 1.10); every pool pinned to its address on one Docker network
(flock_marathon_ip_mode docker_network). The federation is brought up once for the module; the tests run
jobs through it, check that a second run and check mode send no write, and the last one tears it down.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.cloudflock.htcondor.plugins.module_utils.marathon_appdef import build_app_definition

from tests.marathon_double import MarathonApiDouble
from tests.marathon_double.docker_tasks import run_spec
from tests.support.flock import Federation

# Unique per process, so two test runs on one engine leave each other's pools alone.
NAME = f"cftest-marathon-{os.getpid()}"
CIDR_PREFIX = f"10.92.{os.getpid() % 250}"
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
# Each cloud's Mesos agent is an inventory host; both run on this machine.
HOSTS = {
    "all": {
        "children": {
            "docker_hosts": {"hosts": {"localhost": LOCAL}},
            "mesos_masters": {"hosts": {}},
            # Not mesos_agents: site.yml would provision Mesos there. Each cluster names its agents.
            "marathon_test_agents": {"hosts": {"chameleon-agent": LOCAL, "azure-agent": LOCAL}},
        }
    }
}
APP_IDS = {"chameleon": [f"/{NAME}/executor1", f"/{NAME}/submitter"], "azure": [f"/{NAME}/executor2"]}


def layout(chameleon_url: str, azure_url: str) -> dict[str, Any]:
    return {
        "flock_clusters": [
            {
                "id": "chameleon",
                "type": "marathon",
                "marathon_url": chameleon_url + "/v2/apps",
                "agents": ["chameleon-agent"],
            },
            {"id": "azure", "type": "marathon", "marathon_url": azure_url, "agents": ["azure-agent"]},
        ],
        "flock_containers": [
            {"id": "submitter", "cluster": "chameleon", "role": "submitter", "cpus": 1, "mem": 1024},
            {"id": "executor1", "cluster": "chameleon", "role": "executor", "cpus": 2, "mem": 2048},
            {"id": "executor2", "cluster": "azure", "role": "executor", "cpus": 2, "mem": 2048},
        ],
        "flock_network": {
            "name": NAME,
            "cidr": f"{CIDR_PREFIX}.0/24",
            "containers": [{"id": "submitter"}, {"id": "executor1"}, {"id": "executor2"}],
        },
        "flock_marathon_ip_mode": "docker_network",
    }


def remove_leftovers() -> None:
    """Containers and the network of an earlier, interrupted run of this module."""
    names = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=cloudflock.deployment={NAME}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if names:
        subprocess.run(["docker", "rm", "-f", *names], capture_output=True, check=True)
    subprocess.run(["docker", "network", "rm", NAME], capture_output=True, check=False)


@pytest.fixture(scope="module")
def docker_client(docker_engine: None) -> Iterator[Any]:
    docker = pytest.importorskip("docker")
    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture(scope="module")
def clouds(docker_client: Any) -> Iterator[dict[str, MarathonApiDouble]]:
    remove_leftovers()
    # An old and a recent Marathon, each with its own agent host.
    doubles = {
        cloud: MarathonApiDouble(
            version=version,
            deployment_delay=0.3,
            agent_host=f"{cloud}-agent",
            docker_client=docker_client,
            docker_name_prefix="cftest-mesos-",
        )
        for cloud, version in (("chameleon", "1.4.3"), ("azure", "1.10.17"))
    }
    for double in doubles.values():
        double.start()
    yield doubles
    for double in doubles.values():
        double.stop()
    remove_leftovers()


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory, clouds: dict[str, MarathonApiDouble]) -> Federation:
    fed = Federation(
        tmp_path_factory.mktemp("marathon"),
        NAME,
        CIDR_PREFIX,
        layout=layout(clouds["chameleon"].url, clouds["azure"].url),
        hosts=HOSTS,
    )
    provision = fed.playbook("site.yml")
    assert provision.rc == 0, provision.output[-4000:]
    return fed


def app_ids(double: MarathonApiDouble) -> list[str]:
    with double._lock:
        return sorted(double.apps)


@pytest.mark.docker
def test_jobs_flock_to_both_executor_pools_in_two_clouds(
    federation: Federation, clouds: dict[str, MarathonApiDouble]
) -> None:
    # 3 s jobs: shorter ones may all run on the first pool to match before the other's negotiator comes by.
    run = federation.playbook("kinc.yml", extra={"kinc_test_jobs": 8, "kinc_test_job_seconds": 3})
    assert run.rc == 0, run.output[-4000:]
    summary = federation.summary(run)
    assert summary["jobs_total"] == summary["jobs_done"] == 8
    assert set(summary["jobs_by_pool"]) == {"executor1", "executor2"}
    assert all(count > 0 for count in summary["jobs_by_pool"].values())
    for cloud, double in clouds.items():
        assert app_ids(double) == APP_IDS[cloud]
    # Each cloud was written to once per app, and answered in its own API generation.
    assert [w.method for w in clouds["chameleon"].writes()] == ["POST", "POST"]
    assert [w.method for w in clouds["azure"].writes()] == ["POST"]
    submitter = clouds["chameleon"].stored_app(f"/{NAME}/submitter")
    assert submitter is not None and submitter["container"]["docker"]["network"] == "USER"
    assert submitter["tasks"][0]["host"] == "chameleon-agent"
    executor2 = clouds["azure"].stored_app(f"/{NAME}/executor2")
    assert executor2 is not None and executor2["networks"] == [{"mode": "container", "name": NAME}]


@pytest.mark.docker
def test_pool_containers_carry_hostname_labels_address_and_their_own_credentials_read_only(
    federation: Federation, docker_client: Any
) -> None:
    keys = [(federation.secrets / "pools" / pool / "key").read_text().strip()
            for pool in ("submitter", "executor1", "executor2")]
    found = docker_client.containers.list(filters={"label": f"cloudflock.deployment={NAME}"})
    by_pool = {c.labels["cloudflock.pool"]: c for c in found}
    assert sorted(by_pool) == ["executor1", "executor2", "submitter"]
    for index, pool in enumerate(["submitter", "executor1", "executor2"]):
        attrs = by_pool[pool].attrs
        assert attrs["Config"]["Hostname"] == pool
        assert by_pool[pool].labels["cloudflock.role"] == ("submitter" if pool == "submitter" else "executor")
        assert attrs["NetworkSettings"]["Networks"][NAME]["IPAddress"] == f"{CIDR_PREFIX}.{index + 2}"
        (mount,) = [m for m in attrs["Mounts"] if m["Destination"] == "/run/secrets/cloudflock"]
        assert mount["RW"] is False
        # Its own credentials only: the directory of its pool on the agent.
        assert mount["Source"].endswith(f"/{NAME}/pools/{pool}")
        assert not any(key in json.dumps(attrs) for key in keys)  # keys are files, never environment or arguments


@pytest.mark.docker
def test_second_flock_run_sends_no_write(federation: Federation, clouds: dict[str, MarathonApiDouble]) -> None:
    for double in clouds.values():
        double.clear_requests()
    again = federation.playbook("kinc.yml", "--tags", "flock")
    assert again.rc == 0, again.output[-4000:]
    assert again.recap["changed"] == 0, again.output[-4000:]
    for cloud, double in clouds.items():
        assert double.writes() == [], cloud
        assert double.requests, f"{cloud} was not asked about its apps"


@pytest.mark.docker
def test_check_mode_reports_a_change_and_sends_no_write(
    federation: Federation, clouds: dict[str, MarathonApiDouble]
) -> None:
    spec = json.loads(json.dumps(federation.spec))
    spec["flock_containers"][2]["mem"] = 3072
    for double in clouds.values():
        double.clear_requests()
    check = federation.playbook(
        "kinc.yml", "--tags", "flock", "--check", "--diff", extra={"flock_containers": spec["flock_containers"]}
    )
    assert check.rc == 0, check.output[-4000:]
    assert check.recap["changed"] >= 1, check.output[-4000:]
    assert '"mem": 3072' in check.output or "mem: 3072" in check.output, check.output[-4000:]
    for cloud, double in clouds.items():
        assert double.writes() == [], cloud
    executor2 = clouds["azure"].stored_app(f"/{NAME}/executor2")
    assert executor2 is not None and executor2["mem"] == 2048


@pytest.mark.docker
def test_teardown_deletes_the_apps_and_their_containers(
    federation: Federation, clouds: dict[str, MarathonApiDouble]
) -> None:
    down = federation.playbook("playbooks/teardown.yml")
    assert down.rc == 0, down.output[-4000:]
    for cloud, double in clouds.items():
        assert app_ids(double) == [], cloud
        assert sorted(w.path for w in double.writes() if w.method == "DELETE") == [
            "/v2/apps" + app_id for app_id in APP_IDS[cloud]
        ]
    assert federation.containers() == []
    assert federation.docker("network", "inspect", NAME).returncode != 0
    again = federation.playbook("playbooks/teardown.yml")
    assert again.rc == 0 and again.recap["changed"] == 0, again.output[-4000:]
    # Without its pools the run names the missing app instead of guessing a host.
    orphan = federation.playbook("kinc.yml", "--tags", "run")
    assert orphan.rc != 0
    assert f"The submitter app /{NAME}/submitter of cluster chameleon does not exist" in orphan.output, orphan.output[
        -4000:
    ]


@pytest.mark.parametrize("version", [(1, 4, 3), (1, 10, 17)])
def test_the_double_runs_docker_parameters_as_docker_run_would(version: tuple[int, ...]) -> None:
    app = build_app_definition(
        {
            "id": "/flock/submitter",
            "image": "cloudflock/submitter:t",
            "cpus": 1,
            "mem": 1024,
            "parameters": [
                {"key": "hostname", "value": "submitter"},
                {"key": "label", "value": "cloudflock.deployment=flock"},
                {"key": "label", "value": "cloudflock.pool=submitter"},
                {"key": "volume", "value": "/etc/cloudflock/flock/extra:/run/extra:ro"},
                {"key": "sysctl", "value": "net.ipv4.tcp_keepalive_intvl=5"},
            ],
            "volumes": [{"container_path": "/run/secrets/key", "host_path": "/etc/cloudflock/flock/key", "mode": "RO"}],
            "ip_address": "10.92.0.2",
            "network_cidr": "10.92.0.0/24",
            "ip_mode": "docker_network",
            "network_name": "flocknet",
        },
        version,
    )
    argv = run_spec(app, "task-1", "mesos-", "agent1", "test").cli()
    assert argv[argv.index("--net") + 1] == "flocknet" and argv[argv.index("--ip") + 1] == "10.92.0.2"
    assert argv[argv.index("--hostname") + 1] == "submitter"
    labels = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--label"]
    assert {"cloudflock.deployment=flock", "cloudflock.pool=submitter"} <= set(labels)
    volumes = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-v"]
    assert volumes == ["/etc/cloudflock/flock/key:/run/secrets/key:ro", "/etc/cloudflock/flock/extra:/run/extra:ro"]
    assert argv[argv.index("--sysctl") + 1] == "net.ipv4.tcp_keepalive_intvl=5"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"containers": {1: {"cpus": 0}}}, "containers[1].cpus: 0 must be positive"),
        ({"clusters": {1: {"marathon_url": "ftp://azure"}}}, "clusters[1].marathon_url: 'ftp://azure' is not"),
        ({"clusters": {0: {"agents": ["nowhere-agent"]}}}, "cluster chameleon.agents: nowhere-agent not in the"),
    ],
)
def test_a_bad_spec_fails_before_any_request(tmp_path: Path, change: dict[str, Any], expected: str) -> None:
    with MarathonApiDouble(version="1.4.3") as chameleon, MarathonApiDouble(version="1.10.17") as azure:
        spec = layout(chameleon.url, azure.url)
        for part, entries in change.items():
            for index, fields in entries.items():
                spec[f"flock_{part}"][index].update(fields)
        fed = Federation(tmp_path, f"{NAME}-invalid", f"10.93.{os.getpid() % 250}", layout=spec, hosts=HOSTS)
        run = fed.playbook("kinc.yml")
        assert run.rc != 0
        assert expected in run.output, run.output[-4000:]
        assert chameleon.requests == [] and azure.requests == []
    assert fed.containers() == []
