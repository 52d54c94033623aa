# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

# The options below are declared once, in module_utils/marathon_options.py (argument spec, request body,
# comparison); this literal copy is what ansible-doc reads, and
# tests/unit/plugins/module_utils/test_marathon_options.py holds it equal.
DOCUMENTATION = r"""
---
module: marathon_app
short_description: Create, update, restart or delete a Docker app on Marathon, optionally at a pinned IP
version_added: 0.1.0
description:
  - Manages one app on a Marathon server (Marathon on Mesos) running one Docker image, such as one
    containerized HTCondor pool of the flock.
  - The app definition is built for the version the server reports on C(GET /v2/info) - Marathon 1.4
    (C(container.docker.portMappings), C(container.docker.network)) or 1.5 and later
    (C(container.portMappings), C(networks)).
  - The desired definition is compared with what C(GET /v2/apps/{id}) returns, ignoring what Marathon adds
    itself (versions, task counters, defaults, service ports ...). An unchanged app sends no write.
  - A container can be pinned to an address of the container network with O(ip_address). With
    O(ip_mode=weave) the app gets C(WEAVE_CIDR=ip:ADDR/LEN) and bridge networking, for agents whose
    Docker socket is Weave's Docker API proxy. With O(ip_mode=docker_network) it joins the Docker
    network O(network_name) with the docker parameters C(net) and C(ip).
  - All options are validated before any request is sent; an error names the option and its value.
extends_documentation_fragment:
  - cloudflock.htcondor.marathon
options:
  id:
    description:
      - The app id, for example C(submitter) or C(/flock/runner1). A leading C(/) is added.
      - Segments of lowercase letters, digits, dashes and dots, not starting or ending with a dash or a dot.
    type: str
    required: true
  state:
    description:
      - V(present) creates the app or updates it when its definition differs.
      - V(absent) deletes it.
      - V(restarted) makes it present and restarts its tasks (unless it was just created or updated).
    type: str
    choices: [present, absent, restarted]
    default: present
  image:
    description: The Docker image. Required unless O(state=absent).
    type: str
  cpus:
    description: CPU shares per instance (more than 0).
    type: float
    default: 1
  mem:
    description: Memory in MB per instance (more than 0).
    type: float
    default: 128
  disk:
    description: Disk in MB per instance.
    type: float
    default: 0
  instances:
    description: Number of instances.
    type: int
    default: 1
  ports:
    description: Port mappings of the container.
    type: list
    elements: dict
    default: []
    suboptions:
      container_port:
        description: Port inside the container.
        type: int
        required: true
      host_port:
        description: Port on the agent; V(0) lets Marathon pick one.
        type: int
        default: 0
      protocol:
        description: Protocol.
        type: str
        choices: [tcp, udp, 'udp,tcp']
        default: tcp
      name:
        description: Name of the port (lowercase letters, digits and dashes).
        type: str
      labels:
        description: Labels of the port mapping.
        type: dict
  args:
    description:
      - Arguments given to the image's entrypoint. Mark the task C(no_log) when they carry secrets.
    type: list
    elements: str
  env:
    description: Environment variables; values are turned into strings.
    type: dict
    default: {}
  labels:
    description: App labels.
    type: dict
    default: {}
  constraints:
    description:
      - Placement constraints, each C([field, OPERATOR]) or C([field, OPERATOR, value]).
      - Their order does not matter (Marathon keeps them as a set); a reordered list is no change.
    type: list
    elements: list
    default: []
  privileged:
    description: Run the container privileged.
    type: bool
    default: false
  force_pull_image:
    description: Pull the image even when the agent has it.
    type: bool
    default: false
  parameters:
    description:
      - Extra C(docker run) options, each C(--key=value).
      - With O(ip_mode=docker_network) and O(ip_address), C(net) and C(ip) are set by the module.
    type: list
    elements: dict
    default: []
    suboptions:
      key:
        description: Option name without dashes, for example C(hostname).
        type: str
        required: true
      value:
        description: Option value.
        type: str
        default: ''
  volumes:
    description: Volumes of the container.
    type: list
    elements: dict
    default: []
    suboptions:
      container_path:
        description: Path inside the container.
        type: str
        required: true
      host_path:
        description: Path on the agent.
        type: str
      mode:
        description: Access mode.
        type: str
        choices: [RO, RW]
        default: RW
  health_checks:
    description:
      - Health checks in Marathon's C(healthChecks) format (C(protocol), C(path), C(portIndex) ...).
      - Each is sent with its defaulted fields spelled out (C(gracePeriodSeconds=300), C(intervalSeconds=60),
        C(timeoutSeconds=20), C(maxConsecutiveFailures=3), C(delaySeconds=15), C(ignoreHttp1xx=false)), so that
        what Marathon answers does not depend on its own defaults.
    type: list
    elements: dict
    default: []
  ip_address:
    description:
      - Pin the container to this address of O(network_cidr). It must be inside the network and be neither
        its network nor its broadcast address.
    type: str
  network_cidr:
    description:
      - The container network, for example C(172.16.0.0/24). Required with O(ip_address); its prefix
        length goes into C(WEAVE_CIDR).
    type: str
  ip_mode:
    description:
      - How the address is pinned. V(weave) sets C(WEAVE_CIDR=ip:ADDR/LEN) with bridge networking (Weave's
        Docker API proxy attaches the container), as the original system did. V(docker_network) joins the
        Docker network O(network_name) (Marathon C(USER) network, or C(container) mode on 1.5+) with the
        docker parameters C(net) and C(ip).
    type: str
    choices: [weave, docker_network]
    default: weave
  network_name:
    description: The Docker (or Weave plugin) network to join; required with O(ip_mode=docker_network).
    type: str
  force:
    description:
      - Send C(force=true) with writes, which cancels a deployment that locks the app.
      - Without it, a locked app is waited out until O(wait_timeout), then the error names the deployment.
    type: bool
    default: false
  wait:
    description:
      - Wait until the app's deployments are gone from C(GET /v2/deployments) and C(tasksRunning) equals
        C(instances) (and C(tasksHealthy) too when the app has health checks); for O(state=absent), until
        the app is gone. Also applies when nothing changed.
      - With C(-v), the result's RV(progress) lists what was waited for.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait, for locks and deployments together; the error names what is pending.
      - Retries of requests Marathon does not answer (connection errors, 5xx) stop at the same deadline,
        so an unreachable Marathon fails after about this long (plus at most one O(request_timeout)),
        saying for how long it was unreachable.
    type: int
    default: 600
  poll_interval:
    description: Seconds between two polls while waiting.
    type: float
    default: 1
attributes:
  check_mode:
    support: full
    description: Nothing is written; RV(ignore:changed) and the diff say what would be done.
  diff_mode:
    support: full
    description: Before and after are the managed fields of the app definition.
  idempotent:
    support: full
    description: An app whose definition equals the desired one is left alone and no write is sent.
requirements:
  - requests
notes:
  - Marathon 1.4.x and 1.5 to 1.10 (and later 1.x) are supported; the version is read from C(GET /v2/info).
  - Updates are sent with C(partialUpdate=false), so options that are removed are removed from the app.
  - With O(ip_mode=docker_network) the network must exist on every agent (for example a Docker overlay
    or the Weave plugin network C(weave)); its gateway must not be one of the pinned addresses.
seealso:
  - name: Marathon REST API
    description: The app definition and the endpoints this module uses.
    link: https://mesosphere.github.io/marathon/api-console/index.html
author:
  - cloudflock developers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Create the submitter pool at a pinned Weave address (as the original system did)
  cloudflock.htcondor.marathon_app:
    marathon_url: http://130.202.88.202:9090/v2/apps
    id: submitter
    image: scidas/kinc-submitter
    cpus: 1
    mem: 2048
    disk: 50000
    ports:
      - container_port: 22
        host_port: 0
        protocol: tcp
    args: [-f, "172.16.0.2,172.16.0.3"]
    ip_address: 172.16.0.1
    network_cidr: 172.16.0.0/24
    ip_mode: weave
  no_log: true

- name: Create an executor pool on a Docker network and wait for it
  cloudflock.htcondor.marathon_app:
    marathon_url: "{{ cluster.marathon_url }}"
    id: runner1
    image: scidas/htcondor-worker-centos7
    cpus: 12
    mem: 4096
    disk: 10000
    ip_address: 172.16.0.2
    network_cidr: 172.16.0.0/24
    ip_mode: docker_network
    network_name: flocknet
    wait_timeout: 900
  register: runner1

- name: Show where it runs
  ansible.builtin.debug:
    msg: "{{ runner1.tasks[0].host }} {{ runner1.tasks[0].ip_addresses }}"

- name: Restart a pool
  cloudflock.htcondor.marathon_app:
    marathon_url: http://10.0.0.5:8080
    id: runner1
    image: scidas/htcondor-worker-centos7
    cpus: 12
    mem: 4096
    state: restarted

- name: Remove a pool, cancelling whatever deployment holds it
  cloudflock.htcondor.marathon_app:
    marathon_url: http://10.0.0.5:8080
    id: runner1
    state: absent
    force: true
"""

RETURN = r"""
app:
  description:
    - The app as C(GET /v2/apps/{id}) returned it after the change (with C(tasks)); in check mode the
      desired definition for a new app. Absent after O(state=absent).
  returned: success
  type: dict
  sample: {"id": "/runner1", "instances": 1, "tasksRunning": 1, "version": "2017-03-01T10:00:00.000Z"}
deployment_ids:
  description: Ids of the deployments the writes started (empty when nothing was written).
  returned: success
  type: list
  elements: str
  sample: ["5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43"]
tasks:
  description: The app's tasks.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: Task id.
      type: str
    host:
      description: Agent host the task runs on.
      type: str
    ports:
      description: Host ports of the task.
      type: list
      elements: int
    ip_addresses:
      description: IP addresses of the task (the pinned one when Marathon reports it).
      type: list
      elements: str
    state:
      description: Mesos task state.
      type: str
  sample: [{"id": "runner1.1f2e", "host": "agent1", "ports": [31022], "ip_addresses": ["172.16.0.2"],
            "state": "TASK_RUNNING"}]
changes:
  description: The fields of the definition that differ (dotted paths); C([id]) for a new app.
  returned: success
  type: list
  elements: str
  sample: ["cpus", "container.docker.image"]
marathon_version:
  description: The version C(GET /v2/info) reported.
  returned: success
  type: str
  sample: 1.4.3
progress:
  description: What was waited for and retried, one line each; returned with C(-v) or on failure.
  returned: when verbosity is 1 or more
  type: list
  elements: str
"""

import traceback
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.cloudflock.htcondor.plugins.module_utils.marathon_appdef import (
    AppDefError,
    compare,
    parse_version,
    pending_reasons,
    summarize_tasks,
    validate_options,
)
from ansible_collections.cloudflock.htcondor.plugins.module_utils.marathon_client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    MarathonClient,
    MarathonError,
    MarathonTimeout,
    MarathonUrlError,
)
from ansible_collections.cloudflock.htcondor.plugins.module_utils.marathon_common import (
    client_kwargs,
    marathon_connection_spec,
)
from ansible_collections.cloudflock.htcondor.plugins.module_utils.marathon_options import (
    app_options,
    argument_spec,
    build_app_definition,
    canonical_app,
    module_kwargs,
    normalize_app_id,
)


class MarathonApp:
    """present() / absent() / restarted() for one app; every change is computed before it is sent."""

    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.app_id = normalize_app_id(self.params["id"])
        self.progress: list[str] = []
        self.client = MarathonClient(progress=self._progress, **client_kwargs(self.params))
        self.client.poll_interval = self.params["poll_interval"]
        self.deadline = self.client.clock() + self.params["wait_timeout"]
        self.client.deadline = self.deadline  # retries of unanswered requests stop there too
        self.result: dict[str, Any] = {"changed": False, "deployment_ids": [], "tasks": [], "changes": []}
        self.version = parse_version(self.client.version())
        self.result["marathon_version"] = self.client.version()

    def _progress(self, line: str) -> None:
        self.progress.append(line)
        self.module.log(f"marathon_app {self.app_id}: {line}")

    # ---------------------------------------------------------------------------------------
    # States
    # ---------------------------------------------------------------------------------------

    def present(self) -> str:
        """Create or update; returns "created", "updated" or "" (unchanged)."""
        desired = build_app_definition(app_options(self.params), self.version)
        current = self.client.get_app(self.app_id)
        comparison = compare(desired, current, self.version)
        self.result["changes"] = comparison["changed_fields"]
        if self.module._diff:
            self.result["diff"] = {"before": comparison["before"], "after": comparison["after"]}
        action = "created" if current is None else ("updated" if comparison["changed_fields"] else "")
        self.result["changed"] = bool(action)
        if self.check_mode:
            self.result["app"] = current if current is not None else desired
            self.result["tasks"] = summarize_tasks(current)
            return action
        if action == "created":
            self._create(desired)
        elif action == "updated":
            self._update(desired)
        self._finish()
        return action

    def restarted(self) -> None:
        action = self.present()
        if action:
            return  # a new or updated app has just started fresh tasks
        self.result["changed"] = True
        if self.check_mode:
            return
        answer = self._write(lambda force: self.client.restart_app(self.app_id, force=force))
        self._remember(answer)
        self._finish()

    def absent(self) -> None:
        current = self.client.get_app(self.app_id)
        if self.module._diff:
            before = canonical_app(current, self.version) if current is not None else {}
            self.result["diff"] = {"before": before, "after": {}}
        if current is None:
            return
        self.result["changed"] = True
        self.result["changes"] = ["id"]
        if self.check_mode:
            return
        answer = self._write(lambda force: self.client.delete_app(self.app_id, force=force))
        self._remember(answer)
        if self.params["wait"]:
            self.client.wait_for_absence(self.app_id, self.deadline)

    # ---------------------------------------------------------------------------------------
    # Writes and waiting
    # ---------------------------------------------------------------------------------------

    def _write(self, call: Any) -> dict[str, Any]:
        force = self.params["force"]
        if force:
            return call(True)
        return self.client.call_unlocked(lambda: call(False), self.deadline)

    def _remember(self, answer: Any) -> None:
        if not isinstance(answer, dict):
            return
        ids = [answer["deploymentId"]] if answer.get("deploymentId") else []
        ids += [d["id"] for d in answer.get("deployments") or [] if isinstance(d, dict) and d.get("id")]
        self.result["deployment_ids"].extend(ids)

    def _create(self, desired: dict[str, Any]) -> None:
        try:
            answer = self._write(
                lambda force: (
                    self.client.create_app(desired)
                    if not force
                    else self.client.update_app(self.app_id, desired, force=True)
                )
            )
        except MarathonError as exc:
            if not exc.exists:
                raise
            # Created by someone else since we looked: converge it with an update instead.
            self._update(desired)
            return
        self._remember(answer)

    def _update(self, desired: dict[str, Any]) -> None:
        answer = self._write(lambda force: self.client.update_app(self.app_id, desired, force=force))
        self._remember(answer)

    def _finish(self) -> None:
        if self.params["wait"]:
            app = self.client.wait_for_app(self.app_id, self.deadline, pending_reasons)
        else:
            app = self.client.get_app(self.app_id)
        self.result["app"] = app
        self.result["tasks"] = summarize_tasks(app)


def main() -> None:
    spec = marathon_connection_spec()
    spec.update(argument_spec())  # the options of the table in module_utils/marathon_options.py
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True, **module_kwargs())
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)

    try:
        validate_options(app_options(module.params))
    except AppDefError as exc:
        module.fail_json(msg=str(exc), field=exc.field, value=exc.value)

    app: MarathonApp | None = None
    try:
        app = MarathonApp(module)
        state = module.params["state"]
        if state == "absent":
            app.absent()
        elif state == "restarted":
            app.restarted()
        else:
            app.present()
    except MarathonTimeout as exc:
        progress = app.progress if app else []
        module.fail_json(msg=str(exc), pending=exc.pending, progress=progress)
    except MarathonUrlError as exc:
        module.fail_json(msg=str(exc), field=exc.field, value=exc.value)
    except MarathonError as exc:
        module.fail_json(
            msg=str(exc),
            status=exc.status,
            marathon_message=exc.message,
            details=exc.details,
            deployments=exc.deployments,
            progress=app.progress if app else [],
            exception=traceback.format_exc(),
        )
    except AppDefError as exc:
        module.fail_json(msg=str(exc), field=exc.field, value=exc.value)

    result = app.result
    if module._verbosity >= 1:
        result["progress"] = app.progress
    module.exit_json(**result)


if __name__ == "__main__":
    main()
