"""workflow_wait as Ansible runs it: a status command that reports running, then done (or failed), polled
through the connection with no module; its progress lines, its result, and a status that is no JSON."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from tests.support.playbook import PlaybookRun, ansible_playbook

# Prints 'running' with one more job done at each call until the third, then the final state; counts its calls.
STATUS = """n=$(cat "$1" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$1"
if [ "$n" -lt 3 ]; then state=running; else state="$2"; fi
printf '{"run_id": "r1", "state": "%s", "jobs_done": %d, "jobs_total": 3, "failed_node": "finish", %s}' \
  "$state" "$n" '"failed_step": "rmt", "error": "no"'

"""


def _wait(tmp_path: Path, final: str, script: str = STATUS) -> tuple[PlaybookRun, Path]:
    counter = tmp_path / "calls"
    (tmp_path / "status.sh").write_text(script)
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "Wait", "register": "waited",
        "cloudflock.htcondor.workflow_wait": {
            "status_command": ["sh", str(tmp_path / "status.sh"), str(counter), final], "interval": 0.1},
    }, {"name": "Show", "ansible.builtin.debug": {
        "msg": "state={{ waited.status.state }} done={{ waited.status.jobs_done }} changed={{ waited.changed }}"}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    done = ansible_playbook("-i", "localhost,", "-c", "local", str(tmp_path / "play.yml"), cwd=tmp_path,
                            env={**os.environ, "ANSIBLE_LOCALHOST_WARNING": "false",
                                 "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false"})
    return done, counter


def test_it_polls_until_done_and_shows_each_change(tmp_path: Path) -> None:
    done, counter = _wait(tmp_path, "done")
    assert done.rc == 0, done.stdout + done.stderr
    assert counter.read_text().strip() == "3"
    assert "r1: 1/3 jobs done" in done.stdout and "r1: 2/3 jobs done" in done.stdout, done.stdout
    assert "state=done done=3 changed=False" in done.stdout, done.stdout


def test_a_failed_run_fails_the_task_naming_its_node(tmp_path: Path) -> None:
    done, counter = _wait(tmp_path, "failed")
    assert done.rc != 0
    assert "run r1 failed at node finish (step rmt): no" in done.stdout, done.stdout
    assert counter.read_text().strip() == "3"


def test_a_status_command_that_prints_no_json_fails_saying_so(tmp_path: Path) -> None:
    done, _ = _wait(tmp_path, "done", script="echo not-json\n")
    assert done.rc != 0
    assert "status command printed no JSON" in done.stdout and "not-json" in done.stdout, done.stdout


def test_a_status_command_that_fails_names_its_exit_code(tmp_path: Path) -> None:
    done, _ = _wait(tmp_path, "done", script="echo broken >&2; exit 3\n")
    assert done.rc != 0
    assert "(rc 3)" in done.stdout and "broken" in done.stdout, done.stdout
