"""Which pools' credentials a host gets: only those of the clusters it serves."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.cloudflock.htcondor.plugins.filter.credentials import host_pools, other_machines

SPEC = {
    "clusters": [
        {"id": "lab", "type": "docker", "docker_host": "lab-host"},
        {"id": "chameleon", "type": "marathon", "agents": ["chi-agent1", "chi-agent2"]},
        {"id": "azure", "type": "marathon", "agents": []},
    ],
    "containers": [
        {"id": "submitter", "cluster": "chameleon"},
        {"id": "executor1", "cluster": "chameleon"},
        {"id": "executor2", "cluster": "azure"},
        {"id": "executor3", "cluster": "lab"},
    ],
}
AGENTS = {"chameleon": ["chi-agent1", "chi-agent2"], "azure": ["az-agent1"]}
SSH = {"chi-agent1": {"ansible_host": "192.0.2.11"}, "chi-agent2": {"ansible_host": "192.0.2.12"},
       "az-agent1": {"ansible_host": "198.51.100.21"}, "lab-host": {"ansible_host": "203.0.113.5"}}


@pytest.mark.parametrize(("host", "pools"), [
    ("chi-agent1", ["submitter", "executor1"]),  # any agent of a cluster may run any of its pools
    ("chi-agent2", ["submitter", "executor1"]),
    ("az-agent1", ["executor2"]),
    ("lab-host", ["executor3"]),
    ("elsewhere", []),
])
def test_a_host_gets_the_pools_of_its_own_clusters_only(host: str, pools: list[str]) -> None:
    assert host_pools(SPEC, host, AGENTS, SSH) == pools


def test_inventory_hosts_that_are_one_machine_share_their_pools() -> None:
    # Two names for one address (or both the controller itself) share one directory of credentials.
    same = {**SSH, "az-agent1": {"ansible_host": "192.0.2.11"}}
    assert host_pools(SPEC, "chi-agent1", AGENTS, same) == ["submitter", "executor1", "executor2"]
    assert host_pools(SPEC, "chi-agent2", AGENTS, same) == ["submitter", "executor1"]
    local = {host: {"ansible_connection": "local"} for host in ("chi-agent1", "az-agent1")}
    assert host_pools(SPEC, "az-agent1", AGENTS, local) == ["submitter", "executor1", "executor2"]


def test_a_spec_that_is_not_validated_is_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="not a validated flock spec"):
        host_pools({"containers": []}, "chi-agent1", AGENTS, SSH)


def test_other_machines_leaves_out_hosts_that_share_a_kept_machine() -> None:
    hostvars = {**SSH, "edge": {"ansible_connection": "local"}, "localhost": {"ansible_connection": "local"},
                "lab-alias": {"ansible_host": "203.0.113.5"}}
    # A local alias is the controller, like localhost; an alias of lab-host's address is lab-host.
    assert other_machines(["edge", "az-agent1", "lab-alias", "az-agent1"], ["localhost", "lab-host"],
                          hostvars) == ["az-agent1"]
    assert other_machines(["chi-agent1", "chi-agent2"], [], hostvars) == ["chi-agent1", "chi-agent2"]
