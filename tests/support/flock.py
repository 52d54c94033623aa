"""Run the collection's playbooks against a throw-away inventory: a copy of the embedded default, or another
layout of clusters and hosts, under its own deployment name, network and address range."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from ansible_collections.cloudflock.htcondor.plugins.module_utils.image_inputs import images_tag

from .collection import REPO
from .local_spec import local_spec
from .playbook import PlaybookRun, ansible_playbook


def _version() -> str:
    return str(yaml.safe_load((REPO / "galaxy.yml").read_text())["version"])



class Federation:
    """A copy of inventory/local (its spec rendered, see local_spec) under another deployment name, network
    and address range.

    ``layout`` replaces the spec variables of inventory/local (flock_clusters, flock_containers, flock_network
    and any other group variable) and ``hosts`` its hosts.yml; the network's containers get the addresses
    <cidr_prefix>.2, .3 ... in order either way."""

    def __init__(
        self,
        root: Path,
        name: str,
        cidr_prefix: str,
        *,
        layout: dict[str, Any] | None = None,
        hosts: dict[str, Any] | None = None,
    ) -> None:
        self.root = root
        self.name = name
        self.inventory = root / "inventory" / name
        self.results = root / "results"
        self.secrets = root / "secrets"
        local = local_spec() if layout is None else json.loads(json.dumps(layout))
        local["flock_deployment"] = name
        local["flock_network"]["name"] = name
        local["flock_network"]["cidr"] = f"{cidr_prefix}.0/24"
        for index, entry in enumerate(local["flock_network"]["containers"]):
            entry["ip"] = f"{cidr_prefix}.{index + 2}"
        local["flock_secrets_dir"] = str(self.secrets)
        # One image tag for the whole test, even if the tree changes while it runs.
        local["htcondor_images_tag"] = local["flock_image_tag"] = images_tag(REPO / "images", _version())
        local["kinc_results_dir"] = str(self.results)
        self.spec = local
        (self.inventory / "group_vars" / "all").mkdir(parents=True)
        if hosts is None:
            (self.inventory / "hosts.yml").write_text((REPO / "inventory/local/hosts.yml").read_text())
        else:
            (self.inventory / "hosts.yml").write_text(yaml.safe_dump(hosts))
        (self.inventory / "group_vars/all/flock.yml").write_text(yaml.safe_dump(local))

    def playbook(self, playbook: str, *args: str, extra: dict[str, Any] | None = None) -> PlaybookRun:
        if extra:
            args = (*args, "-e", json.dumps(extra))
        return ansible_playbook(str(REPO / playbook), "-i", str(self.inventory), *args)

    def summary(self, run: PlaybookRun) -> dict[str, Any]:
        match = re.search(r"run_id: (kinc-\S+)", run.output)
        assert match, run.output[-3000:]
        return json.loads((self.results / match.group(1) / "summary.json").read_text())

    def containers(self) -> list[str]:
        out = subprocess.run(["docker", "ps", "-a", "--filter", f"label=cloudflock.deployment={self.name}",
                              "--format", "{{.Names}}"], capture_output=True, text=True, check=True).stdout
        return sorted(out.split())

    def docker(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)

    def locate(self, pool: str) -> tuple[list[str], str]:
        """The docker command of the engine that runs the pool's container, and the container's name there."""
        return ["docker"], f"{self.name}-{pool}"

    def pool_docker(self, pool: str, command: str, *options: str, argv: tuple[str, ...] = (),
                    check: bool = False) -> subprocess.CompletedProcess[str]:
        """``docker COMMAND OPTIONS... CONTAINER ARGV...`` for the pool's container, on its engine."""
        engine, container = self.locate(pool)
        done = subprocess.run([*engine, command, *options, container, *argv], capture_output=True, text=True,
                              check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"docker {command} {container} ({pool}) failed: {done.stderr.strip()}")
        return done

    def write_spec(self, spec: dict[str, Any]) -> None:
        """Replace the inventory's spec (a membership change), as an operator would edit it."""
        self.spec = json.loads(json.dumps(spec))
        (self.inventory / "group_vars/all/flock.yml").write_text(yaml.safe_dump(self.spec))


def deployed_federation(root: Path, name: str, cidr_prefix: str) -> Iterator[Federation]:
    """A module fixture's body: inventory/local's federation under ``name``, torn down first, provisioned
    (site.yml) and its pools up (kinc.yml --tags flock); afterwards every container of the deployment (whatever
    the spec lists by then) is removed and the federation torn down."""
    fed = Federation(root, name, cidr_prefix)
    fed.playbook("playbooks/teardown.yml")
    provision = fed.playbook("site.yml")
    assert provision.rc == 0, provision.output[-4000:]
    up = fed.playbook("kinc.yml", "--tags", "flock")
    assert up.rc == 0, up.output[-4000:]
    yield fed
    for container in fed.containers():
        fed.docker("rm", "-f", container)
    fed.playbook("playbooks/teardown.yml")


# The workflow and its runs in the submitter, as the images and roles have them.
CONSTANTS = json.loads((REPO / "images" / "constants.json").read_text())
WORKFLOW = CONSTANTS["workflow_dir"]
RUNS = CONSTANTS["runs_dir"]


class Submitter:
    """The workflow commands of a federation's submitter, run as condor_pool through docker exec."""

    def __init__(self, fed: Federation) -> None:
        self.fed = fed

    def exec(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = self.fed.pool_docker("submitter", "exec", "-u", "condor_pool", "-e", "USER=condor_pool", argv=argv)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(argv)!r} in the submitter failed (rc {done.returncode}): "
                                 f"{done.stderr.strip() or done.stdout.strip()}")
        return done

    def status(self, run_id: str) -> dict[str, Any] | None:
        """The run's status, or None while the submitter does not answer (it may be restarting)."""
        done = self.exec(f"{WORKFLOW}/status", run_id, "--json", check=False)
        if done.returncode != 0:
            return None
        try:
            return dict(json.loads(done.stdout))
        except ValueError:
            return None

    def wait(self, run_id: str, until: Callable[[dict[str, Any]], bool], what: str, timeout: float = 600.0,
             gave_up: Callable[[], str | None] | None = None) -> dict[str, Any]:
        """Poll the run's status until `until` holds; fail when the run fails, `gave_up` says why, or at timeout."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            status = self.status(run_id)
            if status is not None:
                last = status
                if until(status):
                    return status
                if status["state"] == "failed":
                    raise AssertionError(f"run {run_id} failed while waiting for {what}: {status}")
            reason = gave_up() if gave_up else None
            if reason:
                raise AssertionError(f"stopped waiting for {what}: {reason}; last status {last}")
            time.sleep(1)
        raise AssertionError(f"run {run_id}: no {what} within {timeout:.0f} s; last status {last}")
