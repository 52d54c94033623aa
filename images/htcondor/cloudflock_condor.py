#!/usr/bin/python3
"""Render a container's HTCondor configuration from its environment and arguments; install its credentials.

Each pool container runs an all-in-one HTCondor pool (collector, negotiator, schedd, plus a startd on
executors). The submitter flocks to the executors' central managers; the executors let it in. Every pool has
its own signing key, known by the pool's name; its own daemons and users authenticate within it (FS). Another
pool gets in only with a token signed by this pool's key, which names it (<pool>@<trust domain>), from its
address, and only at the levels flocking needs: the submitter's schedd advertises to and queries an executor's
collector; an executor's negotiator negotiates at the submitter's schedd. Claims, shadows and starters ride on
the claim's security session. No pool is ADMINISTRATOR, DAEMON or WRITE anywhere but in itself.

Environment (all optional but the role):
  CLOUDFLOCK_ROLE          submitter | executor
  CLOUDFLOCK_POOL          pool name (the container id in the spec), also the name of its signing key and its
                           identity at the other pools; default: hostname
  CLOUDFLOCK_IP            the container's pinned address; default: the address of the hostname
  CLOUDFLOCK_NETWORK_CIDR  the pool network the address lies in
  CLOUDFLOCK_FLOCK_TO      submitter: comma-separated NAME=ADDRESS of the executor pools (their names, their
                           central managers), written at the first start into FLOCK_TO_FILE (which then
                           persists across restarts and is what the flock role rewrites, with condor_reconfig,
                           when the executors change); none given, an existing file stays and a new submitter
                           flocks nowhere until told
  CLOUDFLOCK_FLOCK_FROM    executor: comma-separated NAME=ADDRESS of the submitter pools allowed to flock in
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
  CLOUDFLOCK_SECRETS_DIR   the pool's credentials, mounted read-only: key (its signing key), tokens/<pool>
                           (its daemons' tokens for that pool), user-tokens/<pool> (its workflow user's);
                           default: /run/secrets/cloudflock
Arguments in the seed's style are accepted too: `-f LIST` (flock to), `-r ROLE`.

`flock-to LIST [--min-level N] [--revoked JTI,...]` prints the FLOCK_TO file for that list (what the flock
role writes): the executors flocked to, whose negotiators may negotiate here, and the tokens refused.
`credentials` installs the tokens of the mounted credentials directory (at start, and when they change).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path


def _constants() -> dict:
    """images/constants.json, the paths and names this image shares with the roles: the image installs it
    beside this script, a checkout has it one directory up."""
    here = Path(__file__).resolve().parent
    for path in (here / "constants.json", here.parent / "constants.json"):
        if path.is_file():
            with path.open(encoding="utf-8") as handle:
                return json.load(handle)
    raise FileNotFoundError(f"no constants.json beside {here} or one directory up")


CONSTANTS = _constants()
ROLES = ("submitter", "executor")
CONFIG_FILE = "/etc/condor/config.d/50-cloudflock.conf"
FLOCK_TO_FILE = CONSTANTS["flock_to_file"]
SECRETS_DIR = CONSTANTS["secrets_dir"]
PASSWORDS_DIR = "/etc/condor/passwords.d"
TOKENS_DIR = "/etc/condor/tokens.d"
WORKFLOW_USER = CONSTANTS["workflow_user"]
# The workflow user's token for this pool itself, signed with its own key; kept when the others change.
LOCAL_USER_TOKEN = "cloudflock-local"
# Pool names are the spec's container ids; HTCondor's own daemons and users have these names in every pool.
_POOL_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
RESERVED_NAMES = ("condor", "root", WORKFLOW_USER, "nobody")
_TOKEN_ID = re.compile(r"^[0-9a-f]{8,64}$")


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
    flock_to: tuple[tuple[str, str], ...] = ()
    flock_from: tuple[tuple[str, str], ...] = ()
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
    pool = pool_name(env.get("CLOUDFLOCK_POOL") or socket.gethostname(), "CLOUDFLOCK_POOL")
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
    flock_from = flock_targets(env.get("CLOUDFLOCK_FLOCK_FROM", ""), "CLOUDFLOCK_FLOCK_FROM")
    if role == "executor" and not flock_from:
        raise ConfigError("CLOUDFLOCK_FLOCK_FROM='' names no submitter pool: give NAME=ADDRESS of the submitter(s) "
                          "allowed to flock in")
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


def pool_name(name: str, variable: str) -> str:
    """A pool's name: also the name of its signing key and its identity (<name>@<trust domain>) elsewhere."""
    if not _POOL_NAME.match(name):
        raise ConfigError(f"{variable}={name!r} is not a pool name (lower-case letters, digits and dashes)")
    if name in RESERVED_NAMES:
        raise ConfigError(f"{variable}={name!r} is the name of HTCondor's own {name}@<domain> in every pool: "
                          "name the pool otherwise")
    return name


def flock_targets(value: str, variable: str = "CLOUDFLOCK_FLOCK_TO") -> tuple[tuple[str, str], ...]:
    """The pools of a comma- or space-separated list of NAME=ADDRESS, the address (of the pool's central
    manager) an IP address or a host name, with an optional port."""
    targets = []
    for entry in _split(value):
        name, found, address = entry.partition("=")
        if not found or not address:
            raise ConfigError(f"{variable} entry {entry!r} names no pool: give NAME=ADDRESS (the pool's name is "
                              "its identity here)")
        pool_name(name, f"{variable} entry {entry!r}: pool")
        try:
            ipaddress.ip_address(address.split(":")[0])
        except ValueError:
            if not address.replace("-", "").replace(".", "").replace(":", "").isalnum():
                raise ConfigError(
                    f"{variable} entry {entry!r}: {address!r} is neither an address nor a host name") from None
        targets.append((name, address))
    names = [name for name, _ in targets]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{variable} names the pool {name!r} more than once")
    return tuple(targets)


def token_ids(value: str) -> tuple[str, ...]:
    """The ids (jti) of revoked tokens, comma-separated: hex digits, as HTCondor and the flock role make them."""
    ids = _split(value)
    for jti in ids:
        if not _TOKEN_ID.match(jti):
            raise ConfigError(f"revoked token id {jti!r} is not hex digits")
    return tuple(sorted(set(ids)))


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


def render_flock_to(flock_to: tuple[tuple[str, str], ...], min_flock_level: int | None = None,
                    revoked: tuple[str, ...] = ()) -> str:
    """The submitter's FLOCK_TO file: the executor pools it flocks to, all of them negotiated with (first
    come, first served) unless min_flock_level says fewer; their negotiators, each by its own identity and
    from its address, are the only other pools' daemons allowed to negotiate here; the revoked tokens are
    refused whoever presents them. The flock role writes the same text."""
    level = len(flock_to) if min_flock_level is None else min(min_flock_level, len(flock_to))
    negotiators = ["$(CLOUDFLOCK_DAEMONS)"] + [_identity(name, address) for name, address in flock_to]
    lines = [
        "# The executor pools this submitter flocks to. Written at the first start, then by the flock role",
        "# (followed by condor_reconfig) whenever the executor pools change; kept across restarts.",
        f"FLOCK_TO = {', '.join(address for _, address in flock_to)}",
        f"MIN_FLOCK_LEVEL = {level}",
        "# Their negotiators, each by the identity its token (signed with this pool's key) names, from its address.",
        f"ALLOW_NEGOTIATOR_SCHEDD = {', '.join(negotiators)}",
    ]
    if revoked:
        quoted = ", ".join(f'"{jti}"' for jti in revoked)
        lines += ["# Tokens of pools taken out of the federation: refused even if a copy of them is presented.",
                  f"SEC_TOKEN_REVOCATION_EXPR = member(jti, {{{quoted}}})"]
    return "\n".join(lines) + "\n"


def _identity(name: str, address: str) -> str:
    """Another pool's daemons: the identity its tokens name, from its address (without port)."""
    return f"{name}@$(TRUST_DOMAIN)/{address.split(':')[0]}"


def _local(identities: tuple[str, ...], ip: str) -> str:
    return ", ".join(f"{who}@$(TRUST_DOMAIN)/{source}" for who in identities for source in (ip, "127.0.0.1"))


def _fault_lines(s: PoolSettings) -> list[str]:
    """The Faults block: how soon a pool takes a silent peer for lost, and what it does then."""
    lines = [
        "# Faults: recover in seconds, not HTCondor's 40 minutes. A job whose executor vanished goes back to",
        "# idle when its lease ends (then matches elsewhere); a submitter back within the lease reconnects.",
        f"JOB_DEFAULT_LEASE_DURATION = {s.job_lease}",
        f"# A connection idle for {s.silence_timeout} s (CLOUDFLOCK_SILENCE_TIMEOUT) is probed; five probes unanswered",
        "# (net.ipv4.tcp_keepalive_intvl apart: 3 s in the pool containers, the kernel's default is 75 s) end it.",
        f"TCP_KEEPALIVE_INTERVAL = {s.silence_timeout}",
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
            "# A job asked to stop (its submitter let it go, or a RELEASE_CLAIM once a cut pool is back) gets 1 s,",
            "# then a fast shutdown, then SIGKILL 1 s later: its starter may be stuck on a connection to a shadow",
            "# long gone (measured: it answers neither request), and every second here is a second a pool back from",
            "# a cut takes no work. KINC's jobs keep nothing to save: they start again from their inputs.",
            "MachineMaxVacateTime = 1",
            "KILLING_TIMEOUT = 1",
        ]
    return [*lines, ""]


def render_config(s: PoolSettings) -> str:
    """The HTCondor configuration for one pool container, as the text of a config.d file."""
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
        "# Identity and security: this pool's own signing key, named after it. Within the pool its daemons and",
        "# users authenticate by FS; another pool only by a token signed with this key, which names it, and only",
        "# at the levels flocking needs (below). Nothing of another pool is ADMINISTRATOR, DAEMON or WRITE here.",
        f"TRUST_DOMAIN = {s.trust_domain}",
        "UID_DOMAIN = $(TRUST_DOMAIN)",
        f"SEC_PASSWORD_DIRECTORY = {PASSWORDS_DIR}",
        f"SEC_TOKEN_POOL_SIGNING_KEY_FILE = {PASSWORDS_DIR}/{s.pool}",
        f"SEC_TOKEN_ISSUER_KEY = {s.pool}",
        f"SEC_TOKEN_SYSTEM_DIRECTORY = {TOKENS_DIR}",
        "SEC_DEFAULT_AUTHENTICATION = REQUIRED",
        "SEC_DEFAULT_AUTHENTICATION_METHODS = FS, IDTOKENS",
        "SEC_CLIENT_AUTHENTICATION_METHODS = FS, IDTOKENS",
        "SEC_READ_AUTHENTICATION = REQUIRED",
        "SEC_DEFAULT_ENCRYPTION = REQUIRED",
        "SEC_DEFAULT_INTEGRITY = REQUIRED",
        "SEC_READ_ENCRYPTION = REQUIRED",
        "SEC_READ_INTEGRITY = REQUIRED",
        "# This pool's own daemons, and its daemons and users (root, the workflow user), in this container.",
        f"CLOUDFLOCK_DAEMONS = {_local(('condor',), s.ip)}",
        f"CLOUDFLOCK_LOCAL = $(CLOUDFLOCK_DAEMONS), {_local(('root', WORKFLOW_USER), s.ip)}",
        "ALLOW_READ = $(CLOUDFLOCK_LOCAL)",
        "ALLOW_WRITE = $(CLOUDFLOCK_LOCAL)",
        "ALLOW_DAEMON = $(CLOUDFLOCK_DAEMONS)",
        "ALLOW_NEGOTIATOR = $(CLOUDFLOCK_DAEMONS)",
        "ALLOW_ADVERTISE_MASTER = $(CLOUDFLOCK_DAEMONS)",
        "ALLOW_ADVERTISE_SCHEDD = $(CLOUDFLOCK_DAEMONS)",
        "ALLOW_ADVERTISE_STARTD = $(CLOUDFLOCK_DAEMONS)",
        f"ALLOW_ADMINISTRATOR = $(CLOUDFLOCK_DAEMONS), {_local(('root',), s.ip)}",
        "DENY_WRITE = anonymous@*, unauthenticated@*",
        "DENY_READ = anonymous@*, unauthenticated@*",
        "",
        "# A small federation reacts in seconds, not in HTCondor's 60-300 s defaults. Each knob, and why:",
        "# idle jobs nobody rescheduled for wait at most this long for a negotiation cycle;",
        f"NEGOTIATOR_INTERVAL = {s.interval}",
        "# a reschedule (each submit sends one) starts a cycle at once unless one ended less than 1 s ago;",
        "NEGOTIATOR_MIN_INTERVAL = 1",
        "# 1 s of rest after each cycle, so back-to-back cycles leave the cores to the jobs;",
        "NEGOTIATOR_CYCLE_DELAY = 1",
        "# the schedd's bookkeeping (its idle jobs advertised to the executors' collectors, a DAG's DAGMan",
        "# job started) runs at least every second: a reschedule then waits for no longer timer;",
        "SCHEDD_INTERVAL = 1",
        "# and a reschedule (DAGMan sends one after its submits) is acted on within 1 s;",
        "SCHEDD_MIN_INTERVAL = 1",
        "# daemons' ads, a slot's state among them, reach the collector within this;",
        f"UPDATE_INTERVAL = {s.interval}",
        "# the master's ad says only that the pool is up: no hurry;",
        f"MASTER_UPDATE_INTERVAL = {max(s.interval, 5)}",
        "# a running job's starter reports to its shadow this often (fault detection builds on it);",
        f"STARTER_UPDATE_INTERVAL = {s.interval}",
        "# the shadow copies those reports into the schedd's queue (what kincflow status shows);",
        f"SHADOW_QUEUE_UPDATE_INTERVAL = {max(s.interval, 2)}",
        "# matched jobs start without a pause between them, up to 50 at a time.",
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
            "# The executors' negotiators are added, by their identities, in the FLOCK_TO file.",
            "ALLOW_NEGOTIATOR_SCHEDD = $(CLOUDFLOCK_DAEMONS)",
            "START_LOCAL_UNIVERSE = True",
            "START_SCHEDULER_UNIVERSE = True",
            "# DAGMan: the next DAG node follows its parents within a second. It reads the job event log every",
            "# second (HTCondor's default is 5; each of the DAG's steps waits for one read);",
            "DAGMAN_USER_LOG_SCAN_INTERVAL = 1",
            "# submits the ready nodes one right after the other,",
            "DAGMAN_SUBMIT_DELAY = 0",
            "# all of them in one go (500 a cycle, not 100),",
            "DAGMAN_MAX_SUBMITS_PER_INTERVAL = 500",
            "# even when that takes longer than a log read interval (it would stop at 1 s and read the log first).",
            "DAGMAN_AGGRESSIVE_SUBMIT = True",
            "",
        ]
    else:
        lines += [
            "# The submitters flocking here advertise to this pool's collector and query it, each by the",
            "# identity its token (signed with this pool's key) names, from its address; nothing else.",
            f"FLOCK_FROM = {', '.join(address.split(':')[0] for _, address in s.flock_from)}",
            f"CLOUDFLOCK_SUBMITTERS = {', '.join(_identity(name, address) for name, address in s.flock_from)}",
            "COLLECTOR.ALLOW_READ = $(CLOUDFLOCK_LOCAL), $(CLOUDFLOCK_SUBMITTERS)",
            "COLLECTOR.ALLOW_ADVERTISE_SCHEDD = $(CLOUDFLOCK_DAEMONS), $(CLOUDFLOCK_SUBMITTERS)",
            "",
            "# Executor: one static slot per CPU, memory split evenly (the seed's mem / n_cpus).",
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
            "# A claimed slot runs its submitter's next job at once, never negotiating again while it has jobs.",
            "CLAIM_WORKLIFE = -1",
            "# No CPU benchmarks at start (condor_mips, condor_kflops: a core's worth of CPU for the pool's first",
            "# tens of seconds, taken from the first jobs); nothing here ranks or matches on Mips or KFlops.",
            "RUNBENCHMARKS = False",
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
    parser.add_argument("targets", help="comma-separated NAME=ADDRESS of the executor pools")
    parser.add_argument("--min-level", default="")
    parser.add_argument("--revoked", default="", help="comma-separated ids (jti) of the tokens to refuse")
    args = parser.parse_args(argv)
    try:
        targets = flock_targets(args.targets)
        sys.stdout.write(render_flock_to(targets, _min_flock_level(args.min_level, targets),
                                         token_ids(args.revoked)))
    except ConfigError as error:
        print(f"cloudflock: bad pool setting: {error}", file=sys.stderr)
        return 2
    return 0


def _same_file(source: Path, target: Path, uid: int, gid: int) -> bool:
    try:
        info = target.stat()
    except FileNotFoundError:
        return False
    return (info.st_uid, info.st_gid, info.st_mode & 0o777) == (uid, gid, 0o600) and \
        target.read_bytes() == source.read_bytes()


def sync_tokens(source: Path, target: Path, uid: int, gid: int, keep: tuple[str, ...] = ()) -> list[str]:
    """Make the token directory target hold exactly the tokens of source (and the files named in keep), each
    owned by uid:gid with mode 0600, in a directory of mode 0700; the names of the files changed."""
    changed = []
    if not target.is_dir():
        target.mkdir(parents=True, mode=0o700)
        changed.append(str(target))
    os.chown(target, uid, gid)
    os.chmod(target, 0o700)
    wanted = {entry.name: entry for entry in source.iterdir() if entry.is_file()} if source.is_dir() else {}
    for name, entry in sorted(wanted.items()):
        path = target / name
        if _same_file(entry, path, uid, gid):
            continue
        temporary = target / f".{name}.new"
        shutil.copyfile(entry, temporary)
        os.chown(temporary, uid, gid)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
        changed.append(str(path))
    for path in sorted(target.iterdir()):
        if path.name not in wanted and path.name not in keep:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            changed.append(str(path))
    return changed


def install_credentials(env: dict[str, str], start: bool) -> int:
    """This pool's credentials from the mounted directory: at start its signing key (as the only key of
    passwords.d) and its workflow user's token for this pool; always, the tokens it holds at other pools."""
    secrets = Path(env.get("CLOUDFLOCK_SECRETS_DIR") or SECRETS_DIR)
    try:
        pool = pool_name(env.get("CLOUDFLOCK_POOL") or socket.gethostname(), "CLOUDFLOCK_POOL")
    except ConfigError as error:
        print(f"cloudflock: bad pool setting: {error}", file=sys.stderr)
        return 2
    key_file = secrets / "key"
    if not key_file.is_file() or not key_file.read_text(encoding="utf-8").strip():
        print(f"cloudflock: no signing key at {key_file}: mount this pool's credentials directory at {secrets} "
              "(read-only)", file=sys.stderr)
        return 2
    user = pwd.getpwnam(WORKFLOW_USER)
    user_tokens = Path(user.pw_dir) / ".condor" / "tokens.d"
    changed: list[str] = []
    if start:
        passwords = Path(PASSWORDS_DIR)
        passwords.mkdir(mode=0o700, exist_ok=True)
        os.chmod(passwords, 0o700)
        for path in passwords.iterdir():
            if path.name != pool:
                path.unlink()
        own = passwords / pool
        subprocess.run(["condor_store_cred", "add", "-c", "-p", key_file.read_text(encoding="utf-8").strip(),
                        "-f", str(own)], check=True, stdout=subprocess.DEVNULL)
        os.chmod(own, 0o600)
        for directory in (user_tokens.parent, user_tokens):
            directory.mkdir(mode=0o700, exist_ok=True)
            os.chown(directory, user.pw_uid, user.pw_gid)
        local = subprocess.run(["condor_token_create", "-identity", f"{WORKFLOW_USER}@{_trust_domain(env)}",
                                "-key", pool], check=True, capture_output=True, text=True).stdout
        (user_tokens / LOCAL_USER_TOKEN).write_text(local, encoding="utf-8")
        os.chown(user_tokens / LOCAL_USER_TOKEN, user.pw_uid, user.pw_gid)
        os.chmod(user_tokens / LOCAL_USER_TOKEN, 0o600)
    changed += sync_tokens(secrets / "tokens", Path(TOKENS_DIR), 0, 0)
    changed += sync_tokens(secrets / "user-tokens", user_tokens, user.pw_uid, user.pw_gid, keep=(LOCAL_USER_TOKEN,))
    print(f"cloudflock: credentials of pool {pool}: {'changed ' + ', '.join(changed) if changed else 'unchanged'}")
    return 0


def _trust_domain(env: dict[str, str]) -> str:
    return env.get("CLOUDFLOCK_TRUST_DOMAIN") or "cloudflock"


def main(argv: list[str]) -> int:
    if argv[:1] == ["flock-to"]:
        return _print_flock_to(argv[1:])
    if argv[:1] == ["credentials"]:
        return install_credentials(dict(os.environ), start="--start" in argv[1:])
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
