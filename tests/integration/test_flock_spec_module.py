"""The flock_spec module as Ansible runs it: the seed's JSON file given as it is, and a bad one refused."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

from tests.marathon_double.seed import SEED_CONFIG
from tests.support.playbook import ansible_adhoc


def run_module(config_file: Path) -> tuple[int, dict]:
    done = ansible_adhoc(
        "localhost", "-m", "cloudflock.htcondor.flock_spec", "-a", f"config_file={config_file}", "-o",
        env={**os.environ, "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false"})
    output = done.stdout.split("=>", 1)[1] if "=>" in done.stdout else "{}"
    return done.rc, json.loads(output)


def test_seed_json_file_is_read_as_it_is(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(SEED_CONFIG, indent=2))
    rc, result = run_module(config)
    assert rc == 0, result
    spec = result["spec"]
    assert spec["flock_to"] == ["172.16.0.2", "172.16.0.3"]
    assert [c["type"] for c in spec["clusters"]] == ["marathon", "marathon"]
    assert spec["submitter"]["cpus"] == 1 and spec["executors"][0]["cpus"] == 12


def test_yaml_file_with_the_same_keys_works_too(tmp_path: Path) -> None:
    import yaml

    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump(SEED_CONFIG))
    rc, result = run_module(config)
    assert rc == 0 and result["spec"]["network"]["cidr"] == "172.16.0.0/24"


def test_bad_seed_file_fails_naming_every_problem(tmp_path: Path) -> None:
    bad = copy.deepcopy(SEED_CONFIG)
    bad["network"]["containers"][2]["ip_addr"] = "172.16.0.255"
    bad["containers"][0]["ports"][0]["protocol"] = "icmp"
    config = tmp_path / "config.json"
    config.write_text(json.dumps(bad))
    rc, result = run_module(config)
    assert rc != 0
    assert result["problems"] == [
        "containers[0].ports[0].protocol: 'icmp' is not one of tcp, udp, udp,tcp",
        "network.containers[2].ip: 172.16.0.255 is the broadcast address of 172.16.0.0/24",
    ]
    assert "spec" not in result


def test_a_file_that_is_neither_json_nor_yaml_is_named(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text('{"clusters": [\n  - id: x\n    bad: [unclosed\n')
    rc, result = run_module(config)
    assert rc != 0
    assert result["msg"].startswith(f"config_file '{config}': neither JSON nor YAML"), result
    assert "Traceback" not in json.dumps(result) and "exception" not in result


def test_a_spec_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("- just\n- a list\n")
    rc, result = run_module(config)
    assert rc != 0 and "spec" not in result, result
    assert result["problems"] == ["config: list given, a mapping with clusters, containers and network is needed"]
