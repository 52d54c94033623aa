"""The one way the tests and benches run Ansible's command-line tools: ansible-playbook (``ansible_playbook``)
and, for one module ad hoc, ansible (``ansible_adhoc``), this environment's, through ansible-runner, output
captured and colour off; what they printed is parsed here (the PLAY RECAP, or the json callbacks' report).

ansible-runner's command interface (``ansible_runner.interface``: ``run_command`` is ``init_command_config``,
``Runner.run()`` and reading the output; done here step by step, for the two corrections below) runs the tool
as a subprocess (``runner_mode="subprocess"``, which keeps stdout and stderr apart, where its pexpect mode
merges them on a terminal) from the given cwd, with a private data directory of its own: a temporary one,
removed afterwards, so nothing is left in the repository. What it does beyond subprocess.run:

- it starts from os.environ and adds the given env: what the given env leaves out of os.environ is taken out
  again here, so that an env without ANSIBLE_CONFIG runs without it, as a user would;
- it makes its awx_display callback the stdout callback; that one prints through the callback asked for
  (ANSIBLE_STDOUT_CALLBACK, else ``default``), and its events are filtered out of the output again, which
  comes back as the tool printed it but for some blank lines; it adds its callback folder to
  ANSIBLE_CALLBACK_PLUGINS, sets AWX_ISOLATED_DATA_DIR, ANSIBLE_RETRY_FILES_ENABLED=False and, when unset,
  ANSIBLE_HOST_KEY_CHECKING=False (both as ansible.cfg has them); the fact cache is left as configured;
- on timeout it stops the tool and says so (status ``timeout``): raised here as subprocess.TimeoutExpired,
  as subprocess.run did.

ansible-galaxy and ansible-vault, run to build, install or encrypt, stay plain subprocesses where they are used.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ansible_runner.interface import init_command_config

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
        """The ansible.posix.json callback's report (ANSIBLE_STDOUT_CALLBACK=ansible.posix.json, or json): the
        JSON document on stdout, after whatever was printed before it."""
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
    return _run("ansible-playbook", args, cwd, env, timeout)


def ansible_adhoc(*args: str, cwd: Path = REPO, env: Mapping[str, str] | None = None,
                  timeout: float = 1800) -> PlaybookRun:
    """``ansible ARGS...`` (a pattern, ``-m MODULE``, ``-a ARGS`` ...) from cwd with env, colour off, as
    ansible_playbook runs ansible-playbook. ``report()`` reads what the json callback prints
    (ANSIBLE_STDOUT_CALLBACK=json and ANSIBLE_LOAD_CALLBACK_PLUGINS=1, which ansible needs to use it)."""
    return _run("ansible", args, cwd, env, timeout)


def _run(tool: str, args: tuple[str, ...], cwd: Path, env: Mapping[str, str] | None, timeout: float) -> PlaybookRun:
    wanted = {**(os.environ if env is None else env), "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
    command = [str(BIN / tool), *args]
    with tempfile.TemporaryDirectory(prefix="cloudflock-runner-") as private_data_dir:
        runner = init_command_config(
            command[0], cmdline_args=command[1:], runner_mode="subprocess", host_cwd=str(cwd), envvars=wanted,
            private_data_dir=private_data_dir, quiet=True, timeout=math.ceil(timeout),
            fact_cache_type="as configured",  # not "jsonfile": no ANSIBLE_CACHE_PLUGIN of its own
        )
        # What ansible-runner took from os.environ and the caller's env has not.
        runner.config.env = {key: value for key, value in runner.config.env.items()
                             if key in wanted or os.environ.get(key) != value}
        runner.run()
        with runner.stdout as stdout, runner.stderr as stderr:
            out, err = stdout.read(), stderr.read()
    if runner.timed_out:
        raise subprocess.TimeoutExpired(command, timeout, output=out, stderr=err)
    return PlaybookRun(runner.rc, out, err)
