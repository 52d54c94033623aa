"""Optional real tasks for the test double of Marathon's API: Docker containers started from app
definitions the way Mesos' Docker containerizer starts them (apache/mesos src/docker/docker.cpp):

* ``--cpu-shares max(1024 * cpus, 2)``, ``--memory max(mem, 32) MB``;
* ``-e`` for the app's env plus what Mesos and Marathon add (MESOS_SANDBOX, MESOS_CONTAINER_NAME,
  MESOS_TASK_ID, MARATHON_APP_ID, HOST, PORT0 ...);
* ``-p hostPort:containerPort/proto`` for every port mapping (hostPort 0 = Docker picks one);
* ``--net`` from the network mode (BRIDGE -> bridge, HOST -> host, USER -> the network name);
* every ``parameters`` entry as ``--key=value`` (``net``/``network`` and ``ip`` included; ``hostname``,
  ``label``, ``volume`` (``HOST:CONTAINER[:ro]``) and ``sysctl`` (``NAME=VALUE``), the last three repeatable,
  as ``docker run`` takes them);
* the app's ``container.volumes`` as binds, read-only for mode ``RO``;
* ``--privileged`` when asked, ``--name <prefix><uuid>`` (prefix ``mesos-`` like Mesos);
* the image, then ``args`` after it with the image's entrypoint kept; ``cmd`` becomes ``/bin/sh -c``.

Only the docker run options that map onto the Docker SDK are supported as parameters; anything else
fails the task with a message naming the parameter (Marathon would report a task failure too).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

DOUBLE_LABEL = "cloudflock.marathon-api-double"


class LaunchError(RuntimeError):
    """A task could not be started; the message names the offending app field or parameter."""


@dataclass
class RunSpec:
    """Everything a ``docker run`` for one task consists of."""

    name: str
    image: str
    command: list[str] | None
    entrypoint: str | None
    environment: dict[str, str]
    labels: dict[str, str]
    ports: list[tuple[int, str]]
    port_bindings: dict[str, int | None]
    network: str
    ip_address: str | None
    privileged: bool
    cpu_shares: int
    mem_limit_mb: int
    binds: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def cli(self) -> list[str]:
        """The equivalent ``docker run`` command line (for reading and for tests)."""
        argv = [
            "docker",
            "run",
            "-d",
            "--name",
            self.name,
            "--cpu-shares",
            str(self.cpu_shares),
            "--memory",
            f"{self.mem_limit_mb}m",
            "--net",
            self.network,
        ]
        if self.ip_address:
            argv += ["--ip", self.ip_address]
        if self.extra.get("hostname"):
            argv += ["--hostname", self.extra["hostname"]]
        if self.privileged:
            argv.append("--privileged")
        for key, value in sorted(self.environment.items()):
            argv += ["-e", f"{key}={value}"]
        for spec, host_port in self.port_bindings.items():
            argv += ["-p", f"{host_port or ''}:{spec}"]
        for key, value in sorted(self.labels.items()):
            argv += ["--label", f"{key}={value}"]
        for bind in self.binds:
            argv += ["-v", bind]
        for key, value in sorted((self.extra.get("sysctls") or {}).items()):
            argv += ["--sysctl", f"{key}={value}"]
        if self.entrypoint:
            argv += ["--entrypoint", self.entrypoint]
        return argv + [self.image] + list(self.command or [])


def _network_mode(app: dict[str, Any]) -> str:
    docker = (app.get("container") or {}).get("docker") or {}
    legacy = docker.get("network")
    if legacy:
        if legacy == "USER":
            return (app.get("ipAddress") or {}).get("networkName") or "bridge"
        return {"BRIDGE": "bridge", "HOST": "host", "NONE": "none"}.get(legacy, "bridge")
    networks = app.get("networks") or [{"mode": "host"}]
    first = networks[0]
    if first.get("mode") == "container":
        return first.get("name") or "bridge"
    return "bridge" if first.get("mode") == "container/bridge" else "host"


def run_spec(app: dict[str, Any], task_id: str, name_prefix: str, agent_host: str, owner: str) -> RunSpec:
    """Translate one app definition into a docker run, as Mesos' Docker containerizer would."""
    container = app.get("container") or {}
    docker = container.get("docker") or {}
    if not docker.get("image"):
        raise LaunchError(f"app {app.get('id')} has no container.docker.image")
    name = f"{name_prefix}{uuid.uuid4()}"
    mappings = container.get("portMappings")
    if mappings is None:
        mappings = docker.get("portMappings") or []
    ports: list[tuple[int, str]] = []
    bindings: dict[str, int | None] = {}
    for mapping in mappings:
        for proto in str(mapping.get("protocol") or "tcp").split(","):
            ports.append((int(mapping.get("containerPort") or 0), proto))
            bindings[f"{int(mapping.get('containerPort') or 0)}/{proto}"] = (
                int(mapping.get("hostPort") or 0) or None
            )
    env = {str(k): str(v) for k, v in (app.get("env") or {}).items() if isinstance(v, str)}
    env.update(
        {
            "MESOS_SANDBOX": "/mnt/mesos/sandbox",
            "MESOS_CONTAINER_NAME": name,
            "MESOS_TASK_ID": task_id,
            "MARATHON_APP_ID": str(app.get("id")),
            "MARATHON_APP_VERSION": str(app.get("version", "")),
            "MARATHON_APP_DOCKER_IMAGE": str(docker["image"]),
            "HOST": agent_host,
        }
    )
    labels = {str(k): str(v) for k, v in (app.get("labels") or {}).items()}
    labels[DOUBLE_LABEL] = owner
    command: list[str] | None = list(app["args"]) if app.get("args") else None
    entrypoint = None
    if app.get("cmd"):
        entrypoint, command = "/bin/sh", ["-c", str(app["cmd"])]
    spec = RunSpec(
        name=name,
        image=str(docker["image"]),
        command=command,
        entrypoint=entrypoint,
        environment=env,
        labels=labels,
        ports=ports,
        port_bindings=bindings,
        network=_network_mode(app),
        ip_address=None,
        privileged=bool(docker.get("privileged")),
        cpu_shares=max(int(1024 * float(app.get("cpus", 1))), 2),
        mem_limit_mb=max(int(float(app.get("mem", 128))), 32),
    )
    for volume in container.get("volumes") or []:
        if volume.get("hostPath"):
            mode = "ro" if volume.get("mode") == "RO" else "rw"
            spec.binds.append(f"{volume['hostPath']}:{volume['containerPath']}:{mode}")
    for param in docker.get("parameters") or []:
        _apply_parameter(spec, str(param.get("key")), str(param.get("value", "")))
    return spec


def _apply_parameter(spec: RunSpec, key: str, value: str) -> None:
    listy = {
        "cap-add": "cap_add",
        "cap-drop": "cap_drop",
        "dns": "dns",
        "add-host": "extra_hosts",
        "security-opt": "security_opt",
        "device": "devices",
    }
    if key in ("net", "network"):
        spec.network = value
    elif key == "ip":
        spec.ip_address = value
    elif key in ("env", "e"):
        name, _, val = value.partition("=")
        spec.environment[name] = val
    elif key in ("label", "l"):
        name, _, val = value.partition("=")
        spec.labels[name] = val
    elif key in ("volume", "v"):
        spec.binds.append(value)
    elif key == "sysctl":
        name, _, val = value.partition("=")
        spec.extra.setdefault("sysctls", {})[name] = val
    elif key in ("hostname", "h"):
        spec.extra["hostname"] = value
    elif key in ("user", "u"):
        spec.extra["user"] = value
    elif key in ("workdir", "w"):
        spec.extra["working_dir"] = value
    elif key == "shm-size":
        spec.extra["shm_size"] = value
    elif key == "init":
        spec.extra["init"] = value.lower() in ("1", "true", "yes", "")
    elif key in listy:
        spec.extra.setdefault(listy[key], []).append(value)
    else:
        raise LaunchError(f"docker parameter {key!r}={value!r} is not supported by the test double")


class DockerTaskLauncher:
    """Starts and kills task containers through a ``docker.DockerClient``."""

    def __init__(
        self,
        client: Any,
        name_prefix: str = "mesos-",
        agent_host: str = "127.0.0.1",
        owner: str = "marathon-api-double",
    ) -> None:
        self.client = client
        self.name_prefix = name_prefix
        self.agent_host = agent_host
        self.owner = owner

    def launch(self, app: dict[str, Any], task_id: str) -> dict[str, Any]:
        """Start one container; returns ``{container_id, name, ports, ip_addresses}``."""
        import docker.errors  # the double imports Docker only when asked to launch tasks

        spec = run_spec(app, task_id, self.name_prefix, self.agent_host, self.owner)
        api = self.client.api
        docker_def = (app.get("container") or {}).get("docker") or {}
        try:
            if docker_def.get("forcePullImage"):
                self.client.images.pull(spec.image)
            host_config = api.create_host_config(
                port_bindings=spec.port_bindings or None,
                privileged=spec.privileged,
                cpu_shares=spec.cpu_shares,
                mem_limit=f"{spec.mem_limit_mb}m",
                network_mode=spec.network,
                binds=spec.binds or None,
                cap_add=spec.extra.get("cap_add"),
                cap_drop=spec.extra.get("cap_drop"),
                dns=spec.extra.get("dns"),
                extra_hosts=_hosts(spec.extra.get("extra_hosts")),
                security_opt=spec.extra.get("security_opt"),
                devices=spec.extra.get("devices"),
                shm_size=spec.extra.get("shm_size"),
                init=spec.extra.get("init"),
                sysctls=spec.extra.get("sysctls"),
            )
            networking = None
            if spec.ip_address:
                networking = api.create_networking_config(
                    {spec.network: api.create_endpoint_config(ipv4_address=spec.ip_address)}
                )
            created = api.create_container(
                spec.image,
                command=spec.command,
                entrypoint=spec.entrypoint,
                name=spec.name,
                environment=spec.environment,
                labels=spec.labels,
                ports=spec.ports or None,
                host_config=host_config,
                networking_config=networking,
                detach=True,
                hostname=spec.extra.get("hostname"),
                user=spec.extra.get("user"),
                working_dir=spec.extra.get("working_dir"),
            )
            api.start(created["Id"])
            attrs = api.inspect_container(created["Id"])
        except docker.errors.APIError as exc:
            self._remove_by_name(spec.name)
            raise LaunchError(f"docker run for app {app.get('id')} failed: {exc}") from exc
        return {"container_id": created["Id"], "name": spec.name, **read_addresses(attrs)}

    def kill(self, container_id: str) -> None:
        import docker.errors

        try:
            self.client.api.remove_container(container_id, force=True)
        except docker.errors.NotFound:
            pass

    def _remove_by_name(self, name: str) -> None:
        import docker.errors

        try:
            self.client.api.remove_container(name, force=True)
        except docker.errors.NotFound:
            pass

    def is_running(self, container_id: str) -> bool:
        import docker.errors

        try:
            state = self.client.api.inspect_container(container_id)["State"]
        except docker.errors.NotFound:
            return False
        return bool(state.get("Running"))


def _hosts(entries: list[str] | None) -> dict[str, str] | None:
    if not entries:
        return None
    return dict(entry.split(":", 1) for entry in entries)


def read_addresses(attrs: dict[str, Any]) -> dict[str, Any]:
    """Host ports and IP addresses of a container, from ``docker inspect``."""
    settings = attrs.get("NetworkSettings") or {}
    ports: list[int] = []
    for bindings in (settings.get("Ports") or {}).values():
        for binding in bindings or []:
            if binding.get("HostPort") and int(binding["HostPort"]) not in ports:
                ports.append(int(binding["HostPort"]))
    addresses = [
        net.get("IPAddress") for net in (settings.get("Networks") or {}).values() if net.get("IPAddress")
    ]
    return {"ports": ports, "ip_addresses": addresses}
