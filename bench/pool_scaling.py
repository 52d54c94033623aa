"""The embedded default with 2, 4 and 8 executor pools (inventory/local's local_executor_pools): how long the
pools take to come up, the scheduling overhead of short jobs, and each pool container's idle memory.

pool_ready_s: from the first pool container's creation to every executor pool visible from the submitter
(the kinc role's check, polled every 2 s; summary.json's pool_ready_s counts from the last container's start).
overhead ratio: makespan / (sum of job runtimes / slots) for --jobs jobs of --seconds s, as in
bench/pool_overhead.py; its growth from the fewest pools to the most is the figure with a goal.
idle memory: docker stats --no-stream of every pool container, --settle s after the run.
Goals: pool_ready_s <= 15 s at 8 pools, the 8-pool ratio <= 1.2 x the 2-pool ratio, <= 64 MiB an executor.

Each pool count runs on a fresh federation of its own (deployment cfscale-N, 10.87.N.0/24), removed afterwards.
Usage: python bench/pool_scaling.py [--pools 2 4 8] [--jobs 64] [--seconds 5] [--settle 10] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

# The repository, for tests.support (which makes the collection importable).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from figures import figure, goal_text, write_json  # noqa: E402
from pool_overhead import breakdown  # noqa: E402

from tests.support.flock import Federation  # noqa: E402
from tests.support.local_spec import local_spec  # noqa: E402

GOAL_READY_S = 15.0  # at the most pools
GOAL_RATIO_GROWTH = 1.2  # overhead ratio at the most pools / at the fewest
GOAL_IDLE_MIB = 64.0  # per executor pool container
UNITS = {"b": 1 / 2**20, "kib": 1 / 1024, "kb": 1000 / 2**20, "mib": 1, "mb": 1e6 / 2**20, "gib": 1024,
         "gb": 1e9 / 2**20}


def docker_time(stamp: str) -> float:
    """Docker's RFC 3339 time (nanoseconds, Z) as epoch seconds."""
    stamp = re.sub(r"(\.\d{6})\d*", r"\1", stamp.strip()).replace("Z", "+00:00")
    return datetime.fromisoformat(stamp).timestamp()


def mebibytes(usage: str) -> float:
    """The used part of docker stats' MemUsage ("43.2MiB / 2GiB") in MiB."""
    match = re.match(r"\s*([\d.]+)\s*([A-Za-z]+)", usage)
    if not match or match.group(2).lower() not in UNITS:
        raise ValueError(f"unreadable memory usage {usage!r}")
    return round(float(match.group(1)) * UNITS[match.group(2).lower()], 1)


def created_to_visible_s(fed: Federation, summary: dict[str, Any]) -> float:
    """First container created to every executor visible: the visibility moment is the last start plus the
    summary's pool_ready_s."""
    names = [f"{fed.name}-{pool['id']}" for pool in fed.spec["flock_containers"]]
    out = fed.docker("inspect", "-f", "{{.Created}} {{.State.StartedAt}}", *names, check=True).stdout.split("\n")
    times = [tuple(map(docker_time, line.split())) for line in out if line.strip()]
    first_created = min(created for created, _ in times)
    last_started = max(started for _, started in times)
    return round(last_started + summary["pool_ready_s"] - first_created, 1)


def idle_memory(fed: Federation) -> dict[str, float]:
    names = [f"{fed.name}-{pool['id']}" for pool in fed.spec["flock_containers"]]
    out = fed.docker("stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}", *names, check=True).stdout
    usage = dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)
    return {name.removeprefix(f"{fed.name}-"): mebibytes(value) for name, value in sorted(usage.items())}


def measure(root: Path, pools: int, options: argparse.Namespace) -> dict[str, Any]:
    fed = Federation(root / f"pools{pools}", f"cfscale-{pools}", f"10.87.{pools}", layout=local_spec(pools))
    slots = sum(int(c["cpus"]) for c in fed.spec["flock_containers"] if c["role"] == "executor")
    try:
        fed.playbook("playbooks/teardown.yml")
        run = fed.playbook("kinc.yml", extra={"kinc_test_jobs": options.jobs, "kinc_test_job_seconds": options.seconds})
        if run.rc != 0:
            raise SystemExit(f"kinc.yml with {pools} pools failed:\n{run.output[-3000:]}")
        summary = fed.summary(run)
        ready = created_to_visible_s(fed, summary)
        time.sleep(options.settle)
        memory = idle_memory(fed)
    finally:
        fed.playbook("playbooks/teardown.yml")
    ideal = summary["job_runtime_s"] / slots
    executors = [value for pool, value in memory.items() if pool != "submitter"]
    return {"pools": pools, "slots": slots, "pool_ready_s": ready, "last_start_to_visible_s": summary["pool_ready_s"],
            "makespan_s": summary["makespan_s"], "ideal_s": round(ideal, 1),
            "overhead_ratio": round(summary["makespan_s"] / ideal, 3), **breakdown(summary),
            "jobs_by_pool": summary["jobs_by_pool"], "idle_mib": memory,
            "executor_idle_mib_max": max(executors),
            "executor_idle_mib_mean": round(sum(executors) / len(executors), 1)}


def scaling_figures(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every pool count's figures; the goals stand beside the most pools' (and the ratio's growth to them)."""
    fewest, most = rows[0], rows[-1]
    figures = []
    for row in rows:
        top = row is most
        figures += [
            figure(f"pool_ready_s, {row['pools']} pools", row["pool_ready_s"], "s",
                   ("<=", GOAL_READY_S) if top else None),
            figure(f"overhead ratio, {row['pools']} pools", row["overhead_ratio"], ""),
            figure(f"executor idle memory (max), {row['pools']} pools", row["executor_idle_mib_max"], "MiB",
                   ("<=", GOAL_IDLE_MIB)),
        ]
    if len(rows) > 1:
        figures.append(figure(f"overhead ratio growth, {most['pools']} / {fewest['pools']} pools",
                              round(most["overhead_ratio"] / fewest["overhead_ratio"], 3), "x",
                              ("<=", GOAL_RATIO_GROWTH)))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--jobs", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--settle", type=float, default=10.0, help="seconds idle before docker stats")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    options = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as root:
        for pools in sorted(options.pools):
            row = measure(Path(root), pools, options)
            rows.append(row)
            print(f"{pools} pools ({row['slots']} slots): pool_ready_s {row['pool_ready_s']:.1f} (last start to "
                  f"visible {row['last_start_to_visible_s']:.1f})  {options.jobs} x {options.seconds:g} s: makespan_s "
                  f"{row['makespan_s']:.1f} against {row['ideal_s']:.1f}, overhead ratio {row['overhead_ratio']:.2f}  "
                  f"first_job_s {row['first_job_s']} gap_s {row['gap_s']} tail_s {row['tail_s']}  idle MiB "
                  f"{json.dumps(row['idle_mib'])}", flush=True)
    figures = scaling_figures(rows)
    for row in figures:
        print(f"{row['name']}: {row['value']}{' ' + row['unit'] if row['unit'] else ''}{goal_text(row)}")
    write_json(options.json, "pool_scaling", figures, rows=rows, jobs=options.jobs, seconds=options.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
