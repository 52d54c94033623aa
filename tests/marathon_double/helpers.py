"""Test helpers around the test double of Marathon's API: making the collection importable."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO_ROOT / ".collections"
_LINK = COLLECTIONS / "ansible_collections" / "cloudflock" / "htcondor"


def ensure_collection_link() -> Path:
    """``.collections/ansible_collections/cloudflock/htcondor`` -> the repo (as ansible.cfg expects)."""
    if not _LINK.exists():
        _LINK.parent.mkdir(parents=True, exist_ok=True)
        try:
            _LINK.symlink_to(Path("../../.."), target_is_directory=True)
        except FileExistsError:
            pass
    if str(COLLECTIONS) not in sys.path:
        sys.path.insert(0, str(COLLECTIONS))
    return COLLECTIONS


def collections_env() -> dict[str, str]:
    """Environment for ansible-playbook / ansible-doc that finds cloudflock.htcondor."""
    ensure_collection_link()
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = str(COLLECTIONS)
    env["ANSIBLE_CONFIG"] = str(REPO_ROOT / "ansible.cfg")
    env.setdefault("ANSIBLE_NOCOLOR", "1")
    env["ANSIBLE_HOST_KEY_CHECKING"] = "false"
    return env
