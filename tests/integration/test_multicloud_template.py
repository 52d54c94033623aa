"""inventory/multicloud used as its README says: copied out of the repository, its vault made from
vault.yml.example and encrypted with ansible-vault, its hosts and Marathon URLs pointed at this test's
"clouds", then site.yml and kinc.yml run as the collection's playbooks (cloudflock.htcondor.site and .kinc)
with ``-i <the copy> --vault-password-file ...`` from a working directory outside the repository, without
the repository's ansible.cfg.

The clouds are those of test_federation.py, under names of their own (``cfmct-*``, networks 10.241.x):
three systemd host containers, two in the first cloud and one in the second, each cloud's Marathon API
served by a test double of it (not Marathon) that starts the pool containers on the cloud's hosts. What
the copy changes is what a user changes:

* hosts.yml: the agents keep the template's names and get the host containers as ``ansible_host``
  (docker connection, login root, each host's swarm address); no Mesos master and no Mesos agent group,
  as for a site whose Marathon already runs (here the doubles);
* flock.yml: each cloud's ``marathon_url`` (the doubles, on ports reserved before site.yml), the pools'
  sizes (1 CPU, 1 GB each, for this two-core machine);
* network.yml: the overlay driver, since Weave's script and images cannot be obtained on this machine (the
  overlay's encryption stays at the template's, the role's default: off);
* kinc.yml: a small run (kinc_jobs).

Test plumbing besides: the pool images are built once on this machine's engine and loaded into the hosts
(site.yml runs with ``--skip-tags images``), and kinc.yml pins their tag (``-e flock_image_tag``) so that
edits to images/ during the run do not change it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.marathon_double import MarathonApiDouble
from tests.support import BIN, REPO
from tests.support.flock import Federation
from tests.support.host_clouds import HostClouds, sh
from tests.support.playbook import PlaybookRun, ansible_playbook

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# The host containers: (cloud, cloud network address, "internet" address), and the template's agent each is.
HOSTS = {
    "cfmct-chi1": ("chameleon", "10.241.1.11", "10.241.0.11"),
    "cfmct-chi2": ("chameleon", "10.241.1.12", "10.241.0.12"),
    "cfmct-az1": ("azure", "10.241.2.11", "10.241.0.13"),
}
AGENTS = {"chi-agent1": "cfmct-chi1", "chi-agent2": "cfmct-chi2", "az-agent1": "cfmct-az1"}
CLOUDS = HostClouds(
    "cloudflock.test=multicloud-template",
    {"cfmct-inet": "10.241.0.0/24", "cfmct-cloud1": "10.241.1.0/24", "cfmct-cloud2": "10.241.2.0/24"},
    "cfmct-inet",
    {"chameleon": "cfmct-cloud1", "azure": "cfmct-cloud2"},
    HOSTS,
)
MARATHON_VERSIONS = {"chameleon": "1.4.3", "azure": "1.10.17"}
JOBS = 6
KEY_IN_CONTAINER = "/run/secrets/cloudflock/key"


@dataclass
class Deployed:
    copy: Path
    workdir: Path
    vault: dict[str, str]
    deployment: str
    site: PlaybookRun
    kinc: PlaybookRun
    doubles: dict[str, MarathonApiDouble]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def edit(path: Path, old: str, new: str) -> None:
    """Replace one line of a template file, as a user edits it; the template must still have that line."""
    text = path.read_text()
    assert text.count(old) == 1, f"{path.name}: expected one {old!r} in the template"
    path.write_text(text.replace(old, new))


def make_vault(copy: Path, password_file: Path) -> dict[str, str]:
    """vault.yml from vault.yml.example with every placeholder replaced, then encrypted in place."""
    example = copy / "group_vars/all/vault.yml.example"
    placeholders = yaml.safe_load(example.read_text())
    assert placeholders and all("REPLACE-ME" in str(value) for value in placeholders.values()), placeholders
    values = {name: ("sha256:" + secrets.token_hex(32) if name.endswith("_checksum") else secrets.token_hex(32))
              for name in placeholders}
    text = example.read_text()
    for name, value in values.items():
        text, count = re.subn(rf"^{name}: .*$", f'{name}: "{value}"', text, flags=re.M)
        assert count == 1, name
    vault = copy / "group_vars/all/vault.yml"
    vault.write_text(text)
    encrypt = subprocess.run([str(BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(password_file),
                              str(vault)], capture_output=True, text=True, check=False)
    assert encrypt.returncode == 0, encrypt.stderr
    return values


def point_hosts(copy: Path) -> None:
    """hosts.yml: the template's agents on the host containers; no Mesos hosts (the doubles are Marathon)."""
    path = copy / "hosts.yml"
    inventory = yaml.safe_load(path.read_text())
    top = inventory["all"]
    top["vars"]["ansible_user"] = "root"
    top["children"]["azure"]["vars"]["ansible_user"] = "root"
    for cloud in ("chameleon", "azure"):
        hosts = top["children"][cloud]["hosts"]
        assert set(AGENTS) & set(hosts), (cloud, hosts)
        for name in list(hosts):
            if name not in AGENTS:
                del hosts[name]  # the cloud's Mesos master
                continue
            container = AGENTS[name]
            hosts[name] = {"ansible_host": container, "ansible_connection": "community.docker.docker",
                           "overlay_advertise_address": HOSTS[container][2]}
    top["children"]["mesos_masters"] = {}
    top["children"]["mesos_agents"] = {}
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))


def point_spec(copy: Path, urls: dict[str, str]) -> str:
    """flock.yml: the doubles' URLs and pools sized for this machine; returns the deployment name."""
    path = copy / "group_vars/all/flock.yml"
    spec = yaml.safe_load(path.read_text())
    assert "flock_pool_key" not in spec, "the template shares no key between pools"
    for cluster in spec["flock_clusters"]:
        assert set(cluster["agents"]) <= set(AGENTS), cluster
        cluster["marathon_url"] = urls[cluster["id"]]
    for container in spec["flock_containers"]:
        container.update(cpus=1, mem=1024, disk=0)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return str(spec["flock_deployment"])


def playbook(name: str, copy: Path, workdir: Path, password_file: Path, *args: str) -> PlaybookRun:
    """ansible-playbook cloudflock.htcondor.NAME as a user runs it: from workdir, without this repository's
    ansible.cfg, the collection found on ANSIBLE_COLLECTIONS_PATH."""
    env = {key: value for key, value in os.environ.items() if key != "ANSIBLE_CONFIG"}
    return ansible_playbook(f"cloudflock.htcondor.{name}", "-i", str(copy), "--vault-password-file",
                            str(password_file), *args, cwd=workdir, env=env)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    pytest.importorskip("docker")
    root = tmp_path_factory.mktemp("multicloud")
    assert not root.resolve().is_relative_to(REPO), root
    copy, workdir = root / "clouds", root / "work"
    shutil.copytree(REPO / "inventory/multicloud", copy)
    workdir.mkdir()
    password_file = root / "vault-pass"
    password_file.write_text(secrets.token_urlsafe(32) + "\n")
    password_file.chmod(0o600)
    vault = make_vault(copy, password_file)
    point_hosts(copy)
    ports = {cloud: free_port() for cloud in MARATHON_VERSIONS}
    deployment = point_spec(copy, {cloud: f"http://127.0.0.1:{port}" for cloud, port in ports.items()})
    edit(copy / "group_vars/all/network.yml", "cloudflock_network_driver: weave", "cloudflock_network_driver: overlay")
    edit(copy / "group_vars/all/kinc.yml", "kinc_jobs: 64", f"kinc_jobs: {JOBS}")

    with CLOUDS.running() as (doubles, clients):
        # The images of this checkout, built on this machine's engine (a no-op when they exist).
        local = Federation(root / "images", "cfmct-images", "10.241.8")
        built = local.playbook("site.yml", "--tags", "images")
        assert built.rc == 0, built.output[-4000:]
        tag = local.spec["htcondor_images_tag"]

        site = playbook("site", copy, workdir, password_file, "--skip-tags", "images")
        assert site.rc == 0, site.output[-5000:]
        CLOUDS.load_images(root / "pool-images.tar", tag)
        doubles.update(CLOUDS.marathon_doubles(MARATHON_VERSIONS, clients, name_prefix="cfmct-mesos-", ports=ports))
        kinc = playbook("kinc", copy, workdir, password_file, "-e", f"flock_image_tag={tag}")
        assert kinc.rc == 0, kinc.output[-5000:] + CLOUDS.pool_diagnostics(deployment)
        yield Deployed(copy, workdir, vault, deployment, site, kinc, doubles)


def test_the_copy_runs_jobs_in_both_clouds_and_brings_results_to_the_working_directory(deployed: Deployed) -> None:
    runs = sorted((deployed.workdir / "results").iterdir()) if (deployed.workdir / "results").is_dir() else []
    assert [run.name for run in runs if run.is_dir()] == [run.name for run in runs], runs
    assert len(runs) == 1, f"expected one run under {deployed.workdir / 'results'}, found {runs}"
    run = runs[0]
    assert run.name.startswith("kinc-"), run
    assert not (REPO / "results" / run.name).exists(), "results went into the repository"
    summary = json.loads((run / "summary.json").read_text())
    assert (run / "report.html").is_file() and (run / "network.txt").is_file(), sorted(p.name for p in run.iterdir())
    assert summary["jobs_total"] == summary["jobs_done"] == JOBS, summary
    # Jobs ran in both clouds: the first cloud's runner1 and the second's runner2.
    assert set(summary["jobs_by_pool"]) == {"runner1", "runner2"}, summary["jobs_by_pool"]
    assert summary["jobs_by_cluster"] == {"chameleon": summary["jobs_by_pool"]["runner1"],
                                          "azure": summary["jobs_by_pool"]["runner2"]}, summary
    assert all(count > 0 for count in summary["jobs_by_cluster"].values()), summary

    # Each cloud's Marathon (its double) ran that cloud's pools on that cloud's hosts.
    placed = CLOUDS.pools_by_host(deployed.deployment)
    assert sorted(placed["cfmct-chi1"] + placed["cfmct-chi2"]) == ["runner1", "submitter"], placed
    assert placed["cfmct-az1"] == ["runner2"], placed
    for cloud, double in deployed.doubles.items():
        assert sorted(double.apps) == sorted(f"/{deployed.deployment}/{pool}" for pool in
                                             (["submitter", "runner1"] if cloud == "chameleon" else ["runner2"]))
        for app_id in double.apps:
            (task,) = double.stored_app(app_id)["tasks"]
            assert HOSTS[task["host"]][0] == cloud, (app_id, task["host"])


def test_each_pool_runs_with_its_own_key_each_agent_holds_its_clouds_and_no_secret_is_in_plain_text(
        deployed: Deployed) -> None:
    # The controller generated every pool's key where the template says: ~/.config/cloudflock/<deployment>.
    secrets_dir = Path.home() / ".config" / "cloudflock" / deployed.deployment
    keys = {pool: (secrets_dir / "pools" / pool / "key").read_text().strip()
            for pool in ("submitter", "runner1", "runner2")}
    assert len(set(keys.values())) == 3
    for pool, key in keys.items():
        engine, container = CLOUDS.locate(deployed.deployment, pool)
        mounted = subprocess.run([*engine, "exec", "-u", "0", container, "cat", KEY_IN_CONTAINER],
                                 capture_output=True, text=True, check=False)
        assert mounted.returncode == 0, mounted.stderr
        assert mounted.stdout.strip() == key, f"{pool} does not run with its own key"
    # Any agent of a cloud may run any of its pools: it holds theirs, and no other cloud's.
    for host, (cloud, _, _) in HOSTS.items():
        listed = sh("docker", "exec", host, "ls", f"/etc/cloudflock/{deployed.deployment}/pools").stdout.split()
        assert listed == (["runner1", "submitter"] if cloud == "chameleon" else ["runner2"]), (host, listed)
        for pool, key in keys.items():
            found = sh("docker", "exec", host, "grep", "-rlF", key, f"/etc/cloudflock/{deployed.deployment}",
                       check=False)
            assert (found.returncode == 0) == (pool in listed), (host, pool, found.stdout)

    vault = (deployed.copy / "group_vars/all/vault.yml").read_text()
    assert vault.startswith("$ANSIBLE_VAULT;1.1;AES256"), vault[:40]
    for path in deployed.copy.rglob("*"):
        if path.is_file():
            text = path.read_text()
            for name, value in deployed.vault.items():
                assert value not in text, f"{name} in plain text in {path.relative_to(deployed.copy)}"
    for run in (deployed.site, deployed.kinc):
        for name, value in {**deployed.vault, **{f"{pool}'s key": key for pool, key in keys.items()}}.items():
            assert value not in run.output, f"{name} in the playbook output"
