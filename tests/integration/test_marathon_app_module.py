"""cloudflock.htcondor.marathon_app run by ansible-playbook against the test double of Marathon's API.

Each test writes a small playbook, runs it once with the ansible.posix.json callback and asserts on the
task results and on the double's request log (what was, and was not, sent).
"""

from __future__ import annotations

import datetime
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.marathon_double import MarathonApiDouble
from tests.marathon_double.seed import seed_app_options, seed_container_ids
from tests.support import collections_env
from tests.support.marathon_app_play import MODULE, app_task, run_playbook, run_playbook_tasks

SEED_IPS = {"submitter": "172.16.0.1", "runner1": "172.16.0.2", "runner2": "172.16.0.3"}
VERSIONS = ["1.4.3", "1.10.17"]


def seed_task(name: str, *, loop: bool = True, **task_keys: Any) -> dict[str, Any]:
    """One task creating the seed's containers in a loop (options from tests/marathon_double/seed.py)."""
    options = {key: f"{{{{ item.{key} }}}}" for key in ("id", "image", "cpus", "mem", "disk", "args")}
    options.update(
        ports="{{ item.ports }}",
        ip_address="{{ item.ip_address }}",
        network_cidr="{{ item.network_cidr }}",
    )
    task: dict[str, Any] = {"name": name, MODULE: options}
    task["loop"] = [seed_app_options(cid) for cid in seed_container_ids()] if loop else None
    task.update(task_keys)
    return task


@pytest.fixture(params=VERSIONS)
def double(request: pytest.FixtureRequest) -> Iterator[MarathonApiDouble]:
    with MarathonApiDouble(version=request.param, deployment_delay=0.2) as server:
        yield server


def writes(server: MarathonApiDouble) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in server.writes()]


# ------------------------------------------------------------------------------------------------
# The seed's three containers: check, create, idempotent check, idempotent run
# ------------------------------------------------------------------------------------------------


def test_seed_containers_pinned_and_idempotent(tmp_path: Path, double: MarathonApiDouble) -> None:
    tasks = [
        seed_task("Create the seed containers (check mode)", check_mode=True),
        seed_task("Create the seed containers"),
        seed_task("Create the seed containers again (check mode)", check_mode=True),
        seed_task("Create the seed containers again"),
    ]
    check, real, check_again, again = run_playbook(tmp_path, double.url + "/v2/apps", tasks)

    assert [r["changed"] for r in check["results"]] == [True, True, True]
    assert [r["changed"] for r in real["results"]] == [True, True, True]
    assert [r["changed"] for r in check_again["results"]] == [False, False, False]
    assert [r["changed"] for r in again["results"]] == [False, False, False]
    # Only the real creation wrote anything: one POST per container.
    assert writes(double) == [("POST", "/v2/apps")] * 3

    for result in real["results"]:
        app_id = result["item"]["id"]
        assert result["marathon_version"] == double.version
        assert len(result["deployment_ids"]) == 1
        assert result["app"]["tasksRunning"] == 1
        assert result["tasks"][0]["ip_addresses"] == [SEED_IPS[app_id]]
        stored = double.stored_app(app_id)
        assert stored is not None
        assert stored["env"]["WEAVE_CIDR"] == f"ip:{SEED_IPS[app_id]}/24"
        assert stored["args"] == result["item"]["args"]
    bodies = [r.body for r in double.writes()]
    if double.version.startswith("1.4"):
        assert all(b["container"]["docker"]["network"] == "BRIDGE" for b in bodies)
    else:
        assert all(b["networks"] == [{"mode": "container/bridge"}] for b in bodies)
        assert all("portMappings" in b["container"] for b in bodies)


def test_docker_network_mode_on_both_versions(tmp_path: Path, double: MarathonApiDouble) -> None:
    options = seed_app_options("runner2", ip_mode="docker_network", network_name="flocknet")
    tasks = [app_task("Create runner2 on a Docker network", options), app_task("Again", options)]
    first, second = run_playbook(tmp_path, double.url, tasks)
    assert first["changed"] and not second["changed"]
    body = double.writes()[0].body
    assert body["container"]["docker"]["parameters"][-2:] == [
        {"key": "net", "value": "flocknet"},
        {"key": "ip", "value": "172.16.0.3"},
    ]
    if double.version.startswith("1.4"):
        assert body["container"]["docker"]["network"] == "USER"
        assert body["ipAddress"] == {"networkName": "flocknet"}
    else:
        assert body["networks"] == [{"mode": "container", "name": "flocknet"}]
    assert first["tasks"][0]["ip_addresses"] == ["172.16.0.3"]


# ------------------------------------------------------------------------------------------------
# Diff mode, a changed field, restart, absent
# ------------------------------------------------------------------------------------------------


def test_diff_and_a_changed_field_update_one_app(tmp_path: Path) -> None:
    with MarathonApiDouble(version="1.10.17", deployment_delay=0.1) as server:
        changed_item = "{{ item | combine({'cpus': 8}) if item.id == 'runner1' else item }}"
        change = seed_task("Give runner1 more CPUs")
        change[MODULE] = {key: value.replace("item", "entry") for key, value in change[MODULE].items()}
        change["vars"] = {"entry": changed_item}
        preview = dict(change, name="Preview the change", check_mode=True, diff=True)
        created, previewed, applied = run_playbook(
            tmp_path, server.url, [seed_task("Create the seed containers"), preview, change]
        )
        assert all(r["changed"] for r in created["results"])
        assert [r["changed"] for r in previewed["results"]] == [False, True, False]
        runner1 = previewed["results"][1]
        assert runner1["changes"] == ["cpus"]
        assert runner1["diff"]["before"]["cpus"] == 12 and runner1["diff"]["after"]["cpus"] == 8
        assert "version" not in runner1["diff"]["before"]
        assert [r["changed"] for r in applied["results"]] == [False, True, False]
        assert writes(server) == [("POST", "/v2/apps")] * 3 + [("PUT", "/v2/apps/runner1")]
        put = server.writes()[-1]
        assert put.query == {"partialUpdate": "false"}
        assert put.body["cpus"] == 8
        assert server.stored_app("runner1")["cpus"] == 8


def test_restart_and_absent(tmp_path: Path, double: MarathonApiDouble) -> None:
    options = seed_app_options("runner1")
    absent = {"id": "runner1", "state": "absent"}
    tasks = [
        app_task("Create runner1", options),
        app_task("Restart runner1", dict(options, state="restarted")),
        app_task("Delete runner1 (check mode)", absent, check_mode=True, diff=True),
        app_task("Delete runner1", absent),
        app_task("Delete runner1 again", absent),
    ]
    created, restarted, check, deleted, again = run_playbook(tmp_path, double.url, tasks)
    assert created["changed"] and restarted["changed"]
    assert restarted["tasks"][0]["id"] != created["tasks"][0]["id"]
    assert check["changed"] and check["diff"]["after"] == {} and check["diff"]["before"]["id"] == "/runner1"
    assert deleted["changed"] and not again["changed"]
    assert writes(double) == [
        ("POST", "/v2/apps"),
        ("POST", "/v2/apps/runner1/restart"),
        ("DELETE", "/v2/apps/runner1"),
    ]
    assert double.stored_app("runner1") is None


# ------------------------------------------------------------------------------------------------
# Faults, locks, force, timeouts
# ------------------------------------------------------------------------------------------------


def test_retries_through_503s(tmp_path: Path) -> None:
    with MarathonApiDouble(deployment_delay=0.1) as server:
        server.inject_faults(3)
        server.inject_faults(2, methods=("POST",))
        (result,) = run_playbook(
            tmp_path, server.url, [app_task("Create", seed_app_options("submitter"))], "-v"
        )
        assert result["changed"] and not result.get("failed")
        statuses = [(r.method, r.status) for r in server.requests if r.status == 503]
        assert len(statuses) == 5 and ("POST", 503) in statuses
        assert writes(server) == [("POST", "/v2/apps")] * 3
        assert sum("HTTP 503" in line for line in result["progress"]) == 5


def test_an_unreachable_marathon_fails_within_wait_timeout(tmp_path: Path) -> None:
    """Retries (5, from 0.5 s doubling: 15.5 s of backoff) stop at wait_timeout's deadline."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # a port on this machine where nothing listens once it is released
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    wait_timeout = 5
    (entry,) = run_playbook_tasks(
        tmp_path, url, [app_task("Create", seed_app_options("submitter"), ignore_errors=True)],
        wait_timeout=wait_timeout, retries=5, retry_delay=0.5, request_timeout=2,
    )  # fmt: skip
    result = entry["hosts"]["localhost"]
    assert result["failed"] and not result["changed"]
    assert f"Marathon at {url} was unreachable for " in result["msg"], result["msg"]
    assert re.search(r"unreachable for [45]\.\d s \(\d attempts\)", result["msg"]), result["msg"]
    duration = entry["task"]["duration"]
    took = (_when(duration["end"]) - _when(duration["start"])).total_seconds()
    assert took < wait_timeout + 3, took  # a bound on correctness (the deadline), not a benchmark


def _when(stamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(stamp.removesuffix("Z"))


def test_locks_waited_out_forced_or_reported(tmp_path: Path) -> None:
    with MarathonApiDouble(deployment_delay=3600) as server:
        options = seed_app_options("runner1", wait=False)
        tasks = [
            app_task("Create without waiting", options),
            app_task("Change while locked, no force", dict(options, cpus=2, wait_timeout=1), ignore_errors=True),
            app_task("Wait for a deployment that never ends", dict(options, wait=True, wait_timeout=1),
                     ignore_errors=True),
            app_task("Change while locked, with force", dict(options, cpus=2, force=True)),
            app_task("Delete with force", {"id": "runner1", "state": "absent", "force": True, "wait": False}),
        ]  # fmt: skip
        created, locked, timed_out, forced, deleted = run_playbook(tmp_path, server.url, tasks, "-v")
        first_deployment = created["deployment_ids"][0]
        assert locked["failed"]
        assert first_deployment in locked["msg"] and locked["pending"] == [f"deployment {first_deployment}"]
        assert timed_out["failed"] and not timed_out["changed"]
        assert timed_out["pending"] == [f"deployment {first_deployment}", "tasksRunning 0 of 1 instances"]
        assert any(first_deployment in line for line in timed_out["progress"])
        assert forced["changed"] and deleted["changed"]
        put_queries = [r.query for r in server.writes() if r.method == "PUT"]
        assert put_queries[-1] == {"partialUpdate": "false", "force": "true"}
        assert {r.status for r in server.writes() if r.method == "PUT" and "force" not in r.query} == {409}
        assert server.writes()[-1].query == {"force": "true"}


def test_lock_waited_out(tmp_path: Path) -> None:
    with MarathonApiDouble(deployment_delay=3600) as server:
        options = seed_app_options("runner1")
        tasks = [
            app_task("Create without waiting", dict(options, wait=False)),
            app_task("Change at once and wait", dict(options, cpus=2)),
        ]

        def release_when_locked_out() -> None:
            server.wait_for_request(lambda r: r.method == "PUT" and r.status == 409)
            server.finish_deployments()

        releaser = threading.Thread(target=release_when_locked_out, daemon=True)
        releaser.start()
        created, changed = run_playbook(tmp_path, server.url, tasks)
        releaser.join(timeout=5)
        assert created["changed"] and changed["changed"]
        assert [(r.method, r.status) for r in server.writes()] == [("POST", 201), ("PUT", 409), ("PUT", 200)]
        assert changed["app"]["cpus"] == 2 and changed["app"]["tasksRunning"] == 1


# ------------------------------------------------------------------------------------------------
# Bad input: refused before any request
# ------------------------------------------------------------------------------------------------

BAD_INPUTS: list[tuple[dict[str, Any], list[str]]] = [
    ({"ip_address": "172.16.1.9"}, ["ip_address", "172.16.1.9", "172.16.0.0/24"]),
    ({"ip_address": "172.16.0.255"}, ["ip_address", "172.16.0.255", "broadcast"]),
    ({"ip_address": "172.16.0.0"}, ["ip_address", "172.16.0.0", "network address"]),
    ({"network_cidr": "172.16.0.0/33"}, ["network_cidr", "172.16.0.0/33"]),
    ({"id": "Runner_1"}, ["id", "Runner_1"]),
    ({"cpus": 0}, ["cpus", "0"]),
    ({"mem": -5}, ["mem", "-5"]),
    ({"ports": [{"container_port": 22, "protocol": "sctp"}]}, ["protocol", "sctp"]),
    ({"ports": [{"container_port": 99999}]}, ["container_port", "99999"]),
    ({"ip_mode": "docker_network"}, ["network_name", "docker_network"]),
    ({"ip_mode": "calico"}, ["ip_mode", "calico"]),
    ({"network_cidr": None}, ["network_cidr"]),
    ({"instances": "many"}, ["instances", "many"]),
    ({"marathon_url": "marathon.example:8080"}, ["marathon_url", "'marathon.example:8080'", "http://", "https://"]),
    ({"marathon_url": "ftp://127.0.0.1:9"}, ["marathon_url", "'ftp://127.0.0.1:9'", "scheme 'ftp'", "http://"]),
]


def test_bad_inputs_are_refused_before_any_request(tmp_path: Path) -> None:
    with MarathonApiDouble() as server:
        tasks = [
            app_task(f"Bad input {index}", seed_app_options("runner1", **overrides), ignore_errors=True)
            for index, (overrides, _) in enumerate(BAD_INPUTS)
        ]
        results = run_playbook(tmp_path, server.url, tasks)
        for result, (overrides, words) in zip(results, BAD_INPUTS, strict=True):
            assert result["failed"], overrides
            for word in words:
                assert word in result["msg"], (overrides, result["msg"])
            if "marathon_url" in overrides:  # a clear failure, not a traceback from requests
                assert (result["field"], result["value"]) == ("marathon_url", overrides["marathon_url"]), result
                assert result["msg"].startswith(f"marathon_url: {overrides['marathon_url']!r} "), result["msg"]
        assert server.requests == []


def test_ansible_doc_renders() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-doc"), MODULE],
        env=collections_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for word in (
        "ip_mode",
        "docker_network",
        "marathon_url",
        "wait_timeout",
        "deployment_ids",
        "ip_addresses",
    ):
        assert word in done.stdout
