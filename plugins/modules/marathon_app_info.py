#!/usr/bin/python
# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: marathon_app_info
short_description: Read Marathon apps and their tasks (host, IP addresses, state)
version_added: 0.2.0
description:
  - Reads one app (O(id)), the apps of a group (O(group)), or every app of a Marathon server, with their
    tasks embedded, and changes nothing (check mode included).
  - Each app is returned as Marathon's C(GET /v2/apps) gives it, with C(tasks); C(task_summary) gives each
    task's id, host, ports, IP addresses and state, the form M(cloudflock.htcondor.marathon_app) returns.
extends_documentation_fragment:
  - cloudflock.htcondor.marathon
  - cloudflock.htcondor.changes_nothing
options:
  id:
    description:
      - One app. With O(group), relative to the group (V(submitter) in group V(/flock) is V(/flock/submitter)).
      - An app that does not exist gives O(id) C(exists=false) and no apps; that is not an error.
    type: str
  group:
    description:
      - The apps whose id lies under this group, for example V(/flock). Alone, every app of the group; with
        O(id), the one app O(id) of the group.
    type: str
attributes:
  check_mode:
    support: full
    description: Only reads; the same in check mode.
author:
  - cloudflock developers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Where does Marathon run the submitter of the flock?
  cloudflock.htcondor.marathon_app_info:
    marathon_url: http://10.0.0.5:8080
    group: /flock
    id: submitter
  register: submitter

- name: Every app of the flock's group
  cloudflock.htcondor.marathon_app_info:
    marathon_url: http://10.0.0.5:8080
    group: /flock
  register: flock_apps
"""

RETURN = r"""
exists:
  description: Whether the app O(id) exists; with O(group) alone, whether the group holds any app.
  returned: always
  type: bool
id:
  description: The absolute app id that was asked for (O(group) and O(id) joined).
  returned: when O(id) is given
  type: str
  sample: /flock/submitter
apps:
  description: The apps, each as Marathon returns it, with C(tasks) and C(task_summary).
  returned: always
  type: list
  elements: dict
  sample: [{"id": "/flock/submitter", "instances": 1, "tasksRunning": 1,
            "task_summary": [{"id": "flock_submitter.1", "host": "agent1", "ports": [31000],
                              "ip_addresses": ["10.88.0.2"], "state": "TASK_RUNNING"}]}]
"""

import traceback
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.cloudflock.htcondor.plugins.module_utils.marathon_appdef import (
    AppDefError,
    summarize_tasks,
    validate_app_id,
)
from ansible_collections.cloudflock.htcondor.plugins.module_utils.marathon_client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    MarathonClient,
    MarathonError,
    MarathonUrlError,
)
from ansible_collections.cloudflock.htcondor.plugins.module_utils.marathon_common import (
    client_kwargs,
    marathon_connection_spec,
)
from ansible_collections.cloudflock.htcondor.plugins.module_utils.marathon_options import app_id_in_group


def with_summary(app: dict[str, Any]) -> dict[str, Any]:
    return {**app, "task_summary": summarize_tasks(app)}


def read(client: MarathonClient, app_id: str | None, group: str | None) -> dict[str, Any]:
    if app_id is not None:
        wanted = app_id_in_group(group, app_id)
        app = client.get_app(wanted)
        return {"exists": app is not None, "id": wanted, "apps": [with_summary(app)] if app else []}
    apps = client.list_apps(group)
    return {"exists": bool(apps), "apps": [with_summary(app) for app in apps]}


def main() -> None:
    spec = marathon_connection_spec()
    spec.update(id={"type": "str"}, group={"type": "str"})
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    params = module.params
    try:
        if params["id"] is not None:
            validate_app_id(params["id"])
        if params["group"] and params["group"].strip("/ "):  # "/" alone is the root group: every app
            validate_app_id(params["group"], field="group")
        result = read(MarathonClient(**client_kwargs(params)), params["id"], params["group"])
    except (AppDefError, MarathonUrlError) as exc:
        module.fail_json(msg=str(exc), field=exc.field, value=exc.value)
    except MarathonError as exc:
        module.fail_json(msg=str(exc), status=exc.status, marathon_message=exc.message,
                         exception=traceback.format_exc())
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
