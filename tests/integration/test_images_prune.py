"""htcondor_images removes the pool image tags of earlier builds, except those a container was made from."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.flock import Federation

pytestmark = [pytest.mark.docker]

OLD = "0.0.0-0ld0ld0ld0ld"


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def tags(repository: str) -> set[str]:
    return set(docker("image", "ls", repository, "--format", "{{.Tag}}").stdout.split())


@pytest.fixture
def old_builds(tmp_path: Path, docker_engine: None) -> Iterator[tuple[Federation, str]]:
    fed = Federation(tmp_path, f"cftest-prune-{os.getpid()}", f"10.96.{os.getpid() % 250}")
    current = fed.spec["htcondor_images_tag"]
    built = fed.playbook("site.yml", "--tags", "images")
    assert built.rc == 0, built.output[-4000:]
    # Earlier builds, as tags of the current images: the submitter's old tag has a (stopped) container.
    for role in ("htcondor", "submitter", "executor"):
        docker("tag", f"cloudflock/{role}:{current}", f"cloudflock/{role}:{OLD}")
    container = f"cftest-prune-{os.getpid()}"
    docker("create", "--name", container, f"cloudflock/submitter:{OLD}")
    yield fed, current
    docker("rm", "-f", container, check=False)
    for role in ("htcondor", "submitter", "executor"):
        docker("image", "rm", f"cloudflock/{role}:{OLD}", check=False)


def test_old_tags_go_unless_a_container_uses_them(old_builds: tuple[Federation, str]) -> None:
    fed, current = old_builds
    run = fed.playbook("site.yml", "--tags", "images")
    assert run.rc == 0, run.output[-4000:]
    assert run.recap["changed"] >= 1
    assert OLD not in tags("cloudflock/htcondor") and OLD not in tags("cloudflock/executor")
    assert OLD in tags("cloudflock/submitter")  # a container was created from it
    for role in ("htcondor", "submitter", "executor"):
        assert current in tags(f"cloudflock/{role}"), role
    again = fed.playbook("site.yml", "--tags", "images")
    assert again.rc == 0 and again.recap["changed"] == 0, again.output[-4000:]
