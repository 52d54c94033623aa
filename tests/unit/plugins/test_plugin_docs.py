"""Every module and lookup of the collection (each file under plugins/modules and plugins/lookup) is listed by
ansible-doc and shown with its documentation: a short and a long description, examples and what it returns.
The filters have their own test (test_filter_docs.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO, collections_env

ANSIBLE_DOC = str(Path(sys.executable).parent / "ansible-doc")
PLUGINS = {"module": "modules", "lookup": "lookup"}


def names(kind: str) -> list[str]:
    folder = REPO / "plugins" / PLUGINS[kind]
    return sorted(f"cloudflock.htcondor.{path.stem}" for path in folder.glob("*.py") if path.stem != "__init__")


def ansible_doc(*args: str) -> dict:
    done = subprocess.run(
        [ANSIBLE_DOC, *args, "--json"], env=collections_env(), capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize("kind", sorted(PLUGINS))
def test_ansible_doc_lists_and_shows_every_plugin(kind: str) -> None:
    expected = names(kind)
    assert expected, f"no {kind} found under plugins/{PLUGINS[kind]}"
    listed = ansible_doc("-t", kind, "-l", "cloudflock.htcondor")
    assert sorted(listed) == expected
    assert all(listed[name].strip() for name in expected), listed
    shown = ansible_doc("-t", kind, *expected)
    assert sorted(shown) == expected
    for name, entry in shown.items():
        doc = entry["doc"]
        assert doc["short_description"] == listed[name], name
        assert doc["description"], f"{name} has no description"
        assert (entry.get("examples") or "").strip(), f"{name} has no examples"
        assert entry.get("return"), f"{name} documents no return value"
