# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""Which pools' credentials belong on a host that runs pool containers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError


def _machine(host: str, hostvars: Mapping[str, Any]) -> tuple[str, str]:
    """What tells machines apart: the controller itself for local connections, else connection and address."""
    variables = hostvars[host] if host in hostvars else {}
    connection = str(variables.get("ansible_connection") or "ssh")
    if connection == "local":
        return ("local", "")
    return (connection, str(variables.get("ansible_host") or host))


def host_pools(spec: dict[str, Any], host: str, agents_by_cluster: dict[str, list[str]] | None = None,
               hostvars: Mapping[str, Any] | None = None) -> list[str]:
    """The pools of the spec whose credentials belong on ``host``: the pools of the docker clusters whose
    docker_host it is and of the marathon clusters it is an agent of (``agents_by_cluster``: Marathon may place
    any pool of a cluster on any of its agents), counting every inventory host that is the same machine
    (``hostvars``: the same address, or the controller itself), since they share one directory. In spec order."""
    spec, agents_by_cluster, hostvars = spec or {}, agents_by_cluster or {}, hostvars or {}
    if not isinstance(spec.get("clusters"), list) or not isinstance(spec.get("containers"), list):
        raise AnsibleFilterError("host_pools: the first argument is not a validated flock spec")
    docker_hosts = [c.get("docker_host") for c in spec["clusters"] if c.get("type") == "docker"]
    inventory = {str(h) for h in docker_hosts if h} | {str(a) for agents in agents_by_cluster.values() for a in agents}
    same = {other for other in inventory | {host} if _machine(other, hostvars) == _machine(host, hostvars)}
    clusters = {c["id"] for c in spec["clusters"] if c.get("type") == "docker" and c.get("docker_host") in same}
    clusters |= {cluster for cluster, agents in agents_by_cluster.items() if same.intersection(agents)}
    return [c["id"] for c in spec["containers"] if c.get("cluster") in clusters]


def other_machines(hosts: list[str], keep: list[str], hostvars: Mapping[str, Any] | None = None) -> list[str]:
    """The ``hosts`` that are no machine of ``keep`` (by ``hostvars``, as host_pools tells machines apart): a
    directory removed there is not one that a host of ``keep`` shares. In order, without repeats."""
    hostvars = hostvars or {}
    kept = {_machine(str(host), hostvars) for host in keep or []}
    found: list[str] = []
    for host in hosts or []:
        if _machine(str(host), hostvars) not in kept and str(host) not in found:
            found.append(str(host))
    return found


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"host_pools": host_pools, "other_machines": other_machines}
