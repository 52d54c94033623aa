"""Makespan of the example KINC workflow on the three-host, two-cloud federation against the single-machine
default, and the job-overhead ratio of each.

The federation is the one of tests/integration/test_federation.py: three systemd host containers in two
"clouds" provisioned by site.yml (Docker, a swarm overlay), pools created through marathon_app against one
test double of Marathon's API per cloud; the single machine is inventory/local's layout. Both get the same
pools and slots (executors with --cpus each) on this one machine's cores, so the difference is what the
extra layers cost (nested engines, the overlay, the Marathon path), not more hardware.

Printed for each: makespan of the example workflow (--jobs similarity jobs), pool_ready_s, jobs by cluster,
and the overhead ratio of --test-jobs jobs of --seconds s: makespan / (sum of job runtimes / slots).

Usage: python bench/federation_makespan.py [--jobs 16] [--test-jobs 32] [--seconds 2] [--cpus 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

# The repository, for tests.support (which makes the collection importable).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.flock import Federation  # noqa: E402
from tests.support.three_host_federation import three_host_federation  # noqa: E402


def measure(fed: Federation, options: argparse.Namespace) -> dict[str, Any]:
    """The example workflow's figures, then the overhead ratio of short test jobs, on one federation."""
    slots = sum(int(c["cpus"]) for c in fed.spec["flock_containers"] if c["role"] == "executor")
    run = fed.playbook("kinc.yml", extra={"kinc_jobs": options.jobs})
    if run.rc != 0:
        raise SystemExit(f"kinc.yml failed:\n{run.output[-3000:]}")
    kinc = fed.summary(run)
    test = fed.playbook("kinc.yml", "--tags", "run",
                        extra={"kinc_test_jobs": options.test_jobs, "kinc_test_job_seconds": options.seconds})
    if test.rc != 0:
        raise SystemExit(f"kinc.yml (test jobs) failed:\n{test.output[-3000:]}")
    short = fed.summary(test)
    ideal = short["job_runtime_s"] / slots
    return {"slots": slots, "kinc_makespan_s": kinc["makespan_s"], "pool_ready_s": kinc["pool_ready_s"],
            "edges": kinc["edges"], "jobs_by_cluster": kinc["jobs_by_cluster"],
            "test_makespan_s": short["makespan_s"], "test_ideal_s": round(ideal, 1),
            "overhead_ratio": round(short["makespan_s"] / ideal, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=16, help="similarity jobs of the example workflow")
    parser.add_argument("--test-jobs", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--cpus", type=int, default=2, help="slots of each executor pool, in both settings")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    options = parser.parse_args()
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as root:
        local = Federation(Path(root) / "local", "cfbench-single", "10.95.0")
        for container in local.spec["flock_containers"]:
            if container["role"] == "executor":
                container["cpus"] = options.cpus
        local.write_spec(local.spec)
        try:
            local.playbook("playbooks/teardown.yml")
            figures["single machine"] = measure(local, options)
        finally:
            local.playbook("playbooks/teardown.yml")
        with three_host_federation(Path(root) / "fed", executor_cpus=options.cpus) as (fed, _):
            figures["federation, 2 clouds, 3 hosts"] = measure(fed, options)
            fed.playbook("playbooks/teardown.yml")
    single, federated = figures.values()
    figures["makespan ratio (federation / single)"] = round(federated["kinc_makespan_s"] / single["kinc_makespan_s"], 2)
    if options.json:
        print(json.dumps(figures))
        return 0
    print(f"example workflow: {options.jobs} similarity jobs; overhead: {options.test_jobs} jobs of "
          f"{options.seconds:g} s; executors of {options.cpus} slots")
    for name, row in figures.items():
        if isinstance(row, dict):
            print(f"{name:32} makespan_s {row['kinc_makespan_s']:6.1f}  pool_ready_s {row['pool_ready_s']}  "
                  f"jobs_by_cluster {row['jobs_by_cluster']}  overhead ratio {row['overhead_ratio']:.2f} "
                  f"({row['test_makespan_s']:.1f} s against {row['test_ideal_s']:.1f} s)")
    print(f"makespan ratio, federation / single machine: {figures['makespan ratio (federation / single)']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
