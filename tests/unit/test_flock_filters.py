"""Filters of the collection that shape spec data for Docker and for the run summary."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.cloudflock.htcondor.plugins.filter.flock import docker_ports, jobs_by_cluster

CONTAINERS = [
    {"id": "submitter", "cluster": "chameleon"},
    {"id": "executor1", "cluster": "chameleon"},
    {"id": "executor3", "cluster": "cloudlab"},
    {"id": "executor2", "cluster": "azure"},
]


def test_jobs_by_cluster_sums_the_pools_of_each_cloud_in_spec_order() -> None:
    counts = jobs_by_cluster({"executor2": 5, "executor1": 3, "executor3": 4}, CONTAINERS)
    assert counts == {"chameleon": 3, "cloudlab": 4, "azure": 5}
    assert list(counts) == ["chameleon", "cloudlab", "azure"]
    # A cloud whose pools ran nothing is left out, not shown with 0.
    assert jobs_by_cluster({"executor1": 2}, CONTAINERS) == {"chameleon": 2}
    assert jobs_by_cluster({}, CONTAINERS) == {}


def test_jobs_by_cluster_names_a_pool_the_spec_does_not_have() -> None:
    with pytest.raises(AnsibleFilterError, match="pools executor9 are not containers of the spec"):
        jobs_by_cluster({"executor1": 1, "executor9": 2}, CONTAINERS)


def test_pools_added_during_a_run_are_counted_together_when_asked() -> None:
    counts = jobs_by_cluster({"executor1": 1, "executor9": 2, "executor8": 3}, CONTAINERS, "added")
    assert counts == {"chameleon": 1, "added": 5}


def test_docker_ports_publish_only_fixed_host_ports() -> None:
    ports = [{"container_port": 9618, "host_port": 9618, "protocol": "tcp,udp"}, {"container_port": 22, "host_port": 0}]
    assert docker_ports(ports) == ["9618:9618/tcp", "9618:9618/udp"]
