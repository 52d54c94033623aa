"""Least privilege between pools, for real: each pool its own key, the others only what flocking needs.

One federation of its own (deployment cftest-sec-<pid>, addresses 10.99.<pid % 250>.0/24: a submitter and
executor1, executor2) is built by site.yml and brought up once. ``condor_ping -table`` asks, from inside one
pool's container (as root, with the tokens its daemons hold), which authorization levels another pool's daemon
grants it; the tests then take executor2 out with remove_executor.yml, start it again by hand from copies of
the files it had mounted, at its old address, and add executor3 with add_executor.yml while the others run on.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.flock import Federation, Submitter, deployed_federation

pytestmark = [pytest.mark.docker]

PREFIX = f"10.99.{os.getpid() % 250}"
LEVELS = ("READ", "WRITE", "DAEMON", "NEGOTIATOR", "ADMINISTRATOR", "ADVERTISE_SCHEDD", "ADVERTISE_STARTD",
          "ADVERTISE_MASTER")
DAEMONS = ("collector", "master", "negotiator", "schedd", "startd")


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Federation]:
    yield from deployed_federation(tmp_path_factory.mktemp("security"), f"cftest-sec-{os.getpid()}", PREFIX)


def ip(fed: Federation, pool: str) -> str:
    return next(c["ip"] for c in fed.spec["flock_network"]["containers"] if c["id"] == pool)


def address(fed: Federation, pool: str, daemon: str) -> str:
    """A daemon's address, as its own pool's collector knows it (asked inside that pool)."""
    deadline, done = time.monotonic() + 60, None
    while time.monotonic() < deadline:
        done = fed.pool_docker(pool, "exec", argv=("condor_status", f"-{daemon}", "-af", "MyAddress"))
        found = [line for line in done.stdout.splitlines() if line.startswith(f"<{ip(fed, pool)}:")]
        if found:
            return found[0]
        time.sleep(2)
    raise AssertionError(f"no {daemon} of {pool} in its own collector: {done}")


def ping(fed: Federation, container: list[str], sinful: str) -> dict[str, tuple[str, str]]:
    """condor_ping -table from inside a container (``docker exec`` argv up to the container): level ->
    (decision, identity) at the daemon at sinful."""
    done = subprocess.run([*container, "condor_ping", "-addr", sinful, "-table", *LEVELS], capture_output=True,
                          text=True, check=False)
    table = {}
    for line in done.stdout.splitlines():
        fields = line.split()
        if fields and fields[0] in LEVELS:
            table[fields[0]] = (fields[4], fields[5]) if len(fields) > 5 else ("FAIL", "")
    assert set(table) == set(LEVELS), f"condor_ping {sinful}: {done.stdout} {done.stderr}"
    return table


def in_pool(fed: Federation, pool: str) -> list[str]:
    engine, container = fed.locate(pool)
    return [*engine, "exec", container]


def grants(fed: Federation, source: str, target: str, daemon: str) -> dict[str, str]:
    """Level -> identity for the levels the target pool's daemon grants a client in the source pool's container
    (its root user, with the tokens the source's daemons hold); the levels refused are absent."""
    table = ping(fed, in_pool(fed, source), address(fed, target, daemon))
    return {level: who for level, (decision, who) in table.items() if decision == "ALLOW"}


def test_jobs_flock_to_both_pools_with_a_key_per_pool(federation: Federation) -> None:
    run = federation.playbook("kinc.yml", extra={"kinc_test_jobs": 8, "kinc_test_job_seconds": 2})
    assert run.rc == 0, run.output[-4000:]
    summary = federation.summary(run)
    assert summary["jobs_done"] == 8
    assert set(summary["jobs_by_pool"]) == {"executor1", "executor2"}, summary["jobs_by_pool"]


def keys(fed: Federation) -> dict[str, str]:
    return {pool: (fed.secrets / "pools" / pool / "key").read_text().strip()
            for pool in ("submitter", "executor1", "executor2")}


def test_each_pool_holds_its_own_key_and_no_other(federation: Federation) -> None:
    pool_keys = keys(federation)
    assert len(set(pool_keys.values())) == 3
    for pool, key in pool_keys.items():
        signing = federation.pool_docker(pool, "exec", argv=("ls", "/etc/condor/passwords.d")).stdout.split()
        assert signing == [pool], (pool, signing)
        mounted = federation.pool_docker(pool, "exec", argv=("cat", "/run/secrets/cloudflock/key")).stdout.strip()
        assert mounted == key, pool
        # No file the container can read holds another pool's key, nor does its definition.
        for other, other_key in pool_keys.items():
            if other != pool:
                found = federation.pool_docker(pool, "exec", argv=(
                    "grep", "-rlF", other_key, "/run/secrets", "/etc/condor", "/home/condor_pool"))
                assert found.returncode == 1 and not found.stdout, (pool, other, found.stdout)
        inspected = federation.pool_docker(pool, "inspect").stdout
        assert not any(k in inspected for k in pool_keys.values()), pool
        (mount,) = [m for m in json.loads(inspected)[0]["Mounts"] if m["Destination"] == "/run/secrets/cloudflock"]
        assert mount["RW"] is False and mount["Source"].endswith(f"/{federation.name}/pools/{pool}")


def test_an_executor_may_only_negotiate_at_the_submitter(federation: Federation) -> None:
    at_schedd = grants(federation, "executor1", "submitter", "schedd")
    # NEGOTIATOR implies READ; nothing else, and as itself.
    assert at_schedd == {"READ": "executor1@cloudflock", "NEGOTIATOR": "executor1@cloudflock"}
    for daemon in ("collector", "master", "negotiator"):
        assert grants(federation, "executor1", "submitter", daemon) == {}, daemon


def test_an_executor_holds_nothing_at_another(federation: Federation) -> None:
    for daemon in DAEMONS:
        assert grants(federation, "executor1", "executor2", daemon) == {}, daemon
        assert grants(federation, "executor2", "executor1", daemon) == {}, daemon


def test_the_submitter_may_only_advertise_to_and_query_an_executors_collector(federation: Federation) -> None:
    for executor in ("executor1", "executor2"):
        assert grants(federation, "submitter", executor, "collector") == {
            "READ": "submitter@cloudflock", "ADVERTISE_SCHEDD": "submitter@cloudflock"}
        for daemon in ("master", "negotiator", "schedd", "startd"):
            assert grants(federation, "submitter", executor, daemon) == {}, (executor, daemon)
    # The workflow user's pool-ready probe reads the executors' collectors with its own READ tokens.
    visible = Submitter(federation).exec("condor_status", "-pool", f"{PREFIX}.4", "-af", "Name")
    assert "slot1@executor2" in visible.stdout
    refused = Submitter(federation).exec("condor_off", "-pool", f"{PREFIX}.4", "-name", "executor2", "-startd",
                                         check=False)
    assert refused.returncode != 0


def test_each_pool_is_administrator_in_itself(federation: Federation) -> None:
    for pool in ("submitter", "executor1"):
        assert "ADMINISTRATOR" in grants(federation, pool, pool, "master"), pool


@pytest.fixture(scope="module")
def removed(federation: Federation, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """executor2 taken out by remove_executor.yml, then started by hand from copies of its files, at its old
    address, with its old image and environment."""
    fed = federation
    copies = tmp_path_factory.mktemp("executor2-files")
    engine, container = fed.locate("executor2")
    subprocess.run([*engine, "cp", f"{container}:/run/secrets/cloudflock", str(copies)], check=True)
    config = json.loads(fed.pool_docker("executor2", "inspect").stdout)[0]["Config"]
    old_token = (copies / "cloudflock" / "tokens" / "submitter").read_text().strip()
    run = fed.playbook("playbooks/remove_executor.yml", extra={"executor": "executor2"})
    assert run.rc == 0, run.output[-4000:]
    spec = json.loads(json.dumps(fed.spec))
    spec["flock_containers"] = [c for c in spec["flock_containers"] if c["id"] != "executor2"]
    spec["flock_network"]["containers"] = [c for c in spec["flock_network"]["containers"] if c["id"] != "executor2"]
    fed.write_spec(spec)
    name = f"{fed.name}-executor2-copy"
    env = [arg for item in config["Env"] for arg in ("-e", item)]
    started = fed.docker("run", "-d", "--name", name, "--hostname", "executor2", "--network", fed.name,
                         "--ip", f"{PREFIX}.4", *env, "-v", f"{copies / 'cloudflock'}:/run/secrets/cloudflock:ro",
                         config["Image"])
    assert started.returncode == 0, started.stderr
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if "slot1@executor2" in fed.docker("exec", name, "condor_status", "-af", "Name").stdout:
                break
            time.sleep(2)
        else:
            raise AssertionError(f"the copy of executor2 did not start: {fed.docker('logs', name).stderr}")
        yield {"container": name, "token": old_token, "remove": run}
    finally:
        fed.docker("rm", "-f", name)


def token_id(token: str) -> str:
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"])


def test_a_removed_executor_restarted_from_its_files_is_refused(federation: Federation,
                                                                removed: dict[str, Any]) -> None:
    copy = ["docker", "exec", removed["container"]]
    schedd = address(federation, "submitter", "schedd")
    at_submitter = ping(federation, copy, schedd)
    assert [level for level, (decision, _) in at_submitter.items() if decision == "ALLOW"] == [], at_submitter
    # Refused because its token is revoked (its authentication fails), not only because no ALLOW list names it.
    jti = token_id(removed["token"])
    revoked = federation.pool_docker("submitter", "exec", argv=("condor_config_val", "SEC_TOKEN_REVOCATION_EXPR"))
    assert jti in revoked.stdout, revoked.stdout
    verbose = federation.docker("exec", removed["container"], "condor_ping", "-verbose", "-addr", schedd, "NEGOTIATOR")
    assert "Failed to authenticate using IDTOKENS" in verbose.stdout + verbose.stderr, verbose.stdout + verbose.stderr
    assert "executor2@" not in verbose.stdout + verbose.stderr
    for daemon in ("collector", "master", "startd"):
        at_executor = ping(federation, copy, address(federation, "executor1", daemon))
        assert [level for level, (decision, _) in at_executor.items() if decision == "ALLOW"] == [], daemon
    # Its credentials are gone from the controller and the host; the submitter no longer holds its token.
    assert not (federation.secrets / "pools" / "executor2").exists()
    assert not (Path("/etc/cloudflock") / federation.name / "pools" / "executor2").exists()
    tokens = federation.pool_docker("submitter", "exec", argv=("ls", "/etc/condor/tokens.d")).stdout.split()
    assert tokens == ["executor1"]


def started_at(fed: Federation, pool: str) -> str:
    return json.loads(fed.pool_docker(pool, "inspect").stdout)[0]["State"]["StartedAt"]


def test_an_executor_added_later_gets_its_own_credentials_and_runs_jobs(federation: Federation,
                                                                        removed: dict[str, Any]) -> None:
    fed = federation
    before = {pool: started_at(fed, pool) for pool in ("submitter", "executor1")}
    spec = json.loads(json.dumps(fed.spec))
    spec["flock_containers"].append({"id": "executor3", "cluster": "local", "role": "executor", "cpus": 2,
                                     "mem": 2048})
    spec["flock_network"]["containers"].append({"id": "executor3", "ip": f"{PREFIX}.5"})
    fed.write_spec(spec)
    add = fed.playbook("playbooks/add_executor.yml", extra={"executor": "executor3"})
    assert add.rc == 0, add.output[-4000:]
    # The others were not restarted; the submitter holds a token for it and lets it negotiate.
    assert {pool: started_at(fed, pool) for pool in ("submitter", "executor1")} == before
    tokens = fed.pool_docker("submitter", "exec", argv=("ls", "/etc/condor/tokens.d")).stdout.split()
    assert tokens == ["executor1", "executor3"]
    assert fed.pool_docker("executor3", "exec", argv=("ls", "/etc/condor/passwords.d")).stdout.split() == ["executor3"]
    assert grants(fed, "executor3", "submitter", "schedd") == {
        "READ": "executor3@cloudflock", "NEGOTIATOR": "executor3@cloudflock"}
    for daemon in ("collector", "master", "startd"):
        assert grants(fed, "executor3", "executor1", daemon) == {}, daemon
    run = fed.playbook("kinc.yml", extra={"kinc_test_jobs": 8, "kinc_test_job_seconds": 2})
    assert run.rc == 0, run.output[-4000:]
    summary = fed.summary(run)
    assert summary["jobs_done"] == 8 and summary["jobs_by_pool"].get("executor3", 0) > 0, summary["jobs_by_pool"]
    again = fed.playbook("kinc.yml", "--tags", "flock")
    assert again.rc == 0 and again.recap["changed"] == 0, again.output[-4000:]


def test_teardown_deletes_every_credential(federation: Federation) -> None:
    down = federation.playbook("playbooks/teardown.yml")
    assert down.rc == 0, down.output[-4000:]
    assert not (federation.secrets / "pools").exists()
    hosts_dir = Path("/etc/cloudflock") / federation.name
    assert not hosts_dir.exists()
    assert re.search(r"Delete every pool's credentials", down.output)
