"""The whole path on several hosts: three systemd host containers in two "clouds", provisioned by site.yml
(Docker from Debian, a swarm across all three and the attachable overlay network of the pool spec), one test
double of Marathon's API per cloud starting the pool containers on that cloud's hosts, and kinc.yml with the
seed's layout: the submitter and executor1 in the first cloud, executor2 in the second, pinned addresses.

Networks (all ``cffed-*``, off 172.16.0.0/12, which the nested Docker daemons use):

* ``cffed-cloud1`` 10.240.1.0/24 and ``cffed-cloud2`` 10.240.2.0/24, each cloud's private network;
* ``cffed-inet`` 10.240.0.0/24, the "internet" every host is also on: the swarm advertises these addresses
  (``overlay_advertise_address``), and the doubles reach each host's dockerd there (TCP 2375, opened by a
  systemd drop-in for docker.socket written before site.yml; these hosts only).

The pool images are built once on this machine's engine (site.yml on localhost, tag ``images``) and loaded into
each host (``docker save | docker exec -i HOST docker load``); site.yml skips the htcondor_images role there.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.marathon_double import MarathonApiDouble

from .flock_helpers import REPO, Federation

NAME = "cffed-flock"
CIDR_PREFIX = "10.240.8"
LABEL = "cloudflock.test=federation"
SYSTEMD_IMAGE = "cfmol-systemd:trixie"
NETWORKS = {"cffed-inet": "10.240.0.0/24", "cffed-cloud1": "10.240.1.0/24", "cffed-cloud2": "10.240.2.0/24"}
# host: (cloud, cloud network address, "internet" address)
HOSTS = {
    "cffed-c1a": ("chameleon", "10.240.1.11", "10.240.0.11"),
    "cffed-c1b": ("chameleon", "10.240.1.12", "10.240.0.12"),
    "cffed-c2a": ("azure", "10.240.2.11", "10.240.0.13"),
}
CLOUD_NETWORK = {"chameleon": "cffed-cloud1", "azure": "cffed-cloud2"}
# The host containers' flags, as molecule/_shared/create.yml starts them (see DEVELOPERS.md).
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


def remove_everything() -> None:
    """The host containers (with their nested engines and volumes) and the networks of this test."""
    found = sh("docker", "ps", "-aq", "--filter", f"label={LABEL}").stdout.split()
    if found:
        sh("docker", "rm", "-f", "-v", *found, check=False)
    for network in NETWORKS:
        sh("docker", "network", "rm", network, check=False)


def layout(urls: dict[str, str]) -> dict[str, Any]:
    by_cloud: dict[str, list[str]] = {}
    for host, (cloud, _, _) in HOSTS.items():
        by_cloud.setdefault(cloud, []).append(host)
    return {
        "cloudflock_network_driver": "overlay",
        # An encrypted overlay carries no traffic between host containers on this kernel (see DEVELOPERS.md).
        "overlay_network_encrypted": False,
        # All three hosts managers (an odd count), so every agent sees the swarm-scoped pool network.
        "overlay_join_as": "manager",
        "flock_clusters": [
            {"id": cloud, "type": "marathon", "marathon_url": urls[cloud], "agents": by_cloud[cloud]}
            for cloud in ("chameleon", "azure")
        ],
        "flock_containers": [
            {"id": "submitter", "cluster": "chameleon", "role": "submitter", "cpus": 1, "mem": 1024},
            {"id": "executor1", "cluster": "chameleon", "role": "executor", "cpus": 1, "mem": 1024},
            {"id": "executor2", "cluster": "azure", "role": "executor", "cpus": 1, "mem": 1024},
        ],
        "flock_network": {
            "name": NAME,
            "cidr": f"{CIDR_PREFIX}.0/24",
            "driver": "overlay",
            "gateway": f"{CIDR_PREFIX}.1",
            # Each swarm node's load-balancer endpoint on the network takes an address: not the pinned ones.
            "ip_range": f"{CIDR_PREFIX}.128/25",
            "containers": [{"id": "submitter"}, {"id": "executor1"}, {"id": "executor2"}],
        },
        "flock_marathon_ip_mode": "docker_network",
    }


def inventory_hosts() -> dict[str, Any]:
    hosts = {
        host: {
            "ansible_connection": "community.docker.docker",
            "ansible_python_interpreter": "/usr/bin/python3",
            "overlay_advertise_address": inet,
        }
        for host, (_, _, inet) in HOSTS.items()
    }
    return {"all": {"children": {"docker_hosts": {"hosts": hosts}}}}


def start_hosts() -> None:
    image = sh(str(REPO / "molecule/_shared/build-image.sh"), SYSTEMD_IMAGE).stdout.strip()
    for network, subnet in NETWORKS.items():
        sh("docker", "network", "create", "--subnet", subnet, "--label", LABEL, network)
    for host, (cloud, private, inet) in HOSTS.items():
        sh("docker", "create", "--name", host, "--hostname", host, "--label", LABEL, *HOST_FLAGS,
           "--network", CLOUD_NETWORK[cloud], "--ip", private, image, "/sbin/init")
        sh("docker", "network", "connect", "--ip", inet, "cffed-inet", host)
        sh("docker", "start", host)
    for host in HOSTS:
        for _ in range(120):
            state = sh("docker", "exec", host, "systemctl", "is-system-running", "--wait", check=False).stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(1)
        else:
            raise AssertionError(f"systemd did not boot in {host}: {state}")
        sh("docker", "exec", host, "mkdir", "-p", "/etc/systemd/system/docker.socket.d")
        sh("docker", "exec", "-i", host, "sh", "-c", "cat > /etc/systemd/system/docker.socket.d/tcp.conf",
           input=DOCKER_TCP_DROPIN)


def load_images(tarball: Path, tag: str) -> None:
    images = [f"cloudflock/{role}:{tag}" for role in ("submitter", "executor")]
    sh("docker", "save", "-o", str(tarball), *images)

    def load(host: str) -> subprocess.CompletedProcess[str]:
        with tarball.open("rb") as stream:
            done = subprocess.run(["docker", "exec", "-i", host, "docker", "load"], stdin=stream,
                                  capture_output=True, check=False)
        return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())

    with ThreadPoolExecutor(len(HOSTS)) as pool:
        for host, done in zip(HOSTS, pool.map(load, HOSTS), strict=True):
            assert done.returncode == 0, f"docker load on {host}: {done.stderr[-2000:]}"
    tarball.unlink()


def docker_client(address: str) -> Any:
    import docker

    return docker.DockerClient(base_url=f"tcp://{address}:2375", timeout=120)


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Federation, dict[str, MarathonApiDouble]]]:
    pytest.importorskip("docker")
    root = tmp_path_factory.mktemp("federation")
    remove_everything()
    doubles: dict[str, MarathonApiDouble] = {}
    clients: list[Any] = []
    try:
        start_hosts()
        # The images of this checkout, built on this machine's engine (a no-op when they exist).
        local = Federation(root / "local", f"{NAME}-images", CIDR_PREFIX)
        built = local.playbook("site.yml", "--tags", "images")
        assert built.rc == 0, built.output[-4000:]
        tag = local.spec["htcondor_images_tag"]

        # Marathon URLs are known only once the doubles listen; the hosts' engines only after site.yml.
        fed = Federation(root / "fed", NAME, CIDR_PREFIX, layout=layout({"chameleon": "http://127.0.0.1:1",
                                                                         "azure": "http://127.0.0.1:1"}),
                         hosts=inventory_hosts())
        provision = fed.playbook("site.yml", "--skip-tags", "images")
        assert provision.rc == 0, provision.output[-4000:]
        load_images(root / "pool-images.tar", tag)

        for cloud, version in (("chameleon", "1.4.3"), ("azure", "1.10.17")):
            agents = []
            for host, (host_cloud, _, inet) in HOSTS.items():
                if host_cloud == cloud:
                    clients.append(docker_client(inet))
                    agents.append((host, clients[-1]))
            doubles[cloud] = MarathonApiDouble(
                version=version, deployment_delay=0.3, agents=agents, docker_name_prefix="cffed-mesos-"
            ).start()
        spec = layout({cloud: double.url for cloud, double in doubles.items()})
        fed.spec["flock_clusters"] = spec["flock_clusters"]
        (fed.inventory / "group_vars/all/flock.yml").write_text(json.dumps(fed.spec))
        yield fed, doubles
    finally:
        for double in doubles.values():
            double.stop()
        for client in clients:
            client.close()
        remove_everything()


def pool_diagnostics() -> str:
    """Every pool container of each host, running or not, with the tail of its log (for failure messages)."""
    lines = []
    for host in HOSTS:
        listed = sh("docker", "exec", host, "docker", "ps", "-a", "--filter", f"label=cloudflock.deployment={NAME}",
                    "--format", "{{.ID}} {{.Status}} {{.Labels}}", check=False).stdout
        lines.append(f"== {host}\n{listed}")
        for container in listed.split("\n"):
            if container and "Up " not in container:
                logs = sh("docker", "exec", host, "docker", "logs", "--tail", "30", container.split()[0], check=False)
                lines.append(logs.stdout + logs.stderr)
    return "\n".join(lines)


def pools_by_host() -> dict[str, list[str]]:
    """The pool containers each host container's engine runs, by their cloudflock.pool label."""
    found = {}
    for host in HOSTS:
        out = sh("docker", "exec", host, "docker", "ps", "--filter", f"label=cloudflock.deployment={NAME}",
                 "--format", '{{.Label "cloudflock.pool"}}').stdout
        found[host] = sorted(out.split())
    return found


@pytest.mark.docker
@pytest.mark.slow
def test_jobs_run_in_both_clouds_across_three_hosts(fed: tuple[Federation, dict[str, MarathonApiDouble]]) -> None:
    federation, doubles = fed
    # The swarm spans the three hosts, and the pool network is the overlay on all of them.
    nodes = sh("docker", "exec", "cffed-c1a", "docker", "node", "ls", "--format", "{{.Hostname}} {{.Status}}")
    assert sorted(nodes.stdout.split("\n")[:-1]) == [f"{host} Ready" for host in sorted(HOSTS)], nodes.stdout

    run = federation.playbook("kinc.yml", extra={"kinc_test_jobs": 8, "kinc_test_job_seconds": 1})
    assert run.rc == 0, run.output[-5000:] + pool_diagnostics()
    summary = federation.summary(run)
    assert summary["jobs_total"] == summary["jobs_done"] == 8, summary
    assert set(summary["jobs_by_pool"]) == {"executor1", "executor2"}, summary
    assert all(count > 0 for count in summary["jobs_by_pool"].values()), summary

    # Each pool ran on its own host: the first cloud's two pools on its two hosts, executor2 in the second.
    placed = pools_by_host()
    assert sorted(placed["cffed-c1a"] + placed["cffed-c1b"]) == ["executor1", "submitter"], placed
    assert placed["cffed-c1a"] and placed["cffed-c1b"], placed
    assert placed["cffed-c2a"] == ["executor2"], placed
    for cloud, double in doubles.items():
        for app_id in double.apps:
            (task,) = double.stored_app(app_id)["tasks"]
            assert HOSTS[task["host"]][0] == cloud
    for index, pool in enumerate(["submitter", "executor1", "executor2"]):
        (host,) = [h for h, pools in placed.items() if pool in pools]
        networks = json.loads(sh("docker", "exec", host, "docker", "inspect", "--format",
                                 "{{json .NetworkSettings.Networks}}",
                                 *sh("docker", "exec", host, "docker", "ps", "-q", "--filter",
                                     f"label=cloudflock.pool={pool}").stdout.split()).stdout)
        assert networks[NAME]["IPAddress"] == f"{CIDR_PREFIX}.{index + 2}", networks

    down = federation.playbook("playbooks/teardown.yml")
    assert down.rc == 0, down.output[-4000:]
    for cloud, double in doubles.items():
        assert double.apps == {}, cloud
    assert pools_by_host() == {host: [] for host in HOSTS}


class _FakeApi:
    def __init__(self, host: str, started: list[tuple[str, str]]) -> None:
        self.host, self.started = host, started

    def create_host_config(self, **kwargs: Any) -> dict[str, Any]:
        return kwargs

    def create_container(self, image: str, **kwargs: Any) -> dict[str, str]:
        self.started.append((self.host, kwargs["name"]))
        return {"Id": kwargs["name"]}

    def start(self, container_id: str) -> None:
        pass

    def inspect_container(self, container_id: str) -> dict[str, Any]:
        return {"NetworkSettings": {"Networks": {"bridge": {"IPAddress": "10.240.9.2"}}, "Ports": {}}}

    def remove_container(self, container_id: str, force: bool = False) -> None:
        self.started[:] = [entry for entry in self.started if entry[1] != container_id]


class _FakeClient:
    def __init__(self, host: str, started: list[tuple[str, str]]) -> None:
        self.api = _FakeApi(host, started)


def test_the_double_places_tasks_on_its_agents_in_turn_or_by_constraint() -> None:
    started: list[tuple[str, str]] = []
    agents = [(host, _FakeClient(host, started)) for host in ("agent-a", "agent-b")]
    app = {"container": {"type": "DOCKER", "docker": {"image": "x:1", "network": "BRIDGE"}}, "cpus": 0.1, "mem": 32}
    with MarathonApiDouble(version="1.4.3", deployment_delay=0.05, agents=agents) as double:
        for name in ("one", "two"):
            assert double.handle("POST", "/v2/apps", {}, json.dumps({"id": f"/{name}", **app}).encode())[0] == 201
        pinned = {"id": "/three", "constraints": [["hostname", "CLUSTER", "agent-b"]], **app}
        assert double.handle("POST", "/v2/apps", {}, json.dumps(pinned).encode())[0] == 201
        double.settle()
        hosts = {app_id: double.stored_app(app_id)["tasks"][0]["host"] for app_id in ("/one", "/two", "/three")}
        assert sorted([hosts["/one"], hosts["/two"]]) == ["agent-a", "agent-b"]
        assert hosts["/three"] == "agent-b"
        assert sorted(host for host, _ in started) == ["agent-a", "agent-b", "agent-b"]
    assert started == []  # stopping the double removed every task's container from its own agent
