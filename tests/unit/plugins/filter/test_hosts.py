"""The host roles' filters: cluster members, addresses, ZooKeeper's URL and servers, daemon flags, IPv4 checks."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.cloudflock.htcondor.plugins.filter.hosts import (
    cidr_overlaps,
    cluster_members,
    flags_env,
    host_addresses,
    is_ipv4_address,
    is_ipv4_cidr,
    mesos_attributes,
    zookeeper_servers,
    zookeeper_url,
)

GROUPS = {
    "mesos_masters": ["chi-master3", "az-master", "chi-master1", "Chi-master2"],
    "mesos_agents": ["chi-agent2", "chi-agent1", "az-agent1"],
    "chameleon": ["chi-agent1", "chi-agent2", "chi-master1", "Chi-master2", "chi-master3"],
    "azure": ["az-master", "az-agent1"],
}
HOSTVARS = {
    "chi-master1": {"ansible_host": "192.0.2.10", "zookeeper_address": "10.0.0.10", "zookeeper_id": 7},
    "Chi-master2": {"ansible_host": "192.0.2.11", "zookeeper_address": ""},
    "chi-master3": {},
    "chi-agent1": {"ansible_host": "192.0.2.21", "weave_address": "10.1.0.21"},
    "chi-agent2": {"ansible_host": "", "weave_address": ""},
}


def test_cluster_members_are_the_hosts_of_both_groups_sorted_as_jinja_sorts() -> None:
    # Jinja's sort ignores case: Chi-master2 between chi-master1 and chi-master3.
    assert cluster_members(GROUPS, "mesos_masters", "chameleon") == ["chi-master1", "Chi-master2", "chi-master3"]
    assert cluster_members(GROUPS, "mesos_agents", "chameleon") == ["chi-agent1", "chi-agent2"]
    assert cluster_members(GROUPS, "mesos_masters", "azure") == ["az-master"]


def test_a_group_the_inventory_lacks_has_no_members() -> None:
    assert cluster_members(GROUPS, "marathon", "chameleon") == []
    assert cluster_members(GROUPS, "mesos_masters", "gcp") == []
    assert cluster_members({}, "mesos_masters", "chameleon") == []


def test_a_host_is_reached_on_its_variable_then_ansible_host_then_its_name() -> None:
    hosts = ["chi-agent1", "chi-master1", "chi-agent2", "outside.example"]
    assert host_addresses(hosts, HOSTVARS, "weave_address") == [
        "10.1.0.21", "192.0.2.10", "chi-agent2", "outside.example",
    ]  # fmt: skip
    # An empty address is no address: Chi-master2's ansible_host wins over its empty zookeeper_address.
    assert host_addresses(["chi-master1", "Chi-master2", "chi-master3"], HOSTVARS, "zookeeper_address") == [
        "10.0.0.10", "192.0.2.11", "chi-master3",
    ]  # fmt: skip


def test_the_zookeeper_url_lists_every_member_on_its_zookeeper_address() -> None:
    members = ["chi-master1", "Chi-master2", "chi-master3"]
    assert zookeeper_url(members, HOSTVARS, 2181, "/mesos") == "zk://10.0.0.10:2181,192.0.2.11:2181,chi-master3:2181/mesos"
    assert zookeeper_url(["az-master"], {}, "2182", "/marathon") == "zk://az-master:2182/marathon"


def test_a_zookeeper_server_id_is_its_zookeeper_id_else_its_position() -> None:
    members = ["chi-master1", "Chi-master2", "chi-master3"]
    assert zookeeper_servers(members, HOSTVARS) == [
        {"id": 7, "address": "10.0.0.10"}, {"id": 2, "address": "192.0.2.11"}, {"id": 3, "address": "chi-master3"},
    ]  # fmt: skip


@pytest.mark.parametrize(("zookeeper_id", "expected"), [
    ("4", 4), ("2.0", 2), (0, 2), ("0", 2), ("not a number", 2), (None, 2), (-3, 2),
])  # fmt: skip
def test_a_zookeeper_id_is_read_as_jinja_reads_a_number(zookeeper_id: object, expected: int) -> None:
    hostvars = {"b": {"zookeeper_id": zookeeper_id}}
    assert zookeeper_servers(["a", "b"], hostvars)[1]["id"] == expected


def test_flags_become_prefixed_upper_case_variables_with_lowercase_booleans() -> None:
    flags = {"hostname_lookup": False, "authenticate_agents": True, "max_agent_ping_timeouts": 5,
             "registry": "in_memory", "ratio": 0.5, "empty": ""}
    assert flags_env(flags, "MESOS_") == {
        "MESOS_HOSTNAME_LOOKUP": "false", "MESOS_AUTHENTICATE_AGENTS": "true", "MESOS_MAX_AGENT_PING_TIMEOUTS": "5",
        "MESOS_REGISTRY": "in_memory", "MESOS_RATIO": "0.5", "MESOS_EMPTY": "",
    }  # fmt: skip
    assert flags_env({"task_launch_timeout": 600000}, "MARATHON_") == {"MARATHON_TASK_LAUNCH_TIMEOUT": "600000"}
    assert flags_env({}, "MESOS_") == {} == flags_env(None, "MESOS_")


def test_flags_that_are_no_mapping_are_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="not a mapping"):
        flags_env(["hostname_lookup=false"], "MESOS_")


def test_mesos_attributes_are_name_value_pairs_in_order() -> None:
    assert mesos_attributes({"cloud": "chameleon", "rack": 2}) == "cloud:chameleon;rack:2"
    assert mesos_attributes({}) == "" == mesos_attributes(None)
    with pytest.raises(AnsibleFilterError, match="not a mapping"):
        mesos_attributes("cloud:chameleon")


@pytest.mark.parametrize(("value", "valid"), [
    ("10.32.0.0", True), ("255.255.255.255", True), ("0.0.0.0", True),
    ("256.1.1.1", False), ("1.2.3", False), ("1.2.3.4.5", False), ("01.2.3.4", False), (" 1.2.3.4", False),
    ("1.2.3.4\n", False), ("10.0.0.0/8", False), ("", False), (None, False), (167772160, False),
])  # fmt: skip
def test_is_ipv4_address(value: object, valid: bool) -> None:
    assert is_ipv4_address(value) is valid


@pytest.mark.parametrize(("value", "valid"), [
    ("10.32.0.0/12", True), ("172.16.0.0/24", True), ("0.0.0.0/0", True), ("10.0.0.1/32", True),
    ("10.32.5.7/12", True),  # host bits set: the network the prefix covers
    ("10.32.0.0/33", False), ("10.32.0.0/08", False), ("10.32.0.0/", False), ("10.32.0.0", False),
    ("256.1.1.1/24", False), ("10.0.0.0/24x", False), ("10.0.0.0/255.0.0.0", False), ("fd00::/8", False),
    ("", False), (None, False),
])  # fmt: skip
def test_is_ipv4_cidr(value: object, valid: bool) -> None:
    assert is_ipv4_cidr(value) is valid


@pytest.mark.parametrize(("cidr", "other", "overlap"), [
    ("10.32.0.0/12", "10.40.0.0/16", True),  # inside
    ("10.40.0.0/16", "10.32.0.0/12", True),
    ("10.32.0.0/11", "10.63.255.0/24", True),  # the last block of the range
    ("10.32.0.0/12", "10.48.0.0/16", False),  # the first block after it
    ("10.32.0.0/12", "172.16.0.0/24", False),
    ("10.32.5.7/12", "10.32.0.0/24", True),  # host bits are ignored
    ("10.0.0.1/32", "10.0.0.1/32", True),
])  # fmt: skip
def test_cidr_overlaps(cidr: str, other: str, overlap: bool) -> None:
    assert cidr_overlaps(cidr, other) is overlap


def test_cidr_overlaps_refuses_what_is_no_ipv4_cidr() -> None:
    with pytest.raises(AnsibleFilterError, match="'256.1.1.1/24' is not an IPv4 CIDR"):
        cidr_overlaps("10.32.0.0/12", "256.1.1.1/24")
