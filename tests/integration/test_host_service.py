"""The host_service role the teardowns of zookeeper, marathon, mesos and weave share, on localhost, no Docker.

Only files under tmp_path are named, with no unit and no container, so nothing of this machine is touched:
check mode removes nothing but says what it would; a real run removes the files and the data; a second run
changes nothing. The zookeeper and mesos teardowns run in check mode only (their package method would stop a
real unit of that name): their *_teardown_data flag, given on the command line as a string, decides whether
the data is removed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import BIN, collections_env
from tests.support.playbook import ansible_playbook


def _run(tmp_path: Path, include: dict[str, Any], role_vars: dict[str, Any], *extra: str) -> dict[str, Any]:
    """Include the role on localhost with the json callback; return the report, with rc."""
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    play = [{"name": "Teardown", "hosts": "all", "gather_facts": True,
             "tasks": [{"name": "Apply the teardown", "ansible.builtin.include_role": include, "vars": role_vars}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    env = collections_env()
    env.update({"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_LOCALHOST_WARNING": "false",
                "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"})
    run = ansible_playbook("-i", "inventory.yml", "play.yml", *extra, cwd=tmp_path, env=env, timeout=300)
    report = run.report()
    report["rc"] = run.rc
    return report


def _results(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each task's result on localhost, by task name without the role prefix."""
    return {task["task"]["name"].split(" : ", 1)[-1]: task["hosts"]["localhost"]
            for play in report["plays"] for task in play["tasks"]}


def _changed(report: dict[str, Any]) -> int:
    return report["stats"]["localhost"].get("changed", 0)


def test_host_service_removes_the_files_then_the_data_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    unit, settings, data = tmp_path / "demo.service", tmp_path / "etc-demo", tmp_path / "var-demo"
    for folder in (settings, data):
        folder.mkdir()
        (folder / "kept-until-removed").write_text("x")
    unit.write_text("[Unit]\n")
    role_vars = {"host_service_name": "Demo", "host_service_files": [str(unit), str(settings)],
                 "host_service_data": [str(data)]}
    include = {"name": "cloudflock.htcondor.host_service"}

    check = _run(tmp_path, include, role_vars, "--check")
    assert check["rc"] == 0 and _changed(check) == 2, check["stats"]
    assert unit.exists() and settings.exists() and data.exists()

    first = _run(tmp_path, include, role_vars)
    assert first["rc"] == 0, first["stats"]
    results = _results(first)
    files = results["Remove the units and settings of Demo"]["results"]
    assert [r["path"] for r in files] == [str(unit), str(settings)]
    assert results["Remove the data of Demo"]["changed"]
    assert not unit.exists() and not settings.exists() and not data.exists()
    # Reloaded only where systemd manages the host, and only because a unit went.
    systemd = results["Gathering Facts"]["ansible_facts"]["ansible_service_mgr"] == "systemd"
    assert results["Reload systemd after removing the units of Demo"].get("skipped", False) is not systemd

    second = _run(tmp_path, include, role_vars)
    assert second["rc"] == 0 and _changed(second) == 0, second["stats"]
    assert _results(second)["Reload systemd after removing the units of Demo"].get("skipped")


@pytest.mark.parametrize(("role", "flag", "given", "removed"), [
    ("zookeeper", "zookeeper_teardown_data", "true", True),
    ("zookeeper", "zookeeper_teardown_data", "false", False),
    ("mesos", "mesos_teardown_data", "true", True),
    ("mesos", "mesos_teardown_data", "false", False),
])
def test_teardown_data_given_on_the_command_line_decides(tmp_path: Path, role: str, flag: str, given: str,
                                                         removed: bool) -> None:
    data = tmp_path / "data"
    (data / "version-2").mkdir(parents=True)
    role_vars = ({"zookeeper_install_method": "package", "zookeeper_data_dir": str(data)} if role == "zookeeper"
                 else {"mesos_install_method": "package", "mesos_config_dir": str(tmp_path / "etc"),
                       "mesos_agent_work_dir": str(data / "version-2"), "mesos_master_work_dir": str(data / "master")})
    report = _run(tmp_path, {"name": f"cloudflock.htcondor.{role}", "tasks_from": "teardown"}, role_vars,
                  "--check", "-e", f"{flag}={given}")
    assert report["rc"] == 0, json.dumps(report["stats"])
    name = {"zookeeper": "ZooKeeper", "mesos": "Mesos"}[role]
    paths = [r["path"] for r in _results(report)[f"Remove the data of {name}"].get("results", [])]
    assert (str(data / "version-2") in paths) is removed, paths
    assert (data / "version-2").exists()
