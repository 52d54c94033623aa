"""The run_report action: it runs on the controller whatever the target's Python, honours check mode and
writes only what changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ansible_collections.cloudflock.htcondor.plugins.module_utils.run_report import REPORT

from tests.support.kinc_run import make_run_dir, parse
from tests.support.playbook import ansible_adhoc


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    return make_run_dir(tmp_path)


def test_the_action_runs_on_the_controller_whatever_the_targets_python(run_dir: Path) -> None:
    def run(*extra: str) -> dict:
        # The target's interpreter does not exist: a module would fail there, the action never needs it.
        result = ansible_adhoc(
            "localhost", "-m", "cloudflock.htcondor.run_report", "-a", f"run_dir={run_dir} top_edges=2",
            "-e", "ansible_python_interpreter=/nonexistent/python3", *extra,
            env={**os.environ, "ANSIBLE_STDOUT_CALLBACK": "json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"})
        assert result.rc == 0, result.output
        return result.report()["plays"][0]["tasks"][0]["hosts"]["localhost"]

    assert run("--check")["changed"] is True and not (run_dir / REPORT).exists()
    written = run()
    assert written["changed"] is True and written["report"] == str(run_dir / REPORT)
    assert len(parse(run_dir).rows) == 2
    assert run()["changed"] is False
