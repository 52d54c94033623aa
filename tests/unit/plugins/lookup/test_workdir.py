"""The workdir lookup: paths under the directory the playbook was run from."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.cloudflock.htcondor.plugins.lookup.workdir import LookupModule


def test_no_term_is_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert LookupModule().run([]) == [str(tmp_path)]


def test_a_relative_term_is_taken_from_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert LookupModule().run(["results"]) == [str(tmp_path / "results")]
    assert LookupModule().run(["out/../runs"]) == [str(tmp_path / "runs")]


def test_an_absolute_term_stays(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert LookupModule().run(["/srv/kinc/results"]) == ["/srv/kinc/results"]
