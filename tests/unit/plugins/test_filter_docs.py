"""Every filter of the collection has its documentation file (plugins/filter/<name>.yml, as ansible-core
reads filter documentation), naming the filter and its arguments as the function takes them, and ansible-doc
lists and shows it."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.cloudflock.htcondor.plugins.filter import credentials, flock, hosts  # importable: conftest.py

from tests.support import REPO, collections_env

FILTER_DIR = REPO / "plugins" / "filter"
FILTERS: dict[str, Any] = {
    **flock.FilterModule().filters(), **credentials.FilterModule().filters(), **hosts.FilterModule().filters(),
}
ANSIBLE_DOC = str(Path(sys.executable).parent / "ansible-doc")


def docs(name: str) -> dict[str, Any]:
    return yaml.safe_load((FILTER_DIR / f"{name}.yml").read_text())


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_filter_documents_its_arguments(name: str) -> None:
    assert (FILTER_DIR / f"{name}.yml").is_file(), f"plugins/filter/{name}.yml is missing"
    doc = docs(name)
    assert set(doc) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    documentation = doc["DOCUMENTATION"]
    assert documentation["name"] == name
    parameters = list(inspect.signature(FILTERS[name]).parameters.values())
    expected = ["_input"] + [p.name for p in parameters[1:]]
    assert list(documentation["options"]) == expected
    required = {"_input"} | {p.name for p in parameters[1:] if p.default is inspect.Parameter.empty}
    assert {key for key, option in documentation["options"].items() if option.get("required")} == required
    assert [part.strip() for part in documentation["positional"].split(",")] == expected
    assert f"cloudflock.htcondor.{name}" in doc["EXAMPLES"]
    assert "_value" in doc["RETURN"]


def test_ansible_doc_lists_and_shows_every_filter() -> None:
    env = collections_env()
    listed = subprocess.run(
        [ANSIBLE_DOC, "-t", "filter", "-l", "cloudflock.htcondor", "--json"],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    summaries = json.loads(listed.stdout)
    names = [f"cloudflock.htcondor.{name}" for name in sorted(FILTERS)]
    assert {name: summaries.get(name) for name in names} == {
        name: docs(name.rsplit(".", 1)[1])["DOCUMENTATION"]["short_description"] for name in names
    }
    shown = subprocess.run(
        [ANSIBLE_DOC, "-t", "filter", "--json", *names],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    for name, entry in json.loads(shown.stdout).items():
        assert entry["doc"]["name"] == name.rsplit(".", 1)[1]
        assert entry["examples"] and entry["return"]["_value"]["description"]
