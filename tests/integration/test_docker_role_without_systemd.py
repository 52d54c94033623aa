"""The docker role where systemd is not PID 1, on a host other than the controller.

A host container from the molecule image (extensions/molecule/_shared) started with ``sleep`` as PID 1, so
``service_mgr`` is not systemd and the role takes its dockerd-ctl path, reached over the docker connection:
the role's files exist only on the controller. The role installs docker.io from Debian's archive, starts
dockerd, and a changed daemon.json restarts it through the handler, which must copy the script over rather
than run the controller's path.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support import REPO
from tests.support.host_clouds import HOST_FLAGS, SYSTEMD_IMAGE, sh
from tests.support.playbook import PlaybookRun, ansible_playbook

pytestmark = [pytest.mark.docker, pytest.mark.slow]

HOST = f"cftest-nosysd-{os.getpid()}"
HANDLER = "RUNNING HANDLER [cloudflock.htcondor.docker : Restart docker without systemd]"
SYSTEMD_TASK = "TASK [cloudflock.htcondor.docker : Keep the Docker service running under systemd]"
START_TASK = "TASK [cloudflock.htcondor.docker : Start dockerd where systemd is not PID 1]"
APT_TASK = "TASK [cloudflock.htcondor.docker : Install Docker from the distribution]"


def in_host(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh("docker", "exec", HOST, *argv, check=check)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Path]:
    """The host container and an inventory naming it; removed afterwards with its nested engine's volume."""
    image = sh(str(REPO / "extensions/molecule/_shared/build-image.sh"), SYSTEMD_IMAGE).stdout.strip()
    sh("docker", "rm", "-f", "-v", HOST, check=False)
    sh("docker", "run", "-d", "--name", HOST, "--hostname", HOST, *HOST_FLAGS, image, "sleep", "infinity")
    root = tmp_path_factory.mktemp("nosysd")
    inventory = root / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {HOST: {
        "ansible_connection": "community.docker.docker",
        "ansible_python_interpreter": "/usr/bin/python3",
    }}}}))
    (root / "docker.yml").write_text(yaml.safe_dump([
        {"name": "Docker", "hosts": "all", "roles": [{"role": "cloudflock.htcondor.docker"}]},
    ]))
    try:
        yield root
    finally:
        sh("docker", "rm", "-f", "-v", HOST, check=False)


def apply_role(root: Path, daemon_options: dict[str, str]) -> PlaybookRun:
    return ansible_playbook(str(root / "docker.yml"), "-i", str(root / "hosts.yml"),
                            "-e", json.dumps({"docker_daemon_options": daemon_options}), timeout=900)


def result(run: PlaybookRun, header: str) -> str | None:
    """The status line of a task or handler, or None when it did not run."""
    _, found, after = run.output.partition(header)
    if not found:
        return None
    match = re.search(r"^(ok|changed|failed|fatal|skipping)\b.*$", after, flags=re.M)
    return match.group(0) if match else ""


def dockerd_pid() -> str:
    return in_host("sh", "-c", "pidof dockerd").stdout.strip()


def logging_driver() -> str:
    return in_host("docker", "info", "--format", "{{.LoggingDriver}}").stdout.strip()


def test_a_changed_daemon_json_restarts_dockerd_through_the_handler(host: Path) -> None:
    role_files = REPO / "roles/docker/files/dockerd-ctl"
    assert role_files.exists()
    assert in_host("test", "-e", str(role_files), check=False).returncode != 0, "the role's files are on the host"
    assert in_host("cat", "/proc/1/comm").stdout.strip() == "sleep"

    first = apply_role(host, {"log-driver": "json-file"})
    assert first.rc == 0, first.output[-4000:]
    assert (result(first, APT_TASK) or "").startswith("changed"), first.output[-4000:]
    assert (result(first, SYSTEMD_TASK) or "").startswith("skipping"), first.output[-4000:]
    assert (result(first, START_TASK) or "").startswith("changed"), first.output[-4000:]
    assert (result(first, HANDLER) or "").startswith("changed"), first.output[-4000:]
    assert logging_driver() == "json-file"

    again = apply_role(host, {"log-driver": "json-file"})
    assert again.rc == 0, again.output[-4000:]
    assert again.recap["changed"] == 0, again.output[-4000:]
    assert result(again, HANDLER) is None
    # dpkg reports both packages installed, so apt (and its cache) is not opened again.
    assert (result(again, APT_TASK) or "").startswith("skipping"), again.output[-4000:]

    before = dockerd_pid()
    changed = apply_role(host, {"log-driver": "local"})
    assert changed.rc == 0, changed.output[-4000:]
    assert (result(changed, HANDLER) or "").startswith("changed"), changed.output[-4000:]
    after = dockerd_pid()
    assert before and after and before != after, f"dockerd was not restarted (pid {before} -> {after})"
    assert logging_driver() == "local"
