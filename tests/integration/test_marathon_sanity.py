"""ansible-test sanity for marathon_app and its module_utils, in a throw-away
``ansible_collections/cloudflock/htcondor`` tree holding only those files.

Only the sanity tests that run offline with the installed ansible-core are selected (``--local``):
validate-modules, pylint, pep8, yamllint, import and ansible-doc need per-test virtual environments
whose requirements (voluptuous, antsibull-docs-parser, pinned pylint ...) have to be downloaded.
``ansible-doc`` is exercised by test_marathon_app_module.py instead.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_TEST = Path(sys.executable).parent / "ansible-test"
NEEDS_VENV = ("ansible-doc", "validate-modules", "pylint", "pep8", "yamllint", "import", "runtime-metadata",
              "changelog")  # fmt: skip
FILES = [
    "plugins/modules/marathon_app.py",
    "plugins/doc_fragments/marathon.py",
    *(str(p.relative_to(REPO)) for p in sorted((REPO / "plugins/module_utils").glob("marathon_*.py"))),
]


@pytest.mark.skipif(not ANSIBLE_TEST.exists(), reason="ansible-test is not installed next to this Python")
def test_ansible_test_sanity_offline_subset(tmp_path: Path) -> None:
    root = tmp_path / "ansible_collections" / "cloudflock" / "htcondor"
    for relative in [*FILES, "galaxy.yml", "meta/runtime.yml"]:
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / relative, target)
    subprocess.run(["git", "init", "-q", "."], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    skips = [arg for test in NEEDS_VENV for arg in ("--skip-test", test)]
    env = {"PATH": f"{ANSIBLE_TEST.parent}:/usr/bin:/bin", "HOME": str(Path.home()), "LC_ALL": "C.UTF-8"}
    done = subprocess.run(
        [str(ANSIBLE_TEST), "sanity", "--local", "--python", "3.11", *skips],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'Running sanity test "compile" on Python 3.11' in done.stdout + done.stderr
