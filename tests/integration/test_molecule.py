"""`molecule test` for each scenario in extensions/molecule/.

default converges the embedded federation on this machine's Docker engine (site.yml, the pools of kinc.yml)
under names and addresses of its own, and its verify runs test jobs through kinc.yml. The others provision
host containers with systemd as PID 1: docker, zookeeper and overlay run for real; mesos, marathon and weave
are partial (rendered configuration, units loaded by systemd, check mode, validation), as each scenario's
README says. About twenty minutes in all on two cores. Needs the `molecule` extra (pip install
'.[molecule]'); without it these tests are skipped with that reason, unless CLOUDFLOCK_REQUIRE_MOLECULE=1
makes that a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.support.local_spec import local_spec

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
# Fastest first, so a broken shared setup fails early.
SCENARIOS = ["marathon", "mesos", "weave", "docker", "overlay", "zookeeper", "default"]
# default builds the pool images when images/ changed since the last build.
TIMEOUT = {"docker": 600, "overlay": 900, "zookeeper": 900, "default": 1800}


def _molecule() -> str | None:
    candidate = VENV_BIN / "molecule"
    if candidate.exists():
        return str(candidate)
    return shutil.which("molecule")


def test_every_scenario_is_listed() -> None:
    on_disk = sorted(p.parent.name for p in (ROOT / "extensions/molecule").glob("*/molecule.yml"))
    assert on_disk == sorted(SCENARIOS)
    # A root molecule/ would make molecule 26 warn and look there instead of extensions/molecule/.
    assert not (ROOT / "molecule").exists(), "molecule/ at the root: scenarios belong in extensions/molecule/"


def test_default_scenario_is_inventory_local_under_its_own_names() -> None:
    """The default scenario's inventory is inventory/local's but for the names and addresses that keep its
    pools apart from `make demo`'s, and the places of its key and results."""
    local = ROOT / "inventory/local"
    scenario = ROOT / "extensions/molecule/default/inventory"
    assert yaml.safe_load((scenario / "hosts.yml").read_text()) == yaml.safe_load((local / "hosts.yml").read_text())
    ours = yaml.safe_load((scenario / "group_vars/all/flock.yml").read_text())
    theirs = local_spec()  # rendered: inventory/local's containers and addresses are Jinja
    for spec in (ours, theirs):
        spec.pop("flock_secrets_dir", None)
        network = spec["flock_network"]
        spec["names"] = (spec.pop("flock_deployment"), network.pop("name"), network.pop("cidr"),
                         [entry.pop("ip") for entry in network["containers"]])
    (deployment, network, cidr, addresses), local_names = ours.pop("names"), theirs.pop("names")
    assert deployment != local_names[0] and network != local_names[1] and cidr != local_names[2]
    assert not set(addresses) & set(local_names[3])
    assert ours == theirs


def _molecule_env() -> tuple[str, dict[str, str]]:
    molecule = _molecule()
    if molecule is None:
        message = "molecule is not installed: pip install '.[molecule]'"
        if os.environ.get("CLOUDFLOCK_REQUIRE_MOLECULE") == "1":
            pytest.fail(message + " (CLOUDFLOCK_REQUIRE_MOLECULE=1 forbids skipping)")
        pytest.skip(message)
    env = dict(os.environ)
    env["PATH"] = f"{Path(molecule).parent}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_COLLECTIONS_PATH"] = str(ROOT / ".collections")
    env.pop("ANSIBLE_CONFIG", None)
    env["PY_COLORS"] = "0"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    return molecule, env


def test_molecule_finds_every_scenario_and_default_without_an_argument() -> None:
    molecule, env = _molecule_env()
    listed = subprocess.run([molecule, "list", "--format", "plain"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    # Columns: instance, driver, provisioner, scenario, created, converged.
    found = {line.split()[3] for line in listed.stdout.splitlines() if len(line.split()) == 6}
    assert found == set(SCENARIOS), listed.stdout
    assert "should migrate" not in listed.stdout + listed.stderr
    # With no scenario named, molecule runs default: its syntax step, which starts nothing.
    syntax = subprocess.run([molecule, "syntax"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                            check=False)
    output = syntax.stdout + syntax.stderr
    assert syntax.returncode == 0, output[-3000:]
    assert re.search(r"default\W+syntax\W+Executed: Successful", output), output[-3000:]


@pytest.mark.docker
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario: str) -> None:
    molecule, env = _molecule_env()
    started = time.monotonic()
    proc = subprocess.run(
        [molecule, "test", "-s", scenario],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT.get(scenario, 420), check=False,
    )
    elapsed = time.monotonic() - started
    output = proc.stdout + proc.stderr
    tail = "\n".join(output.splitlines()[-60:])
    assert proc.returncode == 0, f"molecule test -s {scenario} failed after {elapsed:.0f}s:\n{tail}"
    # "[docker > converge] Executed: Successful" without a terminal, "docker ➜ converge: ..." with one.
    for step in ("converge", "idempotence", "verify"):
        pattern = rf"{scenario}\W+{step}\W+Executed: Successful"
        assert re.search(pattern, re.sub(r"\x1b\[[0-9;]*m", "", output)), f"{step} did not run:\n{tail}"
    print(f"molecule test -s {scenario}: {elapsed:.0f}s")
