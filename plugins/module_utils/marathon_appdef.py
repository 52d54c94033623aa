# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""Pure functions behind ``cloudflock.htcondor.marathon_app``.

Nothing here talks to the network: options are validated, and a desired definition is compared with what
``GET /v2/apps/{id}`` returns, ignoring everything Marathon adds on its own. The app definition for the
Marathon version the server reports, and the canonical form both are compared in, come from the table of
options in ``marathon_options`` (re-exported here).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ansible_collections.cloudflock.htcondor.plugins.module_utils.marathon_options import (
    HEALTH_DEFAULTS,
    Version,
    build_app_definition,
    canonical_app,
    find,
    normalize_app_id,
    uses_networks_api,
    weave_cidr,
)

__all__ = [
    "HEALTH_DEFAULTS",
    "AppDefError",
    "Version",
    "build_app_definition",
    "canonical_app",
    "compare",
    "differences",
    "normalize_app_id",
    "parse_version",
    "pending_reasons",
    "summarize_tasks",
    "uses_networks_api",
    "validate_app_id",
    "validate_ip",
    "validate_options",
    "weave_cidr",
]

# Marathon's PathId rule: every segment is lowercase letters, digits, dashes and dots, and neither
# starts nor ends with a dash or a dot ("." and ".." are relative references, refused for apps).
_ID_SEGMENT = re.compile(r"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])$")
_PORT_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
PROTOCOLS = find("ports.protocol").choices or ()
IP_MODES = find("ip_mode").choices or ()
CONSTRAINT_OPERATORS = ("UNIQUE", "CLUSTER", "GROUP_BY", "LIKE", "UNLIKE", "MAX_PER", "IS")
HEALTH_PROTOCOLS = ("HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP")
VOLUME_MODES = find("volumes.mode").choices or ()
# Docker parameters the module sets itself when an address is pinned on a Docker network.
_RESERVED_PARAMETERS = ("net", "network", "ip")


class AppDefError(ValueError):
    """A bad option: names the field and carries the offending value."""

    def __init__(self, field: str, value: Any, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}: {value!r} {reason}")


# --------------------------------------------------------------------------------------------
# Versions and ids
# --------------------------------------------------------------------------------------------


def parse_version(text: str) -> Version:
    """``'1.4.3'`` -> ``(1, 4, 3)``; ``'1.10.17-SNAPSHOT'`` -> ``(1, 10, 17)``."""
    match = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", str(text).strip())
    if not match:
        raise AppDefError("version", text, "is not a Marathon version (expected MAJOR.MINOR[.PATCH])")
    return tuple(int(part) for part in match.groups(default="0"))


def validate_app_id(app_id: Any, field: str = "id") -> None:
    if not isinstance(app_id, str) or not app_id.strip("/ "):
        raise AppDefError(field, app_id, "must be a non-empty string")
    for segment in app_id.strip().strip("/").split("/"):
        if not _ID_SEGMENT.match(segment):
            raise AppDefError(
                field,
                app_id,
                "is not a valid Marathon app id: each '/'-separated segment must consist of lowercase "
                "letters, digits, dashes and dots, and must not start or end with a dash or a dot",
            )


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_port(field: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
        raise AppDefError(field, value, "must be an integer between 0 and 65535")


def validate_ip(ip_address: Any, network_cidr: Any, field: str = "ip_address") -> None:
    """The address must be a usable host address of the network: inside it, not its network or
    broadcast address."""
    if network_cidr in (None, ""):
        raise AppDefError("network_cidr", network_cidr, "is required when ip_address is set")
    try:
        network = ipaddress.ip_network(str(network_cidr), strict=True)
    except ValueError as exc:
        raise AppDefError("network_cidr", network_cidr, f"is not a network in CIDR notation ({exc})") from exc
    try:
        address = ipaddress.ip_address(str(ip_address))
    except ValueError as exc:
        raise AppDefError(field, ip_address, "is not an IP address") from exc
    if address.version != network.version or address not in network:
        raise AppDefError(field, ip_address, f"is not inside network_cidr {network}")
    if network.prefixlen < network.max_prefixlen - 1:
        if address == network.network_address:
            raise AppDefError(field, ip_address, f"is the network address of {network}")
        if network.version == 4 and address == network.broadcast_address:
            raise AppDefError(field, ip_address, f"is the broadcast address of {network}")


def validate_options(opts: dict[str, Any]) -> None:
    """Check every option the module passes; the first bad one raises :class:`AppDefError`."""
    validate_app_id(opts.get("id"))
    state = opts.get("state", "present")
    if state == "absent":
        return
    if not opts.get("image"):
        raise AppDefError("image", opts.get("image"), f"is required when state is {state}")
    for field in ("cpus", "mem"):
        value = opts.get(field)
        if not _is_number(value) or value <= 0:
            raise AppDefError(field, value, "must be a positive number")
    disk = opts.get("disk", 0)
    if not _is_number(disk) or disk < 0:
        raise AppDefError("disk", disk, "must be a number >= 0")
    instances = opts.get("instances", 1)
    if not isinstance(instances, int) or isinstance(instances, bool) or instances < 0:
        raise AppDefError("instances", instances, "must be an integer >= 0")

    names = set()
    for index, port in enumerate(opts.get("ports") or []):
        prefix = f"ports[{index}]"
        if not isinstance(port, dict):
            raise AppDefError(prefix, port, "must be a dict with container_port, host_port and protocol")
        _check_port(prefix + ".container_port", port.get("container_port"))
        _check_port(prefix + ".host_port", port.get("host_port", 0))
        protocol = port.get("protocol", "tcp")
        if protocol not in PROTOCOLS:
            raise AppDefError(prefix + ".protocol", protocol, "must be one of " + ", ".join(PROTOCOLS))
        name = port.get("name")
        if name is not None:
            if not isinstance(name, str) or not _PORT_NAME.match(name):
                raise AppDefError(prefix + ".name", name, f"must match {_PORT_NAME.pattern}")
            if name in names:
                raise AppDefError(prefix + ".name", name, "is used by another port")
            names.add(name)

    for index, constraint in enumerate(opts.get("constraints") or []):
        field = f"constraints[{index}]"
        if not isinstance(constraint, (list, tuple)) or not 2 <= len(constraint) <= 3:
            raise AppDefError(field, constraint, "must be a list [field, OPERATOR] or [field, OPERATOR, value]")
        if constraint[1] not in CONSTRAINT_OPERATORS:
            raise AppDefError(field, constraint, "has an operator not in " + ", ".join(CONSTRAINT_OPERATORS))

    for index, param in enumerate(opts.get("parameters") or []):
        field = f"parameters[{index}]"
        if not isinstance(param, dict) or not param.get("key"):
            raise AppDefError(field, param, "must be a dict with a non-empty key and a value")
        if (
            opts.get("ip_mode") == "docker_network"
            and opts.get("ip_address")
            and (param["key"] in _RESERVED_PARAMETERS)
        ):
            raise AppDefError(
                field + ".key", param["key"], "is set by the module from ip_address/network_name; remove it"
            )

    for index, volume in enumerate(opts.get("volumes") or []):
        field = f"volumes[{index}]"
        if not isinstance(volume, dict) or not volume.get("container_path"):
            raise AppDefError(field, volume, "must be a dict with container_path (and host_path, mode)")
        if volume.get("mode", "RW") not in VOLUME_MODES:
            raise AppDefError(field + ".mode", volume.get("mode"), "must be RO or RW")

    for index, check in enumerate(opts.get("health_checks") or []):
        field = f"health_checks[{index}]"
        if not isinstance(check, dict):
            raise AppDefError(field, check, "must be a dict in Marathon's healthChecks format")
        protocol = check.get("protocol", "HTTP")
        if protocol not in HEALTH_PROTOCOLS:
            raise AppDefError(field + ".protocol", protocol, "must be one of " + ", ".join(HEALTH_PROTOCOLS))

    for field in ("env", "labels"):
        for key, value in (opts.get(field) or {}).items():
            if isinstance(value, (dict, list)):
                raise AppDefError(f"{field}.{key}", value, "must be a string")

    ip_mode = opts.get("ip_mode") or "weave"
    if ip_mode not in IP_MODES:
        raise AppDefError("ip_mode", ip_mode, "must be one of " + ", ".join(IP_MODES))
    if opts.get("ip_address"):
        validate_ip(opts["ip_address"], opts.get("network_cidr"))
        if ip_mode == "docker_network" and not opts.get("network_name"):
            raise AppDefError("network_name", opts.get("network_name"), "is required when ip_mode is docker_network")
    elif opts.get("network_cidr"):
        try:
            ipaddress.ip_network(str(opts["network_cidr"]), strict=True)
        except ValueError as exc:
            raise AppDefError("network_cidr", opts["network_cidr"], "is not a network in CIDR notation") from exc


# --------------------------------------------------------------------------------------------
# Comparing
# --------------------------------------------------------------------------------------------


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Dotted paths where two canonical apps differ (empty when they are the same)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[str] = []
        for key in sorted(set(before) | set(after)):
            sub = f"{path}.{key}" if path else str(key)
            if key not in before or key not in after:
                found.append(sub)
            else:
                found.extend(differences(before[key], after[key], sub))
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        found = []
        for index, (left, right) in enumerate(zip(before, after, strict=False)):
            found.extend(differences(left, right, f"{path}[{index}]"))
        return found
    if isinstance(before, bool) != isinstance(after, bool):
        return [path]
    if _is_number(before) and _is_number(after):
        return [] if float(before) == float(after) else [path]
    return [] if before == after else [path]


def compare(desired: dict[str, Any], current: dict[str, Any] | None, version: Version) -> dict[str, Any]:
    """``{'changed_fields': [...], 'before': ..., 'after': ...}`` for diff mode.

    ``current`` is the ``app`` of ``GET /v2/apps/{id}`` or None when the app does not exist."""
    after = canonical_app(desired, version)
    if current is None:
        return {"changed_fields": ["id"], "before": {}, "after": after}
    before = canonical_app(current, version)
    return {"changed_fields": differences(before, after), "before": before, "after": after}


# --------------------------------------------------------------------------------------------
# Reading results
# --------------------------------------------------------------------------------------------


def summarize_tasks(app: dict[str, Any] | None) -> list[dict[str, Any]]:
    """host, ports and IP addresses of each task of an app from ``GET /v2/apps/{id}``."""
    tasks = []
    for task in (app or {}).get("tasks") or []:
        tasks.append(
            {
                "id": task.get("id"),
                "host": task.get("host"),
                "ports": list(task.get("ports") or []),
                "ip_addresses": [a.get("ipAddress") for a in task.get("ipAddresses") or [] if a.get("ipAddress")],
                "state": task.get("state"),
            }
        )
    return tasks


def pending_reasons(app: dict[str, Any] | None, deployments: list[dict[str, Any]]) -> list[str]:
    """What still keeps an app from being up: its deployments, missing or unhealthy tasks."""
    reasons: list[str] = []
    if app is None:
        return ["app does not exist"]
    app_id = normalize_app_id(app.get("id", ""))
    for deployment in deployments:
        if app_id in (deployment.get("affectedApps") or []):
            reasons.append(f"deployment {deployment.get('id')}")
    instances = app.get("instances", 1)
    running = app.get("tasksRunning", 0)
    if running != instances:
        reasons.append(f"tasksRunning {running} of {instances} instances")
    if app.get("healthChecks"):
        healthy = app.get("tasksHealthy", 0)
        if healthy != instances:
            reasons.append(f"tasksHealthy {healthy} of {instances} instances")
    return reasons
