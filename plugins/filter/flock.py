# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""Filters that turn the normalised flock spec into Docker's vocabulary."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError


def docker_ports(ports: list[dict[str, Any]]) -> list[str]:
    """Spec ports with a fixed host port, as `docker run -p` strings; host_port 0 means none is published."""
    published = []
    for port in ports or []:
        if not isinstance(port, dict) or "container_port" not in port:
            raise AnsibleFilterError(f"docker_ports: {port!r} is not a port of the spec")
        if not port.get("host_port"):
            continue
        for protocol in str(port.get("protocol", "tcp")).split(","):
            published.append(f"{port['host_port']}:{port['container_port']}/{protocol.strip()}")
    return published


def stringify(mapping: dict[str, Any]) -> dict[str, str]:
    """An environment with every value a string, as container runtimes want it."""
    return {str(key): "" if value is None else str(value) for key, value in (mapping or {}).items()}


def jobs_by_cluster(jobs_by_pool: dict[str, int], containers: list[dict[str, Any]],
                    unlisted: str | None = None) -> dict[str, int]:
    """Jobs per cluster (cloud) of the spec, from jobs per executor pool; clusters in spec order. Pools the
    containers do not list (added while the run went on) are counted under ``unlisted``, or refused without it."""
    jobs_by_pool, containers = jobs_by_pool or {}, containers or []
    unknown = sorted(set(jobs_by_pool) - {container["id"] for container in containers})
    if unknown and unlisted is None:
        raise AnsibleFilterError(f"jobs_by_cluster: pools {', '.join(unknown)} are not containers of the spec")
    counts: dict[str, int] = {}
    for container in containers:
        if container["id"] in jobs_by_pool:
            counts[container["cluster"]] = counts.get(container["cluster"], 0) + int(jobs_by_pool[container["id"]])
    if unknown:
        counts[str(unlisted)] = sum(int(jobs_by_pool[pool]) for pool in unknown)
    return counts


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"docker_ports": docker_ports, "stringify": stringify, "jobs_by_cluster": jobs_by_cluster}
