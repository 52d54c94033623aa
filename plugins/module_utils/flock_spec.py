# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""The declarative pool spec: clusters, containers and their network, as in the seed's JSON config.

`normalize_spec` takes the seed's JSON shape (``n_cpus``, ``marathon_uri``, ``ip_addr``) or ours (``cpus``,
``marathon_url``, ``ip``) and returns one canonical dict, or raises `SpecError` listing every problem with
the field it is in (``containers[2].cpus``) and the bad value. Nothing is created from an invalid spec: the
playbooks validate first. A marathon cluster may name its Mesos agents (``agents``, inventory host names);
empty means the inventory group ``mesos_agents``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

CLUSTER_TYPES = ("docker", "marathon")
ROLES = ("submitter", "executor")
PROTOCOLS = ("tcp", "udp", "udp,tcp", "tcp,udp")
_ID_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


class SpecError(ValueError):
    """The spec is invalid; `problems` holds one message per bad field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid flock spec:\n  - " + "\n  - ".join(problems))


def _number(problems: list[str], where: str, value: Any, *, integer: bool = False) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str):
            try:
                value = int(value) if integer else float(value)
            except ValueError:
                problems.append(f"{where}: {value!r} is not a number")
                return None
        else:
            problems.append(f"{where}: {value!r} is not a number")
            return None
    if value <= 0:
        problems.append(f"{where}: {value!r} must be positive")
        return None
    if integer and int(value) != value:
        problems.append(f"{where}: {value!r} must be a whole number")
        return None
    return int(value) if integer else value


def _entry_id(problems: list[str], where: str, raw: Any) -> str | None:
    """The id of a cluster or container entry, or None after recording why it has none."""
    if not isinstance(raw, dict):
        problems.append(f"{where}: {raw!r} is not a mapping")
        return None
    cid = raw.get("id")
    if not isinstance(cid, str) or not _ID_PATTERN.match(cid):
        problems.append(f"{where}.id: {cid!r} must be lower-case letters, digits and dashes")
        return None
    return cid


def _cluster(problems: list[str], index: int, raw: Any) -> dict[str, Any] | None:
    where = f"clusters[{index}]"
    cid = _entry_id(problems, where, raw)
    if cid is None:
        return None
    url = raw.get("marathon_url", raw.get("marathon_uri"))
    ctype = raw.get("type", "marathon" if url else "docker")
    if ctype not in CLUSTER_TYPES:
        problems.append(f"{where}.type: {ctype!r} is not one of {', '.join(CLUSTER_TYPES)}")
        return None
    cluster: dict[str, Any] = {"id": cid, "type": ctype}
    if ctype == "marathon":
        if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+", url):
            problems.append(f"{where}.marathon_url: {url!r} is not an http(s) URL")
            return None
        # The seed gave the apps endpoint itself; the base URL is what every call needs.
        cluster["marathon_url"] = re.sub(r"/v2/apps/?$", "", url.rstrip("/"))
        cluster["agents"] = _agents(problems, f"{where}.agents", raw.get("agents"))
    elif "agents" in raw:
        problems.append(f"{where}.agents: {raw['agents']!r} is only for marathon clusters (a docker cluster "
                        "has its docker_host)")
    cluster["docker_host"] = raw.get("docker_host", "localhost")
    return cluster


def _agents(problems: list[str], where: str, raw: Any) -> list[str]:
    """The inventory hosts that are the cluster's Mesos agents; empty means the group mesos_agents."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(host, str) and host.strip() for host in raw):
        problems.append(f"{where}: {raw!r} must be a list of inventory host names")
        return []
    duplicates = sorted({host for host in raw if raw.count(host) > 1})
    if duplicates:
        problems.append(f"{where}: {', '.join(duplicates)} listed more than once")
    return list(raw)


def _ports(problems: list[str], where: str, raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(f"{where}: {raw!r} is not a list")
        return []
    ports = []
    for index, port in enumerate(raw):
        here = f"{where}[{index}]"
        if not isinstance(port, dict):
            problems.append(f"{here}: {port!r} is not a mapping")
            continue
        protocol = port.get("protocol", "tcp")
        if protocol not in PROTOCOLS:
            problems.append(f"{here}.protocol: {protocol!r} is not one of tcp, udp, udp,tcp")
        # One spelling for both protocols, the one Marathon uses.
        entry = {"protocol": "udp,tcp" if protocol == "tcp,udp" else protocol}
        for key in ("container_port", "host_port"):
            value = port.get(key, 0 if key == "host_port" else None)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
                problems.append(f"{here}.{key}: {value!r} is not a port number (0-65535)")
            entry[key] = value
        if entry.get("container_port") == 0:
            problems.append(f"{here}.container_port: 0 is not a port a container can listen on")
        ports.append(entry)
    return ports


def _role(raw: dict[str, Any]) -> str:
    if "role" in raw:
        return raw["role"]
    # The seed's config has no role: its submitter is the container named or imaged as one.
    named = f"{raw.get('id', '')} {raw.get('image', '')}"
    return "submitter" if "submitter" in named else "executor"


def _container(problems: list[str], index: int, raw: Any, clusters: dict[str, dict[str, Any]]) -> dict | None:
    where = f"containers[{index}]"
    cid = _entry_id(problems, where, raw)
    if cid is None:
        return None
    cluster = raw.get("cluster")
    if cluster not in clusters:
        problems.append(f"{where}.cluster: {cluster!r} is not a cluster of the spec ({', '.join(clusters)})")
    role = _role(raw)
    if role not in ROLES:
        problems.append(f"{where}.role: {role!r} is not one of {', '.join(ROLES)}")
    cpus = _number(problems, f"{where}.cpus", raw.get("cpus", raw.get("n_cpus", 1)))
    mem = _number(problems, f"{where}.mem", raw.get("mem", 1024), integer=True)
    disk = raw.get("disk", 0)
    if isinstance(disk, bool) or not isinstance(disk, (int, float)) or disk < 0:
        problems.append(f"{where}.disk: {disk!r} must be a number of MB, 0 or more")
    args = raw.get("args", [])
    if not isinstance(args, list) or not all(isinstance(arg, (str, int, float)) for arg in args):
        problems.append(f"{where}.args: {args!r} must be a list of strings")
        args = []
    env = raw.get("env", {})
    if not isinstance(env, dict):
        problems.append(f"{where}.env: {env!r} must be a mapping")
        env = {}
    return {
        "id": cid,
        "cluster": cluster,
        "role": role,
        "image": raw.get("image"),
        "cpus": cpus,
        "mem": mem,
        "disk": disk,
        "ports": _ports(problems, f"{where}.ports", raw.get("ports")),
        "args": [str(arg) for arg in args],
        "env": {str(k): str(v) for k, v in env.items()},
    }


def _network(problems: list[str], raw: Any, containers: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        problems.append(f"network: {raw!r} is not a mapping")
        return None
    cidr = raw.get("cidr")
    try:
        net = ipaddress.ip_network(str(cidr), strict=True)
    except ValueError as error:
        problems.append(f"network.cidr: {cidr!r} is not a network in CIDR notation ({error})")
        return None
    if net.version != 4 or net.prefixlen > 30:
        problems.append(f"network.cidr: {cidr!r} must be an IPv4 network with room for hosts (/30 or wider)")
        return None
    addresses: dict[str, str] = {}
    seen_ips: dict[str, str] = {}
    for index, entry in enumerate(raw.get("containers") or []):
        where = f"network.containers[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: {entry!r} is not a mapping")
            continue
        cid, ip = entry.get("id"), entry.get("ip", entry.get("ip_addr"))
        if cid not in containers:
            problems.append(f"{where}.id: {cid!r} is not a container of the spec")
            continue
        if cid in addresses:
            problems.append(f"{where}.id: {cid!r} has a second address")
            continue
        try:
            address = ipaddress.ip_address(str(ip))
        except ValueError:
            problems.append(f"{where}.ip: {ip!r} is not an IP address")
            addresses[cid] = ""
            continue
        if address not in net:
            problems.append(f"{where}.ip: {ip} is outside network.cidr {net}")
        elif address in (net.network_address, net.broadcast_address):
            kind = "network" if address == net.network_address else "broadcast"
            problems.append(f"{where}.ip: {ip} is the {kind} address of {net}")
        elif str(address) in seen_ips:
            problems.append(f"{where}.ip: {ip} is already the address of {seen_ips[str(address)]!r}")
        seen_ips.setdefault(str(address), cid)
        addresses[cid] = str(address)
    for cid in containers:
        if cid not in addresses:
            problems.append(f"network.containers: container {cid!r} has no address")
    gateway = raw.get("gateway")
    if gateway is None:
        free = [str(host) for host in reversed(list(net.hosts())) if str(host) not in seen_ips]
        gateway = free[0] if free else None
        if gateway is None:
            problems.append(f"network.cidr: {net} has no address left for the network's gateway")
    else:
        try:
            gw = ipaddress.ip_address(str(gateway))
        except ValueError:
            gw = None
        if gw is None or gw not in net or gw in (net.network_address, net.broadcast_address):
            problems.append(f"network.gateway: {gateway!r} is not a host address of {net}")
        elif str(gw) in seen_ips:
            problems.append(f"network.gateway: {gateway} is already the address of {seen_ips[str(gw)]!r}")
    driver = raw.get("driver", "bridge")
    ip_range = _ip_range(problems, raw.get("ip_range"), net, seen_ips, required=driver == "overlay")
    name = raw.get("name", "cloudflock")
    if not isinstance(name, str) or not re.match(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", name):
        problems.append(f"network.name: {name!r} is not a valid network name")
    return {
        "cidr": str(net),
        "prefix": net.prefixlen,
        "name": name,
        "gateway": gateway,
        "driver": driver,
        "ip_range": ip_range,
        "addresses": addresses,
    }


# The smallest block Docker may hand out addresses from by itself: a swarm overlay takes one per node for
# its load balancer, plus any container started without a pinned address.
_SMALLEST_IP_RANGE = 29


def _ip_range(problems: list[str], raw: Any, net: ipaddress.IPv4Network, pinned: dict[str, str],
              required: bool) -> str:
    """The part of the network Docker allocates from on its own, kept clear of the pinned addresses: the
    spec's ip_range, checked, or else the largest block of the network without a pinned address (the highest
    one of that size). Without such a block it is empty, an error where it is required (an overlay)."""
    if raw is not None:
        try:
            block = ipaddress.ip_network(str(raw), strict=True)
        except ValueError as error:
            problems.append(f"network.ip_range: {raw!r} is not a network in CIDR notation ({error})")
            return ""
        if block.version != 4 or not block.subnet_of(net):
            problems.append(f"network.ip_range: {raw} is not inside network.cidr {net}")
            return ""
        inside = [f"{ip} ({cid!r})" for ip, cid in pinned.items() if ipaddress.ip_address(ip) in block]
        if inside:
            problems.append(f"network.ip_range: {raw} holds pinned addresses {', '.join(inside)}; "
                            "Docker could give them to another endpoint")
        return str(block)
    taken = [ipaddress.ip_address(ip) for ip in pinned]
    for prefix in range(net.prefixlen + 1, _SMALLEST_IP_RANGE + 1):
        for block in reversed(list(net.subnets(new_prefix=prefix))):
            if not any(ip in block for ip in taken):
                return str(block)
    if required:
        problems.append(f"network.cidr: {net} has no /{_SMALLEST_IP_RANGE} block free of pinned addresses for "
                        "Docker's own allocations on an overlay; widen it or set network.ip_range")
    return ""


def _by_id(problems: list[str], name: str, items: list, parse: Callable) -> dict[str, dict[str, Any]]:
    """Each item parsed in turn, keyed by its id; a repeated id is a problem (in the item's place)."""
    found: dict[str, dict[str, Any]] = {}
    for index, raw in enumerate(items):
        item = parse(problems, index, raw)
        if item is None:
            continue
        if item["id"] in found:
            problems.append(f"{name}[{index}].id: {item['id']!r} is a duplicate")
            continue
        found[item["id"]] = item
    return found


def normalize_spec(clusters: Any, containers: Any, network: Any) -> dict[str, Any]:
    """Validate the three parts of a spec and return the canonical form; raise SpecError otherwise."""
    problems: list[str] = []
    if not isinstance(clusters, list) or not clusters:
        raise SpecError([f"clusters: {clusters!r} must be a non-empty list"])
    if not isinstance(containers, list) or not containers:
        raise SpecError([f"containers: {containers!r} must be a non-empty list"])
    by_cluster = _by_id(problems, "clusters", clusters, _cluster)
    by_container = _by_id(problems, "containers", containers, lambda p, i, raw: _container(p, i, raw, by_cluster))
    net = _network(problems, network, by_container)
    roles = [c["role"] for c in by_container.values()]
    if by_container and roles.count("submitter") != 1:
        problems.append(f"containers: exactly one submitter is needed, found {roles.count('submitter')}")
    if by_container and "executor" not in roles:
        problems.append("containers: at least one executor pool is needed, found none")
    if problems:
        raise SpecError(problems)
    # Without problems there is a network: _network returns None only after recording why.
    for container in by_container.values():
        container["ip"] = net["addresses"][container["id"]]
    executors = [c for c in by_container.values() if c["role"] == "executor"]
    submitter = next(c for c in by_container.values() if c["role"] == "submitter")
    return {
        "clusters": list(by_cluster.values()),
        "containers": list(by_container.values()),
        "network": net,
        "submitter": submitter,
        "executors": executors,
        "flock_to": [c["ip"] for c in executors],
    }


def from_seed_config(config: Any) -> dict[str, Any]:
    """Normalise a whole config document (the seed's JSON, or the same keys from YAML)."""
    if not isinstance(config, dict):
        raise SpecError(
            [
                f"config: {type(config).__name__} given, a mapping with clusters, containers and "
                "network is needed"
            ]
        )
    missing = [key for key in ("clusters", "containers", "network") if key not in config]
    if missing:
        raise SpecError([f"config: missing {', '.join(missing)}"])
    return normalize_spec(config["clusters"], config["containers"], config["network"])
