"""The run_report action: it runs on the controller whatever the target's Python, honours check mode and
writes only what changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.cloudflock.htcondor.plugins.module_utils.run_report import REPORT

from tests.support.kinc_run import make_run_dir, parse
from tests.support.prerequisites import missing


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    return make_run_dir(tmp_path)


def test_the_action_runs_on_the_controller_whatever_the_targets_python(run_dir: Path) -> None:
    ansible = Path(sys.executable).parent / "ansible"
    if not ansible.exists():
        missing(f"no ansible next to {sys.executable}")

    def run(*extra: str) -> dict:
        # The target's interpreter does not exist: a module would fail there, the action never needs it.
        result = subprocess.run(
            [str(ansible), "localhost", "-m", "cloudflock.htcondor.run_report", "-a",
             f"run_dir={run_dir} top_edges=2", "-e", "ansible_python_interpreter=/nonexistent/python3", *extra],
            capture_output=True, text=True, check=False,
            env={**os.environ, "ANSIBLE_STDOUT_CALLBACK": "json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"})
        assert result.returncode == 0, result.stdout + result.stderr
        return json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]

    assert run("--check")["changed"] is True and not (run_dir / REPORT).exists()
    written = run()
    assert written["changed"] is True and written["report"] == str(run_dir / REPORT)
    assert len(parse(run_dir).rows) == 2
    assert run()["changed"] is False
