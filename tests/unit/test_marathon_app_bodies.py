"""The request bodies cloudflock.htcondor.marathon_app sends to Marathon, pinned down byte for byte.

The module runs in-process (its ``main()``, with the arguments Ansible would give it) against the test
double of Marathon's API, for Marathon 1.4 and 1.10. The bodies it writes are compared with literal
expectations, as JSON text, so key order and the difference between ``1`` and ``1.0`` count. A second
run with the same options must send no write (idempotence), and a changed option one ``PUT``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.marathon_double import MarathonApiDouble
from tests.marathon_double.seed import seed_app_options
from tests.support import ensure_collection_link

ensure_collection_link()
from ansible.module_utils.testing import patch_module_args
from ansible_collections.cloudflock.htcondor.plugins.modules import marathon_app

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
# the refactoring must not change a byte of what Marathon receives.
EXPECTED: dict[tuple[str, str], dict[str, Any]] = {
    ("seed_submitter_weave", "1.4.3"): {
        "writes": [
            (
                "POST",
                "/v2/apps",
                {
                    "id": "/submitter",
                    "instances": 1,
                    "cpus": 1.0,
                    "mem": 2048.0,
                    "disk": 50000.0,
                    "env": {"WEAVE_CIDR": "ip:172.16.0.1/24"},
                    "labels": {},
                    "constraints": [],
                    "healthChecks": [],
                    "container": {
                        "type": "DOCKER",
                        "docker": {
                            "image": "scidas/kinc-submitter",
                            "privileged": False,
                            "forcePullImage": False,
                            "parameters": [],
                            "portMappings": [{"containerPort": 22, "hostPort": 0, "protocol": "tcp"}],
                            "network": "BRIDGE",
                        },
                        "volumes": [],
                    },
                    "args": [
                        "-f",
                        "172.16.0.2,172.16.0.3",
                        "-k",
                        "<ssh-pubkey>",
                        "-u",
                        "<irods-user>",
                        "-p",
                        "<irods-password>",
                        "-h",
                        "<irods-host>",
                        "-z",
                        "<irods-zone>",
                        "-P",
                        "<irods-port>",
                    ],
                },
            ),
            (
                "PUT",
                "/v2/apps/submitter",
                {
                    "id": "/submitter",
                    "instances": 1,
                    "cpus": 3.0,
                    "mem": 2048.0,
                    "disk": 50000.0,
                    "env": {"N": "5", "WEAVE_CIDR": "ip:172.16.0.1/24"},
                    "labels": {},
                    "constraints": [],
                    "healthChecks": [],
                    "container": {
                        "type": "DOCKER",
                        "docker": {
                            "image": "scidas/kinc-submitter",
                            "privileged": False,
                            "forcePullImage": False,
                            "parameters": [],
                            "portMappings": [{"containerPort": 22, "hostPort": 0, "protocol": "tcp"}],
                            "network": "BRIDGE",
                        },
                        "volumes": [],
                    },
                    "args": [
                        "-f",
                        "172.16.0.2,172.16.0.3",
                        "-k",
                        "<ssh-pubkey>",
                        "-u",
                        "<irods-user>",
                        "-p",
                        "<irods-password>",
                        "-h",
                        "<irods-host>",
                        "-z",
                        "<irods-zone>",
                        "-P",
                        "<irods-port>",
                    ],
                },
            ),
        ],
        "changes": ["cpus", "env.N"],
    },
    ("seed_submitter_weave", "1.10.17"): {
        "writes": [
            (
                "POST",
                "/v2/apps",
                {
                    "id": "/submitter",
                    "instances": 1,
                    "cpus": 1.0,
                    "mem": 2048.0,
                    "disk": 50000.0,
                    "env": {"WEAVE_CIDR": "ip:172.16.0.1/24"},
                    "labels": {},
                    "constraints": [],
                    "healthChecks": [],
                    "container": {
                        "type": "DOCKER",
                        "docker": {
                            "image": "scidas/kinc-submitter",
                            "privileged": False,
                            "forcePullImage": False,
                            "parameters": [],
                        },
                        "volumes": [],
                        "portMappings": [{"containerPort": 22, "hostPort": 0, "protocol": "tcp"}],
                    },
                    "args": [
                        "-f",
                        "172.16.0.2,172.16.0.3",
                        "-k",
                        "<ssh-pubkey>",
                        "-u",
                        "<irods-user>",
                        "-p",
                        "<irods-password>",
                        "-h",
                        "<irods-host>",
                        "-z",
                        "<irods-zone>",
                        "-P",
                        "<irods-port>",
                    ],
                    "networks": [{"mode": "container/bridge"}],
                },
            ),
            (
                "PUT",
                "/v2/apps/submitter",
                {
                    "id": "/submitter",
                    "instances": 1,
                    "cpus": 3.0,
                    "mem": 2048.0,
                    "disk": 50000.0,
                    "env": {"N": "5", "WEAVE_CIDR": "ip:172.16.0.1/24"},
                    "labels": {},
                    "constraints": [],
                    "healthChecks": [],
                    "container": {
                        "type": "DOCKER",
                        "docker": {
                            "image": "scidas/kinc-submitter",
                            "privileged": False,
                            "forcePullImage": False,
                            "parameters": [],
                        },
                        "volumes": [],
                        "portMappings": [{"containerPort": 22, "hostPort": 0, "protocol": "tcp"}],
                    },
                    "args": [
                        "-f",
                        "172.16.0.2,172.16.0.3",
                        "-k",
                        "<ssh-pubkey>",
                        "-u",
                        "<irods-user>",
                        "-p",
                        "<irods-password>",
                        "-h",
                        "<irods-host>",
                        "-z",
                        "<irods-zone>",
                        "-P",
                        "<irods-port>",
                    ],
                    "networks": [{"mode": "container/bridge"}],
                },
            ),
        ],
        "changes": ["cpus", "env.N"],
    },
    ("seed_runner2_docker_network", "1.4.3"): {
        "writes": [
            (
                "POST",
                "/v2/apps",
                {
                    "id": "/runner2",
                    "instances": 1,
                    "cpus": 4.0,
                    "mem": 4096.0,
                    "disk": 10000.0,
                    "env": {},
                    "labels": {},
                    "constraints": [],
                    "healthChecks": [],
                    "container": {
                        "type": "DOCKER",
                        "docker": {
                            "image": "scidas/htcondor-worker-centos7",
                            "privileged": False,
                            "forcePullImage": False,
                            "parameters": [
                                {"key": "hostname", "value": "runner2"},
                                {"key": "label", "value": "cloudflock.role=executor"},
                                {"key": "net", "value": "flocknet"},
                                {"key": "ip", "value": "172.16.0.3"},
                            ],
                            "portMappings": [],
                            "network": "USER",
                        },
                        "volumes": [],
                    },
                    "args": [
                        "-u",
                        "<ssh-pubkey>",
                        "-p",
                        "<irods-password>",
                        "-h",
                        "<irods-host>",
                        "-z",
                        "<irods-zone>",
                        "-P",
                        "<irods-port>",
                    ],
                    "ipAddress": {"networkName": "flocknet"},
                },
            ),
            (
                "PUT",
                "/v2/apps/runner2",
                {
                    "id": "/runner2",
                    "instances": 1,
                    "cpus": 3.0,
                    "mem": 4096.0,
                    "disk": 10000.0,
                    "env": {"N": "5"},
                    "labels": {},
                    "constraints": [],
                    "healthChecks": [],
                    "container": {
                        "type": "DOCKER",
                        "docker": {
                            "image": "scidas/htcondor-worker-centos7",
                            "privileged": False,
                            "forcePullImage": False,
                            "parameters": [
                                {"key": "hostname", "value": "runner2"},
                                {"key": "label", "value": "cloudflock.role=executor"},
                                {"key": "net", "value": "flocknet"},
                                {"key": "ip", "value": "172.16.0.3"},
                            ],
                            "portMappings": [],
                            "network": "USER",
                        },
                        "volumes": [],
                    },
                    "args": [
                        "-u",
                        "<ssh-pubkey>",
                        "-p",
                        "<irods-password>",
                        "-h",
                        "<irods-host>",
                        "-z",
                        "<irods-zone>",
                        "-P",
                        "<irods-port>",
                    ],
                    "ipAddress": {"networkName": "flocknet"},
                },
            ),
        ],
        "changes": ["cpus", "env.N"],
    },
    ("seed_runner2_docker_network", "1.10.17"): {
        "writes": [
            (
                "POST",
                "/v2/apps",
                {
                    "id": "/runner2",
                    "instances": 1,
                    "cpus": 4.0,
                    "mem": 4096.0,
                    "disk": 10000.0,
                    "env": {},
                    "labels": {},
                    "constraints": [],
                    "healthChecks": [],
                    "container": {
                        "type": "DOCKER",
                        "docker": {
                            "image": "scidas/htcondor-worker-centos7",
                            "privileged": False,
                            "forcePullImage": False,
                            "parameters": [
                                {"key": "hostname", "value": "runner2"},
                                {"key": "label", "value": "cloudflock.role=executor"},
                                {"key": "net", "value": "flocknet"},
                                {"key": "ip", "value": "172.16.0.3"},
                            ],
                        },
                        "volumes": [],
                        "portMappings": [],
                    },
                    "args": [
                        "-u",
                        "<ssh-pubkey>",
                        "-p",
                        "<irods-password>",
                        "-h",
                        "<irods-host>",
                        "-z",
                        "<irods-zone>",
                        "-P",
                        "<irods-port>",
                    ],
                    "networks": [{"mode": "container", "name": "flocknet"}],
                },
            ),
            (
                "PUT",
                "/v2/apps/runner2",
                {
                    "id": "/runner2",
                    "instances": 1,
                    "cpus": 3.0,
                    "mem": 4096.0,
                    "disk": 10000.0,
                    "env": {"N": "5"},
                    "labels": {},
                    "constraints": [],
                    "healthChecks": [],
                    "container": {
                        "type": "DOCKER",
                        "docker": {
                            "image": "scidas/htcondor-worker-centos7",
                            "privileged": False,
                            "forcePullImage": False,
                            "parameters": [
                                {"key": "hostname", "value": "runner2"},
                                {"key": "label", "value": "cloudflock.role=executor"},
                                {"key": "net", "value": "flocknet"},
                                {"key": "ip", "value": "172.16.0.3"},
                            ],
                        },
                        "volumes": [],
                        "portMappings": [],
                    },
                    "args": [
                        "-u",
                        "<ssh-pubkey>",
                        "-p",
                        "<irods-password>",
                        "-h",
                        "<irods-host>",
                        "-z",
                        "<irods-zone>",
                        "-P",
                        "<irods-port>",
                    ],
                    "networks": [{"mode": "container", "name": "flocknet"}],
                },
            ),
        ],
        "changes": ["cpus", "env.N"],
    },
    ("every_option", "1.4.3"): {
        "writes": [
            (
                "POST",
                "/v2/apps",
                {
                    "id": "/flock/executor-a",
                    "instances": 2,
                    "cpus": 2.0,
                    "mem": 1024.5,
                    "disk": 0,
                    "env": {
                        "N": "4",
                        "ON": "true",
                        "OFF": "false",
                        "NONE": "",
                        "TEXT": "x",
                        "WEAVE_CIDR": "ip:10.32.7.9/12",
                    },
                    "labels": {"pool": "executor", "weight": "2"},
                    "constraints": [["hostname", "UNIQUE"], ["rack", "GROUP_BY", "3"]],
                    "healthChecks": [{"protocol": "TCP", "portIndex": 0, "gracePeriodSeconds": 30}],
                    "container": {
                        "type": "DOCKER",
                        "docker": {
                            "image": "cloudflock/executor:1.2",
                            "privileged": True,
                            "forcePullImage": True,
                            "parameters": [
                                {"key": "sysctl", "value": "net.ipv4.tcp_keepalive_intvl=5"},
                                {"key": "init", "value": ""},
                            ],
                            "portMappings": [
                                {
                                    "containerPort": 9618,
                                    "hostPort": 9618,
                                    "protocol": "tcp",
                                    "name": "condor",
                                    "labels": {"vip": "1"},
                                },
                                {"containerPort": 53, "hostPort": 0, "protocol": "udp,tcp"},
                            ],
                            "network": "BRIDGE",
                        },
                        "volumes": [
                            {"containerPath": "/var/lib/condor", "mode": "RW", "hostPath": "/srv/condor"},
                            {"containerPath": "/scratch", "mode": "RO"},
                        ],
                    },
                },
            ),
            (
                "PUT",
                "/v2/apps/flock/executor-a",
                {
                    "id": "/flock/executor-a",
                    "instances": 2,
                    "cpus": 3.0,
                    "mem": 1024.5,
                    "disk": 0,
                    "env": {"N": "5", "WEAVE_CIDR": "ip:10.32.7.9/12"},
                    "labels": {"pool": "executor", "weight": "2"},
                    "constraints": [["hostname", "UNIQUE"], ["rack", "GROUP_BY", "3"]],
                    "healthChecks": [{"protocol": "TCP", "portIndex": 0, "gracePeriodSeconds": 30}],
                    "container": {
                        "type": "DOCKER",
                        "docker": {
                            "image": "cloudflock/executor:1.2",
                            "privileged": True,
                            "forcePullImage": True,
                            "parameters": [
                                {"key": "sysctl", "value": "net.ipv4.tcp_keepalive_intvl=5"},
                                {"key": "init", "value": ""},
                            ],
                            "portMappings": [
                                {
                                    "containerPort": 9618,
                                    "hostPort": 9618,
                                    "protocol": "tcp",
                                    "name": "condor",
                                    "labels": {"vip": "1"},
                                },
                                {"containerPort": 53, "hostPort": 0, "protocol": "udp,tcp"},
                            ],
                            "network": "BRIDGE",
                        },
                        "volumes": [
                            {"containerPath": "/var/lib/condor", "mode": "RW", "hostPath": "/srv/condor"},
                            {"containerPath": "/scratch", "mode": "RO"},
                        ],
                    },
                },
            ),
        ],
        "changes": ["cpus", "env.N", "env.NONE", "env.OFF", "env.ON", "env.TEXT"],
        "diff": {
            "before": {
                "id": "/flock/executor-a",
                "instances": 2,
                "cpus": 2.0,
                "mem": 1024.5,
                "disk": 0,
                "args": [],
                "cmd": None,
                "env": {
                    "N": "4",
                    "ON": "true",
                    "OFF": "false",
                    "NONE": "",
                    "TEXT": "x",
                    "WEAVE_CIDR": "ip:10.32.7.9/12",
                },
                "labels": {"pool": "executor", "weight": "2"},
                "constraints": [["hostname", "UNIQUE"], ["rack", "GROUP_BY", "3"]],
                "healthChecks": [
                    {
                        "gracePeriodSeconds": 30,
                        "intervalSeconds": 60,
                        "timeoutSeconds": 20,
                        "maxConsecutiveFailures": 3,
                        "delaySeconds": 15,
                        "ignoreHttp1xx": False,
                        "protocol": "TCP",
                        "portIndex": 0,
                    }
                ],
                "container": {
                    "type": "DOCKER",
                    "docker": {
                        "image": "cloudflock/executor:1.2",
                        "privileged": True,
                        "forcePullImage": True,
                        "parameters": [
                            {"key": "sysctl", "value": "net.ipv4.tcp_keepalive_intvl=5"},
                            {"key": "init", "value": ""},
                        ],
                        "portMappings": [
                            {
                                "containerPort": 9618,
                                "hostPort": 9618,
                                "protocol": "tcp",
                                "name": "condor",
                                "labels": {"vip": "1"},
                            },
                            {"containerPort": 53, "hostPort": 0, "protocol": "udp,tcp"},
                        ],
                        "network": "BRIDGE",
                    },
                    "volumes": [
                        {"containerPath": "/var/lib/condor", "mode": "RW", "hostPath": "/srv/condor"},
                        {"containerPath": "/scratch", "mode": "RO"},
                    ],
                },
                "ipAddress": None,
            },
            "after": {
                "id": "/flock/executor-a",
                "instances": 2,
                "cpus": 3.0,
                "mem": 1024.5,
                "disk": 0,
                "args": [],
                "cmd": None,
                "env": {"N": "5", "WEAVE_CIDR": "ip:10.32.7.9/12"},
                "labels": {"pool": "executor", "weight": "2"},
                "constraints": [["hostname", "UNIQUE"], ["rack", "GROUP_BY", "3"]],
                "healthChecks": [
                    {
                        "gracePeriodSeconds": 30,
                        "intervalSeconds": 60,
                        "timeoutSeconds": 20,
                        "maxConsecutiveFailures": 3,
                        "delaySeconds": 15,
                        "ignoreHttp1xx": False,
                        "protocol": "TCP",
                        "portIndex": 0,
                    }
                ],
                "container": {
                    "type": "DOCKER",
                    "docker": {
                        "image": "cloudflock/executor:1.2",
                        "privileged": True,
                        "forcePullImage": True,
                        "parameters": [
                            {"key": "sysctl", "value": "net.ipv4.tcp_keepalive_intvl=5"},
                            {"key": "init", "value": ""},
                        ],
                        "portMappings": [
                            {
                                "containerPort": 9618,
                                "hostPort": 9618,
                                "protocol": "tcp",
                                "name": "condor",
                                "labels": {"vip": "1"},
                            },
                            {"containerPort": 53, "hostPort": 0, "protocol": "udp,tcp"},
                        ],
                        "network": "BRIDGE",
                    },
                    "volumes": [
                        {"containerPath": "/var/lib/condor", "mode": "RW", "hostPath": "/srv/condor"},
                        {"containerPath": "/scratch", "mode": "RO"},
                    ],
                },
                "ipAddress": None,
            },
        },
    },
    ("every_option", "1.10.17"): {
        "writes": [
            (
                "POST",
                "/v2/apps",
                {
                    "id": "/flock/executor-a",
                    "instances": 2,
                    "cpus": 2.0,
                    "mem": 1024.5,
                    "disk": 0,
                    "env": {
                        "N": "4",
                        "ON": "true",
                        "OFF": "false",
                        "NONE": "",
                        "TEXT": "x",
                        "WEAVE_CIDR": "ip:10.32.7.9/12",
                    },
                    "labels": {"pool": "executor", "weight": "2"},
                    "constraints": [["hostname", "UNIQUE"], ["rack", "GROUP_BY", "3"]],
                    "healthChecks": [{"protocol": "TCP", "portIndex": 0, "gracePeriodSeconds": 30}],
                    "container": {
                        "type": "DOCKER",
                        "docker": {
                            "image": "cloudflock/executor:1.2",
                            "privileged": True,
                            "forcePullImage": True,
                            "parameters": [
                                {"key": "sysctl", "value": "net.ipv4.tcp_keepalive_intvl=5"},
                                {"key": "init", "value": ""},
                            ],
                        },
                        "volumes": [
                            {"containerPath": "/var/lib/condor", "mode": "RW", "hostPath": "/srv/condor"},
                            {"containerPath": "/scratch", "mode": "RO"},
                        ],
                        "portMappings": [
                            {
                                "containerPort": 9618,
                                "hostPort": 9618,
                                "protocol": "tcp",
                                "name": "condor",
                                "labels": {"vip": "1"},
                            },
                            {"containerPort": 53, "hostPort": 0, "protocol": "udp,tcp"},
                        ],
                    },
                    "networks": [{"mode": "container/bridge"}],
                },
            ),
            (
                "PUT",
                "/v2/apps/flock/executor-a",
                {
                    "id": "/flock/executor-a",
                    "instances": 2,
                    "cpus": 3.0,
                    "mem": 1024.5,
                    "disk": 0,
                    "env": {"N": "5", "WEAVE_CIDR": "ip:10.32.7.9/12"},
                    "labels": {"pool": "executor", "weight": "2"},
                    "constraints": [["hostname", "UNIQUE"], ["rack", "GROUP_BY", "3"]],
                    "healthChecks": [{"protocol": "TCP", "portIndex": 0, "gracePeriodSeconds": 30}],
                    "container": {
                        "type": "DOCKER",
                        "docker": {
                            "image": "cloudflock/executor:1.2",
                            "privileged": True,
                            "forcePullImage": True,
                            "parameters": [
                                {"key": "sysctl", "value": "net.ipv4.tcp_keepalive_intvl=5"},
                                {"key": "init", "value": ""},
                            ],
                        },
                        "volumes": [
                            {"containerPath": "/var/lib/condor", "mode": "RW", "hostPath": "/srv/condor"},
                            {"containerPath": "/scratch", "mode": "RO"},
                        ],
                        "portMappings": [
                            {
                                "containerPort": 9618,
                                "hostPort": 9618,
                                "protocol": "tcp",
                                "name": "condor",
                                "labels": {"vip": "1"},
                            },
                            {"containerPort": 53, "hostPort": 0, "protocol": "udp,tcp"},
                        ],
                    },
                    "networks": [{"mode": "container/bridge"}],
                },
            ),
        ],
        "changes": ["cpus", "env.N", "env.NONE", "env.OFF", "env.ON", "env.TEXT"],
        "diff": {
            "before": {
                "id": "/flock/executor-a",
                "instances": 2,
                "cpus": 2.0,
                "mem": 1024.5,
                "disk": 0,
                "args": [],
                "cmd": None,
                "env": {
                    "N": "4",
                    "ON": "true",
                    "OFF": "false",
                    "NONE": "",
                    "TEXT": "x",
                    "WEAVE_CIDR": "ip:10.32.7.9/12",
                },
                "labels": {"pool": "executor", "weight": "2"},
                "constraints": [["hostname", "UNIQUE"], ["rack", "GROUP_BY", "3"]],
                "healthChecks": [
                    {
                        "gracePeriodSeconds": 30,
                        "intervalSeconds": 60,
                        "timeoutSeconds": 20,
                        "maxConsecutiveFailures": 3,
                        "delaySeconds": 15,
                        "ignoreHttp1xx": False,
                        "protocol": "TCP",
                        "portIndex": 0,
                    }
                ],
                "container": {
                    "type": "DOCKER",
                    "docker": {
                        "image": "cloudflock/executor:1.2",
                        "privileged": True,
                        "forcePullImage": True,
                        "parameters": [
                            {"key": "sysctl", "value": "net.ipv4.tcp_keepalive_intvl=5"},
                            {"key": "init", "value": ""},
                        ],
                    },
                    "volumes": [
                        {"containerPath": "/var/lib/condor", "mode": "RW", "hostPath": "/srv/condor"},
                        {"containerPath": "/scratch", "mode": "RO"},
                    ],
                    "portMappings": [
                        {
                            "containerPort": 9618,
                            "hostPort": 9618,
                            "protocol": "tcp",
                            "name": "condor",
                            "labels": {"vip": "1"},
                        },
                        {"containerPort": 53, "hostPort": 0, "protocol": "udp,tcp"},
                    ],
                },
                "networks": [{"mode": "container/bridge"}],
            },
            "after": {
                "id": "/flock/executor-a",
                "instances": 2,
                "cpus": 3.0,
                "mem": 1024.5,
                "disk": 0,
                "args": [],
                "cmd": None,
                "env": {"N": "5", "WEAVE_CIDR": "ip:10.32.7.9/12"},
                "labels": {"pool": "executor", "weight": "2"},
                "constraints": [["hostname", "UNIQUE"], ["rack", "GROUP_BY", "3"]],
                "healthChecks": [
                    {
                        "gracePeriodSeconds": 30,
                        "intervalSeconds": 60,
                        "timeoutSeconds": 20,
                        "maxConsecutiveFailures": 3,
                        "delaySeconds": 15,
                        "ignoreHttp1xx": False,
                        "protocol": "TCP",
                        "portIndex": 0,
                    }
                ],
                "container": {
                    "type": "DOCKER",
                    "docker": {
                        "image": "cloudflock/executor:1.2",
                        "privileged": True,
                        "forcePullImage": True,
                        "parameters": [
                            {"key": "sysctl", "value": "net.ipv4.tcp_keepalive_intvl=5"},
                            {"key": "init", "value": ""},
                        ],
                    },
                    "volumes": [
                        {"containerPath": "/var/lib/condor", "mode": "RW", "hostPath": "/srv/condor"},
                        {"containerPath": "/scratch", "mode": "RO"},
                    ],
                    "portMappings": [
                        {
                            "containerPort": 9618,
                            "hostPort": 9618,
                            "protocol": "tcp",
                            "name": "condor",
                            "labels": {"vip": "1"},
                        },
                        {"containerPort": 53, "hostPort": 0, "protocol": "udp,tcp"},
                    ],
                },
                "networks": [{"mode": "container/bridge"}],
            },
        },
    },
    ("unpinned_empty_args", "1.4.3"): {
        "writes": [
            (
                "POST",
                "/v2/apps",
                {
                    "id": "/plain",
                    "instances": 1,
                    "cpus": 1.0,
                    "mem": 128.0,
                    "disk": 10.0,
                    "env": {},
                    "labels": {},
                    "constraints": [],
                    "healthChecks": [],
                    "container": {
                        "type": "DOCKER",
                        "docker": {
                            "image": "busybox",
                            "privileged": False,
                            "forcePullImage": False,
                            "parameters": [],
                            "portMappings": [],
                            "network": "BRIDGE",
                        },
                        "volumes": [],
                    },
                    "args": [],
                },
            ),
            (
                "PUT",
                "/v2/apps/plain",
                {
                    "id": "/plain",
                    "instances": 1,
                    "cpus": 3.0,
                    "mem": 128.0,
                    "disk": 10.0,
                    "env": {"N": "5"},
                    "labels": {},
                    "constraints": [],
                    "healthChecks": [],
                    "container": {
                        "type": "DOCKER",
                        "docker": {
                            "image": "busybox",
                            "privileged": False,
                            "forcePullImage": False,
                            "parameters": [],
                            "portMappings": [],
                            "network": "BRIDGE",
                        },
                        "volumes": [],
                    },
                    "args": [],
                },
            ),
        ],
        "changes": ["cpus", "env.N"],
    },
    ("unpinned_empty_args", "1.10.17"): {
        "writes": [
            (
                "POST",
                "/v2/apps",
                {
                    "id": "/plain",
                    "instances": 1,
                    "cpus": 1.0,
                    "mem": 128.0,
                    "disk": 10.0,
                    "env": {},
                    "labels": {},
                    "constraints": [],
                    "healthChecks": [],
                    "container": {
                        "type": "DOCKER",
                        "docker": {"image": "busybox", "privileged": False, "forcePullImage": False, "parameters": []},
                        "volumes": [],
                        "portMappings": [],
                    },
                    "args": [],
                    "networks": [{"mode": "container/bridge"}],
                },
            ),
            (
                "PUT",
                "/v2/apps/plain",
                {
                    "id": "/plain",
                    "instances": 1,
                    "cpus": 3.0,
                    "mem": 128.0,
                    "disk": 10.0,
                    "env": {"N": "5"},
                    "labels": {},
                    "constraints": [],
                    "healthChecks": [],
                    "container": {
                        "type": "DOCKER",
                        "docker": {"image": "busybox", "privileged": False, "forcePullImage": False, "parameters": []},
                        "volumes": [],
                        "portMappings": [],
                    },
                    "args": [],
                    "networks": [{"mode": "container/bridge"}],
                },
            ),
        ],
        "changes": ["cpus", "env.N"],
    },
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
