"""The one way the tests and benches run ansible-playbook: this environment's, as a subprocess, output captured
and colour off; what it printed is parsed here (the PLAY RECAP, or the ansible.posix.json callback's report)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .collection import BIN, REPO


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def recaps(self) -> dict[str, dict[str, int]]:
        """The PLAY RECAP counters of every host."""
        _, found, recap = self.output.rpartition("PLAY RECAP")
        assert found, f"no PLAY RECAP in output:\n{self.output[-3000:]}"
        return {
            host: {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", counters)}
            for host, counters in re.findall(r"^(\S+)\s*:\s*(ok=.*)$", recap, flags=re.M)
        }

    @property
    def recap(self) -> dict[str, int]:
        """The PLAY RECAP counters summed over all hosts."""
        total: dict[str, int] = {}
        for counters in self.recaps.values():
            for key, value in counters.items():
                total[key] = total.get(key, 0) + value
        assert total, f"no host in PLAY RECAP:\n{self.output[-3000:]}"
        return total

    def report(self) -> dict[str, Any]:
        """The ansible.posix.json callback's report (ANSIBLE_STDOUT_CALLBACK=ansible.posix.json): the JSON
        document on stdout, after whatever was printed before it."""
        start = 0 if self.stdout.startswith("{") else self.stdout.find("\n{")
        try:
            if start < 0:
                raise ValueError("no line starts a JSON document")
            return dict(json.loads(self.stdout[start:]))
        except ValueError as exc:
            raise AssertionError(f"no JSON report from ansible-playbook (rc {self.rc}): "
                                 f"{self.stdout[-3000:]}\n{self.stderr[-3000:]}") from exc


def ansible_playbook(*args: str, cwd: Path = REPO, env: Mapping[str, str] | None = None,
                     timeout: float = 1800) -> PlaybookRun:
    """``ansible-playbook ARGS...`` from cwd with env (default: this process's environment), colour off."""
    run_env = {**(os.environ if env is None else env), "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
    done = subprocess.run([str(BIN / "ansible-playbook"), *args], cwd=cwd, env=run_env, capture_output=True,
                          text=True, check=False, timeout=timeout)
    return PlaybookRun(done.returncode, done.stdout, done.stderr)
