"""Shared test setup: the collection importable as ansible_collections.cloudflock.htcondor, and Docker.

Tests marked ``docker`` need a Docker engine. `make test` starts one and sets CLOUDFLOCK_REQUIRE_DOCKER=1,
which turns a missing engine into a failure instead of a skip, so a green `make test` always ran them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COLLECTIONS = REPO / ".collections"
LINK = COLLECTIONS / "ansible_collections" / "cloudflock" / "htcondor"


def _ensure_collection_link() -> None:
    if not LINK.exists():
        LINK.parent.mkdir(parents=True, exist_ok=True)
        LINK.symlink_to(Path("../../.."))


_ensure_collection_link()
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS))
os.environ.setdefault("ANSIBLE_CONFIG", str(REPO / "ansible.cfg"))


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


def missing(message: str) -> None:
    """Skip for a missing prerequisite, except under `make test` (CLOUDFLOCK_REQUIRE_DOCKER=1): fail there."""
    if os.environ.get("CLOUDFLOCK_REQUIRE_DOCKER") == "1":
        pytest.fail(message + " (make test provides it; CLOUDFLOCK_REQUIRE_DOCKER=1 forbids skipping)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def docker_engine() -> None:
    if not docker_available():
        missing("no Docker engine answers `docker info`")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("docker") and "docker_engine" not in getattr(item, "fixturenames", ()):
            item.fixturenames.insert(0, "docker_engine")
