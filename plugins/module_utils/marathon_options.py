# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""The options of ``cloudflock.htcondor.marathon_app``, declared once.

``OPTIONS`` is one table, in the order of the keys of the app definition Marathon receives. Each entry is

* an :class:`Option`: an option of the module (type, default, choices, elements, suboptions, the
  conditions that make it required). The argument spec is derived from it, and a unit test holds the
  module's DOCUMENTATION to it. An option that is one field of the app definition carries an :class:`Api`:
  where its value goes (for the Marathon version at hand), how it is written, and how that field of the
  live app is read back for comparison, with what Marathon assumes when the field is absent;
* or a :class:`Field`: a part of the app definition no single option owns (the container type, ``cmd``,
  the networking that ``ip_address``, ``network_cidr``, ``ip_mode`` and ``network_name`` make together).

:func:`build_app_definition` and :func:`canonical_app` walk the table: the first makes the body sent to
Marathon, the second the canonical form of a body or of ``GET /v2/apps/{id}``'s app that two apps are
compared in (``marathon_appdef.compare``). Nothing here talks to the network.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Version = tuple[int, ...]


class _Nothing:
    """No default (distinct from a default of None)."""

    def __repr__(self) -> str:
        return "NOTHING"


NOTHING: Any = _Nothing()


def _same(value: Any) -> Any:
    return value


# --------------------------------------------------------------------------------------------
# Versions, ids and paths
# --------------------------------------------------------------------------------------------


def uses_networks_api(version: Version) -> bool:
    """Marathon 1.5 moved networking to ``networks`` and port mappings to ``container.portMappings``."""
    return tuple(version[:2]) >= (1, 5)


def normalize_app_id(app_id: str) -> str:
    """Marathon ids are absolute: ``'runner1'`` -> ``'/runner1'``; a trailing slash is dropped."""
    text = str(app_id).strip()
    return "/" + text.strip("/")


def app_id_in_group(group: str | None, app_id: str) -> str:
    """The absolute id of app ``app_id`` in ``group``: ``('/flock/', 'submitter')`` -> ``'/flock/submitter'``;
    without a group, ``app_id`` made absolute."""
    if not group or not str(group).strip("/ "):
        return normalize_app_id(app_id)
    return normalize_app_id(str(group).strip().rstrip("/") + "/" + str(app_id).strip().strip("/"))


def in_group(app_id: str, group: str | None) -> bool:
    """Whether the app id lies under ``group`` (every id lies under the root group)."""
    prefix = normalize_app_id(group or "/").rstrip("/") + "/"
    return normalize_app_id(app_id).startswith(prefix)


def _dig(data: Any, path: str) -> Any:
    """The value at a dotted path, NOTHING when a part is missing or not a dict (such as None)."""
    for key in path.split("."):
        if not isinstance(data, dict) or key not in data:
            return NOTHING
        data = data[key]
    return data


def _put(data: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path, making the dicts on the way (appended to their parent, so in table order)."""
    *parents, last = path.split(".")
    for key in parents:
        data = data.setdefault(key, {})
    data[last] = value


# --------------------------------------------------------------------------------------------
# Writing options as Marathon fields
# --------------------------------------------------------------------------------------------


def _str_map(values: dict[str, Any] | None) -> dict[str, str]:
    result = {}
    for key, value in (values or {}).items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        result[str(key)] = "" if value is None else str(value)
    return result


def _port_mapping(port: dict[str, Any]) -> dict[str, Any]:
    mapping: dict[str, Any] = {
        "containerPort": int(port["container_port"]),
        "hostPort": int(port.get("host_port") or 0),
        "protocol": port.get("protocol") or "tcp",
    }
    if port.get("name"):
        mapping["name"] = port["name"]
    if port.get("labels"):
        mapping["labels"] = {str(k): str(v) for k, v in port["labels"].items()}
    return mapping


def _volume(volume: dict[str, Any]) -> dict[str, Any]:
    result = {"containerPath": volume["container_path"], "mode": volume.get("mode") or "RW"}
    if volume.get("host_path"):
        result["hostPath"] = volume["host_path"]
    return result


def weave_cidr(ip_address: str, network_cidr: str) -> str:
    """The value Weave's Docker API proxy reads: ``ip:ADDR/LEN`` with the network's real prefix."""
    network = ipaddress.ip_network(str(network_cidr), strict=True)
    return f"ip:{ipaddress.ip_address(str(ip_address))}/{network.prefixlen}"


# --------------------------------------------------------------------------------------------
# Reading Marathon fields back, with Marathon's defaults filled in
# --------------------------------------------------------------------------------------------

HEALTH_DEFAULTS = {
    "gracePeriodSeconds": 300,
    "intervalSeconds": 60,
    "timeoutSeconds": 20,
    "maxConsecutiveFailures": 3,
    "delaySeconds": 15,
    "ignoreHttp1xx": False,
}
_HEALTH_KEYS = ("protocol", "path", "port", "portIndex", "command") + tuple(HEALTH_DEFAULTS)
_HTTP_CHECKS = ("HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS")
_LEGACY_TO_NETWORKS = {"BRIDGE": "container/bridge", "HOST": "host", "USER": "container"}
_NETWORKS_TO_LEGACY = {"container/bridge": "BRIDGE", "host": "HOST", "container": "USER"}


def _canonical_health_check(check: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = dict(HEALTH_DEFAULTS)
    result["protocol"] = check.get("protocol") or "HTTP"
    if result["protocol"] in _HTTP_CHECKS:
        result["path"] = "/"
    if result["protocol"] != "COMMAND" and check.get("port") is None:
        result["portIndex"] = 0
    for key in _HEALTH_KEYS:
        if check.get(key) is not None:
            result[key] = check[key]
    if result["protocol"] not in _HTTP_CHECKS:
        result.pop("path", None)  # only HTTP checks have a path; some versions report "/" anyway
    return result


def _complete_health_check(check: dict[str, Any]) -> dict[str, Any]:
    """The check as sent: every field with a default spelled out, so what Marathon answers is what was
    sent, whatever its own defaults (Marathon 1.4.3's schema gives delaySeconds 2, this module's 15)."""
    result = copy.deepcopy(check)
    for key, value in _canonical_health_check(check).items():
        result.setdefault(key, value)
    return result


def _canonical_port_mapping(mapping: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "containerPort": mapping.get("containerPort") or 0,
        "hostPort": mapping.get("hostPort") or 0,
        "protocol": mapping.get("protocol") or "tcp",
    }
    if mapping.get("name"):
        result["name"] = mapping["name"]
    if mapping.get("labels"):
        result["labels"] = dict(mapping["labels"])
    return result


def _canonical_networks(app: dict[str, Any]) -> list[dict[str, Any]]:
    docker = (app.get("container") or {}).get("docker") or {}
    networks = app.get("networks")
    if networks:
        result = []
        for network in networks:
            entry = {"mode": network.get("mode") or "container"}
            if network.get("name"):
                entry["name"] = network["name"]
            result.append(entry)
        return result
    legacy = docker.get("network")
    if legacy:
        entry = {"mode": _LEGACY_TO_NETWORKS.get(legacy, legacy)}
        name = (app.get("ipAddress") or {}).get("networkName")
        if legacy == "USER" and name:
            entry["name"] = name
        return [entry]
    return [{"mode": "host"}]


# --------------------------------------------------------------------------------------------
# The records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Api:
    """How an option is one field of the app definition.

    ``path`` is where it goes (dotted), ``legacy_path`` where it went before Marathon 1.5 if elsewhere;
    the live app's value is read from either, the current one first. ``write`` turns the option's value
    into the field's (not written at all when ``omit_none`` and the value is None); ``read`` turns the
    live field's value, or ``absent`` when Marathon left the field out, into the form compared."""

    path: str
    write: Callable[[Any], Any] = _same
    read: Callable[[Any], Any] = _same
    absent: Any = None
    legacy_path: str | None = None
    omit_none: bool = False

    def path_for(self, version: Version) -> str:
        return self.path if self.legacy_path is None or uses_networks_api(version) else self.legacy_path

    def live_value(self, app: dict[str, Any]) -> Any:
        value = _dig(app, self.path)
        if self.legacy_path is not None and (value is None or value is NOTHING):
            value = _dig(app, self.legacy_path)
        return self.absent if value is NOTHING else value


@dataclass(frozen=True)
class Option:
    """One option of the module: its argument spec and, with ``api``, its field of the app definition.

    ``required_if`` holds (option, value) pairs that make it required; ``required_by`` the options it
    needs. ``module_only`` options steer the module (waiting, forcing) and are no part of the app."""

    name: str
    type: str
    default: Any = NOTHING
    required: bool = False
    choices: tuple[str, ...] | None = None
    elements: str | None = None
    options: tuple[Option, ...] = ()
    no_log: bool | None = None
    api: Api | None = None
    required_if: tuple[tuple[str, Any], ...] = ()
    required_by: tuple[str, ...] = ()
    module_only: bool = False

    def spec(self) -> dict[str, Any]:
        """This option's entry of the argument spec."""
        spec: dict[str, Any] = {"type": self.type}
        if self.required:
            spec["required"] = True
        if self.default is not NOTHING:
            spec["default"] = copy.deepcopy(self.default)
        if self.choices is not None:
            spec["choices"] = list(self.choices)
        if self.elements is not None:
            spec["elements"] = self.elements
        if self.no_log is not None:
            spec["no_log"] = self.no_log
        if self.options:
            spec["options"] = {option.name: option.spec() for option in self.options}
        return spec

    def value(self, opts: dict[str, Any]) -> Any:
        """The option's value in ``opts``, its default when ``opts`` lacks it (callers other than the
        module may pass only some options)."""
        if self.name in opts:
            return opts[self.name]
        return None if self.default is NOTHING else copy.deepcopy(self.default)

    def build(self, body: dict[str, Any], opts: dict[str, Any], version: Version) -> None:
        if self.api is None:
            return
        value = self.value(opts)
        if value is None and self.api.omit_none:
            return
        _put(body, self.api.path_for(version), self.api.write(value))

    def canonical(self, result: dict[str, Any], app: dict[str, Any], version: Version) -> None:
        if self.api is not None:
            _put(result, self.api.path_for(version), self.api.read(self.api.live_value(app)))


@dataclass(frozen=True)
class Field:
    """A part of the app definition that no single option owns: ``build(body, opts, version)`` writes it
    into the body, ``canonical(result, app, version)`` puts the live app's into the compared form."""

    name: str
    build: Callable[[dict[str, Any], dict[str, Any], Version], None]
    canonical: Callable[[dict[str, Any], dict[str, Any], Version], None]


# --------------------------------------------------------------------------------------------
# Fields owned by no single option
# --------------------------------------------------------------------------------------------


def _build_container_type(body: dict[str, Any], _opts: dict[str, Any], _version: Version) -> None:
    _put(body, "container.type", "DOCKER")


def _canonical_container_type(result: dict[str, Any], app: dict[str, Any], _version: Version) -> None:
    container = app.get("container") or {}
    docker = container.get("docker") or {}
    _put(result, "container.type", container.get("type") or ("DOCKER" if docker else "MESOS"))


def _build_nothing(_body: dict[str, Any], _opts: dict[str, Any], _version: Version) -> None:
    return None


def _canonical_cmd(result: dict[str, Any], app: dict[str, Any], _version: Version) -> None:
    result["cmd"] = app.get("cmd") or None  # the module never sets one: a live cmd is a difference


def _build_network(body: dict[str, Any], opts: dict[str, Any], version: Version) -> None:
    """A pinned address: WEAVE_CIDR with bridge networking, or the Docker network's net and ip parameters
    with USER networking (``networks`` on 1.5+, ``container.docker.network`` and ``ipAddress`` before)."""
    ip_address = opts.get("ip_address")
    ip_mode = opts.get("ip_mode") or "weave"
    docker = body["container"]["docker"]
    network_mode = "BRIDGE"
    if ip_address and ip_mode == "weave":
        # Weave's Docker API proxy attaches the container at exactly this address.
        body["env"]["WEAVE_CIDR"] = weave_cidr(ip_address, opts["network_cidr"])
    elif ip_address:
        network_mode = "USER"
        docker["parameters"] = docker["parameters"] + [
            {"key": "net", "value": str(opts["network_name"])},
            {"key": "ip", "value": str(ipaddress.ip_address(str(ip_address)))},
        ]
    if uses_networks_api(version):
        if network_mode == "USER":
            body["networks"] = [{"mode": "container", "name": str(opts["network_name"])}]
        else:
            body["networks"] = [{"mode": "container/bridge"}]
    else:
        docker["network"] = network_mode
        if network_mode == "USER":
            body["ipAddress"] = {"networkName": str(opts["network_name"])}


def _canonical_network(result: dict[str, Any], app: dict[str, Any], version: Version) -> None:
    networks = _canonical_networks(app)
    if uses_networks_api(version):
        result["networks"] = networks
    else:
        first = networks[0]
        result["container"]["docker"]["network"] = _NETWORKS_TO_LEGACY.get(first["mode"], first["mode"])
        result["ipAddress"] = {"networkName": first["name"]} if first.get("name") else None


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------

OPTIONS: tuple[Option | Field, ...] = (
    Option("id", "str", required=True, api=Api("id", write=normalize_app_id, read=normalize_app_id, absent="")),
    Option("state", "str", default="present", choices=("present", "absent", "restarted")),
    Option("instances", "int", default=1, api=Api("instances", write=int, absent=1)),
    Option("cpus", "float", default=1.0, api=Api("cpus", absent=1)),
    Option("mem", "float", default=128.0, api=Api("mem", absent=128)),
    Option("disk", "float", default=0.0, api=Api("disk", write=lambda v: v or 0, read=lambda v: v or 0)),
    Option("env", "dict", default={}, api=Api("env", write=_str_map, read=lambda v: dict(v or {}))),
    Option("labels", "dict", default={}, api=Api("labels", write=_str_map, read=lambda v: dict(v or {}))),
    Option(
        "constraints",
        "list",
        elements="list",
        default=[],
        api=Api(
            "constraints",
            write=lambda v: [[str(part) for part in c] for c in v or []],
            # Marathon keeps constraints as a set and answers them in an order of its own.
            read=lambda v: sorted([str(part) for part in c] for c in v or []),
        ),
    ),
    Option(
        "health_checks",
        "list",
        elements="dict",
        default=[],
        api=Api(
            "healthChecks",
            write=lambda v: [_complete_health_check(c) for c in v or []],
            read=lambda v: [_canonical_health_check(c) for c in v or []],
        ),
    ),
    Field("container.type", _build_container_type, _canonical_container_type),
    Option(
        "image",
        "str",
        required_if=(("state", "present"), ("state", "restarted")),
        api=Api("container.docker.image"),
    ),
    Option("privileged", "bool", default=False, api=Api("container.docker.privileged", write=bool, read=bool)),
    Option(
        "force_pull_image", "bool", default=False, api=Api("container.docker.forcePullImage", write=bool, read=bool)
    ),
    Option(
        "parameters",
        "list",
        elements="dict",
        default=[],
        options=(
            Option("key", "str", required=True, no_log=False),
            Option("value", "str", default=""),
        ),
        api=Api(
            "container.docker.parameters",
            write=lambda v: [{"key": str(p["key"]), "value": str(p.get("value", ""))} for p in v or []],
            read=lambda v: [{"key": p.get("key"), "value": p.get("value", "")} for p in v or []],
        ),
    ),
    Option(
        "volumes",
        "list",
        elements="dict",
        default=[],
        options=(
            Option("container_path", "str", required=True),
            Option("host_path", "str"),
            Option("mode", "str", default="RW", choices=("RO", "RW")),
        ),
        api=Api(
            "container.volumes",
            write=lambda v: [_volume(volume) for volume in v or []],
            read=lambda v: [
                {k: x for k, x in volume.items() if k in ("containerPath", "hostPath", "mode")} for volume in v or []
            ],
        ),
    ),
    Option(
        "ports",
        "list",
        elements="dict",
        default=[],
        options=(
            Option("container_port", "int", required=True),
            Option("host_port", "int", default=0),
            Option("protocol", "str", default="tcp", choices=("tcp", "udp", "udp,tcp")),
            Option("name", "str"),
            Option("labels", "dict"),
        ),
        api=Api(
            "container.portMappings",
            legacy_path="container.docker.portMappings",
            write=lambda v: [_port_mapping(port) for port in v or []],
            read=lambda v: [_canonical_port_mapping(m) for m in v or []],
        ),
    ),
    Option(
        "args",
        "list",
        elements="str",
        api=Api("args", write=lambda v: [str(a) for a in v], read=lambda v: list(v or []), omit_none=True),
    ),
    Field("cmd", _build_nothing, _canonical_cmd),
    Option("ip_address", "str", required_by=("network_cidr",)),
    Option("network_cidr", "str"),
    Option("ip_mode", "str", default="weave", choices=("weave", "docker_network")),
    Option("network_name", "str"),
    Field("network", _build_network, _canonical_network),
    Option("force", "bool", default=False, module_only=True),
    Option("wait", "bool", default=True, module_only=True),
    Option("wait_timeout", "int", default=600, module_only=True),
    Option("poll_interval", "float", default=1.0, module_only=True),
)


def find(name: str, within: tuple[Option | Field, ...] = OPTIONS) -> Option:
    """The option of that name; ``ports.protocol`` names a suboption."""
    head, _dot, rest = name.partition(".")
    option = next(entry for entry in within if isinstance(entry, Option) and entry.name == head)
    return find(rest, option.options) if rest else option


def module_options() -> list[Option]:
    """The options of the module (the table less its Fields)."""
    return [entry for entry in OPTIONS if isinstance(entry, Option)]


def argument_spec() -> dict[str, Any]:
    """The module's own options as an argument spec (the connection options come from marathon_common)."""
    return {option.name: option.spec() for option in module_options()}


def module_kwargs() -> dict[str, Any]:
    """``required_if`` and ``required_by`` of AnsibleModule, from the options that declare them."""
    required_if = [(key, value, (option.name,)) for option in module_options() for key, value in option.required_if]
    required_by = {option.name: option.required_by for option in module_options() if option.required_by}
    return {"required_if": required_if, "required_by": required_by}


def app_options(params: dict[str, Any]) -> dict[str, Any]:
    """The options that describe the app (what validation and the body are made from)."""
    return {option.name: params.get(option.name) for option in module_options() if not option.module_only}


def build_app_definition(opts: dict[str, Any], version: Version) -> dict[str, Any]:
    """The app definition to send to a Marathon server of ``version`` (validate the options first)."""
    body: dict[str, Any] = {}
    for entry in OPTIONS:
        entry.build(body, opts, version)
    return body


def canonical_app(app: dict[str, Any], version: Version) -> dict[str, Any]:
    """The fields this module manages, in one shape for ``version``, with Marathon's defaults filled
    in and everything Marathon adds (version, counters, tasks, servicePorts, backoff ...) left out.

    Works for both a definition built here and the ``app`` object of ``GET /v2/apps/{id}``, whichever
    API generation the latter was written in."""
    result: dict[str, Any] = {}
    for entry in OPTIONS:
        entry.canonical(result, app, version)
    return result
