# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""Check a GMM run's annotation matrix on the controller against its GEM: the file, line and field of the
first problem, or what the file holds.

The checking is plugins/module_utils/kinc_annotations.py; this only reads the task's options and reports.
Nothing runs on the target. Its documentation is the module of the same name.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible_collections.cloudflock.htcondor.plugins.module_utils.kinc_annotations import (
    AnnotationError,
    check_annotations,
    feature_list,
    feature_types,
    gem_samples,
)


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(("path", "gem", "feat_tests", "feat_types", "nan"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.validate_argument_spec(
            argument_spec=dict(
                path=dict(type="path", required=True),
                gem=dict(type="path", required=True),
                feat_tests=dict(type="raw", default=""),
                feat_types=dict(type="raw", default=""),
                nan=dict(type="str", default="NA"),
            )
        )[1]
        try:
            found = check_annotations(
                args["path"], gem_samples(args["gem"]), feature_list(args["feat_tests"] or "", "kinc_feat_tests"),
                feature_types(args["feat_types"] or ""), nan=args["nan"])
        except AnnotationError as error:
            result.update(failed=True, msg=str(error))
            return result
        result.update(found, changed=False)
        return result
