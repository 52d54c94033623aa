"""The collection as a user runs it: built and installed, their own inventory, their own GEM, results where
they run.

The collection is built with `ansible-galaxy collection build` and installed with `ansible-galaxy collection
install` into a fresh HOME's default collections path; the runs have no ANSIBLE_CONFIG and no
ANSIBLE_COLLECTIONS_PATH, and start from a working directory outside the repository. The inventory is a copy
of inventory/local in a directory of the user's, changed only where a user would change it (the deployment's
name, its network and addresses, so it stays apart from other runs on this engine). The GEM is the user's:
generated here, with missing values, in a directory of its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from ansible_collections.cloudflock.htcondor.plugins.module_utils.image_inputs import collection_version, images_tag

from tests.support import BIN, REPO
from tests.support.local_spec import local_spec
from tests.support.playbook import PlaybookRun, ansible_playbook

pytestmark = [pytest.mark.docker, pytest.mark.slow]

NAME = f"cfuser-{os.getpid()}"
PREFIX = f"10.86.{os.getpid() % 250}"


class User:
    """A user's machine: a HOME with the installed collection, an inventory, a data and a working directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.inventory = root / "my-site"
        self.work = root / "work"
        self.data = root / "data"
        for path in (self.home, self.work, self.data):
            path.mkdir(parents=True)
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
        self.env.update(HOME=str(self.home), PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", ANSIBLE_NOCOLOR="1",
                        ANSIBLE_FORCE_COLOR="0")

    def run(self, *argv: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), cwd=self.work, env=self.env, capture_output=True, text=True,
                              check=False, timeout=timeout)

    def playbook(self, name: str, *args: str, extra: dict[str, Any] | None = None) -> PlaybookRun:
        if extra:
            args = (*args, "-e", json.dumps(extra))
        return ansible_playbook(f"cloudflock.htcondor.{name}", "-i", str(self.inventory), *args, cwd=self.work,
                                env=self.env)

    def containers(self, deployment: str = NAME) -> list[str]:
        out = subprocess.run(["docker", "ps", "-a", "--filter", f"label=cloudflock.deployment={deployment}",
                              "--format", "{{.Names}}"], capture_output=True, text=True, check=True).stdout
        return sorted(out.split())


def write_gem(path: Path, genes: int = 150, samples: int = 40, seed: int = 11) -> None:
    """A GEM with a planted co-expressed module (genes 0-19) among independent genes, and missing values."""
    rng = np.random.default_rng(seed)
    values = rng.normal(8.0, 1.0, size=(genes, samples))
    driver = rng.normal(0.0, 1.5, size=samples)
    values[:20] += driver + rng.normal(0.0, 0.3, size=(20, samples))
    missing = rng.random(size=values.shape) < 0.03
    lines = ["\t".join(f"sample_{s:02d}" for s in range(samples))]
    for gene in range(genes):
        cells = ["NA" if missing[gene, s] else f"{values[gene, s]:.5f}" for s in range(samples)]
        lines.append(f"gene_{gene:04d}\t" + "\t".join(cells))
    path.write_text("\n".join(lines) + "\n")


def network(path: Path) -> dict[tuple[str, str], float]:
    lines = path.read_text().splitlines()
    header = lines[0].split("\t")
    source, target, score = header.index("Source"), header.index("Target"), header.index("Similarity_Score")
    return {(f[source], f[target]): float(f[score]) for f in (line.split("\t") for line in lines[1:])}


@pytest.fixture(scope="module")
def user(tmp_path_factory: pytest.TempPathFactory):
    user = User(tmp_path_factory.mktemp("user"))
    dist = user.root / "dist"
    built = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(dist)],
                           cwd=REPO, capture_output=True, text=True, check=False, env=user.env)
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = next(dist.glob("cloudflock-htcondor-*.tar.gz"))
    installed = user.run(str(BIN / "ansible-galaxy"), "collection", "install", str(tarball))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    user.collection = user.home / ".ansible/collections/ansible_collections/cloudflock/htcondor"
    assert (user.collection / "MANIFEST.json").is_file() and not (user.collection / "galaxy.yml").exists()

    shutil.copytree(REPO / "inventory/local", user.inventory)
    spec_file = user.inventory / "group_vars/all/flock.yml"
    # The spec as written out by a user who renames the deployment (the Jinja's addresses are 10.88.0.x).
    spec = local_spec()
    spec["flock_deployment"] = NAME
    spec["flock_network"].update(name=NAME, cidr=f"{PREFIX}.0/24")
    for index, entry in enumerate(spec["flock_network"]["containers"]):
        entry["ip"] = f"{PREFIX}.{index + 2}"
    spec_file.write_text(yaml.safe_dump(spec))
    yield user
    down = user.playbook("teardown")
    assert down.rc == 0, down.output[-4000:]
    assert user.containers() == []


def test_the_installed_collection_builds_the_same_images_as_the_checkout(user: User) -> None:
    # Otherwise a user's site.yml would build (and prune) images under another tag than a checkout's.
    assert images_tag(user.collection / "images", collection_version(user.collection)) == images_tag(
        REPO / "images", collection_version(REPO))


def test_site_then_kinc_on_the_users_own_gem(user: User) -> None:
    site = user.playbook("site")
    assert site.rc == 0, site.output[-4000:]

    gem = user.data / "my experiment.gem"
    write_gem(gem)
    before = (gem.read_bytes(), gem.stat().st_mtime_ns)
    run = user.playbook("kinc", extra={"kinc_gem": str(gem), "kinc_corrmethod": "spearman", "kinc_threshold": 0.8,
                                       "kinc_minsamp": 25, "kinc_jobs": 4})
    assert run.rc == 0, run.output[-4000:]
    assert (gem.read_bytes(), gem.stat().st_mtime_ns) == before, "the GEM was modified"

    run_id = re.search(r"\"?run_id\"?: \"?(kinc-[0-9a-f-]+)", run.output).group(1)
    results = user.work / "results" / run_id
    summary = json.loads((results / "summary.json").read_text())
    assert summary["gem"] == str(gem)
    assert summary["gem_sha256"] == hashlib.sha256(before[0]).hexdigest()
    assert (summary["gem_genes"], summary["gem_samples"]) == (150, 40)
    assert summary["settings"]["corrmethod"] == "spearman" and summary["settings"]["minsamp"] == 25
    assert summary["threshold"] == 0.8 and summary["threshold_source"] == "fixed"
    # Every chunk ran in the user's pools. Which pools: first come, first served, so a run this short may
    # finish in executor1 alone when executor2's negotiator comes late (CI saw {'executor1': 4}); that both
    # pools take jobs is held by test_local_flock's longer run.
    assert set(summary["jobs_by_pool"]) <= {"executor1", "executor2"}, summary["jobs_by_pool"]
    assert sum(summary["jobs_by_pool"].values()) == 4, summary["jobs_by_pool"]

    # The same network as KINC's own command line on the same file, run here in one process.
    direct = user.root / "direct"
    direct.mkdir()
    kinc = [sys.executable, "-m", "kinc", "run"]
    env = {**os.environ, "PYTHONPATH": str(REPO / "images/kinc")}
    for step in (["import-emx", "--input", str(gem), "--output", "in.emx", "--nan", "NA"],
                 ["similarity", "--input", "in.emx", "--ccm", "n.ccm", "--cmx", "n.cmx", "--corrmethod", "spearman",
                  "--minsamp", "25"],
                 ["extract", "--emx", "in.emx", "--ccm", "n.ccm", "--cmx", "n.cmx", "--format", "text",
                  "--output", "network.txt", "--mincorr", "0.8"]):
        done = subprocess.run(kinc + step, cwd=direct, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
    theirs, ours = network(direct / "network.txt"), network(results / "network.txt")
    assert len(ours) > 0 and summary["edges"] == len(ours)
    assert ours.keys() == theirs.keys()
    assert all(abs(ours[pair] - theirs[pair]) < 1e-6 for pair in ours)


def _started(output: str) -> str:
    match = re.search(r"Run (kinc-[0-9a-f-]+) started", output)
    assert match, output[-4000:]
    return match.group(1)


def _status(user: User, run_id: str) -> dict[str, Any]:
    done = subprocess.run(["docker", "exec", "-u", "condor_pool", f"{NAME}-submitter",
                           "/home/condor_pool/OSG-KINC/status", run_id, "--json"],
                          capture_output=True, text=True, check=False)
    return json.loads(done.stdout) if done.returncode == 0 else {}


def _wait_for(user: User, run_id: str, what: str, until, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = _status(user, run_id)
        if status and until(status):
            return status
        time.sleep(1)
    raise AssertionError(f"no {what} in run {run_id} within {timeout} s: {status}")


def test_a_detached_run_is_followed_and_resumed_after_a_submitter_restart(user: User) -> None:
    start = user.playbook("kinc", extra={"kinc_wait": False, "kinc_test_jobs": 8, "kinc_test_job_seconds": 8})
    assert start.rc == 0, start.output[-4000:]
    run_id = _started(start.output)
    assert not (user.work / "results" / run_id).exists(), "a detached run fetched results"

    shown = user.playbook("kinc_status", extra={"kinc_run_id": run_id})
    assert shown.rc == 0, shown.output[-4000:]
    assert re.search(rf"{run_id}: (running|done)", shown.output), shown.output[-3000:]
    assert re.search(r"jobs: \d/8 done", shown.output), shown.output[-3000:]

    _wait_for(user, run_id, "running job", lambda s: s["jobs_running"] > 0)
    restarted = subprocess.run(["docker", "restart", f"{NAME}-submitter"], capture_output=True, text=True, check=False)
    assert restarted.returncode == 0, restarted.stderr

    # kinc_resume with no run named takes the newest run, this one.
    resumed = user.playbook("kinc_resume")
    assert resumed.rc == 0, resumed.output[-4000:]
    assert f"Run {run_id}" in resumed.output
    summary = json.loads((user.work / "results" / run_id / "summary.json").read_text())
    assert summary["jobs_done"] == 8 and set(summary["jobs_by_pool"]) == {"executor1", "executor2"}


def test_a_stopped_run_resumes_from_its_rescue_dag(user: User) -> None:
    start = user.playbook("kinc", extra={"kinc_wait": False, "kinc_test_jobs": 8, "kinc_test_job_seconds": 4})
    assert start.rc == 0, start.output[-4000:]
    run_id = _started(start.output)
    status = _wait_for(user, run_id, "finished job", lambda s: s["jobs_done"] >= 2)
    removed = subprocess.run(["docker", "exec", "-u", "condor_pool", f"{NAME}-submitter", "condor_rm",
                              str(status["dagman_cluster"])], capture_output=True, text=True, check=False)
    assert removed.returncode == 0, removed.stderr
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # DAGMan writes its rescue DAG as it leaves the queue
        queued = subprocess.run(["docker", "exec", f"{NAME}-submitter", "condor_q", str(status["dagman_cluster"]),
                                 "-af", "ClusterId"], capture_output=True, text=True, check=False)
        if queued.returncode == 0 and not queued.stdout.strip():
            break
        time.sleep(1)

    resumed = user.playbook("kinc_resume", extra={"kinc_run_id": run_id})
    assert resumed.rc == 0, resumed.output[-4000:]
    assert re.search(rf"Run {run_id} had stopped: resumed from run\.dag\.rescue\d{{3}}", resumed.output), \
        resumed.output[-4000:]
    summary = json.loads((user.work / "results" / run_id / "summary.json").read_text())
    assert summary["jobs_done"] == 8 and summary["resumed"] == 1


@pytest.mark.parametrize(("case", "extra", "expected"), [
    ("duplicate gene", {"kinc_gem": "dup.gem"}, r"dup\.gem: line 4: .*gene_0001"),
    ("no such file", {"kinc_gem": "nowhere.gem"}, r"nowhere\.gem"),
    ("too few samples", {"kinc_gem": "ok.gem", "kinc_minsamp": 41}, r"kinc_minsamp"),
    ("minsamp zero", {"kinc_gem": "ok.gem", "kinc_minsamp": 0}, r"kinc_minsamp: 0 must be at least 1"),
    ("maxcorr below mincorr", {"kinc_mincorr": 0.9, "kinc_maxcorr": 0.8},
     r"kinc_maxcorr: 0.8 must be from kinc_mincorr"),
])
def test_bad_input_is_refused_before_anything_starts(user: User, case: str, extra: dict[str, Any],
                                                     expected: str) -> None:
    write_gem(user.data / "ok.gem")
    lines = (user.data / "ok.gem").read_text().splitlines()
    (user.data / "dup.gem").write_text("\n".join([*lines[:3], lines[2], *lines[3:]]) + "\n")
    if "kinc_gem" in extra:
        extra = {**extra, "kinc_gem": str(user.data / extra["kinc_gem"])}
    deployment = f"{NAME}-bad"
    run = user.playbook("kinc", extra={**extra, "flock_deployment": deployment})
    assert run.rc != 0, case
    assert re.search(expected, run.output), run.output[-3000:]
    # The check failed before the flock role began: no key, network or container of the deployment.
    assert "TASK [cloudflock.htcondor.flock" not in run.output, run.output[-3000:]
    assert user.containers(deployment) == []
    assert not (user.home / ".config/cloudflock" / deployment).exists()
