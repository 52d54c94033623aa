"""inventory/local's spec follows from local_executor_pools: the rendered variables validated as the playbooks
validate them (normalize_spec, what the flock_spec module runs), for 2, 4 and 8 executor pools."""

from __future__ import annotations

import ipaddress

import pytest
from ansible_collections.cloudflock.htcondor.plugins.module_utils.flock_spec import normalize_spec

from tests.support.local_spec import local_spec

# inventory/local's spec as it was written out before it followed from local_executor_pools.
WRITTEN_OUT = {
    "flock_clusters": [{"id": "local", "type": "docker", "docker_host": "localhost"}],
    "flock_containers": [
        {"id": "submitter", "cluster": "local", "role": "submitter", "cpus": 1, "mem": 1024},
        {"id": "executor1", "cluster": "local", "role": "executor", "cpus": 2, "mem": 2048},
        {"id": "executor2", "cluster": "local", "role": "executor", "cpus": 2, "mem": 2048},
    ],
    "flock_network": {"name": "cloudflock-local", "cidr": "10.88.0.0/24", "containers": [
        {"id": "submitter", "ip": "10.88.0.2"}, {"id": "executor1", "ip": "10.88.0.3"},
        {"id": "executor2", "ip": "10.88.0.4"}]},
}


def validated(spec: dict) -> dict:
    return normalize_spec(spec["flock_clusters"], spec["flock_containers"], spec["flock_network"])


def test_the_default_is_the_spec_written_out_before() -> None:
    rendered = local_spec()
    assert {key: rendered[key] for key in WRITTEN_OUT} == WRITTEN_OUT
    assert rendered["flock_deployment"] == "cloudflock-local"
    assert validated(rendered) == validated(WRITTEN_OUT)
    assert validated(local_spec(2)) == validated(WRITTEN_OUT)


@pytest.mark.parametrize("pools", [2, 4, 8])
def test_pools_ids_and_addresses(pools: int) -> None:
    spec = validated(local_spec(pools))
    assert spec["submitter"]["id"] == "submitter" and spec["submitter"]["ip"] == "10.88.0.2"
    assert [pool["id"] for pool in spec["executors"]] == [f"executor{n}" for n in range(1, pools + 1)]
    assert {(pool["cpus"], pool["mem"]) for pool in spec["executors"]} == {(2, 2048)}
    addresses = [pool["ip"] for pool in spec["containers"]]
    assert len(set(addresses)) == pools + 1
    network = ipaddress.ip_network(spec["network"]["cidr"])
    allocated = ipaddress.ip_network(spec["network"]["ip_range"])
    for address in map(ipaddress.ip_address, addresses):
        assert address in network and address not in allocated
        assert str(address) != spec["network"]["gateway"]
    assert spec["flock_to"] == addresses[1:]


def test_more_pools_only_add_executors() -> None:
    two, eight = validated(local_spec(2)), validated(local_spec(8))
    assert eight["containers"][:3] == two["containers"]
    assert {**eight["network"], "addresses": None} == {**two["network"], "addresses": None}
