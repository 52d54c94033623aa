"""The kinc_gem action through ansible-playbook: what it returns for a good GEM, in check mode and for a bad
one, and the play failing on a bad GEM with the checker's message."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from tests.support.playbook import ansible_playbook

HEADER = "s1\ts2\ts3\n"
GOOD = HEADER + "g1\t1\tNA\t3\ng2\t-1e3\t.5\tinf\n"


def gem(tmp_path: Path, content: str, name: str) -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


PLAYBOOK = """
- name: Check GEMs on the controller
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: A good GEM
      cloudflock.htcondor.kinc_gem:
        path: "{{ good }}"
        minsamp: 3
      register: good_result
    - name: The same in check mode
      cloudflock.htcondor.kinc_gem:
        path: "{{ good }}"
        minsamp: 3
      check_mode: true
      register: checked_result
    - name: A bad GEM
      cloudflock.htcondor.kinc_gem:
        path: "{{ bad }}"
        nan: "?"
        minsamp: 3
      register: bad_result
      ignore_errors: true
    - name: Keep what the three returned
      ansible.builtin.copy:
        content: "{{ {'good': good_result, 'checked': checked_result, 'bad': bad_result} | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
    - name: A bad GEM, failing the play
      cloudflock.htcondor.kinc_gem:
        path: "{{ bad }}"
        minsamp: 3
"""


def test_the_action_through_ansible_playbook(tmp_path: Path) -> None:
    good = gem(tmp_path, GOOD, "good.txt")
    bad = gem(tmp_path, HEADER + "g1 1 2 3\ng2 1 ? 3\ng1 4 5 6\n", "bad.txt")
    playbook = tmp_path / "check.yml"
    playbook.write_text(PLAYBOOK)
    out = tmp_path / "results.json"
    extra = json.dumps({"good": str(good), "bad": str(bad), "out": str(out),
                        "ansible_python_interpreter": sys.executable})
    done = ansible_playbook(
        "-i", "localhost,", str(playbook), "-e", extra,
        env={**os.environ, "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
             "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"},
    )
    assert done.rc == 2, done.output
    results = json.loads(out.read_text())
    expected = {"path": str(good), "sha256": hashlib.sha256(GOOD.encode()).hexdigest(), "genes": 2,
                "samples": 3, "missing": 1, "size": len(GOOD)}
    for name in ("good", "checked"):
        assert {key: results[name][key] for key in expected} == expected, results[name]
        assert results[name]["changed"] is False and not results[name].get("failed")
    assert results["bad"]["failed"] is True
    assert results["bad"]["msg"] == f"{bad}: line 4: gene 'g1' is listed twice, on lines 2 and 4"
    # The last task fails the play, with the value the default token does not cover.
    assert "A bad GEM, failing the play" in done.stdout
    assert f"{bad}: line 3, column 3 (sample 's2'): '?' is neither a number nor the missing-value token 'NA'" in (
        done.stdout
    )
