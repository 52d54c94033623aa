"""Shared test setup: the collection importable as ansible_collections.cloudflock.htcondor, and Docker.

Tests marked ``docker`` need a Docker engine. `make test` starts one and sets CLOUDFLOCK_REQUIRE_DOCKER=1,
which turns a missing engine into a failure instead of a skip, so a green `make test` always ran them.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.support.collection import COLLECTIONS, REPO, ensure_collection_link
from tests.support.prerequisites import missing

ensure_collection_link()
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS))
os.environ.setdefault("ANSIBLE_CONFIG", str(REPO / "ansible.cfg"))


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="session")
def docker_engine() -> None:
    if not docker_available():
        missing("no Docker engine answers `docker info`")


# Under pytest-xdist (`make test` runs two workers, --dist loadfile) each module's tests stay on one worker, as
# their module-scoped deployments expect, and the modules that take longest are handed out first so that the
# two workers finish together. Every module's deployment has names and addresses of its own (the worker's pid
# in them), so two modules can run side by side.
# By their time in make test (the 40 slowest, listed at its end), longest first.
LONGEST_FIRST = ["test_molecule", "test_federation", "test_faults", "test_converge", "test_multicloud_template",
                 "test_user_path", "test_pool_security", "test_local_flock", "test_membership",
                 "test_marathon_flock", "test_docker_role_without_systemd", "test_marathon_converge"]


def _rank(item: pytest.Item) -> int:
    name = item.path.stem
    if name in LONGEST_FIRST:
        return LONGEST_FIRST.index(name)
    return len(LONGEST_FIRST) + (0 if item.get_closest_marker("docker") else 1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("docker") and "docker_engine" not in getattr(item, "fixturenames", ()):
            item.fixturenames.insert(0, "docker_engine")
    items.sort(key=_rank)  # stable: within a module, the order of its file
