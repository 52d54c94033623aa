"""Each provisioning role refuses bad input before it does anything.

For every role a tiny playbook runs it on localhost with one bad value (a wrong type, a missing required
variable, a bad choice, or a value only tasks/validate.yml can judge). The run must fail, the failure must
name the variable, and the failing task must be the first one the role ran (the argument-spec check, or a
validate.yml assert before any task that changes something), with nothing reported changed. The runs use
--check as a second guard, so a role that wrongly accepted the input still could not change this machine.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import BIN, REPO, collections_env
from tests.support.playbook import PlaybookRun, ansible_playbook

# Valid input for each role; each case changes one variable.
BASE: dict[str, dict[str, Any]] = {
    "zookeeper": {"zookeeper_cluster_group": "all"},
    "mesos": {"mesos_cluster_group": "all"},
    "marathon": {"marathon_cluster_group": "all"},
    "weave": {"weave_password": "a-long-enough-password", "weave_checksum": "sha256:" + "0" * 64},
    "overlay": {"overlay_network_cidr": "10.9.0.0/24", "overlay_advertise_address": "127.0.0.1"},
}
SPEC_TASK = "Validating arguments against arg spec 'main'"
# Roles whose settings are checked through another entry point, with its valid input: kinc.yml runs kinc's
# validate before the flock role creates any container (its main entry point needs a running federation).
ENTRY = {"kinc": ("validate", {"kinc_clusmethod": "gmm"})}


def _spec_task(role: str) -> str:
    return f"Validating arguments against arg spec '{ENTRY[role][0]}'" if role in ENTRY else SPEC_TASK


def _base(role: str) -> dict[str, Any]:
    return dict(ENTRY[role][1] if role in ENTRY else BASE[role])

# Each role's argument spec refuses three ways, each naming the variable: (variable, a value of the wrong
# type), the required variable left out, (variable, a value that is not among its choices).
REFUSALS = {
    "zookeeper": (("zookeeper_client_port", "two-one-eight-one"), "zookeeper_cluster_group",
                  ("zookeeper_install_method", "snap")),
    "mesos": (("mesos_agent_docker_kill_orphans", "sometimes"), "mesos_cluster_group", ("mesos_install_method", "rpm")),
    "marathon": (("marathon_http_port", "http"), "marathon_cluster_group", ("marathon_install_method", "tarball")),
    "weave": (("weave_service_enabled", "perhaps"), "weave_password", ("weave_service_state", "restarted")),
    "overlay": (("overlay_swarm_port", "swarm"), "overlay_network_cidr", ("overlay_join_as", "leader")),
}
# (role, case, variable, bad value or None to leave it out, expected words in the message)
CASES = [
    case
    for role, ((wrong, wrong_value), required, (choice, bad_choice)) in REFUSALS.items()
    for case in ((role, "wrong type", wrong, wrong_value, wrong), (role, "missing required", required, None, required),
                 (role, "bad choice", choice, bad_choice, choice))
] + [
    ("kinc", "bad choice", "kinc_crit", "mdl", "kinc_crit"),
    ("kinc", "wrong type", "kinc_maxclus", "many", "kinc_maxclus"),
    ("kinc", "wrong type", "kinc_pvalue", "small", "kinc_pvalue"),
]

# Rules only validate.yml can check: (role, variable, value, expected words naming variable and value).
SEMANTIC = [
    ("zookeeper", "zookeeper_id", 300, "zookeeper_id must be 1-255 (or 0 for the position in the ensemble), got 300"),
    ("zookeeper", "zookeeper_four_letter_words", ["srvr"], "zookeeper_four_letter_words must contain ruok"),
    ("mesos", "mesos_master_quorum", 2, "mesos_master_quorum=2 gives a quorum of 2 for 1 masters"),
    ("mesos", "mesos_agent_containerizers", "mesos", "mesos_agent_containerizers must include docker"),
    ("mesos", "mesos_zookeeper_url", "http://zk:2181", "mesos_zookeeper_url must look like zk://"),
    ("marathon", "marathon_http_port", 70000, "marathon_http_port must be a port 1-65535, got 70000"),
    ("weave", "weave_password", "short", "weave_password is 5 characters long"),
    ("weave", "weave_checksum", "md5:abc",
     "weave_checksum must be sha256:<64 hex> or sha512:<128 hex>, got 'md5:abc'"),
    ("weave", "weave_ipalloc_range", "10.32.0.0/33",
     "weave_ipalloc_range must be an IPv4 CIDR like 10.32.0.0/12, got '10.32.0.0/33'"),
    ("weave", "weave_flock_cidr", "10.40.0.0/24",
     "weave_ipalloc_range 10.32.0.0/12 overlaps the pool network weave_flock_cidr 10.40.0.0/24"),
    ("overlay", "overlay_network_cidr", "172.16.0.0",
     "overlay_network_cidr must be an IPv4 CIDR like 172.16.0.0/24, got '172.16.0.0'"),
    ("overlay", "overlay_advertise_address", "cloud-host",
     "overlay_advertise_address must be this host's IPv4 address, got 'cloud-host'"),
    ("kinc", "kinc_maxclus", 65, "kinc_maxclus: 65 must be a whole number from kinc_minclus (1) to 64"),
    ("kinc", "kinc_minclus", 65, "kinc_minclus: 65 must be a whole number from 1 to 64"),
    ("kinc", "kinc_feat_types", "Age=quantitative",
     "kinc_feat_types: Age=quantitative must be name:type pairs, types categorical, ordinal or quantitative"),
    ("kinc", "kinc_feat_types", "Age:number",
     "kinc_feat_types: Age:number must be name:type pairs, types categorical, ordinal or quantitative"),
    ("kinc", "kinc_feat_types", 5,
     "kinc_feat_types: 5 must be name:type pairs, types categorical, ordinal or quantitative"),
    ("kinc", "kinc_feat_types", ["Age:ordinal", "Dose"],
     "kinc_feat_types: ['Age:ordinal', 'Dose'] must be name:type pairs, types categorical, ordinal or quantitative"),
    ("kinc", "kinc_pvalue", 1.5, "kinc_pvalue: 1.5 must be above 0 and at most 1"),
    ("kinc", "kinc_pvalue", 0, "kinc_pvalue: 0 must be above 0 and at most 1"),
    ("kinc", "kinc_rsquare", -0.1, "kinc_rsquare: -0.1 must be from 0 to 1"),
    ("kinc", "kinc_minclus", 3, "kinc_maxclus: 2 must be a whole number from kinc_minclus (3) to 64"),
    ("kinc", "kinc_annotations", "annotations.txt",
     "kinc_annotations: condition tests need kinc_clusmethod gmm (it is none)"),
    ("kinc", "kinc_threshold", 1.5, "kinc_threshold: 1.5 must be a number from 0 to 1, or empty for RMT's"),
    ("kinc", "kinc_threshold", "-0.1", "kinc_threshold: -0.1 must be a number from 0 to 1, or empty for RMT's"),
    ("kinc", "kinc_feat_tests", ["Treatment", "Duration"],
     "kinc_feat_tests: ['Treatment', 'Duration'] names features of kinc_annotations, which is empty"),
    ("kinc", "kinc_feat_types", {"Duration": "quantitative"},
     "kinc_feat_types: {'Duration': 'quantitative'} types features of kinc_annotations, which is empty"),
]
# The other variables a SEMANTIC case sets, beside its one bad value.
ALONG = {
    ("weave_flock_cidr", "10.40.0.0/24"): {"weave_ipalloc_range": "10.32.0.0/12"},
    ("kinc_minclus", 3): {"kinc_maxclus": 2},
    ("kinc_annotations", "annotations.txt"): {"kinc_clusmethod": "none"},
}


def _inventory(hosts: list[str]) -> dict[str, Any]:
    local = {h: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable} for h in hosts}
    return {"all": {"children": {g: {"hosts": local} for g in ("mesos_masters", "mesos_agents", "docker_hosts")}}}


def _run_role(tmp_path: Path, role: str, role_vars: dict[str, Any], hosts: list[str] | None = None) -> dict[str, Any]:
    """Run the role (its ENTRY point if any) in check mode with the json callback; return the parsed report."""
    hosts = hosts or ["localhost"]
    include = {"name": f"cloudflock.htcondor.{role}", **({"tasks_from": ENTRY[role][0]} if role in ENTRY else {})}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(_inventory(hosts)))
    play = [{
        "name": f"Run {role} with bad input",
        "hosts": "all",
        "gather_facts": False,
        "tasks": [{
            "name": f"Apply {role}",
            "ansible.builtin.include_role": include,
            "vars": role_vars,
        }],
    }]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    env = collections_env()
    env.update({
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    })
    run = ansible_playbook("--check", "-i", "inventory.yml", "play.yml", cwd=tmp_path, env=env, timeout=300)
    report = run.report()
    report["rc"] = run.rc
    return report


def _role_tasks(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(task name, per-host results) of every task that ran, the include itself left out."""
    ran = []
    for play in report["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].startswith("Apply "):
                continue
            # "cloudflock.htcondor.weave : Check ..." -> "Check ..."
            ran.append((task["task"]["name"].split(" : ", 1)[-1], task["hosts"]))
    return ran


def _assert_refused(report: dict[str, Any], first_task: str | None, words: str) -> None:
    assert report["rc"] != 0, "the role accepted the input"
    ran = _role_tasks(report)
    failed = [(name, r) for name, results in ran for r in results.values() if r.get("failed")]
    assert failed, f"no task failed; tasks that ran: {[name for name, _ in ran]}"
    name, result = failed[0]
    # A looped assert fails with "One or more items failed": the failing items carry the messages.
    message = " ".join([result.get("msg", ""), *(item.get("msg", "") for item in result.get("results", [])
                                                 if item.get("failed"))])
    assert words in message, f"message does not name the variable: {message!r}"
    if first_task is not None:
        assert name.startswith(first_task), f"failed in {name!r}, not in the argument-spec check"
    # Nothing ran before the failure that reported a change, and nothing ran after it.
    assert ran[-1][0] == name, f"tasks ran after the failure: {[n for n, _ in ran]}"
    assert all(not r.get("changed") for _, results in ran for r in results.values())
    assert all(stats.get("changed", 0) == 0 for stats in report["stats"].values()), report["stats"]


@pytest.mark.parametrize(("role", "case", "variable", "value", "words"), CASES,
                         ids=[f"{c[0]}-{c[1].replace(' ', '-')}" for c in CASES])
def test_argument_spec_refuses(tmp_path: Path, role: str, case: str, variable: str, value: Any, words: str) -> None:
    role_vars = _base(role)
    if value is None:
        role_vars.pop(variable)
    else:
        role_vars[variable] = value
    report = _run_role(tmp_path, role, role_vars)
    _assert_refused(report, _spec_task(role), words)


@pytest.mark.parametrize(("role", "variable", "value", "words"), SEMANTIC,
                         ids=[f"{s[0]}-{s[1]}" for s in SEMANTIC])
def test_validate_refuses(tmp_path: Path, role: str, variable: str, value: Any, words: str) -> None:
    along = next((extra for (name, bad), extra in ALONG.items() if (name, bad) == (variable, value)), {})
    role_vars = dict(_base(role), **{variable: value}, **along)
    report = _run_role(tmp_path, role, role_vars)
    _assert_refused(report, None, words)
    names = [name for name, _ in _role_tasks(report)]
    assert names[0].startswith(_spec_task(role)), names


def test_zookeeper_refuses_an_even_ensemble(tmp_path: Path) -> None:
    report = _run_role(tmp_path, "zookeeper", BASE["zookeeper"], hosts=["zk-a", "zk-b"])
    _assert_refused(report, None, "has 2 members")
    assert "a quorum needs an odd count" in str(report)


@pytest.mark.parametrize("role", sorted(BASE))
def test_valid_input_passes_validation(tmp_path: Path, role: str) -> None:
    """The base input is valid: the checks pass and the role goes on (in check mode) past validation."""
    role_vars = dict(BASE[role], **{f"{role}_service_manage": False}) if role != "overlay" else dict(BASE[role])
    report = _run_role(tmp_path, role, role_vars)
    ran = _role_tasks(report)
    assert ran and ran[0][0].startswith(SPEC_TASK)
    spec_result = ran[0][1]["localhost"]
    assert not spec_result.get("failed"), spec_result
    checks = [(n, r["localhost"]) for n, r in ran if n.startswith("Check ")]
    assert checks and all(not r.get("failed") for _, r in checks), checks


ROLES = sorted(BASE)


@pytest.mark.parametrize("role", ROLES)
def test_defaults_match_the_argument_spec(role: str) -> None:
    """Every default is declared in the main entry point, and every optional option has a default."""
    defaults = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text())
    spec = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    optional = {name for name, option in options.items() if not option.get("required")}
    required = {name for name, option in options.items() if option.get("required")}
    assert set(defaults) == optional
    assert not required & set(defaults), "a required variable must not have a default"
    assert all(name.startswith(f"{role}_") for name in options)


def _run_playbook(tmp_path: Path, playbook: str, *extra: str) -> PlaybookRun:
    return ansible_playbook("-i", str(REPO / "inventory" / "multicloud"), str(REPO / "playbooks" / playbook), *extra,
                            cwd=tmp_path, env=collections_env(), timeout=300)


@pytest.mark.parametrize(("playbook", "extra", "words"), [
    ("weave_add_peer.yml", (), "Name the host to add with -e peer=<host>"),
    ("weave_add_peer.yml", ("-e", "peer=nowhere"), "(got 'nowhere')"),
    ("weave_forget_peer.yml", (), "Name the host to forget with -e peer="),
    ("teardown_hosts.yml", (), "confirm with -e cloudflock_teardown_confirm=true"),
])
def test_peer_and_teardown_playbooks_ask_explicitly(tmp_path: Path, playbook: str, extra: tuple[str, ...],
                                                    words: str) -> None:
    """Without the peer (or the confirmation) the playbook stops on localhost before any remote play."""
    proc = _run_playbook(tmp_path, playbook, *extra)
    output = " ".join(proc.output.split())
    assert proc.rc != 0
    assert words in output, output[-2000:]
    # The multi-cloud hosts are not reachable from here: no play may have tried them.
    assert "UNREACHABLE" not in output and "chi-master" not in output.split("PLAY RECAP")[-1]


@pytest.mark.parametrize(("variable", "value", "rendered"), [
    ("kinc_feat_tests", "Treatment, Age", "Treatment,Age"),
    ("kinc_feat_tests", ["Treatment", " Age"], "Treatment,Age"),
    ("kinc_feat_types", "Dose :categorical, Age:ordinal", "Dose:categorical,Age:ordinal"),
    ("kinc_feat_types", {"Dose": "categorical", "Age": "ordinal"}, "Dose:categorical,Age:ordinal"),
    ("kinc_feat_types", ["Dose:categorical", "Age: ordinal"], "Dose:categorical,Age:ordinal"),
])
def test_kinc_feature_lists_reach_kinc_as_comma_strings_without_spaces(tmp_path: Path, variable: str, value: Any,
                                                                        rendered: str) -> None:
    """KINC's --feat-tests and --feat-types: a space would split the job's arguments or name no column."""
    play = [{"hosts": "localhost", "gather_facts": False, "vars_files": [str(REPO / "roles/kinc/vars/main.yml")],
             "vars": {variable: value}, "tasks": [{"ansible.builtin.debug": {"msg": f"{{{{ __{variable} }}}}"}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    env = dict(collections_env(), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOCALHOST_WARNING="false")
    run = ansible_playbook("-i", "localhost,", "-c", "local", "play.yml", cwd=tmp_path, env=env, timeout=120)
    assert run.rc == 0
    assert run.report()["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"] == rendered
