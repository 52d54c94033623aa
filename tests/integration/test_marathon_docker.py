"""marathon_app -> test double of Marathon's API -> real Docker containers, started the way Mesos' Docker
containerizer starts them, pinned on a Docker network (ip_mode docker_network).

Needs the running Docker engine; every container and network here is named ``cfmt-...`` and removed.
"""

from __future__ import annotations

import ipaddress
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.prerequisites import missing

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.marathon_double import DOUBLE_LABEL, MarathonApiDouble
from tests.marathon_double.images import ensure_sleeper_image
from tests.marathon_double.seed import seed_app_options, seed_container_ids
from tests.support.marathon_app_play import MODULE, app_task, run_playbook

pytestmark = pytest.mark.docker

CANDIDATE_SUBNETS = ("10.213.7.0/24", "10.213.77.0/24", "192.168.213.0/24")


@pytest.fixture(scope="module")
def docker_client() -> Iterator[Any]:
    docker = pytest.importorskip("docker")
    client = docker.from_env()
    try:
        client.ping()
    except docker.errors.DockerException as exc:
        missing(f"no Docker engine: {exc}")
    ensure_sleeper_image(client)
    yield client
    client.close()


@pytest.fixture
def flock_network(docker_client: Any) -> Iterator[tuple[str, ipaddress.IPv4Network]]:
    """A Docker network whose gateway is the last address, so .1 (the seed's submitter) is free."""
    import docker.errors
    import docker.types

    name = f"cfmt-flocknet-{uuid.uuid4().hex[:8]}"
    network = None
    for cidr in CANDIDATE_SUBNETS:
        subnet = ipaddress.ip_network(cidr)
        gateway = str(subnet.broadcast_address - 1)
        pool = docker.types.IPAMPool(subnet=cidr, gateway=gateway)
        try:
            network = docker_client.networks.create(
                name, driver="bridge", ipam=docker.types.IPAMConfig(pool_configs=[pool])
            )
            break
        except docker.errors.APIError:
            continue
    if network is None:
        missing(f"none of {CANDIDATE_SUBNETS} is free for a test network")
    yield name, subnet
    for container in docker_client.containers.list(all=True, filters={"label": f"{DOUBLE_LABEL}"}):
        if container.name.startswith("cfmt-"):
            container.remove(force=True)
    network.remove()


def pinned(subnet: ipaddress.IPv4Network, container_id: str) -> str:
    return str(subnet.network_address + seed_container_ids().index(container_id) + 1)


@pytest.mark.parametrize("version", ["1.4.3", "1.10.17"])
def test_seed_pools_start_as_containers_at_pinned_addresses(
    tmp_path: Path, docker_client: Any, flock_network: tuple[str, ipaddress.IPv4Network], version: str
) -> None:
    net, subnet = flock_network
    items = [
        seed_app_options(
            cid,
            image="cfmt-sleeper:latest",
            args=["sleep", "600"],
            ip_mode="docker_network",
            network_name=net,
            network_cidr=str(subnet),
            ip_address=pinned(subnet, cid),
            labels={"cloudflock.pool": cid},
            wait_timeout=120,
        )
        for cid in seed_container_ids()
    ]
    task = app_task("Create the seed pools", "{{ item }}", loop=items)
    with MarathonApiDouble(
        version=version, deployment_delay=0.1, docker_client=docker_client, docker_name_prefix="cfmt-mesos-"
    ) as server:
        created, again = run_playbook(tmp_path, server.url, [task, dict(task, name="Again")])
        assert [r["changed"] for r in created["results"]] == [True, True, True]
        assert [r["changed"] for r in again["results"]] == [False, False, False]
        assert [r.method for r in server.writes()] == ["POST"] * 3

        for result in created["results"]:
            cid = result["item"]["id"]
            assert result["tasks"][0]["ip_addresses"] == [pinned(subnet, cid)]
            containers = [
                c
                for c in docker_client.containers.list(filters={"label": DOUBLE_LABEL})
                if c.labels.get("cloudflock.pool") == cid
            ]
            assert len(containers) == 1
            attrs = containers[0].attrs
            assert containers[0].name.startswith("cfmt-mesos-")
            assert attrs["HostConfig"]["CpuShares"] == max(int(1024 * result["item"]["cpus"]), 2)
            assert attrs["HostConfig"]["Memory"] == int(result["item"]["mem"]) * 1024 * 1024
            assert attrs["Config"]["Cmd"] == ["sleep", "600"]
            env = dict(line.split("=", 1) for line in attrs["Config"]["Env"])
            assert env["MARATHON_APP_ID"] == f"/{cid}" and env["MESOS_SANDBOX"] == "/mnt/mesos/sandbox"
            settings = attrs["NetworkSettings"]["Networks"][net]
            assert settings["IPAddress"] == pinned(subnet, cid)
            if result["item"]["ports"]:
                assert result["tasks"][0]["ports"], "the submitter's port 22 is published on the host"

        (deleted,) = run_playbook(
            tmp_path,
            server.url,
            [
                {
                    "name": "Delete",
                    MODULE: {"id": "{{ item }}", "state": "absent"},
                    "loop": seed_container_ids(),
                }
            ],
        )
        assert [r["changed"] for r in deleted["results"]] == [True, True, True]
        left = docker_client.containers.list(all=True, filters={"label": DOUBLE_LABEL})
        assert [c.name for c in left if c.name.startswith("cfmt-mesos-")] == []
