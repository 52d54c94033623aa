"""Playbooks of marathon_app tasks run on localhost against a Marathon API (the test double's), with the
ansible.posix.json callback, for the tests of the module with and without Docker."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .collection import collections_env
from .playbook import ansible_playbook

MODULE = "cloudflock.htcondor.marathon_app"


def playbook(url: str, tasks: list[dict[str, Any]], **defaults: Any) -> list[dict[str, Any]]:
    group_defaults = {"marathon_url": url, "poll_interval": 0.05, "retry_delay": 0.05, "wait_timeout": 60}
    group_defaults.update(defaults)
    return [
        {
            "name": "Exercise marathon_app",
            "hosts": "localhost",
            "gather_facts": False,
            "module_defaults": {"group/cloudflock.htcondor.marathon": group_defaults},
            "tasks": tasks,
        }
    ]


def run_playbook(
    tmp_path: Path, url: str, tasks: list[dict[str, Any]], *args: str, **defaults: Any
) -> list[dict[str, Any]]:
    """Run the tasks; returns one result dict per task (loop results under ``results``)."""
    return [task["hosts"]["localhost"] for task in run_playbook_tasks(tmp_path, url, tasks, *args, **defaults)]


def run_playbook_tasks(
    tmp_path: Path, url: str, tasks: list[dict[str, Any]], *args: str, **defaults: Any
) -> list[dict[str, Any]]:
    """Run the tasks; returns the json callback's entry of each task (``task`` with its ``duration``, ``hosts``)."""
    path = tmp_path / "play.yml"
    path.write_text(json.dumps(playbook(url, tasks, **defaults)))
    env = collections_env()
    env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    env["ANSIBLE_LOCALHOST_WARNING"] = "false"
    env["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "false"
    run = ansible_playbook(
        "-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}", str(path), *args,
        env=env, timeout=240,
    )  # fmt: skip
    return list(run.report()["plays"][0]["tasks"])


def app_task(name: str, options: dict[str, Any], **task_keys: Any) -> dict[str, Any]:
    task = {"name": name, MODULE: options}
    task.update(task_keys)
    return task
