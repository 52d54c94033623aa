"""Run the collection's playbooks against a throw-away copy of the embedded default inventory."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from ansible_collections.cloudflock.htcondor.plugins.module_utils.image_inputs import images_tag

REPO = Path(__file__).resolve().parents[2]


def _version() -> str:
    return str(yaml.safe_load((REPO / "galaxy.yml").read_text())["version"])


BIN = Path(sys.executable).parent


@dataclass
class PlaybookRun:
    rc: int
    output: str

    @property
    def recap(self) -> dict[str, int]:
        match = re.search(r"^localhost\s*:\s*(.*)$", self.output, flags=re.M)
        assert match, f"no PLAY RECAP in output:\n{self.output[-3000:]}"
        return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}


class Federation:
    """A copy of inventory/local under another deployment name, network and address range."""

    def __init__(self, root: Path, name: str, cidr_prefix: str) -> None:
        self.root = root
        self.name = name
        self.inventory = root / "inventory" / name
        self.results = root / "results"
        self.secrets = root / "secrets"
        local = yaml.safe_load((REPO / "inventory/local/group_vars/all/flock.yml").read_text())
        local["flock_deployment"] = name
        local["flock_network"]["name"] = name
        local["flock_network"]["cidr"] = f"{cidr_prefix}.0/24"
        for index, entry in enumerate(local["flock_network"]["containers"]):
            entry["ip"] = f"{cidr_prefix}.{index + 2}"
        local["flock_secrets_dir"] = str(self.secrets)
        # One image tag for the whole test, even if the tree changes while it runs.
        local["htcondor_images_tag"] = local["flock_image_tag"] = images_tag(REPO / "images", _version())
        local["kinc_results_dir"] = str(self.results)
        self.spec = local
        (self.inventory / "group_vars" / "all").mkdir(parents=True)
        (self.inventory / "hosts.yml").write_text((REPO / "inventory/local/hosts.yml").read_text())
        (self.inventory / "group_vars/all/flock.yml").write_text(yaml.safe_dump(local))

    def playbook(self, playbook: str, *args: str, extra: dict[str, Any] | None = None) -> PlaybookRun:
        command = [str(BIN / "ansible-playbook"), str(REPO / playbook), "-i", str(self.inventory), *args]
        if extra:
            command += ["-e", json.dumps(extra)]
        env = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False,
                              timeout=1800)
        return PlaybookRun(done.returncode, done.stdout + done.stderr)

    def summary(self, run: PlaybookRun) -> dict[str, Any]:
        match = re.search(r"run_id: (kinc-\S+)", run.output)
        assert match, run.output[-3000:]
        return json.loads((self.results / match.group(1) / "summary.json").read_text())

    def containers(self) -> list[str]:
        out = subprocess.run(["docker", "ps", "-a", "--filter", f"label=cloudflock.deployment={self.name}",
                              "--format", "{{.Names}}"], capture_output=True, text=True, check=True).stdout
        return sorted(out.split())

    def docker(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)
