# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
name: images_tag
short_description: The version tag of this collection's pool images
version_added: 0.1.0
description:
  - Returns the collection version joined to a digest of the build inputs under C(images/), so the tag
    changes exactly when an input does. C(htcondor_images) builds images under this tag and C(flock) runs them.
options:
  _terms:
    description: Optionally, another images directory to digest.
    required: false
author:
  - cloudflock developers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Show the tag the images are built under
  ansible.builtin.debug:
    msg: "{{ lookup('cloudflock.htcondor.images_tag') }}"
"""

RETURN = r"""
_raw:
  description: One tag, for example C(0.1.0-3f2a9c1d0b7e).
  type: list
  elements: str
"""

from pathlib import Path

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.cloudflock.htcondor.plugins.module_utils.image_inputs import collection_version, images_tag

_COLLECTION = Path(__file__).resolve().parents[2]


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        images_dir = Path(terms[0]) if terms else _COLLECTION / "images"
        if not images_dir.is_dir():
            raise AnsibleLookupError(f"images directory {str(images_dir)!r} does not exist")
        try:
            version = collection_version(_COLLECTION)
        except (OSError, ValueError, KeyError) as error:
            raise AnsibleLookupError(f"cannot read the collection's version: {error}") from error
        return [images_tag(images_dir, version)]
