# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
# Documentation only: the kinc_gem action plugin does the work on the controller, and Ansible finds an
# action's documentation in the module of the same name.
from __future__ import annotations

DOCUMENTATION = r"""
---
module: kinc_gem
short_description: Check a gene expression matrix (GEM) on the controller before a KINC run
version_added: 0.1.0
description:
  - Reads the GEM at O(path) on the controller once, with the rules of the KINC payload's C(import-emx)
    (fields split on runs of whitespace, a header line of sample names, then a gene name and one value per
    sample on each row), so a GEM it accepts, C(kinc run import-emx) accepts too.
  - Fails naming the file, the line and the reason for a missing, unreadable or empty file, a file that is
    not UTF-8, a missing header, a row with a field too many or too few (an empty cell shifts the row), a
    value that is neither a number nor the O(nan) token (with its column and sample), a gene or a sample
    named twice (with both lines or fields), fewer samples than O(minsamp), or no gene rows.
  - Never writes the file. Returns its absolute path, size and SHA-256 with the count of genes, samples
    and missing values, so the caller can copy the file and check the copy.
extends_documentation_fragment:
  - cloudflock.htcondor.changes_nothing
options:
  path:
    description:
      - The GEM on the controller. A relative path is taken from the directory C(ansible-playbook) runs in.
    type: path
    required: true
  nan:
    description: The token of a missing value (KINC's C(--nan)); one word.
    type: str
    default: NA
  minsamp:
    description:
      - Fewest samples a gene pair keeps for a correlation (KINC's C(--minsamp), at least 1). A GEM with
        fewer samples could give no correlation at all, so it is refused.
    type: int
    default: 30
attributes:
  action:
    support: full
    description: The file is read on the controller; nothing runs on the target.
  check_mode:
    support: full
    description: The check only reads the file, so it runs the same in check mode.
author:
  - cloudflock developers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Check the GEM before any container is created
  cloudflock.htcondor.kinc_gem:
    path: data/my.GEM.log2.txt
    nan: NA
    minsamp: 30
  register: gem

- name: Show what it holds
  ansible.builtin.debug:
    msg: "{{ gem.genes }} genes x {{ gem.samples }} samples, {{ gem.missing }} missing values"
"""

RETURN = r"""
path:
  description: The GEM's absolute path on the controller.
  returned: success
  type: str
  sample: /home/user/kinc/PRJNA301554.slim.GEM.log2.txt
sha256:
  description: SHA-256 of the file's bytes, in hexadecimal.
  returned: success
  type: str
  sample: e4b1272dc19b89db84543968229a3e149bc5294734349834603043abf0b1efee
genes:
  description: The number of gene rows.
  returned: success
  type: int
  sample: 1166
samples:
  description: The number of samples (the names on the header line).
  returned: success
  type: int
  sample: 60
missing:
  description: The number of missing values (cells holding the O(nan) token, or a number that reads as NaN).
  returned: success
  type: int
  sample: 3263
size:
  description: The file's size in bytes.
  returned: success
  type: int
  sample: 1194551
"""
