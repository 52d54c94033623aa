"""Filters of the collection that shape spec data for Docker and for the run summary."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.cloudflock.htcondor.plugins.filter.flock import docker_ports, jobs_by_cluster, stale_pools

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


SPEC = {
    "clusters": [
        {"id": "local", "type": "docker", "docker_host": "localhost"},
        {"id": "edge", "type": "docker", "docker_host": "edge-host"},
        {"id": "azure", "type": "marathon", "marathon_url": "http://azure:8080"},
    ],
    "containers": [
        {"id": "submitter", "cluster": "local", "role": "submitter"},
        {"id": "executor1", "cluster": "local", "role": "executor"},
        {"id": "executor2", "cluster": "azure", "role": "executor"},
    ],
}


def container(name: str, pool: str, deployment: str = "fed", role: str = "executor",
              engine: str = "") -> dict[str, object]:
    labels = {"cloudflock.deployment": deployment, "cloudflock.pool": pool, "cloudflock.role": role}
    # Docker's Id: unique per engine (the same Id listed by two hosts: they are one engine).
    return {"Id": f"{engine or id(labels)}-{name}", "Names": [f"/{name}"], "Labels": labels}


def app(app_id: str, role: str | None = "executor") -> dict[str, object]:
    parameters = [{"key": "hostname", "value": app_id.rsplit("/", 1)[-1]},
                  {"key": "label", "value": "cloudflock.deployment=fed"}]
    if role:
        parameters.append({"key": "label", "value": f"cloudflock.role={role}"})
    return {"id": app_id, "container": {"type": "DOCKER", "docker": {"parameters": parameters}}}


def test_stale_pools_are_the_deployments_containers_and_apps_the_spec_no_longer_names() -> None:
    docker = {
        "localhost": [
            container("fed-submitter", "submitter", role="submitter"), container("fed-executor1", "executor1"),
            container("fed-executor3", "executor3"), container("fed-executor4", "executor4"),
            # Another deployment's pool, and a Marathon task's container of a pool the spec names elsewhere.
            container("other-executor9", "executor9", deployment="other"),
            container("mesos-1234", "executor2"),
        ],
        # executor1 runs on the edge host too, but the spec puts it on localhost.
        "edge-host": [container("fed-executor1", "executor1")],
    }
    marathon = {"azure": [app("/fed/executor2"), app("/fed/executor5", role=None), app("/elsewhere/executor6"),
                          app("/fed/sub/executor7", role="submitter")]}
    stale = stale_pools(SPEC, "fed", docker, marathon, "/fed")
    assert stale == [
        {"id": "executor5", "cluster": "azure", "role": "executor", "name": "/fed/executor5"},
        {"id": "sub/executor7", "cluster": "azure", "role": "submitter", "name": "/fed/sub/executor7"},
        {"id": "executor1", "cluster": "edge", "role": "executor", "name": "fed-executor1"},
        {"id": "executor3", "cluster": "local", "role": "executor", "name": "fed-executor3"},
        {"id": "executor4", "cluster": "local", "role": "executor", "name": "fed-executor4"},
    ]


def test_hosts_that_are_one_engine_keep_what_either_names() -> None:
    # localhost and edge-host are one engine: each lists the other's containers too.
    on_engine = [container("fed-submitter", "submitter", role="submitter", engine="e1"),
                 container("fed-executor1", "executor1", engine="e1"),
                 container("fed-executor3", "executor3", engine="e1")]
    spec = {**SPEC, "containers": [*SPEC["containers"], {"id": "executor3", "cluster": "edge", "role": "executor"}]}
    assert stale_pools(spec, "fed", {"localhost": on_engine, "edge-host": on_engine}) == []
    # Without the edge cluster's pool, executor3 goes, once.
    assert stale_pools(SPEC, "fed", {"localhost": on_engine, "edge-host": on_engine}) == [
        {"id": "executor3", "cluster": "local", "role": "executor", "name": "fed-executor3"}]


def test_nothing_is_stale_when_what_runs_is_the_spec() -> None:
    docker = {"localhost": [container("fed-submitter", "submitter"), container("fed-executor1", "executor1")]}
    assert stale_pools(SPEC, "fed", docker, {"azure": [app("/fed/executor2")]}, "/fed/") == []
    assert stale_pools(SPEC, "fed") == []


@pytest.mark.parametrize(("docker", "marathon", "group", "words"), [
    ({"nowhere": []}, {}, "/fed", "'nowhere' is the docker_host of no docker cluster of the spec"),
    ({}, {"local": []}, "/fed", "'local' is no marathon cluster of the spec"),
    ({}, {"azure": []}, "/", "app_group '/' names no Marathon group"),
])
def test_stale_pools_refuses_hosts_and_clusters_the_spec_does_not_have(
        docker: dict[str, list[dict[str, object]]], marathon: dict[str, list[dict[str, object]]], group: str,
        words: str) -> None:
    with pytest.raises(AnsibleFilterError, match=words):
        stale_pools(SPEC, "fed", docker, marathon, group)
