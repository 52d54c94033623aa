"""The collection as ansible_collections.cloudflock.htcondor: one symlink in the repository,
``.collections/ansible_collections/cloudflock/htcondor`` -> ``../../..`` (what ansible.cfg and the Makefile
use), on sys.path for imports and on ANSIBLE_COLLECTIONS_PATH for ansible-playbook and ansible-doc."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".collections"
LINK = COLLECTIONS / "ansible_collections" / "cloudflock" / "htcondor"
# The ansible-* commands of the environment the tests run in.
BIN = Path(sys.executable).parent


def ensure_collection_link() -> Path:
    """Make the link (if missing) and put .collections on sys.path; returns .collections."""
    if not LINK.exists():
        LINK.parent.mkdir(parents=True, exist_ok=True)
        try:
            LINK.symlink_to(Path("../../.."), target_is_directory=True)
        except FileExistsError:  # another pytest-xdist worker made it first
            pass
    if str(COLLECTIONS) not in sys.path:
        sys.path.insert(0, str(COLLECTIONS))
    return COLLECTIONS


def collections_env() -> dict[str, str]:
    """The environment, with ansible-playbook / ansible-doc finding cloudflock.htcondor through the link and
    this repository's ansible.cfg."""
    ensure_collection_link()
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = str(COLLECTIONS)
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env.setdefault("ANSIBLE_NOCOLOR", "1")
    env["ANSIBLE_HOST_KEY_CHECKING"] = "false"
    return env
