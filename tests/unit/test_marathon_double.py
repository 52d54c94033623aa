"""The Marathon API double's own behaviour where tests elsewhere rely on it: placing tasks on several agents
and replacing lost tasks. Agents are in-memory stand-ins for Docker engines (no Docker needed)."""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

import docker.errors

from tests.marathon_double import MarathonApiDouble
from tests.marathon_double.schema import SCHEMA_143, load_schema_143, schema_default

APP = {"container": {"type": "DOCKER", "docker": {"image": "x:1", "network": "BRIDGE"}}, "cpus": 0.1, "mem": 32}


class _Engine:
    """The part of docker.APIClient the double uses, keeping containers in a dict: name -> running."""

    def __init__(self, host: str, started: list[tuple[str, str]]) -> None:
        self.host, self.started = host, started
        self.running: dict[str, bool] = {}

    def create_host_config(self, **kwargs: Any) -> dict[str, Any]:
        return kwargs

    def create_container(self, image: str, **kwargs: Any) -> dict[str, str]:
        self.started.append((self.host, kwargs["name"]))
        self.running[kwargs["name"]] = False
        return {"Id": kwargs["name"]}

    def start(self, container_id: str) -> None:
        self.running[container_id] = True

    def inspect_container(self, container_id: str) -> dict[str, Any]:
        if container_id not in self.running:
            raise docker.errors.NotFound(container_id)
        return {"State": {"Running": self.running[container_id]},
                "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "10.240.9.2"}}, "Ports": {}}}

    def remove_container(self, container_id: str, force: bool = False) -> None:
        if container_id not in self.running:
            raise docker.errors.NotFound(container_id)
        del self.running[container_id]
        self.started[:] = [entry for entry in self.started if entry[1] != container_id]


class _Client:
    def __init__(self, host: str, started: list[tuple[str, str]]) -> None:
        self.api = _Engine(host, started)


def _post(double: MarathonApiDouble, app: dict[str, Any]) -> None:
    assert double.handle("POST", "/v2/apps", {}, json.dumps(app).encode())[0] == 201


def _wait(predicate: Any, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"no {what} within {timeout} s")


def test_the_schema_is_the_copy_kept_in_the_repository_unchanged_as_its_notice_says() -> None:
    assert SCHEMA_143.is_relative_to(Path(__file__).resolve().parents[2]), SCHEMA_143
    here = SCHEMA_143.parent
    assert (here / "LICENSE").read_text(encoding="utf-8").lstrip().startswith("Apache License")
    named = re.search(r"SHA-256\s+([0-9a-f]{64})", (here / "NOTICE").read_text(encoding="utf-8"))
    assert named, "NOTICE names no SHA-256"
    assert hashlib.sha256(SCHEMA_143.read_bytes()).hexdigest() == named.group(1)
    assert load_schema_143()["properties"]["cpus"]["minimum"] == 0


def test_the_double_answers_422_with_the_schemas_own_complaint() -> None:
    with MarathonApiDouble(version="1.4.3") as double:
        status, payload, _ = double.handle("POST", "/v2/apps", {}, json.dumps({**APP, "id": "/x", "cpus": -1}).encode())
    assert status == 422, (status, payload)
    assert [detail["path"] for detail in payload["details"]] == ["/cpus"], payload


def test_the_doubles_defaults_are_the_schemas_and_constraints_come_back_in_its_own_order() -> None:
    """What the vendored schema states a default for is filled in from the schema, not restated; the
    constraints, a set in Marathon, are not answered in the order sent."""
    assert schema_default("killSelection", (1, 4, 3)) == "YOUNGEST_FIRST"
    assert schema_default("healthChecks/[]/delaySeconds", (1, 4, 3)) == 2
    constraints = [["hostname", "UNIQUE"], ["rack", "GROUP_BY", "3"]]
    check = {"protocol": "TCP", "portIndex": 0}
    with MarathonApiDouble(version="1.4.3") as double:
        _post(double, {"id": "/d", "constraints": constraints, "healthChecks": [check], **APP})
        status, payload, _ = double.handle("GET", "/v2/apps/d", {}, b"")
    assert status == 200, payload
    app = payload["app"]
    assert app["killSelection"] == "YOUNGEST_FIRST"
    assert app["healthChecks"][0]["delaySeconds"] == 2
    assert app["constraints"] != constraints and sorted(app["constraints"]) == constraints


def test_the_double_places_tasks_on_its_agents_in_turn_or_by_constraint() -> None:
    started: list[tuple[str, str]] = []
    agents = [(host, _Client(host, started)) for host in ("agent-a", "agent-b")]
    with MarathonApiDouble(version="1.4.3", deployment_delay=0.05, agents=agents) as double:
        for name in ("one", "two"):
            _post(double, {"id": f"/{name}", **APP})
        _post(double, {"id": "/three", "constraints": [["hostname", "CLUSTER", "agent-b"]], **APP})
        double.settle()
        hosts = {app_id: double.stored_app(app_id)["tasks"][0]["host"] for app_id in ("/one", "/two", "/three")}
        assert sorted([hosts["/one"], hosts["/two"]]) == ["agent-a", "agent-b"]
        assert hosts["/three"] == "agent-b"
        assert sorted(host for host, _ in started) == ["agent-a", "agent-b", "agent-b"]
    assert started == []  # stopping the double removed every task's container from its own agent


def test_a_task_whose_container_stopped_is_replaced_from_the_same_definition() -> None:
    started: list[tuple[str, str]] = []
    client = _Client("agent-a", started)
    with MarathonApiDouble(version="1.10.17", deployment_delay=0.05, agents=[("agent-a", client)],
                           relaunch_interval=0.05) as double:
        _post(double, {"id": "/pool/executor2", "instances": 1, **APP})
        double.settle()
        (first,) = double.stored_app("/pool/executor2")["tasks"]
        client.api.running[[name for _, name in started][0]] = False  # the container was killed

        _wait(lambda: [t["id"] for t in double.stored_app("/pool/executor2")["tasks"]] not in ([], [first["id"]]),
              "replacement task")
        app = double.stored_app("/pool/executor2")
        (second,) = app["tasks"]
        assert second["host"] == "agent-a" and second["id"] != first["id"]
        assert app["tasksRunning"] == 1
        assert app["lastTaskFailure"]["taskId"] == first["id"], app["lastTaskFailure"]
        # The dead container is gone and exactly one runs: the replacement.
        assert len(started) == 1 and client.api.running == {started[0][1]: True}, (started, client.api.running)
        # No request was needed: the replacement is Marathon's doing, not a client's.
        assert double.writes()[1:] == []


def test_tasks_of_an_app_being_deleted_are_not_replaced() -> None:
    started: list[tuple[str, str]] = []
    client = _Client("agent-a", started)
    with MarathonApiDouble(version="1.4.3", deployment_delay=0.3, agents=[("agent-a", client)],
                           relaunch_interval=0.02) as double:
        _post(double, {"id": "/gone", **APP})
        double.settle()
        assert double.handle("DELETE", "/v2/apps/gone", {}, b"")[0] == 200
        for name in list(client.api.running):
            client.api.running[name] = False  # stopped while the delete deployment runs
        double.settle()
        time.sleep(0.2)  # several relaunch checks
        assert double.stored_app("/gone") is None
        assert started == [] and client.api.running == {}
