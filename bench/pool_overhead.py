"""Pool-ready time and job-overhead ratio of the embedded default.

pool_ready_s: from the last pool container's start to every executor pool visible from the submitter.
overhead ratio: makespan / (sum of job runtimes / slots), for 64 short jobs; 1.0 would be a perfectly
packed schedule with no negotiation, transfer or DAG bookkeeping cost.

Runs on a fresh federation of its own (deployment cfbench, 10.91.0.0/24) and removes it afterwards.
Usage: python bench/pool_overhead.py [--jobs 64] [--seconds 2] [--repeat 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

# The repository, for tests.support (which makes the collection importable).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.flock import Federation  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=1)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        fed = Federation(Path(root), "cfbench", "10.91.0")
        slots = sum(int(c["cpus"]) for c in fed.spec["flock_containers"] if c["role"] == "executor")
        print(f"embedded default: {len(fed.spec['flock_containers']) - 1} executor pools, {slots} slots; "
              f"{options.jobs} jobs of {options.seconds:g} s")
        try:
            for attempt in range(options.repeat):
                fed.playbook("playbooks/teardown.yml")
                run = fed.playbook("kinc.yml", extra={"kinc_test_jobs": options.jobs,
                                                      "kinc_test_job_seconds": options.seconds})
                if run.rc != 0:
                    print(run.output[-3000:])
                    return 1
                summary = fed.summary(run)
                ideal = summary["job_runtime_s"] / slots
                print(f"run {attempt + 1}: pool_ready_s {summary['pool_ready_s']:.1f}  makespan_s "
                      f"{summary['makespan_s']:.1f}  sum(job runtimes)/slots {ideal:.1f}  overhead ratio "
                      f"{summary['makespan_s'] / ideal:.2f}  jobs_by_pool {summary['jobs_by_pool']}")
        finally:
            fed.playbook("playbooks/teardown.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
