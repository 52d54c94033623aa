# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""Filters that turn the normalised flock spec into Docker's vocabulary, and compare it with what runs."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.cloudflock.htcondor.plugins.module_utils.marathon_options import app_id_in_group


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


def marathon_app_id(group: str, pool: str) -> str:
    """The Marathon app id of a pool in the deployment's app group (the one rule marathon_app_info joins by)."""
    return app_id_in_group(group, pool)


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


Found = dict[str, list[dict[str, Any]]]


def stale_pools(spec: dict[str, Any], deployment: str, docker_containers: Found | None = None,
                marathon_apps: Found | None = None, app_group: str = "") -> list[dict[str, str]]:
    """The deployment's pools that run but that the spec no longer names, [{id, cluster, role, name}] sorted.

    ``docker_containers`` maps each Docker host of the spec's docker clusters to its containers as Docker's
    API lists them (Names, Labels): a container of the deployment is one of those a docker cluster made when
    it is named <deployment>-<pool> (a Marathon task's container on the same engine is not), and stale when
    no docker cluster of that host names its pool (nor of another host that lists the same container: one
    engine under two names). ``marathon_apps`` maps each marathon cluster's id to the
    apps its Marathon lists: those under ``app_group`` are the deployment's, stale when that cluster holds no
    pool of their id (the id below the group). ``name`` is the container's name or the app's id."""
    spec, docker_containers, marathon_apps = spec or {}, docker_containers or {}, marathon_apps or {}
    clusters, containers = spec.get("clusters") or [], spec.get("containers") or []

    def named_in(cluster_ids: list[str]) -> set[str]:
        return {container["id"] for container in containers if container["cluster"] in cluster_ids}

    stale: list[dict[str, str]] = []
    # Two inventory hosts may be one engine (a container listed by both, by its Id): what either's clusters
    # name is named there.
    listed_by: dict[str, list[str]] = {}
    for host, found in docker_containers.items():
        for container in found or []:
            listed_by.setdefault(str(container.get("Id") or id(container)), []).append(host)
    seen: set[str] = set()
    for host, found in docker_containers.items():
        on_host = [c["id"] for c in clusters if c.get("type") == "docker" and c.get("docker_host") == host]
        if not on_host:
            raise AnsibleFilterError(f"stale_pools: {host!r} is the docker_host of no docker cluster of the spec")
        for container in found or []:
            key = str(container.get("Id") or id(container))
            if key in seen:
                continue
            seen.add(key)
            engine_hosts = listed_by[key]
            named = named_in([c["id"] for c in clusters
                              if c.get("type") == "docker" and c.get("docker_host") in engine_hosts])
            labels = container.get("Labels") or {}
            pool = labels.get("cloudflock.pool") or ""
            name = f"{deployment}-{pool}"
            if (labels.get("cloudflock.deployment") != deployment or not pool or pool in named
                    or name not in [str(n).lstrip("/") for n in container.get("Names") or []]):
                continue
            stale.append({"id": pool, "cluster": on_host[0], "role": labels.get("cloudflock.role") or "executor",
                          "name": name})
    if marathon_apps and not str(app_group).strip("/"):
        raise AnsibleFilterError(f"stale_pools: app_group {app_group!r} names no Marathon group")
    prefix = "/" + str(app_group).strip("/") + "/"
    for cluster_id, apps in marathon_apps.items():
        if cluster_id not in [c["id"] for c in clusters if c.get("type") == "marathon"]:
            raise AnsibleFilterError(f"stale_pools: {cluster_id!r} is no marathon cluster of the spec")
        named = named_in([cluster_id])
        for app in apps or []:
            app_id = "/" + str(app.get("id", "")).strip("/")
            pool = app_id[len(prefix):] if app_id.startswith(prefix) else ""
            if not pool or pool in named:
                continue
            stale.append({"id": pool, "cluster": cluster_id, "role": _app_role(app), "name": app_id})
    return sorted(stale, key=lambda pool: (pool["cluster"], pool["id"]))


def _app_role(app: dict[str, Any]) -> str:
    """The cloudflock.role label a Marathon app gives its container (a docker parameter), executor without."""
    docker = (app.get("container") or {}).get("docker") or {}
    for parameter in docker.get("parameters") or []:
        key, sep, value = str(parameter.get("value", "")).partition("=")
        if parameter.get("key") == "label" and key == "cloudflock.role" and sep and value:
            return value
    return "executor"


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"docker_ports": docker_ports, "stringify": stringify, "jobs_by_cluster": jobs_by_cluster,
                "stale_pools": stale_pools, "marathon_app_id": marathon_app_id}
