"""The roles reach Docker through community.docker; a task that still runs the docker CLI (command or shell)
says why in a comment right above it, which names the docker CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMMANDS = {"command", "shell", "ansible.builtin.command", "ansible.builtin.shell"}
DOCKER = re.compile(r"(^|[\s;&|(]|\$\()docker\s")


def tasks(items: list) -> list[dict]:
    """Every task of a tasks file, those in blocks too."""
    found = []
    for item in items or []:
        for key in ("block", "rescue", "always"):
            found += tasks(item.get(key, []))
        if not any(key in item for key in ("block", "rescue", "always")):
            found.append(item)
    return found


def runs_the_cli(task: dict) -> bool:
    module = next((key for key in task if key in COMMANDS), None)
    if module is None:
        return False
    args = task[module]
    if isinstance(args, dict):
        if isinstance(args.get("argv"), list):
            return str(args["argv"][0]) == "docker"
        args = args.get("cmd", "")
    return bool(DOCKER.search(str(args)))


def comment_above(text: str, name: str) -> bool:
    """Whether the comment lines right above the task name the docker CLI (as the reason it stays)."""
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if re.fullmatch(rf"\s*- name: {re.escape(name)}\s*", line))
    comment = []
    while index > 0 and lines[index - 1].lstrip().startswith("#"):
        index -= 1
        comment.insert(0, lines[index])
    return "docker CLI" in " ".join(comment)


def cli_tasks(path: Path) -> list[str]:
    return [task["name"] for task in tasks(yaml.safe_load(path.read_text())) if runs_the_cli(task)]


TASK_FILES = sorted((REPO / "roles").glob("*/tasks/*.yml")) + sorted((REPO / "roles").glob("*/handlers/*.yml"))


@pytest.mark.parametrize("path", TASK_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_a_task_that_runs_the_docker_cli_says_why(path: Path) -> None:
    text = path.read_text()
    silent = [name for name in cli_tasks(path) if not comment_above(text, name)]
    assert silent == [], f"{path.relative_to(REPO)}: {silent} run the docker CLI without a comment above saying why"


def test_the_check_finds_the_cli_where_it_stays() -> None:
    # docker import in htcondor_images and the tar stream in kinc: both keep the CLI, so the check sees them.
    assert cli_tasks(REPO / "roles/htcondor_images/tasks/debootstrap.yml") == [
        "Import the root file system as {{ htcondor_images_local_base }}"
    ]
    assert cli_tasks(REPO / "roles/kinc/tasks/fetch.yml") == ["Pack the run directory on the Docker host"]


def test_a_comment_that_does_not_name_the_cli_does_not_count() -> None:
    task = "- name: Pack\n  ansible.builtin.shell: docker exec c tar -c .\n"
    assert not comment_above("---\n# The run directory, packed.\n" + task, "Pack")
    assert not comment_above("---\n" + task, "Pack")
    assert comment_above("---\n# The docker CLI: a byte stream.\n" + task, "Pack")


def test_the_check_tells_a_docker_command_from_other_commands() -> None:
    assert runs_the_cli({"ansible.builtin.command": {"argv": ["docker", "exec", "c", "true"]}})
    assert runs_the_cli({"ansible.builtin.command": "docker info"})
    assert runs_the_cli({"ansible.builtin.shell": {"cmd": "set -o pipefail && tar -c . | docker import - x"}})
    assert not runs_the_cli({"ansible.builtin.command": {"argv": ["debootstrap", "--variant=minbase"]}})
    assert not runs_the_cli({"ansible.builtin.shell": "systemctl restart docker"})
    assert not runs_the_cli({"community.docker.docker_container_exec": {"argv": ["docker", "x"]}})


def test_the_flock_and_docker_roles_no_longer_run_the_cli() -> None:
    for role in ("flock", "docker"):
        for path in sorted((REPO / "roles" / role).glob("tasks/*.yml")):
            assert cli_tasks(path) == [], f"{path.relative_to(REPO)} runs the docker CLI"
