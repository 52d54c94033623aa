"""marathon_app_info: the module reading the test double of Marathon's API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from ansible_collections.cloudflock.htcondor.plugins.module_utils import marathon_appdef as ad
from ansible_collections.cloudflock.htcondor.plugins.module_utils.marathon_client import MarathonClient
from ansible_collections.cloudflock.htcondor.plugins.modules import marathon_app_info

from tests.marathon_double import MarathonApiDouble
from tests.support import COLLECTIONS, REPO

MODULE = REPO / "plugins/modules/marathon_app_info.py"


@pytest.fixture
def marathon() -> Iterator[tuple[MarathonApiDouble, MarathonClient]]:
    with MarathonApiDouble(version="1.10.17", deployment_delay=0.05) as server:
        client = MarathonClient(server.url, poll_interval=0.02)
        for app_id in ("/flock/submitter", "/flock/executor1", "/flockx/executor1", "/other"):
            body = ad.build_app_definition({"id": app_id, "image": "cloudflock/executor:1", "cpus": 1, "mem": 256},
                                           (1, 10, 17))
            client.create_app(body)
        for app_id in ("/flock/submitter", "/flock/executor1", "/flockx/executor1", "/other"):
            client.wait_for_app(app_id, client.clock() + 30, ad.pending_reasons)
        yield server, client


def test_one_app_of_a_group_with_its_tasks(marathon: tuple[MarathonApiDouble, MarathonClient]) -> None:
    server, client = marathon
    found = marathon_app_info.read(client, "submitter", "/flock")
    assert found["exists"] is True and found["id"] == "/flock/submitter"
    (app,) = found["apps"]
    assert app["id"] == "/flock/submitter"
    (task,) = app["task_summary"]
    assert task["host"] == server.agent_host and task["state"] == "TASK_RUNNING"
    assert task["id"] == app["tasks"][0]["id"]


def test_the_apps_of_a_group_and_no_others(marathon: tuple[MarathonApiDouble, MarathonClient]) -> None:
    server, client = marathon
    found = marathon_app_info.read(client, None, "/flock")
    assert sorted(app["id"] for app in found["apps"]) == ["/flock/executor1", "/flock/submitter"]
    assert all(len(app["task_summary"]) == 1 for app in found["apps"])
    listed = [r for r in server.requests if r.method == "GET" and r.path == "/v2/apps"]
    assert listed and listed[-1].query.get("embed") in ("apps.tasks", "apps.counts")
    assert len(marathon_app_info.read(client, None, None)["apps"]) == 4


def test_a_missing_app_is_no_error(marathon: tuple[MarathonApiDouble, MarathonClient]) -> None:
    _, client = marathon
    assert marathon_app_info.read(client, "executor9", "/flock") == {"exists": False, "id": "/flock/executor9",
                                                                    "apps": []}
    assert marathon_app_info.read(client, None, "/nothing") == {"exists": False, "apps": []}


def run_module(args: dict[str, Any]) -> dict[str, Any]:
    """The module as Ansible runs it: a Python process given its arguments in a JSON file."""
    env = {**os.environ, "PYTHONPATH": str(COLLECTIONS)}
    payload = json.dumps({"ANSIBLE_MODULE_ARGS": args})
    done = subprocess.run([sys.executable, str(MODULE)], input=payload, capture_output=True, text=True,
                          env=env, check=False, timeout=120)
    return json.loads(done.stdout)


def test_the_module_reads_and_changes_nothing(marathon: tuple[MarathonApiDouble, MarathonClient]) -> None:
    server, _ = marathon
    writes = len(server.writes())
    result = run_module({"marathon_url": server.url + "/v2/apps", "group": "/flock", "id": "executor1"})
    assert result["changed"] is False and result["exists"] is True, result
    assert [app["id"] for app in result["apps"]] == ["/flock/executor1"]
    assert len(server.writes()) == writes


@pytest.mark.parametrize(("args", "field"), [
    ({"id": "Submitter"}, "id"),
    ({"group": "/Flock"}, "group"),
    ({"marathon_url": "marathon.example:8080"}, "marathon_url"),
])
def test_a_bad_field_is_named_before_any_request(marathon: tuple[MarathonApiDouble, MarathonClient],
                                                 args: dict[str, Any], field: str) -> None:
    server, _ = marathon
    before = len(server.requests)
    result = run_module({"marathon_url": server.url, **args})
    assert result.get("failed") is True and result["field"] == field, result
    assert len(server.requests) == before
