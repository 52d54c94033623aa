"""MarathonClient against the test double of Marathon's API, in-process (no Docker, no sleeping on
retries: the client's sleep is replaced by a recorder)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from ansible_collections.cloudflock.htcondor.plugins.module_utils import marathon_appdef as ad
from ansible_collections.cloudflock.htcondor.plugins.module_utils.marathon_client import (
    MarathonClient,
    MarathonError,
    MarathonTimeout,
    MarathonUrlError,
    base_url_from,
)

from tests.marathon_double import MarathonApiDouble


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.lines: list[str] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def app_body(
    app_id: str = "runner1", version: tuple[int, ...] = (1, 4, 3), **overrides: Any
) -> dict[str, Any]:
    opts = {"id": app_id, "image": "scidas/htcondor-worker-centos7", "cpus": 1, "mem": 256, "args": ["-x"]}
    opts.update(overrides)
    return ad.build_app_definition(opts, version)


@pytest.fixture
def double() -> Iterator[MarathonApiDouble]:
    with MarathonApiDouble(version="1.4.3", deployment_delay=0.05) as server:
        yield server


@pytest.fixture
def slow_double() -> Iterator[MarathonApiDouble]:
    """Deployments that never finish during a test: the app stays locked."""
    with MarathonApiDouble(version="1.4.3", deployment_delay=3600) as server:
        yield server


def client_for(server: MarathonApiDouble, rec: Recorder | None = None, **kwargs: Any) -> MarathonClient:
    rec = rec or Recorder()
    kwargs.setdefault("poll_interval", 0.02)
    return MarathonClient(server.url, sleep=rec.sleep, progress=rec.lines.append, **kwargs)


# ------------------------------------------------------------------------------------------------
# URLs, versions, auth
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://h:9090",
        "http://h:9090/",
        "http://h:9090/v2/apps",
        "http://h:9090/v2/apps/",
        "http://h:9090/v2",
    ],
)
def test_base_url_accepts_the_seeds_uri(url: str) -> None:
    assert base_url_from(url) == "http://h:9090"


def test_base_url_keeps_https_and_a_path_prefix() -> None:
    assert base_url_from(" https://h:9443/marathon/v2/apps ") == "https://h:9443/marathon"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("marathon.example:8080", "has no scheme"),
        ("10.0.0.5:8080", "has no scheme"),
        ("ftp://marathon.example", "has the scheme 'ftp'"),
        ("http://", "names no host"),
        ("http://h:99999", "port"),
        ("http://h:port", "port"),
        ("http://h:0", "port"),
        ("http://h 1:8080", "white space"),
        ("http://h:8080?x=1", "query"),
        ("", "is empty"),
    ],
)
def test_a_url_that_is_not_http_fails_naming_the_field_and_value(url: str, problem: str) -> None:
    for build in (base_url_from, MarathonClient):
        with pytest.raises(MarathonUrlError) as err:
            build(url)
        assert (err.value.field, err.value.value, err.value.status) == ("marathon_url", url, None)
        text = str(err.value)
        assert text.startswith(f"marathon_url: {url!r} ") and problem in text, text
        assert "http://" in text and "https://" in text, text


@pytest.mark.parametrize("version", ["1.4.3", "1.10.17"])
def test_version_detection_is_cached(version: str) -> None:
    with MarathonApiDouble(version=version) as server:
        client = client_for(server)
        assert client.version() == version
        assert client.version() == version
        assert [r.path for r in server.requests] == ["/v2/info"]


def test_seed_style_url_reaches_the_api(double: MarathonApiDouble) -> None:
    client = MarathonClient(double.url + "/v2/apps")
    assert client.version() == "1.4.3"


def test_basic_auth_header() -> None:
    with MarathonApiDouble(username="ops", password="s3cret") as server:
        assert client_for(server, username="ops", password="s3cret").version() == "1.4.3"
        assert server.requests[-1].headers["Authorization"].startswith("Basic ")
        with pytest.raises(MarathonError) as err:
            client_for(server, username="ops", password="wrong").version()
        assert err.value.status == 401


def test_token_header_as_dcos_sends_it() -> None:
    with MarathonApiDouble(token="abc123") as server:
        assert client_for(server, token="abc123").version() == "1.4.3"
        assert server.requests[-1].headers["Authorization"] == "token=abc123"
        with pytest.raises(MarathonError) as err:
            client_for(server).info()
        assert err.value.status == 401 and err.value.message == "Unauthorized"


def test_tls_options_reach_the_session(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not used\n")
    assert MarathonClient("https://h", ca_path=str(ca)).session.verify == str(ca)
    assert MarathonClient("https://h", validate_certs=False).session.verify is False
    assert MarathonClient("https://h").session.verify is True


# ------------------------------------------------------------------------------------------------
# Retries
# ------------------------------------------------------------------------------------------------


def test_retries_through_503s_with_backoff(double: MarathonApiDouble) -> None:
    rec = Recorder()
    double.inject_faults(3)
    assert client_for(double, rec, retries=5, backoff=0.5).version() == "1.4.3"
    assert [r.status for r in double.requests] == [503, 503, 503, 200]
    assert rec.sleeps == [0.5, 1.0, 2.0]
    assert all("HTTP 503" in line for line in rec.lines)


def test_writes_are_retried_too(double: MarathonApiDouble) -> None:
    double.inject_faults(2, methods=("POST",))
    created = client_for(double).create_app(app_body())
    assert created["id"] == "/runner1"
    assert [r.status for r in double.writes()] == [503, 503, 201]


def test_retries_give_up_with_the_status(double: MarathonApiDouble) -> None:
    double.inject_faults(10)
    with pytest.raises(MarathonError) as err:
        client_for(double, retries=2).version()
    assert err.value.status == 503
    assert "injected fault" in err.value.message
    assert len(double.requests) == 3


def test_connection_errors_are_retried_then_reported() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    rec = Recorder()
    client = MarathonClient(f"http://127.0.0.1:{port}", retries=2, sleep=rec.sleep, timeout=2)
    with pytest.raises(MarathonError) as err:
        client.info()
    assert err.value.status is None
    assert "3 attempts" in str(err.value)
    assert len(rec.sleeps) == 2


def free_loopback_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeClock:
    """``clock`` and ``sleep`` of one client: sleeping advances the clock, nothing really waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_connection_retries_stop_at_the_deadline_before_the_retry_count() -> None:
    fake = FakeClock()
    url = f"http://127.0.0.1:{free_loopback_port()}"
    client = MarathonClient(url, retries=10, backoff=0.5, timeout=1, sleep=fake.sleep, clock=fake.clock,
                            deadline=fake.now + 5)  # fmt: skip
    with pytest.raises(MarathonError) as err:
        client.version()
    # 0.5, 1 and 2 s backoff, then only the 1.5 s left of the 5 s: one last attempt at the deadline.
    assert fake.sleeps == [0.5, 1.0, 2.0, 1.5]
    assert err.value.status is None
    assert f"Marathon at {url} was unreachable for 5.0 s (5 attempts)" in str(err.value), str(err.value)


def test_503s_are_retried_until_the_deadline_then_reported_with_the_status(double: MarathonApiDouble) -> None:
    fake = FakeClock()
    double.inject_faults(100)
    client = MarathonClient(double.url, retries=10, backoff=1, sleep=fake.sleep, clock=fake.clock,
                            deadline=fake.now + 2.5)  # fmt: skip
    with pytest.raises(MarathonError) as err:
        client.info()
    assert fake.sleeps == [1.0, 1.5]
    assert err.value.status == 503 and "injected fault" in err.value.message
    assert len(double.requests) == 3


def test_an_unreachable_marathon_fails_within_the_deadline_in_real_time() -> None:
    url = f"http://127.0.0.1:{free_loopback_port()}"
    wait_timeout = 2.0
    started = time.monotonic()
    client = MarathonClient(url, retries=50, backoff=0.5, timeout=1, deadline=started + wait_timeout)
    with pytest.raises(MarathonError) as err:
        client.info()
    elapsed = time.monotonic() - started
    assert wait_timeout - 0.1 <= elapsed < wait_timeout + 3, elapsed
    assert f"Marathon at {url} was unreachable for " in str(err.value), str(err.value)


# ------------------------------------------------------------------------------------------------
# Marathon's errors
# ------------------------------------------------------------------------------------------------


def test_422_carries_marathons_details(double: MarathonApiDouble) -> None:
    body = app_body()
    body["container"]["docker"]["network"] = "OVERLAY"
    with pytest.raises(MarathonError) as err:
        client_for(double).create_app(body)
    assert err.value.status == 422
    assert err.value.message == "Object is not valid"
    assert err.value.details[0]["path"] == "/container/docker/network"
    assert "OVERLAY" in str(err.value)


def test_1_10_body_refused_by_a_1_4_server(double: MarathonApiDouble) -> None:
    with pytest.raises(MarathonError) as err:
        client_for(double).create_app(app_body(version=(1, 10, 17)))
    assert err.value.status == 422
    assert "networks" in str(err.value.details)


def test_invalid_json_is_400(double: MarathonApiDouble) -> None:
    answer = requests.post(double.url + "/v2/apps", data="{not json", timeout=5)
    assert answer.status_code == 400
    assert answer.json()["message"] == "Invalid JSON"


def test_existing_app_is_409_exists(double: MarathonApiDouble) -> None:
    client = client_for(double)
    client.create_app(app_body())
    with pytest.raises(MarathonError) as err:
        client.create_app(app_body())
    assert err.value.exists and not err.value.locked
    assert err.value.message == "An app with id [/runner1] already exists."


def test_missing_app(double: MarathonApiDouble) -> None:
    client = client_for(double)
    assert client.get_app("nothere") is None
    with pytest.raises(MarathonError) as err:
        client.delete_app("nothere")
    assert err.value.status == 404 and "does not exist" in err.value.message


# ------------------------------------------------------------------------------------------------
# Locks and force
# ------------------------------------------------------------------------------------------------


def test_locked_app_names_the_deployment(slow_double: MarathonApiDouble) -> None:
    client = client_for(slow_double)
    deployment = client.create_app(app_body())["deployments"][0]["id"]
    with pytest.raises(MarathonError) as err:
        client.update_app("runner1", app_body(cpus=2))
    assert err.value.locked
    assert err.value.deployments == [deployment]


def test_lock_wait_times_out_naming_the_deployment(slow_double: MarathonApiDouble) -> None:
    client = client_for(slow_double)
    deployment = client.create_app(app_body())["deployments"][0]["id"]
    with pytest.raises(MarathonTimeout) as err:
        client.call_unlocked(lambda: client.update_app("runner1", app_body(cpus=2)), deadline=client.clock())
    assert err.value.pending == [f"deployment {deployment}"]
    assert deployment in str(err.value)
    assert [r.method for r in slow_double.writes()] == ["POST", "PUT"]


def test_lock_is_waited_out() -> None:
    with MarathonApiDouble(deployment_delay=0.3) as server:
        rec = Recorder()
        client = MarathonClient(server.url, poll_interval=0.02, progress=rec.lines.append)
        client.create_app(app_body())
        answer = client.call_unlocked(
            lambda: client.update_app("runner1", app_body(cpus=2)), deadline=client.clock() + 60
        )
        assert answer["deploymentId"]
        assert [(r.method, r.status) for r in server.writes()] == [("POST", 201), ("PUT", 409), ("PUT", 200)]
        assert any("locked by deployment" in line for line in rec.lines)


def test_force_overrides_the_lock(slow_double: MarathonApiDouble) -> None:
    client = client_for(slow_double)
    first = client.create_app(app_body())["deployments"][0]["id"]
    answer = client.update_app("runner1", app_body(cpus=2), force=True)
    put = slow_double.writes()[-1]
    assert put.query == {"partialUpdate": "false", "force": "true"}
    assert [d["id"] for d in client.list_deployments()] == [answer["deploymentId"]]
    assert first != answer["deploymentId"]


def test_delete_sends_force_false_unless_forced(slow_double: MarathonApiDouble) -> None:
    client = client_for(slow_double)
    client.create_app(app_body())
    with pytest.raises(MarathonError) as err:
        client.delete_app("runner1")
    assert err.value.locked
    assert slow_double.writes()[-1].query == {"force": "false"}
    assert client.delete_app("runner1", force=True)["deploymentId"]
    assert client.get_app("runner1") is None


# ------------------------------------------------------------------------------------------------
# Waiting
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.4.3", "1.10.17"])
def test_wait_for_app_until_running(version: str) -> None:
    with MarathonApiDouble(version=version, deployment_delay=0.2) as server:
        client = client_for(server)
        parsed = ad.parse_version(client.version())
        client.create_app(app_body(version=parsed, instances=2))
        app = MarathonClient(server.url, poll_interval=0.02).wait_for_app(
            "runner1", client.clock() + 60, ad.pending_reasons
        )
        assert app["tasksRunning"] == 2
        assert len(app["tasks"]) == 2
        assert client.list_deployments() == []


def test_wait_times_out_naming_what_is_pending(slow_double: MarathonApiDouble) -> None:
    rec = Recorder()
    client = client_for(slow_double, rec)
    deployment = client.create_app(app_body())["deployments"][0]["id"]
    with pytest.raises(MarathonTimeout) as err:
        client.wait_for_app("runner1", client.clock(), ad.pending_reasons)
    assert err.value.pending == [f"deployment {deployment}", "tasksRunning 0 of 1 instances"]


def test_unhealthy_tasks_keep_waiting() -> None:
    with MarathonApiDouble(deployment_delay=0.05, healthy=False) as server:
        client = MarathonClient(server.url, poll_interval=0.02)
        client.create_app(app_body(health_checks=[{"protocol": "TCP"}]))
        server.settle()
        with pytest.raises(MarathonTimeout) as err:
            client.wait_for_app("runner1", client.clock(), ad.pending_reasons)
        assert err.value.pending == ["tasksHealthy 0 of 1 instances"]


def test_wait_for_deployments_reports_progress() -> None:
    with MarathonApiDouble(deployment_delay=0.3) as server:
        rec = Recorder()
        client = MarathonClient(server.url, poll_interval=0.02, progress=rec.lines.append)
        deployment = client.create_app(app_body())["deployments"][0]["id"]
        client.wait_for_deployments([deployment], client.clock() + 60)
        assert client.list_deployments() == []
        assert rec.lines and all(deployment in line for line in rec.lines)


def test_restart_and_delete_wait(double: MarathonApiDouble) -> None:
    client = client_for(double)
    client.create_app(app_body())
    double.settle()
    before = client.get_app("runner1")["tasks"][0]["id"]
    restart = client.restart_app("runner1")
    client.wait_for_deployments([restart["deploymentId"]], client.clock() + 60)
    assert client.get_app("runner1")["tasks"][0]["id"] != before
    client.delete_app("runner1")
    client.wait_for_absence("runner1", client.clock() + 60)
    assert client.get_app("runner1") is None
