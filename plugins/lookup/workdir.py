# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
name: workdir
short_description: The directory the playbook was run from
version_added: 0.1.0
description:
  - Returns the controller's working directory, where C(ansible-playbook) was started, whatever the
    inventory or playbook directory. The C(pipe) lookup cannot tell, as it runs its command in the playbook's
    directory.
  - With a term, returns that path made absolute against the working directory (an absolute term is
    returned as it is).
options:
  _terms:
    description: Optionally, a path to resolve against the working directory.
    required: false
author:
  - cloudflock developers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Show where results/ lands
  ansible.builtin.debug:
    msg: "{{ lookup('cloudflock.htcondor.workdir', 'results') }}"
"""

RETURN = r"""
_raw:
  description: One absolute path.
  type: list
  elements: str
"""

import os

from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        here = os.getcwd()
        if not terms:
            return [here]
        return [os.path.normpath(os.path.join(here, os.path.expanduser(str(term)))) for term in terms]
