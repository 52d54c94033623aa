# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
# Documentation only: the workflow_wait action plugin does the work on the controller, and Ansible finds
# an action's documentation in the module of the same name.
from __future__ import annotations

DOCUMENTATION = r"""
---
module: workflow_wait
short_description: Wait for a workflow run and show its progress
version_added: 0.1.0
description:
  - Runs O(status_command) on the target every O(interval) seconds until the JSON it prints has
    C(state) C(done) or C(failed), printing a progress line whenever the numbers change.
  - The command runs through the connection as M(ansible.builtin.raw) runs one (no module, no Python on the
    target for the poll itself), so polling costs the target little beside the jobs it waits for.
  - Fails with the failing node and its error output when the run fails, and at O(timeout) with what is
    still pending.
  - When the JSON has a C(progress) text, that text is the progress line and the timeout message (any
    wait with a C(state), for example the executor pools becoming visible).
extends_documentation_fragment:
  - cloudflock.htcondor.changes_nothing
options:
  status_command:
    description: Command (argv list) that prints the run's status as JSON.
    type: list
    elements: str
    required: true
  timeout:
    description: Seconds to wait at most.
    type: int
    default: 3600
  interval:
    description: Seconds between polls.
    type: float
    default: 3
attributes:
  action:
    support: full
    description: The polling loop runs on the controller; only O(status_command) runs on the target.
  check_mode:
    support: none
    description: In check mode the status command is not run, so there is no status to wait for and the task fails.
author:
  - cloudflock developers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Wait for the KINC run
  cloudflock.htcondor.workflow_wait:
    status_command: [docker, exec, -u, condor_pool, submitter, kinc-status, "{{ run_id }}", --json]
    timeout: 1800
"""

RETURN = r"""
status:
  description: The last status the command printed.
  returned: always
  type: dict
waited_s:
  description: Seconds waited.
  returned: always
  type: float
"""
