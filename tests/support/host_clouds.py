"""Systemd host containers in several "clouds" on this machine's engine, as cloud VMs for site.yml and kinc.yml.

Each host is a container with systemd as PID 1 and a Docker daemon of its own (started as
extensions/molecule/_shared/create.yml starts its hosts, see DEVELOPERS.md), on its cloud's private network
and on a shared "internet" network. Its dockerd also listens on TCP 2375 on those addresses (a systemd
drop-in for docker.socket, written before site.yml installs Docker; test hosts on private networks only),
so that one test double of Marathon's API per cloud can start pool containers on the cloud's hosts.
Keep the networks off 172.16.0.0/12, which the nested Docker daemons use for their own bridges.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.marathon_double import MarathonApiDouble

from .collection import REPO

SYSTEMD_IMAGE = "cfmol-systemd:trixie"
# The host containers' flags, as extensions/molecule/_shared/create.yml starts them (see DEVELOPERS.md).
HOST_FLAGS = [
    "--cap-add=ALL",
    "--cap-drop=SYS_RESOURCE",
    "--security-opt=seccomp=unconfined",
    "--security-opt=apparmor=unconfined",
    "--security-opt=systempaths=unconfined",
    "--device-cgroup-rule=a *:* rwm",
    "--cgroupns=host",
    "--volume=/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs=/run",
    "--tmpfs=/run/lock",
    "--volume=/var/lib/docker",
]
# dockerd keeps its unix socket and also listens on the host's addresses (test hosts on private networks only).
DOCKER_TCP_DROPIN = "[Socket]\nListenStream=0.0.0.0:2375\n"


def sh(*argv: str, check: bool = True, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False, **kwargs)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done


def docker_client(address: str) -> Any:
    import docker

    return docker.DockerClient(base_url=f"tcp://{address}:2375", timeout=120)


@dataclass(frozen=True)
class HostClouds:
    """The host containers of one test: ``hosts`` maps each container name to (cloud, address on the cloud's
    network, address on ``inet``); ``cloud_networks`` maps each cloud to its network. ``networks`` holds
    every network's subnet, ``inet`` among them. Containers and networks carry ``label``."""

    label: str
    networks: dict[str, str]
    inet: str
    cloud_networks: dict[str, str]
    hosts: dict[str, tuple[str, str, str]]

    def of_cloud(self, cloud: str) -> list[str]:
        return [host for host, (host_cloud, _, _) in self.hosts.items() if host_cloud == cloud]

    def remove_everything(self) -> None:
        """The host containers (with their nested engines and volumes) and the networks."""
        found = sh("docker", "ps", "-aq", "--filter", f"label={self.label}").stdout.split()
        if found:
            sh("docker", "rm", "-f", "-v", *found, check=False)
        for network in self.networks:
            sh("docker", "network", "rm", network, check=False)

    @contextmanager
    def running(self) -> Iterator[tuple[dict[str, MarathonApiDouble], list[Any]]]:
        """The hosts started, once whatever an earlier run left is removed. Yields a dict for the Marathon
        doubles by cloud and a list for the Docker clients they use (see marathon_doubles); afterwards the
        doubles are stopped, the clients closed and the hosts and networks removed."""
        self.remove_everything()
        doubles: dict[str, MarathonApiDouble] = {}
        clients: list[Any] = []
        try:
            self.start_hosts()
            yield doubles, clients
        finally:
            for double in doubles.values():
                double.stop()
            for client in clients:
                client.close()
            self.remove_everything()

    def start_hosts(self) -> None:
        image = sh(str(REPO / "extensions/molecule/_shared/build-image.sh"), SYSTEMD_IMAGE).stdout.strip()
        for network, subnet in self.networks.items():
            sh("docker", "network", "create", "--subnet", subnet, "--label", self.label, network)
        for host, (cloud, private, inet) in self.hosts.items():
            sh("docker", "create", "--name", host, "--hostname", host, "--label", self.label, *HOST_FLAGS,
               "--network", self.cloud_networks[cloud], "--ip", private, image, "/sbin/init")
            sh("docker", "network", "connect", "--ip", inet, self.inet, host)
            sh("docker", "start", host)
        for host in self.hosts:
            for _ in range(120):
                state = sh("docker", "exec", host, "systemctl", "is-system-running", "--wait",
                           check=False).stdout.strip()
                if state in ("running", "degraded"):
                    break
                time.sleep(1)
            else:
                raise AssertionError(f"systemd did not boot in {host}: {state}")
            sh("docker", "exec", host, "mkdir", "-p", "/etc/systemd/system/docker.socket.d")
            sh("docker", "exec", "-i", host, "sh", "-c", "cat > /etc/systemd/system/docker.socket.d/tcp.conf",
               input=DOCKER_TCP_DROPIN)

    def load_images(self, tarball: Path, tag: str) -> None:
        """The pool images built on this machine's engine, loaded into every host's engine."""
        images = [f"cloudflock/{role}:{tag}" for role in ("submitter", "executor")]
        sh("docker", "save", "-o", str(tarball), *images)

        def load(host: str) -> subprocess.CompletedProcess[str]:
            with tarball.open("rb") as stream:
                done = subprocess.run(["docker", "exec", "-i", host, "docker", "load"], stdin=stream,
                                      capture_output=True, check=False)
            return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())

        with ThreadPoolExecutor(len(self.hosts)) as pool:
            for host, done in zip(self.hosts, pool.map(load, self.hosts), strict=True):
                assert done.returncode == 0, f"docker load on {host}: {done.stderr[-2000:]}"
        tarball.unlink()

    def marathon_doubles(self, versions: dict[str, str], clients: list[Any], *, name_prefix: str,
                         ports: dict[str, int] | None = None) -> dict[str, MarathonApiDouble]:
        """One Marathon API double per cloud (``versions``: cloud to the Marathon version it answers as),
        started, placing tasks on the cloud's hosts under their container names. The Docker clients it
        opens are appended to ``clients`` (close them afterwards); ``ports`` pins the doubles' ports."""
        doubles: dict[str, MarathonApiDouble] = {}
        for cloud, version in versions.items():
            agents = []
            for host in self.of_cloud(cloud):
                clients.append(docker_client(self.hosts[host][2]))
                agents.append((host, clients[-1]))
            doubles[cloud] = MarathonApiDouble(
                version=version, deployment_delay=0.3, agents=agents, docker_name_prefix=name_prefix,
                port=(ports or {}).get(cloud, 0),
            ).start()
        return doubles

    def pools_by_host(self, deployment: str) -> dict[str, list[str]]:
        """The pool containers each host's engine runs, by their cloudflock.pool label."""
        found = {}
        for host in self.hosts:
            out = sh("docker", "exec", host, "docker", "ps", "--filter", f"label=cloudflock.deployment={deployment}",
                     "--format", '{{.Label "cloudflock.pool"}}').stdout
            found[host] = sorted(out.split())
        return found

    def locate(self, deployment: str, pool: str) -> tuple[list[str], str]:
        """The docker command of the host engine that runs the pool's container, and the container there."""
        for host in self.hosts:
            # Newest first: after a replacement, the new task's container.
            found = sh("docker", "exec", host, "docker", "ps", "-aq", "--filter",
                       f"label=cloudflock.deployment={deployment}", "--filter", f"label=cloudflock.pool={pool}",
                       check=False).stdout.split()
            if found:
                return ["docker", "exec", "-i", host, "docker"], found[0]
        return ["docker"], f"no-{pool}-container-on-{'-'.join(self.hosts)}"

    def pool_diagnostics(self, deployment: str) -> str:
        """Every pool container of each host, running or not, with the tail of its log (for failure messages)."""
        lines = []
        for host in self.hosts:
            listed = sh("docker", "exec", host, "docker", "ps", "-a", "--filter",
                        f"label=cloudflock.deployment={deployment}",
                        "--format", "{{.ID}} {{.Status}} {{.Labels}}", check=False).stdout
            lines.append(f"== {host}\n{listed}")
            for container in listed.split("\n"):
                if container and "Up " not in container:
                    logs = sh("docker", "exec", host, "docker", "logs", "--tail", "30", container.split()[0],
                              check=False)
                    lines.append(logs.stdout + logs.stderr)
        return "\n".join(lines)
