"""The request bodies cloudflock.htcondor.marathon_app sends to Marathon, pinned down byte for byte.

The module runs in-process (its ``main()``, with the arguments Ansible would give it) against the test
double of Marathon's API, for Marathon 1.4 and 1.10. The bodies it writes are compared with literal
expectations, as JSON text, so key order and the difference between ``1`` and ``1.0`` count. A second
run with the same options must send no write (idempotence), and a changed option one ``PUT``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.cloudflock.htcondor.plugins.modules import marathon_app

from tests.marathon_double import MarathonApiDouble
from tests.marathon_double.seed import seed_app_options

FAST = {"poll_interval": 0.02, "retry_delay": 0.02, "wait_timeout": 30}

# Representative parameter sets: the seed's pinned Weave pools, a Docker network pool, every option at
# once, and a pool with no pinned address and empty args.
PARAMETER_SETS: dict[str, dict[str, Any]] = {
    "seed_submitter_weave": seed_app_options("submitter"),
    "seed_runner2_docker_network": seed_app_options(
        "runner2",
        ip_mode="docker_network",
        network_name="flocknet",
        parameters=[{"key": "hostname", "value": "runner2"}, {"key": "label", "value": "cloudflock.role=executor"}],
    ),
    "every_option": {
        "id": "/flock/executor-a",
        "image": "cloudflock/executor:1.2",
        "cpus": 2,
        "mem": 1024.5,
        "instances": 2,
        "ports": [
            {"container_port": 9618, "host_port": 9618, "protocol": "tcp", "name": "condor", "labels": {"vip": 1}},
            {"container_port": 53, "protocol": "udp,tcp"},
        ],
        "env": {"N": 4, "ON": True, "OFF": False, "NONE": None, "TEXT": "x"},
        "labels": {"pool": "executor", "weight": 2},
        "constraints": [["hostname", "UNIQUE"], ["rack", "GROUP_BY", 3]],
        "privileged": True,
        "force_pull_image": True,
        "parameters": [{"key": "sysctl", "value": "net.ipv4.tcp_keepalive_intvl=5"}, {"key": "init"}],
        "volumes": [
            {"container_path": "/var/lib/condor", "host_path": "/srv/condor", "mode": "RW"},
            {"container_path": "/scratch", "mode": "RO"},
        ],
        "health_checks": [{"protocol": "TCP", "portIndex": 0, "gracePeriodSeconds": 30}],
        "ip_address": "10.32.7.9",
        "network_cidr": "10.32.0.0/12",
    },
    "unpinned_empty_args": {"id": "plain", "image": "busybox", "args": [], "disk": 10, "network_cidr": "10.1.0.0/16"},
}
UPDATE = {"cpus": 3, "env": {"N": 5}}
VERSIONS = ("1.4.3", "1.10.17")


def run_module(url: str, params: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    args = {"marathon_url": url, **FAST, **params}
    with patch_module_args(args), pytest.raises(SystemExit) as stop:
        marathon_app.main()
    result = json.loads(capsys.readouterr().out)
    assert stop.value.code == 0, result
    return result


def record(name: str, version: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """Create, run again, update (in diff mode): every write as (method, path, body), the update's changes
    and its diff."""
    params = PARAMETER_SETS[name]
    with MarathonApiDouble(version=version, deployment_delay=0.01) as server:
        created = run_module(server.url, params, capsys)
        assert created["changed"] and created["changes"] == ["id"]
        count = len(server.writes())
        again = run_module(server.url, params, capsys)
        assert not again["changed"] and again["changes"] == [], again["changes"]
        assert len(server.writes()) == count, "an unchanged app got a write"
        updated = run_module(server.url, {**params, **UPDATE, "_ansible_diff": True}, capsys)
        assert updated["changed"]
        return {
            "writes": [(r.method, r.path, r.body) for r in server.writes()],
            "changes": updated["changes"],
            "diff": updated["diff"],
        }


# Recorded from the module as it was before its options were declared in one table (marathon_options.py);
# the refactoring must not change a byte of what Marathon receives. The bodies are built by one function
# from each set's own fields, in the key order each Marathon version is sent. Since then, one change on
# purpose: health checks are sent with every defaulted field spelled out after the given ones
# (SENT_HEALTH_CHECK), so that Marathon's own defaults (its 1.4.3 schema's delaySeconds is 2) cannot make
# an unchanged app differ.
SEED_ARGS = ["-p", "<irods-password>", "-h", "<irods-host>", "-z", "<irods-zone>", "-P", "<irods-port>"]
EVERY_OPTION_ENV = {"N": "4", "ON": "true", "OFF": "false", "NONE": "", "TEXT": "x", "WEAVE_CIDR": "ip:10.32.7.9/12"}
FULL_HEALTH_CHECK = {
    "gracePeriodSeconds": 30,
    "intervalSeconds": 60,
    "timeoutSeconds": 20,
    "maxConsecutiveFailures": 3,
    "delaySeconds": 15,
    "ignoreHttp1xx": False,
    "protocol": "TCP",
    "portIndex": 0,
}
SENT_HEALTH_CHECK = {"protocol": "TCP", "portIndex": 0, "gracePeriodSeconds": 30} | {
    key: value for key, value in FULL_HEALTH_CHECK.items() if key not in ("protocol", "portIndex", "gracePeriodSeconds")
}
BRIDGE = {"network": "BRIDGE", "networks": [{"mode": "container/bridge"}]}
FIELDS: dict[str, dict[str, Any]] = {
    "seed_submitter_weave": {
        "id": "/submitter",
        "cpus": 1.0,
        "mem": 2048.0,
        "disk": 50000.0,
        "env": {"WEAVE_CIDR": "ip:172.16.0.1/24"},
        "image": "scidas/kinc-submitter",
        "ports": [{"containerPort": 22, "hostPort": 0, "protocol": "tcp"}],
        "args": ["-f", "172.16.0.2,172.16.0.3", "-k", "<ssh-pubkey>", "-u", "<irods-user>", *SEED_ARGS],
        **BRIDGE,
    },
    "seed_runner2_docker_network": {
        "id": "/runner2",
        "cpus": 4.0,
        "mem": 4096.0,
        "disk": 10000.0,
        "image": "scidas/htcondor-worker-centos7",
        "parameters": [
            {"key": "hostname", "value": "runner2"},
            {"key": "label", "value": "cloudflock.role=executor"},
            {"key": "net", "value": "flocknet"},
            {"key": "ip", "value": "172.16.0.3"},
        ],
        "args": ["-u", "<ssh-pubkey>", *SEED_ARGS],
        "network": "USER",
        "ip_address": {"networkName": "flocknet"},
        "networks": [{"mode": "container", "name": "flocknet"}],
    },
    "every_option": {
        "id": "/flock/executor-a",
        "instances": 2,
        "cpus": 2.0,
        "mem": 1024.5,
        "disk": 0,
        "env": EVERY_OPTION_ENV,
        "labels": {"pool": "executor", "weight": "2"},
        "constraints": [["hostname", "UNIQUE"], ["rack", "GROUP_BY", "3"]],
        "health_checks": [SENT_HEALTH_CHECK],
        "image": "cloudflock/executor:1.2",
        "privileged": True,
        "force_pull": True,
        "parameters": [{"key": "sysctl", "value": "net.ipv4.tcp_keepalive_intvl=5"}, {"key": "init", "value": ""}],
        "ports": [
            {"containerPort": 9618, "hostPort": 9618, "protocol": "tcp", "name": "condor", "labels": {"vip": "1"}},
            {"containerPort": 53, "hostPort": 0, "protocol": "udp,tcp"},
        ],
        "volumes": [
            {"containerPath": "/var/lib/condor", "mode": "RW", "hostPath": "/srv/condor"},
            {"containerPath": "/scratch", "mode": "RO"},
        ],
        **BRIDGE,
    },
    "unpinned_empty_args": {
        "id": "/plain",
        "cpus": 1.0,
        "mem": 128.0,
        "disk": 10.0,
        "image": "busybox",
        "args": [],
        **BRIDGE,
    },
}
CHANGES = {"every_option": ["cpus", "env.N", "env.NONE", "env.OFF", "env.ON", "env.TEXT"]}


def app_body(version: str, f: dict[str, Any]) -> dict[str, Any]:
    """The body the module sends: Marathon 1.4 keeps ports and the network in ``docker``, 1.10 does not."""
    docker = {
        "image": f["image"],
        "privileged": f.get("privileged", False),
        "forcePullImage": f.get("force_pull", False),
        "parameters": f.get("parameters", []),
    }
    container: dict[str, Any] = {"type": "DOCKER", "docker": docker, "volumes": f.get("volumes", [])}
    if version == "1.4.3":
        docker.update(portMappings=f.get("ports", []), network=f["network"])
    else:
        container["portMappings"] = f.get("ports", [])
    body = {
        "id": f["id"],
        "instances": f.get("instances", 1),
        **{key: f[key] for key in ("cpus", "mem", "disk")},
        "env": f.get("env", {}),
        "labels": f.get("labels", {}),
        "constraints": f.get("constraints", []),
        "healthChecks": f.get("health_checks", []),
        "container": container,
    }
    if "args" in f:
        body["args"] = f["args"]
    if version == "1.4.3" and "ip_address" in f:
        body["ipAddress"] = f["ip_address"]
    if version != "1.4.3":
        body["networks"] = f["networks"]
    return body


def after_update(body: dict[str, Any]) -> dict[str, Any]:
    """UPDATE applied: three cpus, and env replaced by N=5 (the pinned address's WEAVE_CIDR stays)."""
    weave = {k: v for k, v in body["env"].items() if k == "WEAVE_CIDR"}
    return {**body, "cpus": 3.0, "env": {"N": "5", **weave}}


def shown_in_diff(version: str, body: dict[str, Any]) -> dict[str, Any]:
    """The app as the diff shows it: Marathon's defaults filled in (compared with sorted keys)."""
    shown = {**body, "args": [], "cmd": None, "healthChecks": [FULL_HEALTH_CHECK]}
    if version == "1.4.3":
        shown["ipAddress"] = None
    return shown


def expected(name: str, version: str) -> dict[str, Any]:
    created = app_body(version, FIELDS[name])
    updated = after_update(created)
    result: dict[str, Any] = {
        "writes": [("POST", "/v2/apps", created), ("PUT", "/v2/apps" + created["id"], updated)],
        "changes": CHANGES.get(name, ["cpus", "env.N"]),
    }
    if name == "every_option":
        result["diff"] = {"before": shown_in_diff(version, created), "after": shown_in_diff(version, updated)}
    return result


EXPECTED: dict[tuple[str, str], dict[str, Any]] = {
    (name, version): expected(name, version) for name in FIELDS for version in VERSIONS
}


@pytest.mark.parametrize(("name", "version"), list(EXPECTED))
def test_bodies_sent_to_marathon_are_unchanged(name: str, version: str, capsys: pytest.CaptureFixture[str]) -> None:
    recorded = record(name, version, capsys)
    expected = EXPECTED[(name, version)]
    assert [(m, p) for m, p, _ in recorded["writes"]] == [(m, p) for m, p, _ in expected["writes"]]
    for (_, _, body), (_, _, wanted) in zip(recorded["writes"], expected["writes"], strict=True):
        assert body == wanted
        assert json.dumps(body) == json.dumps(wanted), "same values, but key order or int/float differ"
    assert recorded["changes"] == expected["changes"]
    if "diff" in expected:
        # Values and their types, not key order: Ansible shows a diff with its keys sorted.
        assert json.dumps(recorded["diff"], sort_keys=True) == json.dumps(expected["diff"], sort_keys=True)


def test_every_parameter_set_is_recorded() -> None:
    assert set(EXPECTED) == {(name, version) for name in PARAMETER_SETS for version in VERSIONS}
