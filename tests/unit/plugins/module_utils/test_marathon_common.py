"""The Marathon connection options every Marathon module takes (module_utils/marathon_common.py) are those the
doc fragment cloudflock.htcondor.marathon documents."""

from __future__ import annotations

import yaml
from ansible_collections.cloudflock.htcondor.plugins.doc_fragments.marathon import ModuleDocFragment
from ansible_collections.cloudflock.htcondor.plugins.module_utils.marathon_common import marathon_connection_spec

from tests.support.argument_spec import mismatches


def test_the_doc_fragment_equals_the_connection_spec() -> None:
    assert mismatches(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"], marathon_connection_spec()) == []
