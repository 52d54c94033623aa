"""`molecule test` for each provisioning scenario in extensions/molecule/ (host containers with systemd as PID 1).

docker, zookeeper and overlay run for real; mesos, marathon and weave are partial (rendered configuration,
units loaded by systemd, check mode, validation), as each scenario's README says. About ten minutes in all
on two cores. Needs the `molecule` extra (pip install '.[molecule]'); without it these tests are skipped
with that reason, unless CLOUDFLOCK_REQUIRE_MOLECULE=1 makes that a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
# Fastest first, so a broken shared setup fails early.
SCENARIOS = ["marathon", "mesos", "weave", "docker", "overlay", "zookeeper"]
TIMEOUT = {"docker": 600, "overlay": 900, "zookeeper": 900}


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


@pytest.mark.docker
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario: str) -> None:
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
