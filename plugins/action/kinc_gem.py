# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""Check a GEM on the controller: the file, line and reason of the first problem, or what the file holds.

The checking is plugins/module_utils/kinc_gem.py; this only reads the task's options and reports. Nothing
runs on the target. Its documentation is the module of the same name (plugins/modules/kinc_gem.py).
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible_collections.cloudflock.htcondor.plugins.module_utils.kinc_gem import GemError, check_gem


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(("path", "nan", "minsamp"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.validate_argument_spec(
            argument_spec=dict(
                path=dict(type="path", required=True),
                nan=dict(type="str", default="NA"),
                minsamp=dict(type="int", default=30),
            )
        )[1]
        try:
            found = check_gem(args["path"], nan=args["nan"], minsamp=args["minsamp"])
        except (GemError, ValueError) as error:
            result.update(failed=True, msg=str(error))
            return result
        result.update(found, changed=False)
        return result
