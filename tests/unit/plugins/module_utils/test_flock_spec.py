"""The pool spec validator: the seed's config is accepted as-is, and every bad input names its field."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from ansible_collections.cloudflock.htcondor.plugins.module_utils.flock_spec import (
    SpecError,
    from_seed_config,
    normalize_spec,
)

from tests.marathon_double.seed import SEED_CONFIG


def seed() -> dict:
    return copy.deepcopy(SEED_CONFIG)


def problems_of(config: dict) -> list[str]:
    with pytest.raises(SpecError) as caught:
        from_seed_config(config)
    return caught.value.problems


def test_seed_config_is_accepted_as_is() -> None:
    spec = from_seed_config(seed())
    assert [c["id"] for c in spec["clusters"]] == ["chameleon", "azure"]
    assert spec["clusters"][0] == {"id": "chameleon", "type": "marathon", "agents": [],
                                   "marathon_url": "http://130.202.88.202:9090", "docker_host": "localhost"}
    assert spec["submitter"]["id"] == "submitter"
    assert [c["id"] for c in spec["executors"]] == ["runner1", "runner2"]
    assert spec["flock_to"] == ["172.16.0.2", "172.16.0.3"]
    assert spec["executors"][0]["cpus"] == 12
    assert spec["network"]["prefix"] == 24
    # The gateway goes where no container is: the highest free host address.
    assert spec["network"]["gateway"] == "172.16.0.254"


def test_seed_json_text_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(SEED_CONFIG))
    assert from_seed_config(json.loads(path.read_text()))["network"]["addresses"]["runner2"] == "172.16.0.3"


def test_unknown_cluster_is_named() -> None:
    config = seed()
    config["containers"][2]["cluster"] = "cloudlab"
    assert problems_of(config) == ["containers[2].cluster: 'cloudlab' is not a cluster of the spec "
                                   "(chameleon, azure)"]


def test_duplicate_container_id() -> None:
    config = seed()
    config["containers"][2]["id"] = "runner1"
    problems = problems_of(config)
    assert "containers[2].id: 'runner1' is a duplicate" in problems


def test_duplicate_ip() -> None:
    config = seed()
    config["network"]["containers"][2]["ip_addr"] = "172.16.0.2"
    assert problems_of(config) == ["network.containers[2].ip: 172.16.0.2 is already the address of 'runner1'"]


@pytest.mark.parametrize(("ip", "expected"), [
    ("172.16.1.3", "network.containers[2].ip: 172.16.1.3 is outside network.cidr 172.16.0.0/24"),
    ("172.16.0.0", "network.containers[2].ip: 172.16.0.0 is the network address of 172.16.0.0/24"),
    ("172.16.0.255", "network.containers[2].ip: 172.16.0.255 is the broadcast address of 172.16.0.0/24"),
    ("172.16.0.300", "network.containers[2].ip: '172.16.0.300' is not an IP address"),
])
def test_bad_addresses(ip: str, expected: str) -> None:
    config = seed()
    config["network"]["containers"][2]["ip_addr"] = ip
    assert problems_of(config) == [expected]


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("n_cpus", 0, "containers[1].cpus: 0 must be positive"),
    ("n_cpus", -2, "containers[1].cpus: -2 must be positive"),
    ("mem", 0, "containers[1].mem: 0 must be positive"),
    ("mem", "lots", "containers[1].mem: 'lots' is not a number"),
    ("mem", 10.5, "containers[1].mem: 10.5 must be a whole number"),
])
def test_non_positive_resources(field: str, value: object, expected: str) -> None:
    config = seed()
    config["containers"][1][field] = value
    assert problems_of(config) == [expected]


def test_bad_port_protocol() -> None:
    config = seed()
    config["containers"][0]["ports"][0]["protocol"] = "sctp"
    assert problems_of(config) == ["containers[0].ports[0].protocol: 'sctp' is not one of tcp, udp, udp,tcp"]


def test_bad_cidr() -> None:
    config = seed()
    config["network"]["cidr"] = "172.16.0.1/24"
    (problem,) = problems_of(config)
    assert problem.startswith("network.cidr: '172.16.0.1/24' is not a network in CIDR notation")


def test_every_problem_is_reported_at_once() -> None:
    config = seed()
    config["containers"][1]["n_cpus"] = 0
    config["containers"][2]["cluster"] = "nowhere"
    config["network"]["containers"][0]["ip_addr"] = "10.0.0.1"
    assert len(problems_of(config)) == 3


def test_container_without_address() -> None:
    config = seed()
    del config["network"]["containers"][2]
    assert problems_of(config) == ["network.containers: container 'runner2' has no address"]


def test_one_submitter_and_an_executor_are_needed() -> None:
    config = seed()
    for container in config["containers"]:
        container["role"] = "executor"
    assert problems_of(config) == ["containers: exactly one submitter is needed, found 0"]


def test_explicit_gateway_must_be_free() -> None:
    config = seed()
    config["network"]["gateway"] = "172.16.0.2"
    assert problems_of(config) == ["network.gateway: 172.16.0.2 is already the address of 'runner1'"]


def test_docker_allocates_from_the_largest_block_without_a_pinned_address() -> None:
    # The seed pins 172.16.0.1-3 of a /24: the upper half is free.
    assert from_seed_config(seed())["network"]["ip_range"] == "172.16.0.128/25"
    config = seed()
    config["network"]["containers"][2]["ip_addr"] = "172.16.0.200"
    # Both halves hold a pinned address; of the quarters, .128/26 is the highest free one.
    assert from_seed_config(config)["network"]["ip_range"] == "172.16.0.128/26"


def test_explicit_ip_range_must_hold_no_pinned_address() -> None:
    config = seed()
    config["network"]["ip_range"] = "172.16.0.0/28"
    assert problems_of(config) == ["network.ip_range: 172.16.0.0/28 holds pinned addresses 172.16.0.1 "
                                   "('submitter'), 172.16.0.2 ('runner1'), 172.16.0.3 ('runner2'); Docker could "
                                   "give them to another endpoint"]
    config["network"]["ip_range"] = "172.16.1.0/25"
    assert problems_of(config) == ["network.ip_range: 172.16.1.0/25 is not inside network.cidr 172.16.0.0/24"]
    config["network"]["ip_range"] = "172.16.0.128/24"
    assert problems_of(config)[0].startswith("network.ip_range: '172.16.0.128/24' is not a network in CIDR")
    config["network"]["ip_range"] = "172.16.0.64/26"
    assert from_seed_config(config)["network"]["ip_range"] == "172.16.0.64/26"


def test_an_overlay_without_a_free_block_is_refused() -> None:
    config = seed()
    config["network"]["cidr"] = "172.16.0.0/28"
    config["network"]["containers"][2]["ip_addr"] = "172.16.0.9"
    # A bridge network does without: Docker hands out no address there unless a container asks.
    assert from_seed_config(config)["network"]["ip_range"] == ""
    config["network"]["driver"] = "overlay"
    assert problems_of(config) == ["network.cidr: 172.16.0.0/28 has no /29 block free of pinned addresses for "
                                   "Docker's own allocations on an overlay; widen it or set network.ip_range"]


def test_docker_cluster_defaults() -> None:
    spec = normalize_spec(
        [{"id": "local", "type": "docker"}],
        [{"id": "submitter", "cluster": "local", "role": "submitter"},
         {"id": "executor1", "cluster": "local", "cpus": 2, "mem": 2048}],
        {"cidr": "10.88.0.0/29", "name": "cf-test",
         "containers": [{"id": "submitter", "ip": "10.88.0.2"}, {"id": "executor1", "ip": "10.88.0.3"}]},
    )
    assert spec["clusters"] == [{"id": "local", "type": "docker", "docker_host": "localhost"}]
    assert spec["executors"][0]["role"] == "executor"
    assert spec["network"]["gateway"] == "10.88.0.6"
    assert spec["submitter"]["ip"] == "10.88.0.2"


def test_marathon_cluster_agents() -> None:
    config = seed()
    config["clusters"][0]["agents"] = ["chameleon-agent1", "chameleon-agent2"]
    spec = from_seed_config(config)
    assert spec["clusters"][0]["agents"] == ["chameleon-agent1", "chameleon-agent2"]
    assert spec["clusters"][1]["agents"] == []  # the group mesos_agents


@pytest.mark.parametrize(
    ("agents", "expected"),
    [
        ("agent1", "clusters[0].agents: 'agent1' must be a list of inventory host names"),
        (["agent1", ""], "clusters[0].agents: ['agent1', ''] must be a list of inventory host names"),
        (["a1", "a1"], "clusters[0].agents: a1 listed more than once"),
    ],
)
def test_bad_agents(agents: object, expected: str) -> None:
    config = seed()
    config["clusters"][0]["agents"] = agents
    assert problems_of(config) == [expected]


def test_a_docker_cluster_has_no_agents() -> None:
    config = seed()
    config["clusters"][1] = {"id": "azure", "type": "docker", "agents": ["a1"]}
    assert problems_of(config) == [
        "clusters[1].agents: ['a1'] is only for marathon clusters (a docker cluster has its docker_host)"
    ]


def test_both_protocols_are_spelt_as_marathon_does() -> None:
    config = seed()
    config["containers"][0]["ports"][0]["protocol"] = "tcp,udp"
    assert from_seed_config(config)["submitter"]["ports"][0]["protocol"] == "udp,tcp"


def test_a_non_mapping_config_is_refused() -> None:
    with pytest.raises(SpecError, match="a mapping with clusters, containers and network"):
        from_seed_config(["clusters"])
    with pytest.raises(SpecError, match="missing network"):
        from_seed_config({"clusters": [], "containers": []})
