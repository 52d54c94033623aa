"""The HTCondor configuration each pool container renders from its environment at start."""

from __future__ import annotations

import importlib.util
import os
import re
import stat
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
    "CLOUDFLOCK_FLOCK_FROM": "submitter=172.16.0.1",
}


def parse(text: str) -> dict[str, str]:
    """Macro name -> value, the way condor_config_val would see this one file."""
    macros = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            macros[name.strip()] = value.strip()
    return macros


def expand(macros: dict[str, str], name: str) -> list[str]:
    """The entries of a list macro with the file's own CLOUDFLOCK_* macros (and TRUST_DOMAIN) expanded."""
    value = macros[name]
    while "$(CLOUDFLOCK_" in value or "$(TRUST_DOMAIN)" in value:
        value = re.sub(r"\$\((CLOUDFLOCK_\w+|TRUST_DOMAIN)\)", lambda m: macros[m.group(1)], value)
    return [entry.strip() for entry in value.split(",") if entry.strip()]


def render(env: dict[str, str], argv: list[str] | None = None) -> dict[str, str]:
    return parse(condor.render_config(condor.settings_from_env(env, argv or [])))


def test_executor_slots_split_memory_per_cpu() -> None:
    macros = render({**BASE, "CLOUDFLOCK_ROLE": "executor"})
    # The seed: memory per job = mem / n_cpus (120000 / 12).
    assert macros["NUM_SLOTS_TYPE_1"] == "12"
    assert macros["SLOT_TYPE_1"] == "cpus=1, mem=10000"
    assert "STARTD" in macros["DAEMON_LIST"]
    assert macros["FLOCK_FROM"] == "172.16.0.1"
    assert macros["CLOUDFLOCK_POOL"] == '"runner1"'
    assert "FLOCK_TO" not in macros


def flock_to_file(env: dict[str, str], argv: list[str] | None = None, existing: str | None = None) -> str | None:
    return condor.flock_to_file_text(condor.settings_from_env(env, argv or []), existing)


def test_submitter_flocks_to_every_executor_first_come_first_served() -> None:
    env = {**BASE, "CLOUDFLOCK_ROLE": "submitter", "CLOUDFLOCK_POOL": "submitter", "CLOUDFLOCK_IP": "172.16.0.1",
           "CLOUDFLOCK_FLOCK_TO": "runner1=172.16.0.2,runner2=172.16.0.3"}
    macros = render(env)
    # The list lives in its own file, which changes (with condor_reconfig) without a restart.
    assert "FLOCK_TO" not in macros and "MIN_FLOCK_LEVEL" not in macros
    assert macros["FLOCK_INCREMENT"] == "1"
    assert "STARTD" not in macros["DAEMON_LIST"]
    text = flock_to_file(env)
    assert text is not None
    flock = parse(text)
    assert flock["FLOCK_TO"] == "172.16.0.2, 172.16.0.3" and flock["MIN_FLOCK_LEVEL"] == "2"
    # Only this pool's negotiator, and each executor's by its own identity from its own address.
    assert expand(macros, "ALLOW_NEGOTIATOR_SCHEDD") == ["condor@cloudflock/172.16.0.1", "condor@cloudflock/127.0.0.1"]
    assert expand({**macros, **flock}, "ALLOW_NEGOTIATOR_SCHEDD") == [
        "condor@cloudflock/172.16.0.1", "condor@cloudflock/127.0.0.1",
        "runner1@cloudflock/172.16.0.2", "runner2@cloudflock/172.16.0.3"]
    assert "SEC_TOKEN_REVOCATION_EXPR" not in flock


def test_seed_style_flock_argument_wins() -> None:
    env = {**BASE, "CLOUDFLOCK_ROLE": "submitter", "CLOUDFLOCK_IP": "172.16.0.1"}
    text = flock_to_file(env, ["-f", "r1=172.16.0.2,r2=172.16.0.3", "-k", "ssh-rsa AAA", "-u", "irods"])
    assert text is not None and parse(text)["FLOCK_TO"] == "172.16.0.2, 172.16.0.3"


def test_flock_to_file_is_written_at_first_start_and_then_kept() -> None:
    env = {**BASE, "CLOUDFLOCK_ROLE": "submitter", "CLOUDFLOCK_IP": "172.16.0.1",
           "CLOUDFLOCK_FLOCK_TO": "r1=172.16.0.2"}
    # A restart keeps what the flock role wrote since (three pools), even with the start's list in the env.
    changed = condor.render_flock_to((("r1", "172.16.0.2"), ("r2", "172.16.0.3"), ("r3", "172.16.0.4")))
    assert flock_to_file(env, existing=changed) is None
    assert flock_to_file({**BASE, "CLOUDFLOCK_ROLE": "executor"}) is None


def test_submitter_without_a_list_flocks_nowhere_until_told() -> None:
    env = {**BASE, "CLOUDFLOCK_ROLE": "submitter", "CLOUDFLOCK_IP": "172.16.0.1", "CLOUDFLOCK_MIN_FLOCK_LEVEL": "1"}
    text = flock_to_file(env)
    assert text is not None and parse(text) == {"FLOCK_TO": "", "MIN_FLOCK_LEVEL": "0",
                                                "ALLOW_NEGOTIATOR_SCHEDD": "$(CLOUDFLOCK_DAEMONS)"}


def test_flock_to_command_prints_what_the_entrypoint_writes(capsys: pytest.CaptureFixture[str]) -> None:
    assert condor.main(["flock-to", "e1=172.16.0.2,e3=172.16.0.4"]) == 0
    assert capsys.readouterr().out == condor.render_flock_to((("e1", "172.16.0.2"), ("e3", "172.16.0.4")))
    assert condor.main(["flock-to", "e1=172.16.0.2,e3=172.16.0.4", "--min-level", "1"]) == 0
    assert parse(capsys.readouterr().out)["MIN_FLOCK_LEVEL"] == "1"
    assert condor.main(["flock-to", "e1=172.16.0.2", "--min-level", "3"]) == 2
    assert "CLOUDFLOCK_MIN_FLOCK_LEVEL='3' must lie between 0 and 1" in capsys.readouterr().err
    assert condor.main(["flock-to", "e1=not/a/host"]) == 2
    assert "'not/a/host' is neither an address nor a host name" in capsys.readouterr().err
    assert condor.main(["flock-to", "172.16.0.2"]) == 2
    assert "entry '172.16.0.2' names no pool: give NAME=ADDRESS" in capsys.readouterr().err
    assert condor.main(["flock-to", "e1=172.16.0.2,e1=172.16.0.3"]) == 2
    assert "names the pool 'e1' more than once" in capsys.readouterr().err
    assert condor.main(["flock-to", "e1=172.16.0.2", "--revoked", "not-hex"]) == 2
    assert "revoked token id 'not-hex' is not hex digits" in capsys.readouterr().err


def test_revoked_tokens_are_refused_whoever_presents_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert condor.main(["flock-to", "e3=172.16.0.4", "--revoked", "9f2c6a0e1b7d4c3a,0a1b2c3d4e5f6071"]) == 0
    flock = parse(capsys.readouterr().out)
    assert flock["SEC_TOKEN_REVOCATION_EXPR"] == 'member(jti, {"0a1b2c3d4e5f6071", "9f2c6a0e1b7d4c3a"})'
    # The pool taken out is no longer allowed to negotiate either.
    assert flock["ALLOW_NEGOTIATOR_SCHEDD"] == "$(CLOUDFLOCK_DAEMONS), e3@$(TRUST_DOMAIN)/172.16.0.4"


def test_security_is_required_and_write_is_limited_to_the_pool_itself() -> None:
    macros = render({**BASE, "CLOUDFLOCK_ROLE": "executor", "CLOUDFLOCK_TRUST_DOMAIN": "lab.example"})
    for kind in ("AUTHENTICATION", "ENCRYPTION", "INTEGRITY"):
        assert macros[f"SEC_DEFAULT_{kind}"] == "REQUIRED"
    assert macros["TRUST_DOMAIN"] == "lab.example"
    assert "IDTOKENS" in macros["SEC_DEFAULT_AUTHENTICATION_METHODS"]
    assert "CLAIMTOBE" not in " ".join(macros.values())
    # Every level is this container's own identities, from its own address: no other pool, no network.
    for level in ("READ", "WRITE", "DAEMON", "NEGOTIATOR", "ADMINISTRATOR", "ADVERTISE_MASTER", "ADVERTISE_SCHEDD",
                  "ADVERTISE_STARTD"):
        entries = expand(macros, f"ALLOW_{level}")
        assert {entry.split("/", 1)[1] for entry in entries} == {"172.16.0.2", "127.0.0.1"}, level
        assert {entry.split("@", 1)[0] for entry in entries} <= {"condor", "root", "condor_pool"}, level
    assert {e.split("@")[0] for e in expand(macros, "ALLOW_DAEMON")} == {"condor"}
    assert {e.split("@")[0] for e in expand(macros, "ALLOW_ADMINISTRATOR")} == {"condor", "root"}
    assert "anonymous@*" in macros["DENY_WRITE"]


def test_each_pool_signs_with_its_own_key_named_after_it() -> None:
    macros = render({**BASE, "CLOUDFLOCK_ROLE": "executor"})
    assert macros["SEC_TOKEN_POOL_SIGNING_KEY_FILE"] == "/etc/condor/passwords.d/runner1"
    assert macros["SEC_TOKEN_ISSUER_KEY"] == "runner1"


def test_an_executor_lets_its_submitter_advertise_and_query_its_collector_only() -> None:
    macros = render({**BASE, "CLOUDFLOCK_ROLE": "executor",
                     "CLOUDFLOCK_FLOCK_FROM": "submitter=172.16.0.1, submitter2=172.16.0.9:9618"})
    submitters = ["submitter@cloudflock/172.16.0.1", "submitter2@cloudflock/172.16.0.9"]
    assert expand(macros, "COLLECTOR.ALLOW_ADVERTISE_SCHEDD")[-2:] == submitters
    assert expand(macros, "COLLECTOR.ALLOW_READ")[-2:] == submitters
    assert macros["FLOCK_FROM"] == "172.16.0.1, 172.16.0.9"
    # Nothing else names them: the same levels of every other daemon stay the pool's own.
    others = [name for name in macros if name.startswith("ALLOW_") or name.startswith("COLLECTOR.")]
    for name in others:
        if not name.startswith("COLLECTOR."):
            assert not any(entry.startswith("submitter") for entry in expand(macros, name)), name


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
    ({"CLOUDFLOCK_ROLE": "submitter", "CLOUDFLOCK_FLOCK_TO": "r2=172.16.0.3", "CLOUDFLOCK_MIN_FLOCK_LEVEL": "2"},
     "CLOUDFLOCK_MIN_FLOCK_LEVEL='2' must lie between 0 and 1"),
    # Pool names are identities and must be given.
    ({"CLOUDFLOCK_FLOCK_FROM": ""}, "CLOUDFLOCK_FLOCK_FROM='' names no submitter pool"),
    ({"CLOUDFLOCK_FLOCK_FROM": "172.16.0.1"}, "CLOUDFLOCK_FLOCK_FROM entry '172.16.0.1' names no pool"),
    ({"CLOUDFLOCK_POOL": "condor"}, "CLOUDFLOCK_POOL='condor' is the name of HTCondor's own condor@<domain>"),
    ({"CLOUDFLOCK_POOL": "Runner_1"}, "CLOUDFLOCK_POOL='Runner_1' is not a pool name"),
    ({"CLOUDFLOCK_FLOCK_FROM": "root=172.16.0.1"}, "entry 'root=172.16.0.1': pool='root' is the name of"),
])
def test_bad_settings_name_the_variable(override: dict[str, str], message: str) -> None:
    env = {**BASE, "CLOUDFLOCK_ROLE": "executor", **override}
    with pytest.raises(condor.ConfigError, match=re.escape(message)):
        condor.settings_from_env(env, [])


def test_job_lease_is_short_so_lost_jobs_come_back_in_seconds() -> None:
    for role in ("submitter", "executor"):
        env = {**BASE, "CLOUDFLOCK_ROLE": role, "CLOUDFLOCK_FLOCK_TO": "runner2=172.16.0.3"}
        assert render(env)["JOB_DEFAULT_LEASE_DURATION"] == "20"
    env = {**BASE, "CLOUDFLOCK_ROLE": "executor", "CLOUDFLOCK_JOB_LEASE": "45"}
    assert render(env)["JOB_DEFAULT_LEASE_DURATION"] == "45"


@pytest.mark.parametrize("value", ["10", "0", "soon"])
def test_job_lease_below_what_condor_submit_accepts_is_refused(value: str) -> None:
    with pytest.raises(condor.ConfigError, match=f"CLOUDFLOCK_JOB_LEASE={value!r}|CLOUDFLOCK_JOB_LEASE={value} "):
        condor.settings_from_env({**BASE, "CLOUDFLOCK_ROLE": "executor", "CLOUDFLOCK_JOB_LEASE": value}, [])


SUBMITTER = {**BASE, "CLOUDFLOCK_ROLE": "submitter", "CLOUDFLOCK_FLOCK_TO": "runner2=172.16.0.3"}
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


def test_executors_free_a_slot_within_seconds_of_being_told_to_stop_its_job() -> None:
    # A starter stuck on a connection to a shadow that is gone cannot wind down by itself: 1 s of vacating,
    # then a fast shutdown, then SIGKILL 1 s later (HTCondor's defaults are 10 minutes and 30 s).
    macros = render(EXECUTOR)
    assert macros["MachineMaxVacateTime"] == "1"
    assert macros["KILLING_TIMEOUT"] == "1"
    assert macros["WANT_VACATE"] == "False"


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


def test_token_sync_installs_exactly_the_mounted_tokens(tmp_path: Path) -> None:
    mounted, installed = tmp_path / "mounted", tmp_path / "tokens.d"
    mounted.mkdir()
    (mounted / "executor1").write_text("token-1\n")
    (mounted / "executor2").write_text("token-2\n")
    uid, gid = os.getuid(), os.getgid()
    first = condor.sync_tokens(mounted, installed, uid, gid, keep=("cloudflock-local",))
    assert sorted(Path(p).name for p in first) == ["executor1", "executor2", "tokens.d"]
    assert stat.S_IMODE(installed.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in installed.iterdir())
    assert condor.sync_tokens(mounted, installed, uid, gid, keep=("cloudflock-local",)) == []
    # A pool taken out: its token goes; a new one comes; the file kept is kept.
    (installed / "cloudflock-local").write_text("own\n")
    (mounted / "executor1").unlink()
    (mounted / "executor3").write_text("token-3\n")
    changed = condor.sync_tokens(mounted, installed, uid, gid, keep=("cloudflock-local",))
    assert sorted(Path(p).name for p in changed) == ["executor1", "executor3"]
    assert sorted(p.name for p in installed.iterdir()) == ["cloudflock-local", "executor2", "executor3"]
    assert (installed / "executor3").read_text() == "token-3\n"


def test_executors_run_no_cpu_benchmarks_at_start() -> None:
    # condor_mips and condor_kflops took a core for the first tens of seconds of every pool, beside its first jobs.
    assert render(EXECUTOR)["RUNBENCHMARKS"] == "False"
