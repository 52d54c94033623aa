# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""Filters for the host roles (zookeeper, mesos, marathon, weave, overlay): who is in a cluster, the address
each host is reached on, the flags the daemons read from their environment, and IPv4 networks."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

_PREFIX_LENGTH = re.compile(r"[0-9]|[12][0-9]|3[0-2]")


def cluster_members(groups: Mapping[str, list[str]], group: str, cluster_group: str) -> list[str]:
    """The hosts of ``group`` that are also in ``cluster_group`` (a missing group has none), sorted as Jinja's
    sort does (case-insensitively), so that positions and rendered files do not depend on inventory order."""
    groups = groups or {}
    members = set(groups.get(group) or []) & set(groups.get(cluster_group) or [])
    return sorted(members, key=lambda host: (str(host).lower(), str(host)))


def host_addresses(hosts: list[str], hostvars: Mapping[str, Any], variable: str) -> list[str]:
    """The address each host is reached on: the first non-empty of its ``variable`` (zookeeper_address,
    weave_address), its ansible_host and its inventory name. In the order of ``hosts``."""
    hostvars = hostvars or {}
    addresses = []
    for host in hosts or []:
        variables = hostvars[host] if host in hostvars else {}
        address = variables.get(variable) or variables.get("ansible_host") or host
        addresses.append(str(address))
    return addresses


def zookeeper_url(members: list[str], hostvars: Mapping[str, Any], port: int | str, path: str) -> str:
    """zk://a:port,b:port/path over the ensemble's members, each on its zookeeper_address (host_addresses)."""
    hosts = ",".join(f"{address}:{port}" for address in host_addresses(members, hostvars, "zookeeper_address"))
    return f"zk://{hosts}{path}"


def _as_int(value: Any) -> int:
    """A number as Jinja's int filter reads it ('3', '2.0', 3), 0 for anything else."""
    try:
        return int(value, 10) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return 0


def zookeeper_servers(members: list[str], hostvars: Mapping[str, Any]) -> list[dict[str, Any]]:
    """zoo.cfg's servers, [{id, address}] in the order of ``members``: the id is the member's zookeeper_id when
    it is above 0, else its position counted from 1; the address is its zookeeper_address (host_addresses)."""
    hostvars = hostvars or {}
    members = list(members or [])
    servers = []
    addresses = host_addresses(members, hostvars, "zookeeper_address")
    for position, (member, address) in enumerate(zip(members, addresses, strict=True), 1):
        chosen = _as_int((hostvars[member] if member in hostvars else {}).get("zookeeper_id", 0))
        servers.append({"id": chosen if chosen > 0 else position, "address": address})
    return servers


def _flag_value(value: Any) -> str:
    # Mesos and Marathon parse booleans as true and false; Python writes True and False.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flags_env(flags: Mapping[str, Any], prefix: str) -> dict[str, str]:
    """Flags by name as the environment a daemon reads them from: {hostname_lookup: false} with prefix MESOS_
    is {MESOS_HOSTNAME_LOOKUP: 'false'}. Booleans are lowercase, other values strings."""
    if flags is not None and not isinstance(flags, Mapping):
        raise AnsibleFilterError(f"flags_env: {flags!r} is not a mapping of flag names to values")
    return {f"{prefix}{str(name).upper()}": _flag_value(value) for name, value in (flags or {}).items()}


def mesos_attributes(attributes: Mapping[str, Any]) -> str:
    """A Mesos agent's attributes, {cloud: c1, rack: 2} as the flag's text cloud:c1;rack:2 (in the given order)."""
    if attributes is not None and not isinstance(attributes, Mapping):
        raise AnsibleFilterError(f"mesos_attributes: {attributes!r} is not a mapping of attribute names to values")
    return ";".join(f"{name}:{value}" for name, value in (attributes or {}).items())


def is_ipv4_address(value: Any) -> bool:
    """Whether ``value`` is an IPv4 address in dotted decimal, four octets 0-255 (no leading zeros)."""
    if not isinstance(value, str):
        return False
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def is_ipv4_cidr(value: Any) -> bool:
    """Whether ``value`` is an IPv4 address with a prefix length 0-32 (10.32.0.0/12); host bits may be set."""
    if not isinstance(value, str):
        return False
    address, slash, length = value.partition("/")
    return bool(slash) and is_ipv4_address(address) and _PREFIX_LENGTH.fullmatch(length) is not None


def _network(cidr: Any) -> ipaddress.IPv4Network:
    if not is_ipv4_cidr(cidr):
        raise AnsibleFilterError(f"cidr_overlaps: {cidr!r} is not an IPv4 CIDR")
    return ipaddress.IPv4Network(cidr, strict=False)


def cidr_overlaps(cidr: str, other: str) -> bool:
    """Whether two IPv4 networks share an address (each taken as the whole network its prefix names)."""
    return _network(cidr).overlaps(_network(other))


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"cluster_members": cluster_members, "host_addresses": host_addresses, "zookeeper_url": zookeeper_url,
                "zookeeper_servers": zookeeper_servers, "flags_env": flags_env, "mesos_attributes": mesos_attributes,
                "is_ipv4_address": is_ipv4_address, "is_ipv4_cidr": is_ipv4_cidr, "cidr_overlaps": cidr_overlaps}
