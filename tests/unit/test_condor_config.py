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


def flock_to_file(env: dict[str, str], argv: list[str] | None = None, existing: str | None = None) -> str | None:
    return condor.flock_to_file_text(condor.settings_from_env(env, argv or []), existing)


def test_submitter_flocks_to_every_executor_first_come_first_served() -> None:
    env = {**BASE, "CLOUDFLOCK_ROLE": "submitter", "CLOUDFLOCK_POOL": "submitter", "CLOUDFLOCK_IP": "172.16.0.1",
           "CLOUDFLOCK_FLOCK_TO": "172.16.0.2,172.16.0.3"}
    macros = render(env)
    # The list lives in its own file, which changes (with condor_reconfig) without a restart.
    assert "FLOCK_TO" not in macros and "MIN_FLOCK_LEVEL" not in macros
    assert macros["FLOCK_INCREMENT"] == "1"
    assert "STARTD" not in macros["DAEMON_LIST"]
    text = flock_to_file(env)
    assert text is not None
    flock = parse(text)
    assert flock == {"FLOCK_TO": "172.16.0.2, 172.16.0.3", "MIN_FLOCK_LEVEL": "2"}
    assert macros["ALLOW_NEGOTIATOR_SCHEDD"] == ("condor@$(TRUST_DOMAIN)/172.16.0.0/24, "
                                                 "condor@$(TRUST_DOMAIN)/127.0.0.1")


def test_seed_style_flock_argument_wins() -> None:
    env = {**BASE, "CLOUDFLOCK_ROLE": "submitter", "CLOUDFLOCK_IP": "172.16.0.1"}
    text = flock_to_file(env, ["-f", "172.16.0.2,172.16.0.3", "-k", "ssh-rsa AAA", "-u", "irods"])
    assert text is not None and parse(text)["FLOCK_TO"] == "172.16.0.2, 172.16.0.3"


def test_flock_to_file_is_written_at_first_start_and_then_kept() -> None:
    env = {**BASE, "CLOUDFLOCK_ROLE": "submitter", "CLOUDFLOCK_IP": "172.16.0.1",
           "CLOUDFLOCK_FLOCK_TO": "172.16.0.2"}
    # A restart keeps what the flock role wrote since (three pools), even with the start's list in the env.
    changed = condor.render_flock_to(("172.16.0.2", "172.16.0.3", "172.16.0.4"))
    assert flock_to_file(env, existing=changed) is None
    assert flock_to_file({**BASE, "CLOUDFLOCK_ROLE": "executor"}) is None


def test_submitter_without_a_list_flocks_nowhere_until_told() -> None:
    env = {**BASE, "CLOUDFLOCK_ROLE": "submitter", "CLOUDFLOCK_IP": "172.16.0.1", "CLOUDFLOCK_MIN_FLOCK_LEVEL": "1"}
    text = flock_to_file(env)
    assert text is not None and parse(text) == {"FLOCK_TO": "", "MIN_FLOCK_LEVEL": "0"}


def test_flock_to_command_prints_what_the_entrypoint_writes(capsys: pytest.CaptureFixture[str]) -> None:
    assert condor.main(["flock-to", "172.16.0.2,172.16.0.4"]) == 0
    assert capsys.readouterr().out == condor.render_flock_to(("172.16.0.2", "172.16.0.4"))
    assert condor.main(["flock-to", "172.16.0.2,172.16.0.4", "--min-level", "1"]) == 0
    assert parse(capsys.readouterr().out)["MIN_FLOCK_LEVEL"] == "1"
    assert condor.main(["flock-to", "172.16.0.2", "--min-level", "3"]) == 2
    assert "CLOUDFLOCK_MIN_FLOCK_LEVEL='3' must lie between 0 and 1" in capsys.readouterr().err
    assert condor.main(["flock-to", "not/a/host"]) == 2
    assert "'not/a/host' is neither an address nor a host name" in capsys.readouterr().err


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
    ({"CLOUDFLOCK_ROLE": "submitter", "CLOUDFLOCK_FLOCK_TO": "172.16.0.3", "CLOUDFLOCK_MIN_FLOCK_LEVEL": "2"},
     "CLOUDFLOCK_MIN_FLOCK_LEVEL='2' must lie between 0 and 1"),
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


SUBMITTER = {**BASE, "CLOUDFLOCK_ROLE": "submitter", "CLOUDFLOCK_FLOCK_TO": "172.16.0.3"}
EXECUTOR = {**BASE, "CLOUDFLOCK_ROLE": "executor"}


def test_submitter_advertises_to_the_executors_collectors_over_udp() -> None:
    # Over TCP an unreachable collector blocks the schedd on a full send buffer; UDP datagrams never wait.
    assert render(SUBMITTER)["UPDATE_COLLECTOR_WITH_TCP"] == "False"
    # Executors only advertise to their own collector, next to them: TCP stays.
    assert "UPDATE_COLLECTOR_WITH_TCP" not in render(EXECUTOR)


def test_executor_starters_promise_a_report_every_third_of_the_silence_timeout() -> None:
    # The shadow drops a starter it has not heard from for three times the promised interval: 18 s by default.
    assert render(EXECUTOR)["STARTER_UPDATE_INTERVAL_MAX"] == "6"
    assert render({**EXECUTOR, "CLOUDFLOCK_SILENCE_TIMEOUT": "14"})["STARTER_UPDATE_INTERVAL_MAX"] == "4"
    # The promise is the starter's; the submitter runs no starter for executors.
    assert "STARTER_UPDATE_INTERVAL_MAX" not in render(SUBMITTER)


def test_idle_connections_are_probed_after_the_silence_timeout() -> None:
    for env in (SUBMITTER, EXECUTOR):
        assert render(env)["TCP_KEEPALIVE_INTERVAL"] == "20"
        assert render({**env, "CLOUDFLOCK_SILENCE_TIMEOUT": "45"})["TCP_KEEPALIVE_INTERVAL"] == "45"


def test_the_promised_report_interval_is_never_shorter_than_the_update_interval() -> None:
    macros = render({**EXECUTOR, "CLOUDFLOCK_INTERVAL": "5", "CLOUDFLOCK_SILENCE_TIMEOUT": "15"})
    assert int(macros["STARTER_UPDATE_INTERVAL_MAX"]) >= int(macros["STARTER_UPDATE_INTERVAL"]) == 5


@pytest.mark.parametrize(("override", "message"), [
    ({"CLOUDFLOCK_SILENCE_TIMEOUT": "soon"}, "CLOUDFLOCK_SILENCE_TIMEOUT='soon' is not a whole number"),
    ({"CLOUDFLOCK_SILENCE_TIMEOUT": "0"}, "CLOUDFLOCK_SILENCE_TIMEOUT='0' must be positive"),
    ({"CLOUDFLOCK_SILENCE_TIMEOUT": "5"},
     "CLOUDFLOCK_SILENCE_TIMEOUT=5 is less than three times CLOUDFLOCK_INTERVAL=2"),
    ({"CLOUDFLOCK_SILENCE_TIMEOUT": "20", "CLOUDFLOCK_INTERVAL": "7"},
     "CLOUDFLOCK_SILENCE_TIMEOUT=20 is less than three times CLOUDFLOCK_INTERVAL=7"),
])
def test_a_silence_timeout_the_starters_cannot_keep_is_refused(override: dict[str, str], message: str) -> None:
    with pytest.raises(condor.ConfigError, match=re.escape(message)):
        condor.settings_from_env({**EXECUTOR, **override}, [])
