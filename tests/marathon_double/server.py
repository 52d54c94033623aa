"""A test double of Marathon's REST API (v2), for testing ``cloudflock.htcondor.marathon_app``.

It is not Marathon: no Mesos, no scheduling, no persistence. It answers the endpoints the module uses
the way Marathon 1.4.3 or 1.5+ (1.10) answers them, and it records every request so tests can assert
on what was (or was not) sent.

* GET /ping, GET /v2/info (version configurable)
* GET/POST /v2/apps, GET/PUT/DELETE /v2/apps/{id} (``force``, ``partialUpdate``),
  POST /v2/apps/{id}/restart
* GET /v2/deployments, DELETE /v2/deployments/{id} (``force``)

App bodies are validated against Marathon 1.4.3's AppDefinition.json (extended for 1.5+, see
``schema.py``): 400 ``Invalid JSON`` / 422 ``Object is not valid`` with ``details``. Stored apps carry
what Marathon adds (version, versionInfo, task counters, deployments, defaults, service ports); a
default the vendored schema states (``killSelection``, a health check's ``delaySeconds``) is read from
it, and constraints, a set in Marathon, come back in an order of the double's own, not the request's.
Every write starts a deployment that stays listed for ``deployment_delay`` seconds; writes to an app
with a running deployment get 409 "locked" unless ``force=true``. ``inject_faults`` makes the next
requests fail (503 by default). With a Docker client, a finished deployment starts real containers
(see ``docker_tasks.py``) and reports them as tasks; without one, tasks are synthesised.
"""

from __future__ import annotations

import base64
import copy
import datetime
import itertools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

from .docker_tasks import DockerTaskLauncher, LaunchError
from .schema import schema_default, validation_errors

WRITE_METHODS = ("POST", "PUT", "DELETE", "PATCH")
LOCKED_MESSAGE = (
    "App is locked by one or more deployments. Override with the option '?force=true'. "
    "View details at '/v2/deployments/<DEPLOYMENT_ID>'."
)


def parse_version(text: str) -> tuple[int, ...]:
    match = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        raise ValueError(f"not a Marathon version: {text!r}")
    return tuple(int(p) for p in match.groups(default="0"))


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _norm_id(app_id: str) -> str:
    return "/" + unquote(app_id).strip("/")


@dataclass
class RecordedRequest:
    """One request as received: method, path (without query), query, decoded body, headers."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    status: int = 0

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS


@dataclass
class Fault:
    remaining: int
    status: int
    methods: tuple[str, ...] | None
    path_prefix: str | None

    def matches(self, method: str, path: str) -> bool:
        if self.methods and method not in self.methods:
            return False
        return not self.path_prefix or path.startswith(self.path_prefix)


@dataclass
class Deployment:
    id: str
    version: str
    app_id: str
    action: str  # create | update | restart | delete | rollback
    due: float
    previous: dict[str, Any] | None = None
    launched: bool = False
    failed: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        actions = {
            "create": "StartApplication",
            "update": "RestartApplication",
            "restart": "RestartApplication",
            "delete": "StopApplication",
            "rollback": "RestartApplication",
        }
        step = [{"action": actions[self.action], "app": self.app_id}]
        return {
            "id": self.id,
            "version": self.version,
            "affectedApps": [self.app_id],
            "affectedPods": [],
            "steps": [{"actions": step}],
            "currentActions": [dict(a, readinessCheckResults=[]) for a in step],
            "currentStep": 1,
            "totalSteps": 1,
        }


class MarathonApiDouble:
    """A test double of Marathon's REST API, in a thread of the calling process.

    ``version`` is what GET /v2/info reports ("1.4.3", "1.10.17" ...) and decides the API generation.
    ``deployment_delay`` is how long each deployment stays in GET /v2/deployments.
    ``docker_client`` (a ``docker.DockerClient``) makes finished deployments start real containers,
    named ``<docker_name_prefix><uuid>``. ``agents`` instead, ``[(host, docker_client), ...]``, makes it
    place each task on one of several Docker engines, as Mesos agents of one cluster: the agent named by a
    ``["hostname", "CLUSTER"|"LIKE", value]`` constraint, otherwise the next agent in turn; the task's
    ``host`` is that agent's name. ``username``/``password`` or ``token`` make it demand auth.
    """

    def __init__(
        self,
        version: str = "1.4.3",
        deployment_delay: float = 0.2,
        bind: str = "127.0.0.1",
        port: int = 0,
        agent_host: str = "agent1.double.invalid",
        docker_client: Any = None,
        docker_name_prefix: str = "mesos-",
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        healthy: bool = True,
        agents: list[tuple[str, Any]] | None = None,
        relaunch_interval: float = 1.0,
    ) -> None:
        self.version = version
        self.api_version = parse_version(version)
        self.deployment_delay = deployment_delay
        self.agent_host = agent_host
        self.username = username
        self.password = password
        self.token = token
        self.healthy = healthy
        self.relaunch_interval = relaunch_interval
        self.launcher = (
            DockerTaskLauncher(docker_client, docker_name_prefix, agent_host="127.0.0.1")
            if docker_client is not None
            else None
        )
        # Several Docker engines, one per agent host: tasks are placed on them in turn (or by constraint).
        self.agents: dict[str, DockerTaskLauncher] = {
            host: DockerTaskLauncher(client, docker_name_prefix, agent_host=host, owner=f"marathon-api-double@{host}")
            for host, client in (agents or [])
        }
        self._next_agent = itertools.count()
        self.requests: list[RecordedRequest] = []
        self.apps: dict[str, dict[str, Any]] = {}
        self.deployments: dict[str, Deployment] = {}
        self.faults: list[Fault] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._service_ports = itertools.count(10000)
        self._host_ports = itertools.count(31000)
        self._fake_ips = itertools.count(2)
        self._server = ThreadingHTTPServer((bind, port), _handler_for(self))
        self._server.daemon_threads = True
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------------------------------
    # Life cycle and test helpers
    # ------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> MarathonApiDouble:
        for target in (lambda: self._server.serve_forever(poll_interval=0.05), self._scheduler):
            thread = threading.Thread(target=target, daemon=True, name="marathon-api-double")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self.launcher is not None or self.agents:
            with self._lock:
                tasks = [t for app in self.apps.values() for t in app["_tasks"] if t.get("container_id")]
                tasks += [
                    t for d in self.deployments.values() for t in d.extra.get("orphans", []) if t.get("container_id")
                ]
            for task in tasks:
                self._kill(task)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def inject_faults(
        self,
        count: int,
        status: int = 503,
        methods: tuple[str, ...] | None = None,
        path_prefix: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status`` (recorded like the others)."""
        with self._lock:
            self.faults.append(Fault(count, status, methods, path_prefix))

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def writes(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.is_write]

    def settle(self, timeout: float = 30.0) -> None:
        """Block until no deployment is left (test convenience)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self.deployments:
                    return
            time.sleep(0.02)
        raise TimeoutError(f"deployments still running: {list(self.deployments)}")

    def finish_deployments(self, later_delay: float | None = 0.05) -> None:
        """Let every running deployment finish now, whatever its delay (for lock tests); later ones
        take ``later_delay`` seconds (None keeps the configured delay)."""
        with self._lock:
            if later_delay is not None:
                self.deployment_delay = later_delay
            for deployment in self.deployments.values():
                deployment.due = 0.0

    def wait_for_request(self, predicate: Any, timeout: float = 60.0) -> RecordedRequest:
        """Block until a recorded request satisfies ``predicate`` (a callable on RecordedRequest)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for request in self.requests:
                    if request.status and predicate(request):
                        return request
            time.sleep(0.01)
        raise TimeoutError("no matching request was received")

    def stored_app(self, app_id: str) -> dict[str, Any] | None:
        with self._lock:
            app = self.apps.get(_norm_id(app_id))
            return self._render(app) if app else None

    # ------------------------------------------------------------------------------------------
    # Request handling
    # ------------------------------------------------------------------------------------------

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(raw_path)
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        body: Any = None
        body_error = False
        if raw_body:
            try:
                body = json.loads(raw_body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                body, body_error = raw_body.decode("utf-8", "replace"), True
        record = RecordedRequest(method, path, query, body, dict(headers))
        with self._lock:
            self.requests.append(record)
            status, payload, extra = self._dispatch(method, path, query, headers, body, body_error)
            record.status = status
        return status, payload, extra

    def _dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: Any,
        body_error: bool,
    ) -> tuple[int, Any, dict[str, str]]:
        for fault in self.faults:
            if fault.remaining > 0 and fault.matches(method, path):
                fault.remaining -= 1
                return fault.status, {"message": f"injected fault: HTTP {fault.status}"}, {}
        if path != "/ping" and not self._authorized(headers):
            return 401, {"message": "Unauthorized"}, {"WWW-Authenticate": 'Basic realm="Mastodon"'}
        if body_error:
            return (
                400,
                {
                    "message": "Invalid JSON",
                    "details": [{"path": "/", "errors": ["error.expected.jsobject"]}],
                },
                {},
            )
        force = query.get("force", "").lower() == "true"
        if path == "/ping" and method == "GET":
            return 200, "pong", {}
        if path == "/v2/info" and method == "GET":
            return 200, self._info(), {}
        if path == "/v2/deployments" and method == "GET":
            return 200, [d.as_json() for d in self.deployments.values()], {}
        match = re.match(r"^/v2/deployments/([^/]+)$", path)
        if match and method == "DELETE":
            return self._cancel_deployment(match.group(1), force)
        if path in ("/v2/apps", "/v2/apps/") and method == "GET":
            return 200, {"apps": [self._render(a) for a in self.apps.values()]}, {}
        if path in ("/v2/apps", "/v2/apps/") and method == "POST":
            return self._create(body, force)
        match = re.match(r"^/v2/apps/(.+?)/restart$", path)
        if match and method == "POST":
            return self._restart(_norm_id(match.group(1)), force)
        match = re.match(r"^/v2/apps/(.+)$", path)
        if match:
            app_id = _norm_id(match.group(1))
            if method == "GET":
                app = self.apps.get(app_id)
                if app is None:
                    return self._no_app(app_id)
                return 200, {"app": self._render(app)}, {}
            if method == "PUT":
                partial = query.get("partialUpdate", "true").lower() != "false"
                return self._update(app_id, body, force, partial)
            if method == "DELETE":
                return self._delete(app_id, query.get("force", "true").lower() == "true")
        return 404, {"message": f"Not Found: {method} {path}"}, {}

    def _authorized(self, headers: dict[str, str]) -> bool:
        if self.token is None and self.username is None:
            return True
        given = headers.get("Authorization") or headers.get("authorization") or ""
        if self.token is not None and given == f"token={self.token}":
            return True
        if self.username is not None:
            expected = base64.b64encode(f"{self.username}:{self.password or ''}".encode()).decode()
            return given == "Basic " + expected
        return False

    def _info(self) -> dict[str, Any]:
        return {
            "name": "marathon",
            "version": self.version,
            "buildref": "test-double",
            "elected": True,
            "leader": f"{self.agent_host}:8080",
            "frameworkId": "00000000-0000-0000-0000-000000000000-0000",
            "marathon_config": {
                "master": "zk://localhost:2181/mesos",
                "local_port_min": 10000,
                "local_port_max": 20000,
                "executor": "//cmd",
                "framework_name": "marathon",
            },
            "zookeeper_config": {"zk": "zk://localhost:2181/marathon"},
            "http_config": {"http_port": 8080, "https_port": 8443},
            "x_test_double": "cloudflock test double of Marathon's REST API",
        }

    # ------------------------------------------------------------------------------------------
    # App writes
    # ------------------------------------------------------------------------------------------

    def _invalid(self, body: Any) -> tuple[int, Any, dict[str, str]] | None:
        if not isinstance(body, dict):
            return (
                400,
                {
                    "message": "Invalid JSON",
                    "details": [{"path": "/", "errors": ["error.expected.jsobject"]}],
                },
                {},
            )
        details = validation_errors(body, self.api_version)
        if details:
            return 422, {"message": "Object is not valid", "details": details}, {}
        return None

    def _locked(self, app_id: str) -> list[str]:
        return [d.id for d in self.deployments.values() if d.app_id == app_id]

    def _refuse_locked(self, app_id: str, force: bool) -> tuple[int, Any, dict[str, str]] | None:
        """Marathon's 409 naming the deployments that hold app_id, or None once force has cancelled them."""
        locks = self._locked(app_id)
        if locks and not force:
            return 409, {"message": LOCKED_MESSAGE, "deployments": [{"id": d} for d in locks]}, {}
        for deployment_id in locks:
            self._drop_deployment(deployment_id)
        return None

    def _refuse_missing_or_locked(self, app_id: str, force: bool) -> tuple[int, Any, dict[str, str]] | None:
        """For a change to an existing app: 404 if there is none, else as _refuse_locked."""
        if app_id not in self.apps:
            return self._no_app(app_id)
        return self._refuse_locked(app_id, force)

    @staticmethod
    def _no_app(app_id: str) -> tuple[int, Any, dict[str, str]]:
        return 404, {"message": f"App '{app_id}' does not exist"}, {}

    def _start_deployment(
        self, app_id: str, action: str, previous: dict[str, Any] | None, version: str
    ) -> Deployment:
        deployment = Deployment(
            str(uuid.uuid4()),
            version,
            app_id,
            action,
            time.monotonic() + self.deployment_delay,
            copy.deepcopy(previous),
        )
        self.deployments[deployment.id] = deployment
        return deployment

    def _create(self, body: Any, force: bool) -> tuple[int, Any, dict[str, str]]:
        invalid = self._invalid(body)
        if invalid:
            return invalid
        app_id = _norm_id(body["id"])
        if app_id in self.apps:
            return 409, {"message": f"An app with id [{app_id}] already exists."}, {}
        refused = self._refuse_locked(app_id, force)
        if refused:
            return refused
        app = self._store(app_id, body, None)
        self._start_deployment(app_id, "create", None, app["version"])
        return 201, self._render(app), {"Location": "/v2/apps" + app_id}

    def _update(self, app_id: str, body: Any, force: bool, partial: bool) -> tuple[int, Any, dict[str, str]]:
        if isinstance(body, dict):
            body = dict(body, id=app_id)
        current = self.apps.get(app_id)
        if current is not None and partial and isinstance(body, dict):
            merged = {
                k: v
                for k, v in current.items()
                if v is not None and not k.startswith("_") and k not in _ADDED_FIELDS
            }
            merged.update(body)
            body = merged
        invalid = self._invalid(body)
        if invalid:
            return invalid
        refused = self._refuse_locked(app_id, force)
        if refused:
            return refused
        app = self._store(app_id, body, current)
        deployment = self._start_deployment(
            app_id, "create" if current is None else "update", current, app["version"]
        )
        status = 201 if current is None else 200
        return status, {"deploymentId": deployment.id, "version": app["version"]}, {}

    def _delete(self, app_id: str, force: bool) -> tuple[int, Any, dict[str, str]]:
        refused = self._refuse_missing_or_locked(app_id, force)
        if refused:
            return refused
        current = self.apps.pop(app_id)
        version = _now()
        deployment = self._start_deployment(app_id, "delete", current, version)
        deployment.extra["orphans"] = current["_tasks"]
        return 200, {"deploymentId": deployment.id, "version": version}, {}

    def _restart(self, app_id: str, force: bool) -> tuple[int, Any, dict[str, str]]:
        refused = self._refuse_missing_or_locked(app_id, force)
        if refused:
            return refused
        current = self.apps[app_id]
        current["version"] = _now()
        current["versionInfo"]["lastScalingAt"] = current["version"]
        deployment = self._start_deployment(app_id, "restart", current, current["version"])
        return 200, {"deploymentId": deployment.id, "version": current["version"]}, {}

    def _cancel_deployment(self, deployment_id: str, force: bool) -> tuple[int, Any, dict[str, str]]:
        deployment = self.deployments.get(deployment_id)
        if deployment is None:
            return 404, {"message": f"DeploymentPlan {deployment_id} does not exist"}, {}
        self._drop_deployment(deployment_id)
        if force:
            return 202, None, {}
        # Without force Marathon rolls back: the previous definition comes back in a new deployment.
        version = _now()
        if deployment.previous is None:
            self.apps.pop(deployment.app_id, None)
        else:
            restored = copy.deepcopy(deployment.previous)
            self.apps[deployment.app_id] = restored
        rollback = self._start_deployment(deployment.app_id, "rollback", deployment.previous, version)
        return 200, {"deploymentId": rollback.id, "version": version}, {}

    def _drop_deployment(self, deployment_id: str) -> None:
        self.deployments.pop(deployment_id, None)

    # ------------------------------------------------------------------------------------------
    # Stored shape: what Marathon adds
    # ------------------------------------------------------------------------------------------

    def _store(self, app_id: str, body: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        app = _with_defaults(copy.deepcopy(body), self.api_version)
        app["id"] = app_id
        self._assign_service_ports(app, current)
        version = _now()
        app["version"] = version
        app["versionInfo"] = {"lastScalingAt": version, "lastConfigChangeAt": version}
        app["_tasks"] = current["_tasks"] if current else []
        app["_lastTaskFailure"] = None
        self.apps[app_id] = app
        return app

    def _assign_service_ports(self, app: dict[str, Any], current: dict[str, Any] | None) -> None:
        old = _mappings(current) if current else []
        for index, mapping in enumerate(_mappings(app)):
            if not mapping.get("servicePort"):
                previous = old[index].get("servicePort") if index < len(old) else None
                mapping["servicePort"] = previous or next(self._service_ports)

    def _render(self, app: dict[str, Any]) -> dict[str, Any]:
        shown = {k: copy.deepcopy(v) for k, v in app.items() if not k.startswith("_")}
        tasks = [self._task_json(app, t) for t in app["_tasks"]]
        running = len(tasks)
        healthy = running if (self.healthy and app.get("healthChecks")) else 0
        shown.update(
            tasksStaged=0,
            tasksRunning=running,
            tasksHealthy=healthy,
            tasksUnhealthy=running - healthy if app.get("healthChecks") else 0,
            deployments=[{"id": d} for d in self._locked(app["id"])],
            tasks=tasks,
        )
        if app.get("_lastTaskFailure"):
            shown["lastTaskFailure"] = app["_lastTaskFailure"]
        return shown

    def _task_json(self, app: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
        result = {
            "id": task["id"],
            "appId": app["id"],
            "host": task["host"],
            "ports": task["ports"],
            "servicePorts": [m.get("servicePort") for m in _mappings(app)],
            "ipAddresses": [{"ipAddress": ip, "protocol": "IPv4"} for ip in task["ip_addresses"]],
            "slaveId": "00000000-0000-0000-0000-000000000000-S0",
            "stagedAt": task["staged_at"],
            "startedAt": task["started_at"],
            "version": task["version"],
            "state": "TASK_RUNNING",
        }
        if app.get("healthChecks"):
            result["healthCheckResults"] = [
                {"alive": self.healthy, "consecutiveFailures": 0, "taskId": task["id"]}
                for _ in app["healthChecks"]
            ]
        return result

    # ------------------------------------------------------------------------------------------
    # Deployments finishing (a background thread)
    # ------------------------------------------------------------------------------------------

    def _scheduler(self) -> None:
        next_check = time.monotonic() + self.relaunch_interval
        while not self._stop.wait(0.02):
            with self._lock:
                due = [d for d in self.deployments.values() if d.due <= time.monotonic() and not d.launched]
                for deployment in due:
                    deployment.launched = True
            for deployment in due:
                self._finish(deployment)
            if self.relaunch_interval and time.monotonic() >= next_check:
                self._replace_lost_tasks()
                next_check = time.monotonic() + self.relaunch_interval

    # ------------------------------------------------------------------------------------------
    # Tasks lost outside a deployment (a background thread): replaced, as Marathon keeps `instances`
    # ------------------------------------------------------------------------------------------

    def _replace_lost_tasks(self) -> None:
        """Replace the tasks whose containers stopped (killed, crashed, removed), and launch the ones a failed
        replacement left missing, for the apps no deployment is changing. Marathon relaunches after
        backoffSeconds; here the check interval stands for that delay. Mesos keeps a dead container for
        --docker_remove_delay; here it is removed at once, which also frees a pinned address for the
        replacement."""
        if self.launcher is None and not self.agents:
            return
        with self._lock:
            busy = {d.app_id for d in self.deployments.values()}
            watched = {app_id: (list(app["_tasks"]), int(app.get("instances", 1)))
                       for app_id, app in self.apps.items() if app_id not in busy}
        for app_id, (tasks, instances) in watched.items():
            lost = [t for t in tasks if not self._task_running(t)]
            if lost or len(tasks) < instances:
                self._replace(app_id, lost)

    def _launcher_for(self, host: str) -> DockerTaskLauncher | None:
        """The Docker engine of an agent host (or the single engine without agents); None without Docker."""
        return self.agents.get(host) or self.launcher

    def _task_running(self, task: dict[str, Any]) -> bool:
        launcher = self._launcher_for(task.get("host", ""))
        return launcher is None or not task.get("container_id") or launcher.is_running(task["container_id"])

    def _replace(self, app_id: str, lost: list[dict[str, Any]]) -> None:
        lost_ids = {t["id"] for t in lost}
        with self._lock:
            stored = self.apps.get(app_id)
            if stored is None or self._locked(app_id):
                return
            version = stored["version"]
            stored["_tasks"] = [t for t in stored["_tasks"] if t["id"] not in lost_ids]
            missing = int(stored.get("instances", 1)) - len(stored["_tasks"])
            if lost:
                stored["_lastTaskFailure"] = self._task_failure(app_id, lost[-1], "Container exited", version)
            app = copy.deepcopy(stored)
        for task in lost:
            self._kill(task)
        replacements = []
        failure = None
        for _ in range(missing):
            try:
                replacements.append(self._launch(app))
            except LaunchError as exc:
                failure = str(exc)
                break
        with self._lock:
            stored = self.apps.get(app_id)
            keep = stored is not None and stored["version"] == version and not self._locked(app_id)
            if keep:
                stored["_tasks"] = stored["_tasks"] + replacements
                if failure is not None:
                    stored["_lastTaskFailure"] = self._task_failure(app_id, {"host": "", "id": ""}, failure, version)
        if not keep:
            # Deleted or redeployed meanwhile: that deployment owns the app's tasks now.
            for task in replacements:
                self._kill(task)

    @staticmethod
    def _task_failure(app_id: str, task: dict[str, Any], message: str, version: str) -> dict[str, Any]:
        return {"appId": app_id, "host": task["host"], "message": message, "state": "TASK_FAILED",
                "taskId": task["id"], "timestamp": _now(), "version": version}

    def _finish(self, deployment: Deployment) -> None:
        with self._lock:
            app = copy.deepcopy(self.apps.get(deployment.app_id))
            if deployment.action == "delete" or app is None:
                old_tasks = list(deployment.extra.get("orphans", []))
            else:
                old_tasks = list(app["_tasks"])
        new_tasks: list[dict[str, Any]] = []
        failure = None
        if deployment.action != "delete" and app is not None:
            for _ in range(int(app.get("instances", 1))):
                try:
                    new_tasks.append(self._launch(app))
                except LaunchError as exc:
                    failure = str(exc)
                    break
        for task in old_tasks:
            self._kill(task)
        with self._lock:
            if deployment.id not in self.deployments:
                # Cancelled (force) while containers were starting: do not leak them.
                for task in new_tasks:
                    self._kill(task)
                return
            stored = self.apps.get(deployment.app_id)
            if failure is not None:
                for task in new_tasks:
                    self._kill(task)
                if stored is not None:
                    stored["_tasks"] = []
                    stored["_lastTaskFailure"] = self._task_failure(
                        deployment.app_id, {"host": self.agent_host, "id": ""}, failure, deployment.version
                    )
                # Marathon keeps retrying a failing deployment: it stays listed.
                return
            if stored is not None and deployment.action != "delete":
                stored["_tasks"] = new_tasks
            self.deployments.pop(deployment.id, None)

    def _kill(self, task: dict[str, Any]) -> None:
        if not task.get("container_id"):
            return
        launcher = self._launcher_for(task.get("host", ""))
        if launcher is not None:
            launcher.kill(task["container_id"])

    def _place(self, app: dict[str, Any]) -> str:
        """The agent a task of ``app`` goes to: a hostname constraint's, else the next in turn."""
        hosts = list(self.agents)
        for constraint in app.get("constraints") or []:
            if len(constraint) == 3 and constraint[0] == "hostname" and constraint[1] in ("CLUSTER", "LIKE"):
                pattern = constraint[2] if constraint[1] == "LIKE" else re.escape(constraint[2])
                hosts = [h for h in hosts if re.fullmatch(pattern, h)]
        if not hosts:
            raise LaunchError(f"no agent satisfies the constraints of app {app.get('id')}: {app.get('constraints')}")
        return hosts[next(self._next_agent) % len(hosts)]

    def _launch(self, app: dict[str, Any]) -> dict[str, Any]:
        task_id = f"{app['id'].strip('/').replace('/', '_')}.{uuid.uuid4()}"
        now = _now()
        host = self._place(app) if self.agents else self.agent_host
        task = {
            "id": task_id,
            "host": host,
            "staged_at": now,
            "started_at": now,
            "version": app["version"],
        }
        launcher = self._launcher_for(host)
        if launcher is not None:
            started = launcher.launch(app, task_id)
            task.update(
                container_id=started["container_id"],
                name=started["name"],
                ports=started["ports"],
                ip_addresses=started["ip_addresses"],
            )
            return task
        ports = []
        for mapping in _mappings(app):
            ports.append(mapping.get("hostPort") or next(self._host_ports))
        task.update(ports=ports, ip_addresses=[_synthetic_ip(app) or f"172.17.0.{next(self._fake_ips)}"])
        return task


# Fields a stored app gains that a client never sends back on a partial update.
_ADDED_FIELDS = (
    "version",
    "versionInfo",
    "tasksStaged",
    "tasksRunning",
    "tasksHealthy",
    "tasksUnhealthy",
    "deployments",
    "tasks",
    "lastTaskFailure",
)


def _mappings(app: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not app:
        return []
    container = app.get("container") or {}
    if container.get("portMappings") is not None:
        return container["portMappings"]
    return (container.get("docker") or {}).get("portMappings") or []


def _synthetic_ip(app: dict[str, Any]) -> str | None:
    docker = (app.get("container") or {}).get("docker") or {}
    for param in docker.get("parameters") or []:
        if param.get("key") == "ip":
            return str(param.get("value"))
    weave = (app.get("env") or {}).get("WEAVE_CIDR")
    if isinstance(weave, str):
        return weave.split(":", 1)[-1].split("/", 1)[0]
    return None


def _with_defaults(app: dict[str, Any], version: tuple[int, ...]) -> dict[str, Any]:
    """Fill in the defaults Marathon reports back, and move 1.4-style fields to the 1.5+ places
    when answering as 1.5+."""
    defaults: dict[str, Any] = {
        "instances": 1,
        "cpus": 1,
        "mem": 128,
        "disk": 0,
        "gpus": 0,
        "cmd": None,
        "args": None,
        "user": None,
        "env": {},
        "constraints": [],
        "acceptedResourceRoles": None,
        "uris": [],
        "fetch": [],
        "storeUrls": [],
        "backoffSeconds": 1,
        "backoffFactor": 1.15,
        "maxLaunchDelaySeconds": 3600,
        "executor": "",
        "healthChecks": [],
        "readinessChecks": [],
        "dependencies": [],
        "upgradeStrategy": {"minimumHealthCapacity": 1, "maximumOverCapacity": 1},
        "labels": {},
        "ipAddress": None,
        "secrets": {},
        "killSelection": schema_default("killSelection", version),
        "requirePorts": False,
        "unreachableStrategy": {"inactiveAfterSeconds": 300, "expungeAfterSeconds": 600},
        "taskKillGracePeriodSeconds": None,
        "residency": None,
    }
    if version[:2] >= (1, 5):
        defaults["maxLaunchDelaySeconds"] = 300
    for key, value in defaults.items():
        app.setdefault(key, copy.deepcopy(value))
    # Marathon keeps an app's constraints as a set: they come back in its order, not the request's.
    app["constraints"] = sorted(app["constraints"] or [], key=json.dumps, reverse=True)
    for check in app["healthChecks"]:
        check.setdefault("protocol", "HTTP")
        for key, value in (
            ("gracePeriodSeconds", 300),
            ("intervalSeconds", 60),
            ("timeoutSeconds", 20),
            ("maxConsecutiveFailures", 3),
            ("delaySeconds", schema_default("healthChecks/[]/delaySeconds", version)),
            ("ignoreHttp1xx", False),
        ):
            check.setdefault(key, value)
        if check["protocol"] in ("HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS"):
            check.setdefault("path", "/")
        if check["protocol"] != "COMMAND" and "port" not in check:
            check.setdefault("portIndex", 0)
    container = app.get("container")
    if container:
        container.setdefault("type", "DOCKER")
        container.setdefault("volumes", [])
        docker = container.get("docker")
        if docker is not None:
            docker.setdefault("privileged", False)
            docker.setdefault("forcePullImage", False)
            docker.setdefault("parameters", [])
            for mapping in docker.get("portMappings") or []:
                mapping.setdefault("hostPort", 0)
                mapping.setdefault("protocol", "tcp")
                mapping.setdefault("labels", {})
        for mapping in container.get("portMappings") or []:
            mapping.setdefault("hostPort", 0)
            mapping.setdefault("protocol", "tcp")
            mapping.setdefault("labels", {})
    if version[:2] >= (1, 5):
        docker = (container or {}).get("docker") or {}
        if "portMappings" in docker:
            container["portMappings"] = docker.pop("portMappings")
        legacy = docker.pop("network", None)
        if legacy and not app.get("networks"):
            mode = {"BRIDGE": "container/bridge", "HOST": "host", "USER": "container"}.get(legacy, "host")
            network: dict[str, Any] = {"mode": mode}
            name = (app.get("ipAddress") or {}).get("networkName")
            if mode == "container" and name:
                network["name"] = name
            app["networks"] = [network]
        app.pop("ipAddress", None)
        app.setdefault("networks", [{"mode": "host"}])
        if app.get("portDefinitions") is None and not container:
            app["portDefinitions"] = [{"port": 0, "protocol": "tcp", "name": "default", "labels": {}}]
    else:
        if not container:
            app.setdefault("portDefinitions", [{"port": 0, "protocol": "tcp", "labels": {}}])
        app.setdefault("ports", [])
    app.setdefault("portDefinitions", [])
    return app


def _handler_for(double: MarathonApiDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "cloudflock-marathon-api-double/1"
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            status, payload, extra = double.handle(self.command, self.path, dict(self.headers.items()), raw)
            if payload is None:
                data, ctype = b"", "application/json"
            elif isinstance(payload, str):
                data, ctype = payload.encode("utf-8"), "text/plain; charset=utf-8"
            else:
                data, ctype = json.dumps(payload).encode("utf-8"), "application/json; charset=utf-8"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
