"""The table of marathon_app's options (module_utils/marathon_options.py) and what is derived from it.

DOCUMENTATION must stay a literal YAML string (ansible-test reads it without importing the module), so
it cannot be generated from the table: these tests hold the two equal instead.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from ansible_collections.cloudflock.htcondor.plugins.module_utils import marathon_options as mo
from ansible_collections.cloudflock.htcondor.plugins.module_utils.marathon_options import app_id_in_group, in_group
from ansible_collections.cloudflock.htcondor.plugins.modules import marathon_app

from tests.support.argument_spec import mismatches

V14 = (1, 4, 3)
V110 = (1, 10, 17)


def documented_options() -> dict[str, Any]:
    return yaml.safe_load(marathon_app.DOCUMENTATION)["options"]


def test_documentation_equals_the_table() -> None:
    assert mismatches(documented_options(), mo.argument_spec()) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["cpus"].update(default=2), "cpus.default: documented 2, spec 1.0"),
        (lambda d: d["ip_mode"].update(choices=["weave"]), "ip_mode.choices"),
        (lambda d: d["ports"]["suboptions"]["protocol"].update(default="udp"), "ports.protocol.default"),
        (lambda d: d["args"].update(elements="int"), "args.elements"),
        (lambda d: d.pop("wait"), "wait: in the spec only"),
        (lambda d: d["privileged"].update(default=0), "privileged.default"),
    ],
)
def test_a_documentation_that_drifts_is_caught(change: Any, expected: str) -> None:
    documented = copy.deepcopy(documented_options())
    change(documented)
    assert any(line.startswith(expected) for line in mismatches(documented, mo.argument_spec()))


def test_required_conditions_come_from_the_table() -> None:
    assert mo.module_kwargs() == {
        "required_if": [("state", "present", ("image",)), ("state", "restarted", ("image",))],
        "required_by": {"ip_address": ("network_cidr",)},
    }


def test_app_options_leave_out_what_only_steers_the_module() -> None:
    params = {option.name: f"<{option.name}>" for option in mo.module_options()}
    params["marathon_url"] = "http://h:8080"
    opts = mo.app_options(params)
    assert set(opts) == set(params) - {"marathon_url", "force", "wait", "wait_timeout", "poll_interval"}
    assert opts["ip_mode"] == "<ip_mode>"


def test_find_reaches_suboptions() -> None:
    assert mo.find("ports.protocol").choices == ("tcp", "udp", "udp,tcp")
    assert mo.find("volumes").options[0].name == "container_path"
    with pytest.raises(StopIteration):
        mo.find("nope")


def test_defaults_fill_options_a_caller_left_out() -> None:
    """Callers other than the module (tests, the bench) may pass a few options; the table's defaults fill in."""
    body = mo.build_app_definition({"id": "x", "image": "busybox"}, V14)
    assert (body["instances"], body["cpus"], body["mem"], body["disk"]) == (1, 1.0, 128.0, 0)
    assert "args" not in body
    assert body["container"]["docker"] == {
        "image": "busybox",
        "privileged": False,
        "forcePullImage": False,
        "parameters": [],
        "portMappings": [],
        "network": "BRIDGE",
    }


def test_the_body_follows_the_table_order() -> None:
    opts = {"id": "x", "image": "busybox", "args": ["a"], "ip_address": "10.0.0.2", "network_cidr": "10.0.0.0/24"}
    assert list(mo.build_app_definition(opts, V110)) == [
        "id", "instances", "cpus", "mem", "disk", "env", "labels", "constraints", "healthChecks", "container",
        "args", "networks",
    ]  # fmt: skip
    assert list(mo.build_app_definition(opts, V110)["container"]) == ["type", "docker", "volumes", "portMappings"]
    legacy = mo.build_app_definition(dict(opts, ip_mode="docker_network", network_name="n"), V14)
    assert list(legacy)[-2:] == ["args", "ipAddress"]
    assert list(legacy["container"]["docker"])[-2:] == ["portMappings", "network"]


def test_port_mappings_are_read_from_either_api_generation() -> None:
    mapping = {"containerPort": 22, "hostPort": 0, "protocol": "tcp", "servicePort": 10000}
    legacy = {"container": {"docker": {"image": "i", "portMappings": [mapping]}}}
    current = {"container": {"portMappings": [mapping], "docker": {"image": "i"}}}
    wanted = [{"containerPort": 22, "hostPort": 0, "protocol": "tcp"}]
    for app in (legacy, current):
        assert mo.canonical_app(app, V110)["container"]["portMappings"] == wanted
        assert mo.canonical_app(app, V14)["container"]["docker"]["portMappings"] == wanted


def test_marathon_defaults_of_absent_fields() -> None:
    canonical = mo.canonical_app({"id": "x"}, V14)
    assert (canonical["instances"], canonical["cpus"], canonical["mem"], canonical["disk"]) == (1, 1, 128, 0)
    assert canonical["container"]["type"] == "MESOS"
    assert canonical["container"]["docker"]["network"] == "HOST"
    assert canonical["ipAddress"] is None
    assert canonical["cmd"] is None and canonical["args"] == []


@pytest.mark.parametrize(("group", "app_id", "expected"), [
    ("/flock", "submitter", "/flock/submitter"),
    ("/flock/", "/submitter", "/flock/submitter"),
    ("flock", "pools/executor1", "/flock/pools/executor1"),
    (None, "submitter", "/submitter"),
    ("/", "submitter/", "/submitter"),
])
def test_an_app_id_is_joined_to_its_group(group: str | None, app_id: str, expected: str) -> None:
    assert app_id_in_group(group, app_id) == expected


@pytest.mark.parametrize(("app_id", "group", "expected"), [
    ("/flock/submitter", "/flock", True),
    ("/flock/pools/executor1", "/flock/", True),
    ("/flockx/submitter", "/flock", False),  # a group is a path prefix, not a string prefix
    ("/flock", "/flock", False),
    ("/other", None, True),
    ("/other", "/", True),
])
def test_an_app_lies_in_a_group_by_path(app_id: str, group: str | None, expected: bool) -> None:
    assert in_group(app_id, group) is expected
