# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""Wait for a workflow run, printing its progress as it goes.

Polls a status command (its stdout a JSON object with ``state``: running, done or failed) on the target,
and prints one line each time the progress changes: jobs done, running and idle, and where they run.
Its documentation is the module of the same name (plugins/modules/workflow_wait.py).
"""

from __future__ import annotations

import json
import shlex
import time

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()


def progress_line(status: dict, waited: float) -> str:
    """One line of progress: the status's own ``progress`` text when it has one, else done/idle/running and
    jobs per executor pool."""
    if status.get("progress"):
        return f"[{waited:6.0f}s] {status['progress']}"
    by_pool = status.get("jobs_by_pool") or {}
    running = status.get("running_by_pool") or {}
    pools = sorted(set(by_pool) | set(running))
    per_pool = ", ".join(f"{pool} {by_pool.get(pool, 0)} done/{running.get(pool, 0)} running" for pool in pools)
    return (f"[{waited:6.0f}s] {status.get('run_id', '?')}: {status.get('jobs_done', 0)}/"
            f"{status.get('jobs_total', '?')} jobs done, {status.get('jobs_running', 0)} running, "
            f"{status.get('jobs_idle', 0)} idle; nodes {status.get('nodes_done', 0)}/"
            f"{status.get('nodes_total', '?')}" + (f" | {per_pool}" if per_pool else ""))


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(("status_command", "timeout", "interval"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.validate_argument_spec(argument_spec=dict(
            status_command=dict(type="list", elements="str", required=True),
            timeout=dict(type="int", default=3600),
            interval=dict(type="float", default=3.0),
        ))[1]
        started = time.monotonic()
        last_line, status = None, {}
        while True:
            waited = time.monotonic() - started
            # Through the connection as raw does, not a command module: a poll is one process on the target,
            # not a Python interpreter loading Ansible every few seconds beside the jobs it waits for.
            polled = self._low_level_execute_command(shlex.join(args["status_command"]))
            if polled.get("rc") != 0:
                raise AnsibleActionFail(f"status command {args['status_command']!r} failed (rc "
                                        f"{polled.get('rc')}): {polled.get('stderr') or polled.get('msg')}")
            try:
                status = json.loads(polled["stdout"])
            except ValueError as error:
                raise AnsibleActionFail(
                    f"status command printed no JSON ({error}): {polled['stdout'][:200]!r}") from error
            line = progress_line(status, waited)
            if line.split("] ", 1)[1] != (last_line or "] ").split("] ", 1)[1]:
                display.display(line)
                last_line = line
            state = status.get("state")
            if state == "done":
                result.update(changed=False, status=status, waited_s=round(waited, 1))
                return result
            if state == "failed":
                result.update(failed=True, status=status, waited_s=round(waited, 1),
                              msg=f"run {status.get('run_id')} failed at node {status.get('failed_node')}"
                                  + (f" (step {status['failed_step']})" if status.get("failed_step") else "")
                                  + f": {status.get('error', '').strip()}")
                return result
            if waited > args["timeout"] and status.get("progress"):
                result.update(failed=True, status=status, waited_s=round(waited, 1),
                              msg=f"still waiting after {args['timeout']} s: {status['progress']}")
                return result
            if waited > args["timeout"]:
                result.update(failed=True, status=status, waited_s=round(waited, 1),
                              msg=f"run {status.get('run_id')} still {state} after {args['timeout']} s: "
                                  f"{status.get('jobs_done')}/{status.get('jobs_total')} jobs done, "
                                  f"{status.get('jobs_idle')} idle, {status.get('jobs_running')} running")
                return result
            time.sleep(args["interval"])
