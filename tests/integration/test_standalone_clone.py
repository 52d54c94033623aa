"""A clone with nothing beside it: nothing in the repository reads outside it, and the unit suite (the
Marathon API double and its vendored schema included) passes in such a clone."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Paths that would only exist beside a checkout, on the machine it was made on (spelt in parts, so that this
# file does not name them itself).
_SHARED = "sha" + "red"
OUTSIDE = re.compile(rf"\.\./{_SHARED}|/work/{_SHARED}|CLOUDFLOCK_{_SHARED.upper()}")


def _tracked() -> list[str]:
    done = subprocess.run(["git", "-C", str(REPO), "ls-files"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip("not a git checkout (an installed collection has no clone to make)")
    return done.stdout.split()


def test_no_tracked_file_reaches_outside_the_repository() -> None:
    offenders = []
    for name in _tracked():
        path = REPO / name
        if path.is_symlink() or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        offenders += [f"{name}:{number}" for number, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]
    assert offenders == []


def test_the_unit_suite_passes_in_a_clone_with_nothing_beside_it(tmp_path: Path) -> None:
    _tracked()
    clone = tmp_path / "alone" / "cloudflock"
    cloned = subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], capture_output=True, text=True,
                            check=False)
    assert cloned.returncode == 0, cloned.stderr
    assert sorted(p.name for p in clone.parent.iterdir()) == ["cloudflock"]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "CLOUDFLOCK_"))}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit"], cwd=clone,
                          env=env, capture_output=True, text=True, check=False, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"\d+ passed", done.stdout) and " failed" not in done.stdout
