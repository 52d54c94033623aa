# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
# Documentation only: the kinc_annotations action plugin does the work on the controller, and Ansible finds
# an action's documentation in the module of the same name.
from __future__ import annotations

DOCUMENTATION = r"""
---
module: kinc_annotations
short_description: Check a KINC GMM run's annotation matrix on the controller against its GEM
version_added: 0.1.0
description:
  - Reads the annotation matrix at O(path) on the controller once, with the rules of the KINC payload's
    C(cond-test) (tab-separated, a header row naming the sample column and the features, then one row per
    sample), so a file it accepts, C(kinc run cond-test) accepts too.
  - Fails naming the file, the line and the field for a missing or unreadable file, a file that is not
    UTF-8, a missing header, a column named twice, a tested or typed feature that is not a column, a row
    of the wrong length, a sample annotated twice or not in the GEM, a GEM sample not annotated, or a
    value that does not fit its feature's type.
  - Never writes the file.
options:
  path:
    description: The annotation matrix on the controller.
    type: path
    required: true
  gem:
    description: The run's GEM (already checked with M(cloudflock.htcondor.kinc_gem)); its header names the samples.
    type: path
    required: true
  feat_tests:
    description: The features tested, a list or comma string; empty tests every feature.
    type: raw
    default: ""
  feat_types:
    description: Types (categorical, ordinal, quantitative) as a mapping or FEATURE:TYPE comma string.
    type: raw
    default: ""
  nan:
    description: The token of a missing value.
    type: str
    default: NA
author:
  - cloudflock developers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Check the annotations
  cloudflock.htcondor.kinc_annotations:
    path: files/annotations.txt
    gem: files/gem.txt
    feat_tests: [Treatment, Age]
    feat_types: {Age: quantitative}
"""

RETURN = r"""
path:
  description: The file's absolute path.
  type: str
  returned: success
samples:
  description: The samples annotated.
  type: int
  returned: success
features:
  description: The features tested.
  type: list
  elements: str
  returned: success
types:
  description: Each tested feature's type.
  type: dict
  returned: success
"""
