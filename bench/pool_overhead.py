"""Pool-ready time and job-overhead ratio of the embedded default.

pool_ready_s: from the last pool container's start to every executor pool visible from the submitter.
overhead ratio: makespan / (sum of job runtimes / slots), for 64 short jobs of 5 s and of 2 s, each beside
its goal; 1.0 would be a perfectly packed schedule with no negotiation, transfer or DAG bookkeeping cost.
Where the rest goes, from the jobs' own records: first_job_s (DAG submitted to the first job's start),
gap_s (mean time a slot stands between one job's end and the next one's start), tail_s (the last job's end
to the DAG's summary).

Runs on a fresh federation of its own (deployment cfbench, 10.91.0.0/24) and removes it afterwards.
--interval S sets the pools' negotiation and update cycle (flock_interval; the role's default otherwise).
Usage: python bench/pool_overhead.py [--jobs 64] [--seconds 5 2] [--repeat 1] [--interval S]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

# The repository, for tests.support (which makes the collection importable).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.flock import Federation  # noqa: E402

GOALS = {5.0: 1.15, 2.0: 1.5}  # overhead ratio at most, by job seconds (for 64 jobs)


def breakdown(summary: dict[str, Any]) -> dict[str, float]:
    """Where the makespan goes beyond the jobs' own runtimes: before the first job, between jobs, after the last."""
    jobs = summary["jobs"]
    by_slot: dict[str, list[dict[str, Any]]] = {}
    for job in jobs:
        by_slot.setdefault(f"{job['pool']}/{job['slot']}", []).append(job)
    gaps = [after["start"] - before["end"] for slot in by_slot.values()
            for before, after in itertools.pairwise(sorted(slot, key=lambda job: job["start"]))]
    return {"first_job_s": round(min(j["start"] for j in jobs) - summary["submitted_at"], 1),
            "gap_s": round(statistics.mean(gaps), 2) if gaps else 0.0,
            "tail_s": round(summary["finished_at"] - max(j["end"] for j in jobs), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=64)
    parser.add_argument("--seconds", type=float, nargs="+", default=[5.0, 2.0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--interval", type=int, help="the pools' flock_interval (seconds)")
    options = parser.parse_args()
    pools = {} if options.interval is None else {"flock_interval": options.interval}
    with tempfile.TemporaryDirectory() as root:
        fed = Federation(Path(root), "cfbench", "10.91.0")
        slots = sum(int(c["cpus"]) for c in fed.spec["flock_containers"] if c["role"] == "executor")
        print(f"embedded default: {len(fed.spec['flock_containers']) - 1} executor pools, {slots} slots; "
              f"{options.jobs} jobs of {' s, of '.join(f'{s:g}' for s in options.seconds)} s")
        try:
            fed.playbook("playbooks/teardown.yml")
            for seconds in options.seconds:
                for attempt in range(options.repeat):
                    run = fed.playbook("kinc.yml", extra={"kinc_test_jobs": options.jobs,
                                                          "kinc_test_job_seconds": seconds, **pools})
                    if run.rc != 0:
                        print(run.output[-3000:])
                        return 1
                    summary = fed.summary(run)
                    ideal = summary["job_runtime_s"] / slots
                    goal = GOALS.get(seconds)
                    # pool_ready_s is null once the pools are up (a run after the first creates none).
                    ready = summary["pool_ready_s"]
                    print(f"{seconds:g} s jobs, run {attempt + 1}: pool_ready_s "
                          f"{'up' if ready is None else f'{ready:.1f}'}  "
                          f"makespan_s {summary['makespan_s']:.1f}  sum(job runtimes)/slots {ideal:.1f}  overhead "
                          f"ratio {summary['makespan_s'] / ideal:.2f}{f' (goal <= {goal})' if goal else ''}  "
                          f"{breakdown(summary)}  jobs_by_pool {summary['jobs_by_pool']}")
        finally:
            fed.playbook("playbooks/teardown.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
