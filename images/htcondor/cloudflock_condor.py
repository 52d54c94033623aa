#!/usr/bin/python3
"""Render a container's HTCondor configuration from its environment and arguments.

Each pool container runs an all-in-one HTCondor pool (collector, negotiator, schedd, plus a startd on
executors). The submitter flocks to the executors' central managers; the executors let it in. Daemons
authenticate with IDTOKENS signed by the deployment's shared pool key, and every ALLOW list names both the
identity and the pool network, so only daemons holding the key and living on the network get in.

Environment (all optional but the role):
  CLOUDFLOCK_ROLE          submitter | executor
  CLOUDFLOCK_POOL          pool name (the container id in the spec); default: hostname
  CLOUDFLOCK_IP            the container's pinned address; default: the address of the hostname
  CLOUDFLOCK_NETWORK_CIDR  the pool network; write access is limited to it
  CLOUDFLOCK_FLOCK_TO      submitter: comma-separated central managers of the executor pools, written at
                           the first start into FLOCK_TO_FILE (which then persists across restarts and is
                           what the flock role rewrites, with condor_reconfig, when the executors change);
                           none given, an existing file stays and a new submitter flocks nowhere until told
  CLOUDFLOCK_FLOCK_FROM    executor: comma-separated submitters allowed to flock in; default: the network
  CLOUDFLOCK_CPUS          slots to advertise (one per CPU); default: CPUs visible to the container
  CLOUDFLOCK_MEMORY_MB     memory of the container; each slot gets MEMORY_MB / CPUS
  CLOUDFLOCK_TRUST_DOMAIN  shared by all pools of a deployment; default: cloudflock
  CLOUDFLOCK_MIN_FLOCK_LEVEL  submitter: pools always negotiated with; default: all (FCFS across pools)
  CLOUDFLOCK_INTERVAL      seconds for negotiation and update cycles; default: 2 (HTCondor's are 60-300)
  CLOUDFLOCK_JOB_LEASE     seconds a running job outlives silence between its submitter and executor;
                           default: 20 (HTCondor's is 2400; condor_submit refuses less than 20). A job
                           whose executor vanished is back to idle this long after, and a submitter
                           restart shorter than it reconnects to its running jobs instead of rerunning them.
  CLOUDFLOCK_SILENCE_TIMEOUT  seconds of silence after which a peer is taken for lost; default: 20. An
                           executor's starters promise their shadows a report at least every third of it, so a
                           submitter that hears nothing this long from a job that has reported once drops the
                           connection and, the job lease spent, puts the job back in the queue (HTCondor first
                           tries three times, 20 s each at most, to tell the executor to stop it). Connections
                           idle this long are probed (TCP keepalive): that is what notices a job cut off in its
                           first seconds, before its first report, five probes later. At least three times
                           CLOUDFLOCK_INTERVAL.
Arguments in the seed's style are accepted too: `-f LIST` (flock to), `-r ROLE`.

`flock-to LIST [--min-level N]` prints the FLOCK_TO file for that list (what the flock role writes).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys
from dataclasses import dataclass, field

ROLES = ("submitter", "executor")
CONFIG_FILE = "/etc/condor/config.d/50-cloudflock.conf"
FLOCK_TO_FILE = "/etc/condor/config.d/60-cloudflock-flock-to.conf"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it and its value."""


@dataclass(frozen=True)
class PoolSettings:
    role: str
    pool: str
    ip: str
    network_cidr: str
    cpus: int
    memory_mb: int
    trust_domain: str = "cloudflock"
    flock_to: tuple[str, ...] = ()
    flock_from: tuple[str, ...] = ()
    min_flock_level: int | None = None
    interval: int = 2
    job_lease: int = 20
    silence_timeout: int = 20
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def slot_memory_mb(self) -> int:
        return self.memory_mb // self.cpus


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.replace(" ", ",").split(",") if part.strip())


def _positive_int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a whole number") from None
    if number <= 0:
        raise ConfigError(f"{name}={value!r} must be positive")
    return number


def _visible_cpus() -> int:
    return len(os.sched_getaffinity(0))


def _total_memory_mb() -> int:
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    raise ConfigError("MemTotal missing from /proc/meminfo")


def settings_from_env(env: dict[str, str], argv: list[str]) -> PoolSettings:
    parser = argparse.ArgumentParser(prog="cloudflock-entrypoint", add_help=False)
    parser.add_argument("-f", "--flock-to", dest="flock_to")
    parser.add_argument("-r", "--role", dest="role")
    args, _ignored = parser.parse_known_args(argv)

    role = args.role or env.get("CLOUDFLOCK_ROLE", "")
    if role not in ROLES:
        raise ConfigError(f"CLOUDFLOCK_ROLE={role!r} must be one of {', '.join(ROLES)}")
    pool = env.get("CLOUDFLOCK_POOL") or socket.gethostname()
    ip = env.get("CLOUDFLOCK_IP") or socket.gethostbyname(socket.gethostname())
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise ConfigError(f"CLOUDFLOCK_IP={ip!r} is not an IP address") from None
    cidr = env.get("CLOUDFLOCK_NETWORK_CIDR", "")
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError:
        raise ConfigError(f"CLOUDFLOCK_NETWORK_CIDR={cidr!r} is not a network in CIDR notation") from None
    if address not in network:
        raise ConfigError(f"CLOUDFLOCK_IP={ip!r} is outside CLOUDFLOCK_NETWORK_CIDR={cidr!r}")

    cpus_raw = env.get("CLOUDFLOCK_CPUS") or str(_visible_cpus())
    cpus = _positive_int("CLOUDFLOCK_CPUS", cpus_raw)
    memory_raw = env.get("CLOUDFLOCK_MEMORY_MB") or str(_total_memory_mb())
    memory_mb = _positive_int("CLOUDFLOCK_MEMORY_MB", memory_raw)
    if memory_mb < cpus:
        raise ConfigError(f"CLOUDFLOCK_MEMORY_MB={memory_mb} leaves less than 1 MB per slot for {cpus} CPUs")

    flock_to = flock_targets(args.flock_to or env.get("CLOUDFLOCK_FLOCK_TO", ""))
    flock_from = _split(env.get("CLOUDFLOCK_FLOCK_FROM", "")) or (str(network),)
    min_flock_level = _min_flock_level(env.get("CLOUDFLOCK_MIN_FLOCK_LEVEL", ""), flock_to)
    interval = _positive_int("CLOUDFLOCK_INTERVAL", env.get("CLOUDFLOCK_INTERVAL", "2"))
    job_lease = _positive_int("CLOUDFLOCK_JOB_LEASE", env.get("CLOUDFLOCK_JOB_LEASE", "20"))
    if job_lease < 20:
        raise ConfigError(f"CLOUDFLOCK_JOB_LEASE={job_lease} is below 20 s, the least condor_submit accepts")
    silence_timeout = _positive_int("CLOUDFLOCK_SILENCE_TIMEOUT", env.get("CLOUDFLOCK_SILENCE_TIMEOUT", "20"))
    if silence_timeout < 3 * interval:
        raise ConfigError(f"CLOUDFLOCK_SILENCE_TIMEOUT={silence_timeout} is less than three times "
                          f"CLOUDFLOCK_INTERVAL={interval}: a starter reports every CLOUDFLOCK_INTERVAL at best")
    trust_domain = env.get("CLOUDFLOCK_TRUST_DOMAIN") or "cloudflock"
    if not trust_domain.replace("-", "").replace(".", "").isalnum():
        raise ConfigError(f"CLOUDFLOCK_TRUST_DOMAIN={trust_domain!r} must be a domain-like name")
    return PoolSettings(
        role=role, pool=pool, ip=str(address), network_cidr=str(network), cpus=cpus, memory_mb=memory_mb,
        trust_domain=trust_domain, flock_to=flock_to, flock_from=flock_from,
        min_flock_level=min_flock_level, interval=interval, job_lease=job_lease,
        silence_timeout=silence_timeout,
    )


def flock_targets(value: str) -> tuple[str, ...]:
    """The central managers of a comma- or space-separated list, each an address or a host name."""
    targets = _split(value)
    for target in targets:
        try:
            ipaddress.ip_address(target.split(":")[0])
        except ValueError:
            if not target.replace("-", "").replace(".", "").replace(":", "").isalnum():
                raise ConfigError(
                    f"CLOUDFLOCK_FLOCK_TO entry {target!r} is neither an address nor a host name") from None
    return targets


def _min_flock_level(raw: str, flock_to: tuple[str, ...]) -> int | None:
    """The pools always negotiated with; None means all of them. Checked against the list only when there is
    one: a submitter started without its list gets it later."""
    if not raw:
        return None
    try:
        level = int(raw)
    except ValueError:
        raise ConfigError(f"CLOUDFLOCK_MIN_FLOCK_LEVEL={raw!r} is not a whole number") from None
    if level < 0 or (flock_to and level > len(flock_to)):
        raise ConfigError(f"CLOUDFLOCK_MIN_FLOCK_LEVEL={raw!r} must lie between 0 and {len(flock_to)}")
    return level


def render_flock_to(flock_to: tuple[str, ...], min_flock_level: int | None = None) -> str:
    """The submitter's FLOCK_TO file: the executor pools it flocks to, all of them negotiated with (first
    come, first served) unless min_flock_level says fewer. The flock role writes the same text."""
    level = len(flock_to) if min_flock_level is None else min(min_flock_level, len(flock_to))
    return (
        "# The executor pools this submitter flocks to. Written at the first start, then by the flock role\n"
        "# (followed by condor_reconfig) whenever the executor pools change; kept across restarts.\n"
        f"FLOCK_TO = {', '.join(flock_to)}\n"
        f"MIN_FLOCK_LEVEL = {level}\n"
    )


def _allow(identities: str, sources: tuple[str, ...]) -> str:
    return ", ".join(f"{identities}/{source}" for source in sources)


def _fault_lines(s: PoolSettings) -> list[str]:
    """The Faults block: how soon a pool takes a silent peer for lost, and what it does then."""
    lines = [
        "# Faults: recover in seconds, not HTCondor's 40 minutes. A job whose executor vanished goes back to",
        "# idle when its lease ends (then matches elsewhere); a submitter back within the lease reconnects.",
        f"JOB_DEFAULT_LEASE_DURATION = {s.job_lease}",
        f"# A connection idle for {s.silence_timeout} s (CLOUDFLOCK_SILENCE_TIMEOUT) is probed; five probes unanswered",
        "# (net.ipv4.tcp_keepalive_intvl apart: 5 s in the pool containers, the kernel's default is 75 s) end it.",
        f"TCP_KEEPALIVE_INTERVAL = {s.silence_timeout}",
        "DAGMAN_USER_LOG_SCAN_INTERVAL = 1",
        "DAGMAN_SUBMIT_DELAY = 0",
        "DAGMAN_MAX_SUBMITS_PER_INTERVAL = 500",
    ]
    if s.role == "submitter":
        lines += [
            "# The schedd advertises itself to the executors' collectors over UDP (port 9618 must pass). Over TCP a",
            "# collector that stopped answering fills the connection's send buffer within seconds, and the next",
            "# advertisement holds the whole schedd for 20 s: no pool is negotiated with, no DAG node starts.",
            "UPDATE_COLLECTOR_WITH_TCP = False",
        ]
    else:
        lines += [
            f"# A running job's starter reports to its shadow at least every {s.silence_timeout // 3} s; a shadow that",
            "# hears nothing for three times that drops the connection, and once the job lease is spent the job",
            "# goes back to the submitter's queue (and runs elsewhere) instead of waiting for TCP to give up.",
            f"STARTER_UPDATE_INTERVAL_MAX = {s.silence_timeout // 3}",
        ]
    return [*lines, ""]


def render_config(s: PoolSettings) -> str:
    """The HTCondor configuration for one pool container, as the text of a config.d file."""
    network = (s.network_cidr, "127.0.0.1")
    daemons = "MASTER, COLLECTOR, NEGOTIATOR, SCHEDD" + (", STARTD" if s.role == "executor" else "")
    lines = [
        "# Rendered by cloudflock at container start; edits are lost on restart.",
        f"# pool {s.pool}: {s.role}, {s.cpus} slot(s) of {s.slot_memory_mb} MB",
        f"CLOUDFLOCK_POOL = \"{s.pool}\"",
        f"CLOUDFLOCK_ROLE = {s.role}",
        "STARTD_ATTRS = $(STARTD_ATTRS) CLOUDFLOCK_POOL",
        "SCHEDD_ATTRS = $(SCHEDD_ATTRS) CLOUDFLOCK_POOL",
        f"CONDOR_HOST = {s.ip}",
        f"NETWORK_INTERFACE = {s.ip}",
        f"COLLECTOR_NAME = {s.pool}",
        f"DAEMON_LIST = {daemons}",
        "USE_SHARED_PORT = True",
        "DISCARD_SESSION_KEYRING_ON_STARTUP = False",
        "",
        "# Identity and security: one signing key per deployment, shared by every pool of it.",
        f"TRUST_DOMAIN = {s.trust_domain}",
        "UID_DOMAIN = $(TRUST_DOMAIN)",
        "SEC_TOKEN_POOL_SIGNING_KEY_FILE = /etc/condor/passwords.d/POOL",
        "SEC_DEFAULT_AUTHENTICATION = REQUIRED",
        "SEC_DEFAULT_AUTHENTICATION_METHODS = FS, IDTOKENS",
        "SEC_CLIENT_AUTHENTICATION_METHODS = FS, IDTOKENS",
        "SEC_READ_AUTHENTICATION = REQUIRED",
        "SEC_DEFAULT_ENCRYPTION = REQUIRED",
        "SEC_DEFAULT_INTEGRITY = REQUIRED",
        "SEC_READ_ENCRYPTION = REQUIRED",
        "SEC_READ_INTEGRITY = REQUIRED",
        f"ALLOW_READ = {_allow('*@$(TRUST_DOMAIN)', network)}",
        f"ALLOW_WRITE = {_allow('*@$(TRUST_DOMAIN)', network)}",
        f"ALLOW_DAEMON = {_allow('condor@$(TRUST_DOMAIN)', network)}",
        f"ALLOW_NEGOTIATOR = {_allow('condor@$(TRUST_DOMAIN)', network)}",
        f"ALLOW_ADVERTISE_MASTER = {_allow('condor@$(TRUST_DOMAIN)', network)}",
        f"ALLOW_ADVERTISE_SCHEDD = {_allow('condor@$(TRUST_DOMAIN)', network)}",
        f"ALLOW_ADVERTISE_STARTD = {_allow('condor@$(TRUST_DOMAIN)', network)}",
        "ALLOW_ADMINISTRATOR = condor@$(TRUST_DOMAIN)/$(IP_ADDRESS), root@$(TRUST_DOMAIN)/127.0.0.1, "
        "condor@$(TRUST_DOMAIN)/127.0.0.1, root@$(TRUST_DOMAIN)/$(IP_ADDRESS)",
        "DENY_WRITE = anonymous@*, unauthenticated@*",
        "DENY_READ = anonymous@*, unauthenticated@*",
        "",
        "# A small federation reacts in seconds, not in HTCondor's 60-300 s defaults.",
        f"NEGOTIATOR_INTERVAL = {s.interval}",
        "NEGOTIATOR_MIN_INTERVAL = 1",
        "NEGOTIATOR_CYCLE_DELAY = 1",
        f"SCHEDD_INTERVAL = {max(s.interval, 2)}",
        "SCHEDD_MIN_INTERVAL = 1",
        f"UPDATE_INTERVAL = {s.interval}",
        f"MASTER_UPDATE_INTERVAL = {max(s.interval, 5)}",
        f"STARTER_UPDATE_INTERVAL = {s.interval}",
        f"SHADOW_QUEUE_UPDATE_INTERVAL = {max(s.interval, 2)}",
        "JOB_START_DELAY = 0",
        "JOB_START_COUNT = 50",
        "",
        *_fault_lines(s),
    ]
    if s.role == "submitter":
        lines += [
            "# Jobs go to the executor pools; this pool runs none itself (DAG bookkeeping runs locally).",
            f"# FLOCK_TO and MIN_FLOCK_LEVEL live in {FLOCK_TO_FILE}, which changes without a restart.",
            "FLOCK_INCREMENT = 1",
            f"ALLOW_NEGOTIATOR_SCHEDD = {_allow('condor@$(TRUST_DOMAIN)', network)}",
            "START_LOCAL_UNIVERSE = True",
            "START_SCHEDULER_UNIVERSE = True",
            "",
        ]
    else:
        lines += [
            "# Executor: one static slot per CPU, memory split evenly (the seed's mem / n_cpus).",
            f"FLOCK_FROM = {', '.join(s.flock_from)}",
            f"NUM_CPUS = {s.cpus}",
            f"MEMORY = {s.memory_mb}",
            f"NUM_SLOTS_TYPE_1 = {s.cpus}",
            f"SLOT_TYPE_1 = cpus=1, mem={s.slot_memory_mb}",
            "SLOT_TYPE_1_PARTITIONABLE = False",
            "START = True",
            "SUSPEND = False",
            "PREEMPT = False",
            "KILL = False",
            "WANT_SUSPEND = False",
            "WANT_VACATE = False",
            "RANK = 0",
            "CLAIM_WORKLIFE = -1",
            "BASE_CGROUP =",
            "USE_PID_NAMESPACES = False",
            "",
        ]
    return "\n".join(lines)


def flock_to_file_text(s: PoolSettings, existing: str | None) -> str | None:
    """What the submitter's FLOCK_TO file should hold after this start: a given list at the first start, the
    existing file otherwise (None: leave it as it is); None for executors."""
    if s.role != "submitter":
        return None
    if existing is not None:
        return None
    return render_flock_to(s.flock_to, s.min_flock_level)


def _print_flock_to(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cloudflock_condor.py flock-to")
    parser.add_argument("targets", help="comma-separated central managers of the executor pools")
    parser.add_argument("--min-level", default="")
    args = parser.parse_args(argv)
    try:
        targets = flock_targets(args.targets)
        sys.stdout.write(render_flock_to(targets, _min_flock_level(args.min_level, targets)))
    except ConfigError as error:
        print(f"cloudflock: bad pool setting: {error}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["flock-to"]:
        return _print_flock_to(argv[1:])
    try:
        settings = settings_from_env(dict(os.environ), argv)
    except ConfigError as error:
        print(f"cloudflock: bad pool setting: {error}", file=sys.stderr)
        return 2
    with open(CONFIG_FILE, "w", encoding="utf-8") as handle:
        handle.write(render_config(settings))
    existing = None
    if os.path.exists(FLOCK_TO_FILE):
        with open(FLOCK_TO_FILE, encoding="utf-8") as handle:
            existing = handle.read()
    flock_to_text = flock_to_file_text(settings, existing)
    if flock_to_text is not None:
        with open(FLOCK_TO_FILE, "w", encoding="utf-8") as handle:
            handle.write(flock_to_text)
    print(f"cloudflock: {settings.role} pool {settings.pool} at {settings.ip}, {settings.cpus} slot(s)")
    if settings.role == "submitter" and not settings.flock_to and existing is None:
        print(f"cloudflock: no executor pools yet: {FLOCK_TO_FILE} names none until the flock role writes "
              "them (or start with -f LIST)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
