"""The federation of three systemd host containers in two "clouds" (see tests/integration/test_federation.py,
whose tests run on it, and bench/federation_makespan.py): site.yml provisions the hosts, one test double of
Marathon's API per cloud starts the pool containers on that cloud's hosts, with the seed's layout (the
submitter and executor1 in the first cloud, executor2 in the second, pinned addresses).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .flock import Federation
from .host_clouds import HostClouds

NAME = "cffed-flock"
CIDR_PREFIX = "10.240.8"
LABEL = "cloudflock.test=federation"
NETWORKS = {"cffed-inet": "10.240.0.0/24", "cffed-cloud1": "10.240.1.0/24", "cffed-cloud2": "10.240.2.0/24"}
# host: (cloud, cloud network address, "internet" address)
HOSTS = {
    "cffed-c1a": ("chameleon", "10.240.1.11", "10.240.0.11"),
    "cffed-c1b": ("chameleon", "10.240.1.12", "10.240.0.12"),
    "cffed-c2a": ("azure", "10.240.2.11", "10.240.0.13"),
}
CLOUD_NETWORK = {"chameleon": "cffed-cloud1", "azure": "cffed-cloud2"}
CLOUDS = HostClouds(LABEL, NETWORKS, "cffed-inet", CLOUD_NETWORK, HOSTS)


def layout(urls: dict[str, str], executor_cpus: int = 1) -> dict[str, Any]:
    by_cloud: dict[str, list[str]] = {}
    for host, (cloud, _, _) in HOSTS.items():
        by_cloud.setdefault(cloud, []).append(host)
    return {
        "cloudflock_network_driver": "overlay",
        # All three hosts managers (an odd count), so every agent sees the swarm-scoped pool network.
        "overlay_join_as": "manager",
        "flock_clusters": [
            {"id": cloud, "type": "marathon", "marathon_url": urls[cloud], "agents": by_cloud[cloud]}
            for cloud in ("chameleon", "azure")
        ],
        "flock_containers": [
            {"id": "submitter", "cluster": "chameleon", "role": "submitter", "cpus": 1, "mem": 1024},
            {"id": "executor1", "cluster": "chameleon", "role": "executor", "cpus": executor_cpus, "mem": 1024},
            {"id": "executor2", "cluster": "azure", "role": "executor", "cpus": executor_cpus, "mem": 1024},
        ],
        "flock_network": {
            "name": NAME,
            "cidr": f"{CIDR_PREFIX}.0/24",
            "driver": "overlay",
            "gateway": f"{CIDR_PREFIX}.1",
            "containers": [{"id": "submitter"}, {"id": "executor1"}, {"id": "executor2"}],
        },
        "flock_marathon_ip_mode": "docker_network",
    }


def inventory_hosts() -> dict[str, Any]:
    hosts = {
        host: {
            "ansible_connection": "community.docker.docker",
            "ansible_python_interpreter": "/usr/bin/python3",
            "overlay_advertise_address": inet,
        }
        for host, (_, _, inet) in HOSTS.items()
    }
    return {"all": {"children": {"docker_hosts": {"hosts": hosts}}}}


class HostFederation(Federation):
    """A federation whose pools run in the host containers' engines, under the names Marathon (here its test
    double) gave them."""

    def locate(self, pool: str) -> tuple[list[str], str]:
        return CLOUDS.locate(NAME, pool)


@contextmanager
def three_host_federation(root: Path, executor_cpus: int = 1) -> Iterator[tuple[HostFederation, dict[str, Any]]]:
    """Start the hosts, provision them with site.yml, load the pool images and serve each cloud's Marathon
    API with a double; yields the federation (kinc.yml not yet run) and the doubles by cloud. Everything is
    removed afterwards."""
    with CLOUDS.running() as (doubles, clients):
        # The images of this checkout, built on this machine's engine (a no-op when they exist).
        local = Federation(root / "local", f"{NAME}-images", CIDR_PREFIX)
        built = local.playbook("site.yml", "--tags", "images")
        assert built.rc == 0, built.output[-4000:]
        tag = local.spec["htcondor_images_tag"]

        # Marathon URLs are known only once the doubles listen; the hosts' engines only after site.yml.
        unknown = {"chameleon": "http://127.0.0.1:1", "azure": "http://127.0.0.1:1"}
        fed = HostFederation(root / "fed", NAME, CIDR_PREFIX, layout=layout(unknown, executor_cpus),
                             hosts=inventory_hosts())
        provision = fed.playbook("site.yml", "--skip-tags", "images")
        assert provision.rc == 0, provision.output[-4000:]
        CLOUDS.load_images(root / "pool-images.tar", tag)
        doubles.update(CLOUDS.marathon_doubles({"chameleon": "1.4.3", "azure": "1.10.17"}, clients,
                                               name_prefix="cffed-mesos-"))
        spec = layout({cloud: double.url for cloud, double in doubles.items()}, executor_cpus)
        fed.spec["flock_clusters"] = spec["flock_clusters"]
        (fed.inventory / "group_vars/all/flock.yml").write_text(json.dumps(fed.spec))
        yield fed, doubles
