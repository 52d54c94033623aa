"""Pure app-definition logic of cloudflock.htcondor.marathon_app: validation, building, diffing."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from ansible_collections.cloudflock.htcondor.plugins.module_utils import marathon_appdef as ad

from tests.marathon_double import MarathonApiDouble, validation_errors
from tests.marathon_double.schema import schema_default
from tests.marathon_double.seed import seed_app_options, seed_container_ids

V14 = (1, 4, 3)
V110 = (1, 10, 17)


def marathon_answer(desired: dict[str, Any], version: tuple[int, ...]) -> dict[str, Any]:
    """What GET /v2/apps/{id} returns for ``desired``: Marathon's additions and defaults included."""
    app = copy.deepcopy(desired)
    app.update(
        version="2017-03-01T10:00:00.000Z",
        versionInfo={"lastScalingAt": "2017-03-01T10:00:00.000Z", "lastConfigChangeAt": "2017-03-01T10:00:00.000Z"},
        tasksStaged=0, tasksRunning=1, tasksHealthy=0, tasksUnhealthy=0,
        deployments=[], tasks=[{"id": "x.1", "host": "agent1", "ports": [31005],
                                "ipAddresses": [{"ipAddress": "172.16.0.1", "protocol": "IPv4"}]}],
        lastTaskFailure={"message": "old failure"},
        backoffSeconds=1, backoffFactor=1.15, maxLaunchDelaySeconds=3600, requirePorts=False, executor="",
        upgradeStrategy={"minimumHealthCapacity": 1, "maximumOverCapacity": 1}, gpus=0, cmd=None, user=None,
        uris=[], fetch=[], storeUrls=[], dependencies=[], readinessChecks=[], portDefinitions=[],
        acceptedResourceRoles=None, killSelection="YOUNGEST_FIRST", secrets={},
        unreachableStrategy={"inactiveAfterSeconds": 300, "expungeAfterSeconds": 600},
    )  # fmt: skip
    container = app["container"]
    mappings = container.get("portMappings", container["docker"].get("portMappings", []))
    for index, mapping in enumerate(mappings):
        mapping.update(servicePort=10000 + index, labels={})
    for check in app.get("healthChecks", []):
        # Marathon's own defaults (its schema's, its docs' for portIndex and path), not the module's.
        check.setdefault("delaySeconds", schema_default("healthChecks/[]/delaySeconds", version))
        check.setdefault("portIndex", 0)
        check.setdefault("path", "/")
    return app


# ------------------------------------------------------------------------------------------------
# Versions and ids
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.4.3", (1, 4, 3)), ("1.10.17", (1, 10, 17)), ("1.5.0-SNAPSHOT", (1, 5, 0)), ("1.6", (1, 6, 0))],
)
def test_parse_version(text: str, expected: tuple[int, ...]) -> None:
    assert ad.parse_version(text) == expected


def test_parse_version_refuses_garbage() -> None:
    with pytest.raises(ad.AppDefError, match="'marathon'"):
        ad.parse_version("marathon")


def test_networks_api_starts_at_1_5() -> None:
    assert not ad.uses_networks_api((1, 4, 9))
    assert ad.uses_networks_api((1, 5, 0))
    assert ad.uses_networks_api(V110)


@pytest.mark.parametrize("app_id", ["submitter", "/submitter", "/flock/runner1", "a.b-c/d9", "x"])
def test_valid_ids(app_id: str) -> None:
    ad.validate_app_id(app_id)
    assert ad.normalize_app_id(app_id).startswith("/")


@pytest.mark.parametrize("app_id", ["Runner1", "runner_1", "runner-", "-runner", "a..b", "a/./b", "", "/"])
def test_invalid_ids_name_field_and_value(app_id: str) -> None:
    with pytest.raises(ad.AppDefError) as err:
        ad.validate_app_id(app_id)
    assert err.value.field == "id"
    assert repr(app_id) in str(err.value)


# ------------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("container_id", seed_container_ids())
def test_seed_containers_are_valid(container_id: str) -> None:
    ad.validate_options(seed_app_options(container_id))


@pytest.mark.parametrize(
    ("overrides", "field", "value"),
    [
        ({"ip_address": "172.16.1.5"}, "ip_address", "172.16.1.5"),
        ({"ip_address": "172.16.0.0"}, "ip_address", "172.16.0.0"),
        ({"ip_address": "172.16.0.255"}, "ip_address", "172.16.0.255"),
        ({"ip_address": "not-an-ip"}, "ip_address", "not-an-ip"),
        ({"network_cidr": None}, "network_cidr", None),
        ({"network_cidr": "172.16.0.1/24"}, "network_cidr", "172.16.0.1/24"),
        ({"id": "Submitter"}, "id", "Submitter"),
        ({"cpus": 0}, "cpus", 0),
        ({"cpus": -1.5}, "cpus", -1.5),
        ({"mem": 0}, "mem", 0),
        ({"disk": -1}, "disk", -1),
        ({"instances": -1}, "instances", -1),
        ({"image": ""}, "image", ""),
        ({"ports": [{"container_port": 22, "protocol": "sctp"}]}, "ports[0].protocol", "sctp"),
        ({"ports": [{"container_port": 70000}]}, "ports[0].container_port", 70000),
        ({"ports": [{"container_port": 22, "host_port": -1}]}, "ports[0].host_port", -1),
        ({"ip_mode": "calico"}, "ip_mode", "calico"),
        ({"ip_mode": "docker_network", "network_name": None}, "network_name", None),
        ({"constraints": [["hostname", "NEAR", "x"]]}, "constraints[0]", ["hostname", "NEAR", "x"]),
        (
            {
                "ip_mode": "docker_network",
                "network_name": "n",
                "parameters": [{"key": "ip", "value": "1.2.3.4"}],
            },
            "parameters[0].key",
            "ip",
        ),
        ({"volumes": [{"container_path": "/data", "mode": "RWX"}]}, "volumes[0].mode", "RWX"),
        ({"health_checks": [{"protocol": "PING"}]}, "health_checks[0].protocol", "PING"),
    ],
)
def test_bad_options_name_field_and_value(overrides: dict[str, Any], field: str, value: Any) -> None:
    with pytest.raises(ad.AppDefError) as err:
        ad.validate_options(seed_app_options("submitter", **overrides))
    assert err.value.field == field
    assert err.value.value == value
    assert str(err.value).startswith(f"{field}: {value!r}")


def test_udp_tcp_protocol_and_point_to_point_networks_are_fine() -> None:
    ad.validate_options(seed_app_options("submitter", ports=[{"container_port": 53, "protocol": "udp,tcp"}]))
    ad.validate_options(seed_app_options("submitter", ip_address="10.0.0.1", network_cidr="10.0.0.0/31"))


def test_absent_needs_only_an_id() -> None:
    ad.validate_options({"id": "runner1", "state": "absent"})


# ------------------------------------------------------------------------------------------------
# Building
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("container_id", seed_container_ids())
def test_weave_mode_on_1_4_is_the_seeds_shape(container_id: str) -> None:
    opts = seed_app_options(container_id)
    app = ad.build_app_definition(opts, V14)
    docker = app["container"]["docker"]
    assert docker["network"] == "BRIDGE"
    assert app["env"]["WEAVE_CIDR"] == f"ip:{opts['ip_address']}/24"
    assert "networks" not in app and "portMappings" not in app["container"]
    assert docker["portMappings"] == [
        {"containerPort": p["container_port"], "hostPort": p["host_port"], "protocol": p["protocol"]}
        for p in opts["ports"]
    ]
    assert app["args"] == opts["args"]
    assert validation_errors(app, V14) == []


def test_weave_cidr_uses_the_real_prefix_length() -> None:
    app = ad.build_app_definition(
        seed_app_options("runner1", ip_address="10.32.7.9", network_cidr="10.32.0.0/12"), V14
    )
    assert app["env"]["WEAVE_CIDR"] == "ip:10.32.7.9/12"


@pytest.mark.parametrize("container_id", seed_container_ids())
def test_weave_mode_on_1_10_uses_networks(container_id: str) -> None:
    app = ad.build_app_definition(seed_app_options(container_id), V110)
    assert app["networks"] == [{"mode": "container/bridge"}]
    assert "network" not in app["container"]["docker"]
    assert "portMappings" not in app["container"]["docker"]
    assert isinstance(app["container"]["portMappings"], list)
    assert validation_errors(app, V110) == []
    assert validation_errors(app, V14), "a 1.10 body must not pass the 1.4.3 schema"


def test_docker_network_mode_on_1_4() -> None:
    opts = seed_app_options("runner2", ip_mode="docker_network", network_name="flocknet")
    app = ad.build_app_definition(opts, V14)
    docker = app["container"]["docker"]
    assert docker["network"] == "USER"
    assert app["ipAddress"] == {"networkName": "flocknet"}
    assert docker["parameters"][-2:] == [
        {"key": "net", "value": "flocknet"},
        {"key": "ip", "value": "172.16.0.3"},
    ]
    assert "WEAVE_CIDR" not in app["env"]
    assert validation_errors(app, V14) == []


def test_docker_network_mode_on_1_10() -> None:
    opts = seed_app_options("runner2", ip_mode="docker_network", network_name="flocknet")
    app = ad.build_app_definition(opts, V110)
    assert app["networks"] == [{"mode": "container", "name": "flocknet"}]
    assert {"key": "ip", "value": "172.16.0.3"} in app["container"]["docker"]["parameters"]
    assert "ipAddress" not in app
    assert validation_errors(app, V110) == []


def test_no_pinned_address_means_bridge_without_weave() -> None:
    app = ad.build_app_definition(seed_app_options("runner1", ip_address=None, network_cidr=None), V14)
    assert app["container"]["docker"]["network"] == "BRIDGE"
    assert "WEAVE_CIDR" not in app["env"]


def test_env_and_labels_become_strings() -> None:
    app = ad.build_app_definition(
        seed_app_options("runner1", env={"N": 4, "ON": True}, labels={"pool": "exec"}), V14
    )
    assert app["env"]["N"] == "4" and app["env"]["ON"] == "true"
    assert app["labels"] == {"pool": "exec"}


# ------------------------------------------------------------------------------------------------
# Comparing
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [V14, V110])
@pytest.mark.parametrize("container_id", seed_container_ids())
def test_unchanged_app_has_no_difference(container_id: str, version: tuple[int, ...]) -> None:
    desired = ad.build_app_definition(seed_app_options(container_id), version)
    result = ad.compare(desired, marathon_answer(desired, version), version)
    assert result["changed_fields"] == []
    assert result["before"] == result["after"]
    assert "version" not in result["before"] and "tasks" not in result["before"]


def test_health_check_defaults_are_not_a_difference() -> None:
    opts = seed_app_options("submitter", health_checks=[{"protocol": "TCP", "portIndex": 0}])
    desired = ad.build_app_definition(opts, V14)
    answer = marathon_answer(desired, V14)
    assert answer["healthChecks"][0]["gracePeriodSeconds"] == 300
    assert ad.compare(desired, answer, V14)["changed_fields"] == []


@pytest.mark.parametrize("version", [V14, V110])
def test_health_checks_are_sent_complete_so_marathons_own_defaults_change_nothing(version: tuple[int, ...]) -> None:
    """Marathon 1.4.3's schema gives delaySeconds 2: a check sent without it would come back different."""
    opts = seed_app_options("submitter", health_checks=[{"protocol": "TCP", "portIndex": 0}])
    desired = ad.build_app_definition(opts, version)
    sent = desired["healthChecks"][0]
    assert set(ad.HEALTH_DEFAULTS) <= set(sent), sent
    answer = marathon_answer(desired, version)
    assert answer["healthChecks"][0]["delaySeconds"] == sent["delaySeconds"]
    assert ad.compare(desired, answer, version)["changed_fields"] == []
    bare = marathon_answer({**desired, "healthChecks": [{"protocol": "TCP", "portIndex": 0}]}, version)
    assert bare["healthChecks"][0]["delaySeconds"] == schema_default("healthChecks/[]/delaySeconds", version) == 2
    assert ad.compare(desired, bare, version)["changed_fields"] == ["healthChecks[0].delaySeconds"]


@pytest.mark.parametrize("version", [V14, V110])
def test_constraints_answered_in_another_order_are_no_change(version: tuple[int, ...]) -> None:
    """Marathon keeps constraints as a set; its answer's order is its own."""
    constraints = [["rack", "GROUP_BY", "3"], ["hostname", "UNIQUE"], ["hostname", "LIKE", "agent-.*"]]
    desired = ad.build_app_definition(seed_app_options("runner1", constraints=constraints), version)
    answer = marathon_answer(desired, version)
    answer["constraints"] = list(reversed(answer["constraints"]))
    assert ad.compare(desired, answer, version)["changed_fields"] == []
    answer["constraints"] = answer["constraints"][1:]
    assert ad.compare(desired, answer, version)["changed_fields"] != []


@pytest.mark.parametrize("version", [V14, V110])
@pytest.mark.parametrize("container_id", seed_container_ids())
def test_fields_marathon_adds_that_the_module_never_sent_are_no_change(
    container_id: str, version: tuple[int, ...]
) -> None:
    """Read-only fields and filled-in defaults of GET /v2/apps/{id} (Marathon's REST API reference) that
    marathon_answer leaves out: none is a difference."""
    desired = ad.build_app_definition(seed_app_options(container_id), version)
    answer = marathon_answer(desired, version)
    answer.update(
        taskStats={"totalSummary": {"stats": {"counts": {"staged": 0, "running": 1}}}},
        readinessCheckResults=[], residency=None, taskKillGracePeriodSeconds=None, ports=[10000],
        acceptedResourceRoles=["*"], role="*", tty=False, killSelection="YOUNGEST_FIRST",
    )  # fmt: skip
    container = answer["container"]
    container["docker"].setdefault("parameters", [])
    container.setdefault("volumes", [])
    for mapping in container.get("portMappings", container["docker"].get("portMappings", [])):
        mapping.setdefault("hostPort", 0)
        mapping.setdefault("protocol", "tcp")
    if "ipAddress" in answer and answer["ipAddress"]:
        answer["ipAddress"].update(groups=[], labels={}, discovery={"ports": []})
    for network in answer.get("networks", []):
        network.setdefault("labels", {})
    assert ad.compare(desired, answer, version)["changed_fields"] == []


def _unsent_changed(sent: Any, answer: Any) -> Any:
    """``answer`` with every scalar the request did not hold changed (numbers +7, strings suffixed, booleans
    flipped), walking dicts and lists of the same length together; what the request held is kept."""
    if isinstance(answer, dict):
        sent_dict = sent if isinstance(sent, dict) else {}
        return {key: _unsent_changed(sent_dict.get(key, _UNSENT), value) for key, value in answer.items()}
    if isinstance(answer, list):
        sent_list = sent if isinstance(sent, list) and len(sent) == len(answer) else [_UNSENT] * len(answer)
        return [_unsent_changed(left, right) for left, right in zip(sent_list, answer, strict=True)]
    if sent is not _UNSENT:
        return answer
    if isinstance(answer, bool):
        return not answer
    if isinstance(answer, int | float):
        return answer + 7
    if isinstance(answer, str):
        return answer + "-changed"
    return answer


_UNSENT = object()


@pytest.mark.parametrize(("version", "version_text"), [(V14, "1.4.3"), (V110, "1.10.17")])
@pytest.mark.parametrize("container_id", seed_container_ids())
def test_no_field_the_module_left_to_marathon_is_compared(
    container_id: str, version: tuple[int, ...], version_text: str
) -> None:
    """Whatever Marathon fills in for a field the body did not hold (its defaults, read-only fields), the app
    is unchanged: the double's answer with each such value changed still compares equal."""
    opts = seed_app_options(container_id, health_checks=[{"protocol": "TCP"}], constraints=[["hostname", "UNIQUE"]])
    desired = ad.build_app_definition(opts, version)
    with MarathonApiDouble(version=version_text) as double:
        status, _, _ = double.handle("POST", "/v2/apps", {}, json.dumps(desired).encode())
        assert status == 201
        status, payload, _ = double.handle("GET", "/v2/apps" + desired["id"], {}, b"")
    assert status == 200, payload
    answer = payload["app"]
    assert ad.compare(desired, answer, version)["changed_fields"] == []
    changed = _unsent_changed(desired, answer)
    assert changed["backoffSeconds"] != answer["backoffSeconds"], "nothing was changed"
    changed["cmd"] = answer["cmd"]  # a live cmd the module never sets is a difference, on purpose
    assert ad.compare(desired, changed, version)["changed_fields"] == []


def test_legacy_answer_compared_with_1_10_definition() -> None:
    """An app written in 1.4 style and read back from a 1.5+ server is still the same app."""
    opts = seed_app_options("runner2", ip_mode="docker_network", network_name="flocknet")
    legacy = marathon_answer(ad.build_app_definition(opts, V14), V14)
    assert ad.compare(ad.build_app_definition(opts, V110), legacy, V110)["changed_fields"] == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"cpus": 2}, ["cpus"]),
        ({"image": "scidas/kinc-submitter:v2"}, ["container.docker.image"]),
        ({"ip_address": "172.16.0.9"}, ["env.WEAVE_CIDR"]),
        ({"env": {"EXTRA": "1"}}, ["env.EXTRA"]),
        ({"ports": []}, ["container.docker.portMappings"]),
        ({"args": ["-f", "172.16.0.2"]}, ["args"]),
        ({"instances": 2}, ["instances"]),
        ({"privileged": True}, ["container.docker.privileged"]),
    ],
)
def test_changes_are_named(overrides: dict[str, Any], expected: list[str]) -> None:
    current = marathon_answer(ad.build_app_definition(seed_app_options("submitter"), V14), V14)
    desired = ad.build_app_definition(seed_app_options("submitter", **overrides), V14)
    assert ad.compare(desired, current, V14)["changed_fields"] == expected


def test_removed_env_and_labels_count() -> None:
    opts = seed_app_options("runner1", env={"A": "1"}, labels={"x": "y"})
    current = marathon_answer(ad.build_app_definition(opts, V14), V14)
    desired = ad.build_app_definition(seed_app_options("runner1"), V14)
    assert ad.compare(desired, current, V14)["changed_fields"] == ["env.A", "labels.x"]


def test_switching_ip_mode_is_a_difference() -> None:
    current = marathon_answer(ad.build_app_definition(seed_app_options("runner1"), V110), V110)
    opts = seed_app_options("runner1", ip_mode="docker_network", network_name="flocknet")
    changed = ad.compare(ad.build_app_definition(opts, V110), current, V110)["changed_fields"]
    assert "networks[0].mode" in changed and "env.WEAVE_CIDR" in changed


def test_missing_app_compares_as_new() -> None:
    desired = ad.build_app_definition(seed_app_options("runner1"), V14)
    result = ad.compare(desired, None, V14)
    assert result["changed_fields"] == ["id"]
    assert result["before"] == {}
    assert result["after"]["id"] == "/runner1"


def test_numbers_compare_by_value() -> None:
    assert ad.differences({"cpus": 1}, {"cpus": 1.0}) == []
    assert ad.differences({"cpus": 1}, {"cpus": True}) == ["cpus"]


# ------------------------------------------------------------------------------------------------
# Reading results
# ------------------------------------------------------------------------------------------------


def test_summarize_tasks() -> None:
    app = {"tasks": [{"id": "t1", "host": "h", "ports": [31000], "state": "TASK_RUNNING",
                      "ipAddresses": [{"ipAddress": "172.16.0.2", "protocol": "IPv4"}]}]}  # fmt: skip
    assert ad.summarize_tasks(app) == [
        {"id": "t1", "host": "h", "ports": [31000], "ip_addresses": ["172.16.0.2"], "state": "TASK_RUNNING"}
    ]
    assert ad.summarize_tasks(None) == []


def test_pending_reasons() -> None:
    app = {"id": "/r", "instances": 2, "tasksRunning": 1, "tasksHealthy": 0, "healthChecks": [{}]}
    deployments = [{"id": "d1", "affectedApps": ["/r"]}, {"id": "d2", "affectedApps": ["/other"]}]
    assert ad.pending_reasons(app, deployments) == [
        "deployment d1",
        "tasksRunning 1 of 2 instances",
        "tasksHealthy 0 of 2 instances",
    ]
    done = dict(app, tasksRunning=2, tasksHealthy=2)
    assert ad.pending_reasons(done, deployments[1:]) == []
    assert ad.pending_reasons(None, []) == ["app does not exist"]
