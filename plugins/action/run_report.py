# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""Draw a KINC run's timeline and write its report.html, on the controller where the run directory lies.

The drawing is plugins/module_utils/run_report.py; this only reads the task's options and reports. Nothing
runs on the target, so the task needs neither delegation nor the controller's interpreter. Its documentation
is the module of the same name (plugins/modules/run_report.py).
"""

from __future__ import annotations

from pathlib import Path

from ansible.plugins.action import ActionBase
from ansible_collections.cloudflock.htcondor.plugins.module_utils.run_report import ReportError, write_report


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(("run_dir", "top_edges"))
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.validate_argument_spec(
            argument_spec=dict(
                run_dir=dict(type="path", required=True),
                top_edges=dict(type="int", default=25),
            )
        )[1]
        run_dir = Path(args["run_dir"])
        try:
            result.update(write_report(run_dir, args["top_edges"], check_mode=self._task.check_mode))
        except ReportError as error:
            result.update(failed=True, msg=str(error))
        except OSError as error:
            result.update(failed=True, msg=f"run_dir {str(run_dir)!r}: {error}")
        return result
