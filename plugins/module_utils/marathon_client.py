# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""A small client for Marathon's REST API (v2), on ``requests``.

Retries with exponential backoff on connection errors and 5xx answers (never past an optional
deadline), basic auth or a DC/OS style
token (``Authorization: token=...``), TLS verification with an optional CA file, lock handling for
409 answers, version detection and waiting for deployments and tasks. Errors are
:class:`MarathonError` carrying the HTTP status, Marathon's message and its details.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, urlsplit

from ansible_collections.cloudflock.htcondor.plugins.module_utils.marathon_options import in_group

try:
    import requests

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR: str | None = None
except ImportError:  # pragma: no cover - reported by the module through missing_required_lib
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

RETRY_STATUSES = (500, 502, 503, 504)
LOCKED_MARKER = "locked by one or more deployments"
EXISTS_MARKER = "already exists"

Progress = Callable[[str], None]


class MarathonError(Exception):
    """A failed call: ``status`` (None when the server was never reached), Marathon's ``message`` and
    ``details`` (``[{path, errors}]`` for 400/422), the ``deployments`` of a 409 lock, the request."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        details: Any = None,
        method: str = "",
        url: str = "",
        deployments: list[str] | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.details = details
        self.method = method
        self.url = url
        self.deployments = deployments or []
        text = message
        if method or url:
            text = f"{method} {url} -> {status if status is not None else 'no answer'}: {message}"
        if details:
            text += f" (details: {details})"
        super().__init__(text)

    @property
    def locked(self) -> bool:
        return self.status == 409 and LOCKED_MARKER in self.message

    @property
    def exists(self) -> bool:
        return self.status == 409 and EXISTS_MARKER in self.message


class MarathonTimeout(MarathonError):
    """Waiting ran out of time; ``pending`` says what was still outstanding."""

    def __init__(self, message: str, pending: list[str]) -> None:
        super().__init__(message)
        self.pending = pending


class MarathonUrlError(MarathonError):
    """``marathon_url`` is not an http(s) URL. Raised before any request; names the field and value."""

    def __init__(self, value: Any, problem: str) -> None:
        self.field = "marathon_url"
        self.value = value
        super().__init__(
            f"marathon_url: {value!r} {problem}; expected http://HOST[:PORT] or https://HOST[:PORT], "
            "for example http://10.0.0.5:8080"
        )


def base_url_from(url: Any) -> str:
    """Accept ``http://host:8080``, ``.../`` or the seed's ``http://host:8080/v2/apps``; anything but an
    http(s) URL naming a host raises :class:`MarathonUrlError`."""
    text = "" if url is None else str(url).strip().rstrip("/")
    parts = urlsplit(text)
    if not text:
        raise MarathonUrlError(url, "is empty")
    if parts.scheme.lower() not in ("http", "https"):
        raise MarathonUrlError(url, f"has the scheme {parts.scheme!r}" if "://" in text else "has no scheme")
    if any(char.isspace() for char in text):
        raise MarathonUrlError(url, "contains white space")
    if not parts.hostname:
        raise MarathonUrlError(url, "names no host")
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise MarathonUrlError(url, "has a port that is not a number from 1 to 65535")
    if parts.query or parts.fragment:
        raise MarathonUrlError(url, "has a query or fragment")
    for suffix in ("/v2/apps", "/v2"):
        text = text.removesuffix(suffix)
    return text.rstrip("/")


def app_path(app_id: str) -> str:
    return "/v2/apps/" + quote(str(app_id).strip("/"), safe="/")


class MarathonClient:
    """One Marathon server. ``sleep`` and ``clock`` are injectable so waiting is testable."""

    def __init__(
        self,
        url: str,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        validate_certs: bool = True,
        ca_path: str | None = None,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        poll_interval: float = 1.0,
        progress: Progress | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        deadline: float | None = None,
    ) -> None:
        if not HAS_REQUESTS:
            raise MarathonError(f"the Python library 'requests' is required: {REQUESTS_IMPORT_ERROR}")
        self.base_url = base_url_from(url)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.poll_interval = poll_interval
        self.progress = progress or (lambda _line: None)
        self.sleep = sleep
        self.clock = clock
        # A clock() value no retry goes past (the caller's wait_timeout); None: only ``retries`` limit them.
        self.deadline = deadline
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        if token:
            self.session.headers["Authorization"] = f"token={token}"
        elif username is not None:
            self.session.auth = (username, password or "")
        self.session.verify = (ca_path or True) if validate_certs else False
        self._version: str | None = None

    # ---------------------------------------------------------------------------------------
    # Transport
    # ---------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: Any = None,
    ) -> tuple[int, Any]:
        """One call with retries; returns (status, decoded JSON or text) for 2xx, raises otherwise.

        Connection errors and 5xx answers are retried with backoff, at most ``retries`` times and never
        past ``deadline``: the last attempt starts by then, so the call ends within the deadline plus
        one request's ``timeout``."""
        url = self.base_url + path
        started = self.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.session.request(method, url, params=params, json=body, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if not self._may_retry(attempt):
                    raise MarathonError(
                        f"Marathon at {self.base_url} was unreachable for {self.clock() - started:.1f} s "
                        f"({attempt} attempts): {exc}",
                        method=method,
                        url=url,
                    ) from exc
                self._pause(attempt, f"{method} {path}: {type(exc).__name__}")
                continue
            if response.status_code in RETRY_STATUSES and self._may_retry(attempt):
                self._pause(attempt, f"{method} {path}: HTTP {response.status_code}")
                continue
            payload = _decode(response)
            if response.status_code >= 400:
                raise _error_from(method, url, response.status_code, payload)
            return response.status_code, payload

    def _may_retry(self, attempt: int) -> bool:
        return attempt <= self.retries and (self.deadline is None or self.clock() < self.deadline)

    def _pause(self, attempt: int, why: str) -> None:
        delay = min(self.backoff * (2 ** (attempt - 1)), self.max_backoff)
        if self.deadline is not None:
            delay = max(0.0, min(delay, self.deadline - self.clock()))
        self.progress(f"retrying in {delay:.1f}s (attempt {attempt} of {self.retries}) after {why}")
        self.sleep(delay)

    # ---------------------------------------------------------------------------------------
    # Endpoints
    # ---------------------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return self.request("GET", "/v2/info")[1]

    def version(self) -> str:
        """Marathon's version from GET /v2/info (cached)."""
        if self._version is None:
            info = self.info()
            version = info.get("version") if isinstance(info, dict) else None
            if not version:
                raise MarathonError(f"GET /v2/info has no version: {info!r}", status=200)
            self._version = str(version)
        return self._version

    def get_app(self, app_id: str) -> dict[str, Any] | None:
        """The ``app`` of GET /v2/apps/{id} (with tasks), None when it does not exist."""
        try:
            payload = self.request("GET", app_path(app_id), params={"embed": "app.tasks"})[1]
        except MarathonError as exc:
            if exc.status == 404:
                return None
            raise
        return payload.get("app") if isinstance(payload, dict) else None

    def list_apps(self, group: str | None = None) -> list[dict[str, Any]]:
        """The apps of GET /v2/apps with their tasks, only those under ``group`` when it is given."""
        payload = self.request("GET", "/v2/apps", params={"embed": ["apps.tasks", "apps.counts"]})[1]
        apps = payload.get("apps") if isinstance(payload, dict) else None
        return [app for app in apps or [] if in_group(str(app.get("id", "")), group)]

    def list_deployments(self) -> list[dict[str, Any]]:
        payload = self.request("GET", "/v2/deployments")[1]
        return payload if isinstance(payload, list) else []

    def create_app(self, definition: dict[str, Any]) -> dict[str, Any]:
        """POST /v2/apps; returns the created app (with its ``deployments``)."""
        return self.request("POST", "/v2/apps", body=definition)[1]

    def update_app(self, app_id: str, definition: dict[str, Any], force: bool = False) -> dict[str, Any]:
        """PUT /v2/apps/{id} replacing the whole definition; returns ``{deploymentId, version}``."""
        params = {"partialUpdate": "false"}
        if force:
            params["force"] = "true"
        return self.request("PUT", app_path(app_id), params=params, body=definition)[1]

    def delete_app(self, app_id: str, force: bool = False) -> dict[str, Any]:
        """DELETE /v2/apps/{id}; ``force`` is sent explicitly either way (Marathon's default is true)."""
        params = {"force": "true" if force else "false"}
        return self.request("DELETE", app_path(app_id), params=params)[1]

    def restart_app(self, app_id: str, force: bool = False) -> dict[str, Any]:
        params = {"force": "true"} if force else None
        return self.request("POST", app_path(app_id) + "/restart", params=params)[1]

    # ---------------------------------------------------------------------------------------
    # Lock handling and waiting
    # ---------------------------------------------------------------------------------------

    def call_unlocked(self, call: Callable[[], dict[str, Any]], deadline: float) -> dict[str, Any]:
        """Run a write; while Marathon answers 409 "locked by deployments", wait for those
        deployments to go, then retry, until ``deadline`` (a ``clock()`` value)."""
        while True:
            try:
                return call()
            except MarathonError as exc:
                if not exc.locked:
                    raise
                self.progress("locked by deployment(s) " + ", ".join(exc.deployments or ["?"]) + "; waiting")
                self.wait_for_deployments(exc.deployments, deadline, what="lock")

    def wait_for_deployments(self, deployment_ids: Iterable[str], deadline: float, what: str = "") -> None:
        """Until none of ``deployment_ids`` is listed by GET /v2/deployments."""
        wanted = {d for d in deployment_ids if d}
        while True:
            running = {d.get("id") for d in self.list_deployments()} & wanted
            if not running:
                return
            pending = [f"deployment {d}" for d in sorted(running)]
            if self.clock() >= deadline:
                raise MarathonTimeout(
                    (f"timed out waiting ({what}) for " if what else "timed out waiting for ") + ", ".join(pending),
                    pending,
                )
            self.progress("waiting for " + ", ".join(pending))
            self.sleep(self.poll_interval)

    def wait_for_app(
        self,
        app_id: str,
        deadline: float,
        pending_of: Callable[[dict[str, Any] | None, list[dict[str, Any]]], list[str]],
    ) -> dict[str, Any] | None:
        """Until ``pending_of(app, deployments)`` is empty; returns the app as last seen."""
        while True:
            app = self.get_app(app_id)
            pending = pending_of(app, self.list_deployments())
            if not pending:
                return app
            if self.clock() >= deadline:
                raise MarathonTimeout(
                    f"timed out waiting for app {app_id}: still pending: " + "; ".join(pending), pending
                )
            self.progress(f"app {app_id}: " + "; ".join(pending))
            self.sleep(self.poll_interval)

    def wait_for_absence(self, app_id: str, deadline: float) -> None:
        """Until GET /v2/apps/{id} answers 404 and no deployment names the app."""
        while True:
            app = self.get_app(app_id)
            busy = [d.get("id") for d in self.list_deployments() if app_id in (d.get("affectedApps") or [])]
            pending = (["app still exists"] if app is not None else []) + [f"deployment {d}" for d in busy]
            if not pending:
                return
            if self.clock() >= deadline:
                raise MarathonTimeout(f"timed out waiting for app {app_id} to go: " + "; ".join(pending), pending)
            self.progress(f"app {app_id}: " + "; ".join(pending))
            self.sleep(self.poll_interval)


def _decode(response: Any) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def _error_from(method: str, url: str, status: int, payload: Any) -> MarathonError:
    message = ""
    details = None
    deployments: list[str] = []
    if isinstance(payload, dict):
        message = str(payload.get("message") or "")
        details = payload.get("details")
        deployments = [str(d.get("id")) for d in payload.get("deployments") or [] if isinstance(d, dict)]
    elif payload:
        message = str(payload)[:500]
    return MarathonError(
        message or f"HTTP {status}",
        status=status,
        details=details,
        method=method,
        url=url,
        deployments=deployments,
    )
