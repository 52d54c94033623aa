"""The HTCondor configuration each pool container renders from its environment at start."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "images" / "htcondor" / "cloudflock_condor.py"
_spec = importlib.util.spec_from_file_location("cloudflock_condor", _PATH)
assert _spec and _spec.loader
condor = importlib.util.module_from_spec(_spec)
sys.modules["cloudflock_condor"] = condor
_spec.loader.exec_module(condor)

BASE = {
    "CLOUDFLOCK_POOL": "runner1",
    "CLOUDFLOCK_IP": "172.16.0.2",
    "CLOUDFLOCK_NETWORK_CIDR": "172.16.0.0/24",
    "CLOUDFLOCK_CPUS": "12",
    "CLOUDFLOCK_MEMORY_MB": "120000",
}


def parse(text: str) -> dict[str, str]:
    """Macro name -> value, the way condor_config_val would see this one file."""
    macros = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            macros[name.strip()] = value.strip()
    return macros


def render(env: dict[str, str], argv: list[str] | None = None) -> dict[str, str]:
    return parse(condor.render_config(condor.settings_from_env(env, argv or [])))


def test_executor_slots_split_memory_per_cpu() -> None:
    macros = render({**BASE, "CLOUDFLOCK_ROLE": "executor"})
    # The seed: memory per job = mem / n_cpus (120000 / 12).
    assert macros["NUM_SLOTS_TYPE_1"] == "12"
    assert macros["SLOT_TYPE_1"] == "cpus=1, mem=10000"
    assert "STARTD" in macros["DAEMON_LIST"]
    assert macros["FLOCK_FROM"] == "172.16.0.0/24"
    assert macros["CLOUDFLOCK_POOL"] == '"runner1"'
    assert "FLOCK_TO" not in macros


def test_submitter_flocks_to_every_executor_first_come_first_served() -> None:
    env = {**BASE, "CLOUDFLOCK_ROLE": "submitter", "CLOUDFLOCK_POOL": "submitter", "CLOUDFLOCK_IP": "172.16.0.1",
           "CLOUDFLOCK_FLOCK_TO": "172.16.0.2,172.16.0.3"}
    macros = render(env)
    assert macros["FLOCK_TO"] == "172.16.0.2, 172.16.0.3"
    assert macros["MIN_FLOCK_LEVEL"] == "2"
    assert "STARTD" not in macros["DAEMON_LIST"]
    assert macros["ALLOW_NEGOTIATOR_SCHEDD"] == ("condor@$(TRUST_DOMAIN)/172.16.0.0/24, "
                                                 "condor@$(TRUST_DOMAIN)/127.0.0.1")


def test_seed_style_flock_argument_wins() -> None:
    env = {**BASE, "CLOUDFLOCK_ROLE": "submitter", "CLOUDFLOCK_IP": "172.16.0.1"}
    macros = render(env, ["-f", "172.16.0.2,172.16.0.3", "-k", "ssh-rsa AAA", "-u", "irods"])
    assert macros["FLOCK_TO"] == "172.16.0.2, 172.16.0.3"


def test_security_is_required_and_write_is_limited_to_the_network() -> None:
    macros = render({**BASE, "CLOUDFLOCK_ROLE": "executor", "CLOUDFLOCK_TRUST_DOMAIN": "lab.example"})
    for kind in ("AUTHENTICATION", "ENCRYPTION", "INTEGRITY"):
        assert macros[f"SEC_DEFAULT_{kind}"] == "REQUIRED"
    assert macros["TRUST_DOMAIN"] == "lab.example"
    assert "IDTOKENS" in macros["SEC_DEFAULT_AUTHENTICATION_METHODS"]
    assert "CLAIMTOBE" not in " ".join(macros.values())
    for level in ("WRITE", "DAEMON", "NEGOTIATOR", "ADVERTISE_SCHEDD", "ADVERTISE_STARTD"):
        sources = {entry.split("/", 1)[1] for entry in macros[f"ALLOW_{level}"].split(", ")}
        assert sources == {"172.16.0.0/24", "127.0.0.1"}, level
    assert "anonymous@*" in macros["DENY_WRITE"]


def test_intervals_are_seconds_not_minutes() -> None:
    macros = render({**BASE, "CLOUDFLOCK_ROLE": "executor"})
    for name in ("NEGOTIATOR_INTERVAL", "SCHEDD_INTERVAL", "UPDATE_INTERVAL"):
        assert int(macros[name]) <= 5, name


@pytest.mark.parametrize(("override", "message"), [
    ({"CLOUDFLOCK_ROLE": "worker"}, "CLOUDFLOCK_ROLE='worker' must be one of submitter, executor"),
    ({"CLOUDFLOCK_CPUS": "0"}, "CLOUDFLOCK_CPUS='0' must be positive"),
    ({"CLOUDFLOCK_MEMORY_MB": "lots"}, "CLOUDFLOCK_MEMORY_MB='lots' is not a whole number"),
    ({"CLOUDFLOCK_IP": "10.0.0.2"}, "CLOUDFLOCK_IP='10.0.0.2' is outside CLOUDFLOCK_NETWORK_CIDR='172.16.0.0/24'"),
    ({"CLOUDFLOCK_NETWORK_CIDR": "172.16.0.9/24"}, "is not a network in CIDR notation"),
    ({"CLOUDFLOCK_ROLE": "submitter"}, "a submitter needs at least one executor pool"),
])
def test_bad_settings_name_the_variable(override: dict[str, str], message: str) -> None:
    env = {**BASE, "CLOUDFLOCK_ROLE": "executor", **override}
    with pytest.raises(condor.ConfigError, match=re.escape(message)):
        condor.settings_from_env(env, [])


def test_job_lease_is_short_so_lost_jobs_come_back_in_seconds() -> None:
    for role in ("submitter", "executor"):
        env = {**BASE, "CLOUDFLOCK_ROLE": role, "CLOUDFLOCK_FLOCK_TO": "172.16.0.3"}
        assert render(env)["JOB_DEFAULT_LEASE_DURATION"] == "20"
    env = {**BASE, "CLOUDFLOCK_ROLE": "executor", "CLOUDFLOCK_JOB_LEASE": "45"}
    assert render(env)["JOB_DEFAULT_LEASE_DURATION"] == "45"


@pytest.mark.parametrize("value", ["10", "0", "soon"])
def test_job_lease_below_what_condor_submit_accepts_is_refused(value: str) -> None:
    with pytest.raises(condor.ConfigError, match=f"CLOUDFLOCK_JOB_LEASE={value!r}|CLOUDFLOCK_JOB_LEASE={value} "):
        condor.settings_from_env({**BASE, "CLOUDFLOCK_ROLE": "executor", "CLOUDFLOCK_JOB_LEASE": value}, [])
