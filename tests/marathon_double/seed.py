"""The original system's JSON config (clusters, three containers, pinned network), as test data, and
its mapping onto ``cloudflock.htcondor.marathon_app`` options."""

from __future__ import annotations

import copy
from typing import Any


def _runner(container_id: str, cluster: str, n_cpus: int) -> dict[str, Any]:
    """One of the seed's two worker containers: they differ in their id, cluster and CPUs only."""
    return {
        "id": container_id,
        "cluster": cluster,
        "image": "scidas/htcondor-worker-centos7",
        "n_cpus": n_cpus,
        "mem": 4096,
        "disk": 10000,
        "ports": [],
        "args": ["-u", "<ssh-pubkey>", "-p", "<irods-password>", "-h", "<irods-host>",
                 "-z", "<irods-zone>", "-P", "<irods-port>"],
    }  # fmt: skip


SEED_CONFIG: dict[str, Any] = {
    "clusters": [
        {"id": "chameleon", "marathon_uri": "http://130.202.88.202:9090/v2/apps"},
        {"id": "azure", "marathon_uri": "http://13.90.204.206:9090/v2/apps"},
    ],
    "containers": [
        {
            "id": "submitter",
            "cluster": "chameleon",
            "image": "scidas/kinc-submitter",
            "n_cpus": 1,
            "mem": 2048,
            "disk": 50000,
            "ports": [{"container_port": 22, "host_port": 0, "protocol": "tcp"}],
            "args": ["-f", "172.16.0.2,172.16.0.3", "-k", "<ssh-pubkey>", "-u", "<irods-user>",
                     "-p", "<irods-password>", "-h", "<irods-host>", "-z", "<irods-zone>", "-P", "<irods-port>"],
        },
        _runner("runner1", "chameleon", 12),
        _runner("runner2", "azure", 4),
    ],
    "network": {
        "cidr": "172.16.0.0/24",
        "containers": [
            {"id": "submitter", "ip_addr": "172.16.0.1"},
            {"id": "runner1", "ip_addr": "172.16.0.2"},
            {"id": "runner2", "ip_addr": "172.16.0.3"},
        ],
    },
}  # fmt: skip


def seed_app_options(container_id: str, **overrides: Any) -> dict[str, Any]:
    """marathon_app options for one seed container (without marathon_url), with ``overrides``."""
    container = next(c for c in SEED_CONFIG["containers"] if c["id"] == container_id)
    address = next(n["ip_addr"] for n in SEED_CONFIG["network"]["containers"] if n["id"] == container_id)
    options: dict[str, Any] = {
        "id": container["id"],
        "image": container["image"],
        "cpus": container["n_cpus"],
        "mem": container["mem"],
        "disk": container["disk"],
        "ports": copy.deepcopy(container["ports"]),
        "args": list(container["args"]),
        "ip_address": address,
        "network_cidr": SEED_CONFIG["network"]["cidr"],
        "ip_mode": "weave",
    }
    options.update(overrides)
    return options


def seed_container_ids() -> list[str]:
    return [c["id"] for c in SEED_CONFIG["containers"]]
