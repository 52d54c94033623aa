"""Fault recovery of the embedded default: a KINC run that loses an executor, one whose submitter restarts, and
one during which an executor pool is cut off the pool network.

Three runs with the same settings (N similarity jobs, a fixed threshold, every job waiting --job-delay
seconds before its work so that faults land while jobs run): undisturbed, executor1 killed while jobs run
on it (started again once they are back in the queue), and the submitter restarted with chunks done and
chunks running. Prints, for each disturbed run: jobs lost, jobs run twice (started more than once, from the
job event log), jobs run twice with differing output (chunk files unlike the undisturbed run's), whether
the network is identical to the undisturbed run's, and the makespans.

Then the partition (issue 16): a run of --partition-jobs jobs (--partition-delay each) undisturbed, and the
same run with executor1 cut off the pool network (`docker network disconnect`, its container and jobs left
running) for --cut seconds, just after the submitter started its first jobs there (--partition-when
claimed) or once they have reported from there (reported). Against the undisturbed run it prints, with
their goals: the partition's extra makespan (goal <= 30 s for a 60 s cut of one of two pools), the longest
the other pool had a free slot while jobs waited during the cut (goal <= 5 s), when each job caught on
executor1 began again elsewhere, how long after the cut ended executor1 began a job, jobs lost (0) and
whether the results are identical. Timings depend on the machine's load, printed before and after.

Runs on a fresh federation of its own (deployment cfbench-fault, 10.94.0.0/24) and removes it afterwards.
Usage: python bench/fault_recovery.py [--jobs 12] [--threshold 0.85] [--job-delay 15] [--partition-jobs 32]
       [--partition-delay 5] [--cut 60] [--partition-when claimed|reported] [--only partition] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

# The repository, for tests.support (which makes the collection importable).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.fault_drills import Drill, Partition, reference_outcome  # noqa: E402
from tests.support.flock import Federation  # noqa: E402

GOAL_EXTRA_MAKESPAN_S = 30.0
GOAL_HEALTHY_WAIT_S = 5.0


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def partition_figures(drill: Drill, cut_s: float, when: str) -> tuple[dict[str, Any], Partition]:
    undisturbed_id = drill.submit()
    drill.wait_done(undisturbed_id)
    reference = reference_outcome(drill, undisturbed_id)
    cut = drill.partition(reference, "executor1", when=when, cut_s=cut_s)
    figures = cut.figures()
    extra = figures["makespan_s"] - reference.summary["makespan_s"]
    healthy = max(figures["healthy_longest_wait_s"].values())
    return {
        "settings": {"jobs": drill.chunks, "job_delay_s": drill.delay_s, "cut_s": cut_s, "cut_when": when},
        "undisturbed_makespan_s": reference.summary["makespan_s"],
        "partition_makespan_s": figures["makespan_s"],
        "extra_makespan_s": round(extra, 1), "extra_makespan_goal_s": GOAL_EXTRA_MAKESPAN_S,
        "healthy_longest_wait_s": healthy, "healthy_longest_wait_goal_s": GOAL_HEALTHY_WAIT_S,
        "jobs_caught": figures["jobs_caught"],
        "caught_rerun_elsewhere_after_s": figures["caught_rerun_elsewhere_after_s"],
        "returned_pool_first_job_s": figures["returned_pool_first_job_s"],
        "jobs_lost": figures["jobs_lost"],
        "results_identical": bool(figures["network_identical"] and figures["jobs_run_twice_differing"] == 0
                                  and cut.outcome.chunk_check["merge_exact"]),
        "run_id": figures["run_id"], "undisturbed_run_id": undisturbed_id,
    }, cut


def print_partition(row: dict[str, Any]) -> None:
    settings = row["settings"]
    print(f"partition: executor1 cut off for {settings['cut_s']:g} s ({settings['cut_when']}), "
          f"{settings['jobs']} KINC jobs, job delay {settings['job_delay_s']:g} s")
    extra, healthy = row["extra_makespan_s"], row["healthy_longest_wait_s"]
    met = "met" if extra <= GOAL_EXTRA_MAKESPAN_S else "NOT met"
    print(f"  makespan {row['partition_makespan_s']:.1f} s against {row['undisturbed_makespan_s']:.1f} s undisturbed:"
          f" extra {extra:.1f} s (goal <= {GOAL_EXTRA_MAKESPAN_S:g} s: {met})")
    print(f"  executor2's longest wait with a free slot while jobs waited: {healthy:.1f} s "
          f"(goal <= {GOAL_HEALTHY_WAIT_S:g} s: {'met' if healthy <= GOAL_HEALTHY_WAIT_S else 'NOT met'})")
    reruns = ", ".join(f"{node} {'never' if at is None else f'after {at:.0f} s'}"
                       for node, at in row["caught_rerun_elsewhere_after_s"].items())
    print(f"  jobs caught on executor1: {row['jobs_caught']}; began again elsewhere: {reruns}")
    back = row["returned_pool_first_job_s"]
    began = "never (no work left)" if back is None else f"{back:.0f} s"
    print(f"  executor1 back on the network: first job began {began} after the cut ended")
    print(f"  jobs lost: {row['jobs_lost']} (goal 0); results identical: {'yes' if row['results_identical'] else 'NO'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--threshold", type=float, default=0.85)
    parser.add_argument("--job-delay", type=float, default=15.0)
    parser.add_argument("--partition-jobs", type=int, default=32)
    parser.add_argument("--partition-delay", type=float, default=5.0)
    parser.add_argument("--cut", type=float, default=60.0, help="seconds executor1 stays cut off")
    parser.add_argument("--partition-when", choices=("claimed", "reported"), default="claimed")
    parser.add_argument("--only", choices=("partition",), help="run only the partition drill")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    options = parser.parse_args()
    load_before = _load()
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
            if options.only is None:
                undisturbed_id = drill.submit()
                drill.wait_done(undisturbed_id)
                reference = reference_outcome(drill, undisturbed_id)
                lost, victims = drill.executor_lost(reference)
                restarted, before = drill.submitter_restart(reference)
            partition, _cut = partition_figures(
                Drill(fed, options.partition_jobs, options.threshold, options.partition_delay), options.cut,
                options.partition_when)
        finally:
            fed.playbook("playbooks/teardown.yml")

    figures: dict[str, Any] = {"load_before": load_before, "load_after": _load(), "executor_slots": slots,
                               "partition": partition}
    if options.only is None:
        figures.update({
            "settings": {"jobs": options.jobs, "threshold": options.threshold, "job_delay_s": options.job_delay},
            "undisturbed": {"makespan_s": reference.summary["makespan_s"],
                            "jobs_run_twice": len(reference.run_twice)},
            "executor_lost": {**lost.figures(), "jobs_on_killed_executor": len(victims)},
            "submitter_restart": {**restarted.figures(),
                                  "chunks_done_before_restart": sum(1 for node in before["finished"]
                                                                    if node.startswith("chunk")),
                                  "dagman_recovery_mode": "Running in RECOVERY mode" in before["dagman_out"]},
        })
    if options.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"embedded default: {slots} executor slots; load average {load_before} before, {figures['load_after']} after")
    if options.only is None:
        print(f"{options.jobs} KINC jobs, threshold {options.threshold:g}, job delay {options.job_delay:g} s")
        print(f"{'':20}{'lost':>6}{'twice':>7}{'twice+differing':>17}{'network same':>14}{'makespan s':>12}"
              f"{'reconnects':>12}{'reconnect failures':>20}")
        print(f"{'undisturbed':20}{0:>6}{len(reference.run_twice):>7}{0:>17}{'-':>14}"
              f"{reference.summary['makespan_s']:>12.1f}{reference.status.get('reconnects', 0):>12}"
              f"{reference.status.get('reconnect_failures', 0):>20}")
        for label, key in (("executor lost", "executor_lost"), ("submitter restart", "submitter_restart")):
            row = figures[key]
            print(f"{label:20}{row['jobs_lost']:>6}{row['jobs_run_twice']:>7}{row['jobs_run_twice_differing']:>17}"
                  f"{'yes' if row['network_identical'] else 'NO':>14}{row['makespan_s']:>12.1f}"
                  f"{row['reconnects']:>12}{row['reconnect_failures']:>20}")
        print(f"executor lost: {len(victims)} job(s) running on executor1 when it was killed; submitter restart: "
              f"{figures['submitter_restart']['chunks_done_before_restart']} chunk(s) done before, DAGMan in "
              f"recovery mode: {'yes' if figures['submitter_restart']['dagman_recovery_mode'] else 'no'}")
    print_partition(partition)
    return 0


if __name__ == "__main__":
    sys.exit(main())
