#!/usr/bin/python
# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: flock_credentials
short_description: Keep each pool's own signing key and the tokens the pools hold at each other
version_added: 0.1.0
description:
  - Keeps, in a directory on the controller, the credentials of exactly the pools named; the flock role
    copies each pool's to the hosts that may run it and mounts them read-only into its container.
  - Every pool gets its own HTCondor signing key (C(pools/<id>/key)), known by the pool's id. No pool gets
    another's key.
  - Where flocking needs a pool to act at another, it holds an IDTOKEN signed with the other's key, naming
    it C(<id>@<trust_domain>) and limited to what it does there. The submitter holds, for each executor,
    C(pools/<submitter>/tokens/<executor>) (ADVERTISE_SCHEDD and READ, for its schedd) and
    C(pools/<submitter>/user-tokens/<executor>) (READ, for its workflow user); each executor holds
    C(pools/<executor>/tokens/<submitter>) (NEGOTIATOR, for its negotiator at the submitter's schedd).
  - A pool of the directory that is not named any more is revoked. The ids of the tokens it held go to
    C(revoked.json) under the pool that signed them, which must refuse them from then on; its key and the
    tokens signed with it are deleted. A pool named again later gets fresh credentials.
  - A token is minted again when its signer's key, its identity, its scope or the trust domain changed;
    the earlier one is revoked.
  - O(state=absent) deletes every credential of the directory (teardown), and the shared key of earlier
    versions, C(pool_signing_key), in any case.
  - Files are mode 0600, directories 0700. Nothing secret is returned.
options:
  path:
    description: The controller's directory for the deployment's credentials.
    type: path
    required: true
  trust_domain:
    description: HTCondor's TRUST_DOMAIN of the pools, the domain of every pool's identity.
    type: str
    default: cloudflock
  submitter:
    description: The submitter pool's id. Required with O(state=present).
    type: str
  executors:
    description: The executor pools' ids.
    type: list
    elements: str
    default: []
  state:
    description: Keep the credentials of these pools and revoke the others', or delete them all.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    description: Reports what would be written or removed, and the files each pool would hold; changes nothing.
  diff_mode:
    support: none
    description: No difference is shown (the files are secrets); RV(changes) names them.
  idempotent:
    support: full
    description: A second run with the same pools changes nothing.
author:
  - cloudflock developers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Keep the credentials of the pools of the spec
  cloudflock.htcondor.flock_credentials:
    path: "{{ flock_secrets_dir }}"
    trust_domain: cloudflock
    submitter: submitter
    executors: [executor1, executor2]
  delegate_to: localhost
"""

RETURN = r"""
pools:
  description: Per pool, the files it holds, relative to C(pools/) of O(path).
  returned: success
  type: dict
  sample: {submitter: [submitter/key, submitter/tokens/executor1, submitter/user-tokens/executor1],
           executor1: [executor1/key, executor1/tokens/submitter]}
revoked:
  description: Per pool that signed them, the ids (jti) of the tokens it must refuse.
  returned: success
  type: dict
  sample: {submitter: [9f2c6a0e1b7d4c3a8e5f60718293a4b5]}
revoked_pools:
  description: The pools whose credentials were revoked by this run.
  returned: success
  type: list
  elements: str
  sample: [executor3]
changes:
  description: The files written or removed, relative to O(path).
  returned: success
  type: list
  elements: str
  sample: [wrote pools/executor3/key, removed pools/executor2]
"""

from pathlib import Path

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.cloudflock.htcondor.plugins.module_utils.flock_credentials import (
    CredentialsError,
    converge,
    remove_all,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            trust_domain=dict(type="str", default="cloudflock"),
            submitter=dict(type="str"),
            executors=dict(type="list", elements="str", default=[]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        required_if=[("state", "present", ["submitter"])],
        supports_check_mode=True,
    )
    path = Path(module.params["path"])
    try:
        if module.params["state"] == "absent":
            result = remove_all(path, dry_run=module.check_mode)
        else:
            result = converge(path, module.params["submitter"], module.params["executors"],
                              module.params["trust_domain"], dry_run=module.check_mode)
    except CredentialsError as error:
        module.fail_json(msg=str(error))
    except OSError as error:
        module.fail_json(msg=f"path {str(path)!r}: {error}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
