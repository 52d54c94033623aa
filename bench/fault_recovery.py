"""Fault recovery of the embedded default: a KINC run that loses an executor, one whose submitter restarts.

Three runs with the same settings (N similarity jobs, a fixed threshold, every job waiting --job-delay
seconds before its work so that faults land while jobs run): undisturbed, executor1 killed while jobs run
on it (started again once they are back in the queue), and the submitter restarted with chunks done and
chunks running. Prints, for each disturbed run: jobs lost, jobs run twice (started more than once, from the
job event log), jobs run twice with differing output (chunk files unlike the undisturbed run's), whether
the network is identical to the undisturbed run's, and the makespans.

Runs on a fresh federation of its own (deployment cfbench-fault, 10.94.0.0/24) and removes it afterwards.
Usage: python bench/fault_recovery.py [--jobs 12] [--threshold 0.85] [--job-delay 15] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / ".collections")]
from tests.integration.flock_helpers import Federation  # noqa: E402
from tests.integration.test_faults import Drill, reference_outcome  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--threshold", type=float, default=0.85)
    parser.add_argument("--job-delay", type=float, default=15.0)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        fed = Federation(Path(root), "cfbench-fault", "10.94.0")
        drill = Drill(fed, options.jobs, options.threshold, options.job_delay)
        slots = sum(int(c["cpus"]) for c in fed.spec["flock_containers"] if c["role"] == "executor")
        try:
            fed.playbook("playbooks/teardown.yml")
            for playbook, args in (("site.yml", ()), ("kinc.yml", ("--tags", "flock"))):
                done = fed.playbook(playbook, *args)
                if done.rc != 0:
                    print(done.output[-3000:])
                    return 1
            undisturbed_id = drill.submit()
            drill.wait_done(undisturbed_id)
            reference = reference_outcome(drill, undisturbed_id)
            lost, victims = drill.executor_lost(reference)
            restarted, before = drill.submitter_restart(reference)
        finally:
            fed.playbook("playbooks/teardown.yml")

    figures: dict[str, Any] = {
        "settings": {"jobs": options.jobs, "threshold": options.threshold, "job_delay_s": options.job_delay,
                     "executor_slots": slots},
        "undisturbed": {"makespan_s": reference.summary["makespan_s"], "jobs_run_twice": len(reference.run_twice)},
        "executor_lost": {**lost.figures(), "jobs_on_killed_executor": len(victims)},
        "submitter_restart": {**restarted.figures(),
                              "chunks_done_before_restart": sum(1 for node in before["finished"]
                                                                if node.startswith("chunk")),
                              "dagman_recovery_mode": "Running in RECOVERY mode" in before["dagman_out"]},
    }
    if options.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"embedded default: {slots} executor slots; {options.jobs} KINC jobs, threshold {options.threshold:g}, "
          f"job delay {options.job_delay:g} s")
    print(f"{'':20}{'lost':>6}{'twice':>7}{'twice+differing':>17}{'network same':>14}{'makespan s':>12}"
          f"{'reconnects':>12}{'reconnect failures':>20}")
    print(f"{'undisturbed':20}{0:>6}{len(reference.run_twice):>7}{0:>17}{'-':>14}"
          f"{reference.summary['makespan_s']:>12.1f}{reference.status.get('reconnects', 0):>12}"
          f"{reference.status.get('reconnect_failures', 0):>20}")
    for label, key in (("executor lost", "executor_lost"), ("submitter restart", "submitter_restart")):
        row = figures[key]
        print(f"{label:20}{row['jobs_lost']:>6}{row['jobs_run_twice']:>7}{row['jobs_run_twice_differing']:>17}"
              f"{'yes' if row['network_identical'] else 'NO':>14}{row['makespan_s']:>12.1f}{row['reconnects']:>12}"
              f"{row['reconnect_failures']:>20}")
    print(f"executor lost: {len(victims)} job(s) running on executor1 when it was killed; submitter restart: "
          f"{figures['submitter_restart']['chunks_done_before_restart']} chunk(s) done before, DAGMan in recovery "
          f"mode: {'yes' if figures['submitter_restart']['dagman_recovery_mode'] else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
