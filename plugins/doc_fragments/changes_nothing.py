# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""The diff mode attribute of the modules that only read and report: they change nothing."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to show a difference of.
"""
