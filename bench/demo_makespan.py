"""The demo end to end against KINC as one process after another, timed in the same run.

demo makespan: the example workflow through kinc.yml on the embedded default (a submitter and two executor
pools on this machine's engine), from the DAG's submission to its summary (summary.json's makespan_s).
pipeline: the same work as whole ``kinc`` processes one after the other in the submitter container, as a
user without HTCondor runs it: import-emx, similarity (not split), rmt, extract, with the same settings, GEM
and plots. The ratio demo / pipeline is printed beside its goal; the threshold and edge count of both must
agree (exit 1 otherwise). Beside them, where the federation's time went: the first chunk's start, the last chunk's
end and the finish node's steps, seconds from the DAG's submit.

Runs on a fresh federation of its own (deployment cfbench-demo, 10.92.0.0/24) and removes it afterwards.
--interval S sets the pools' negotiation and update cycle (flock_interval; the role's default otherwise).
Usage: python bench/demo_makespan.py [--jobs N|auto] [--repeat 1] [--interval S]   (--jobs: the role's kinc_jobs)
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / ".collections")]
from kinc_process import timeline  # noqa: E402

from tests.support.flock import CONSTANTS, Federation  # noqa: E402

GOAL = 2.5  # demo makespan / pipeline seconds, at most
WORK = "/tmp/cfbench-pipeline"
INPUTS = CONSTANTS["inputs_dir"]  # where kinc.yml puts the run's GEM, under its digest


def pipeline_script(summary: dict[str, Any]) -> str:
    """A shell script that runs the run's KINC steps as whole processes and prints seconds, threshold, edges."""
    s = summary["settings"]
    similarity = (f"--corrmethod {s['corrmethod']} --minsamp {s['minsamp']} --minexpr={s['minexpr']} "
                  f"--maxexpr={s['maxexpr']} --preout {str(s['preout']).lower()} --mincorr {s['mincorr']} "
                  f"--maxcorr {s['maxcorr']}")
    steps = [
        f"kinc run import-emx --input {INPUTS}/{summary['gem_sha256']}.gem --output input.emx "
        f"--nan {shlex.quote(s['nan'])}",
        f"kinc run similarity --input input.emx --ccm network.ccm --cmx network.cmx --clusmethod none {similarity}",
        "kinc run rmt --input network.cmx --log rmt.log --plot rmt.png",
        "kinc run extract --emx input.emx --ccm network.ccm --cmx network.cmx --format text --output network.txt "
        "--mincorr $(tail -n 1 rmt.log) --plot-histogram similarity-histogram.png "
        "--plot-degree degree-distribution.png",
    ]
    return "\n".join([
        "set -eu", f"rm -rf {WORK}", f"mkdir -p {WORK}", f"cd {WORK}", "start=$(date +%s.%N)",
        *(f"{step} >/dev/null" for step in steps),
        "end=$(date +%s.%N)",
        'echo "$start $end $(tail -n 1 rmt.log) $(($(wc -l < network.txt) - 1))"',
        f"rm -rf {WORK}",
    ])


def pipeline(fed: Federation, summary: dict[str, Any]) -> dict[str, float]:
    done = fed.pool_docker("submitter", "exec", "-u", "condor_pool", argv=("sh", "-c", pipeline_script(summary)),
                           check=True)
    start, end, threshold, edges = done.stdout.split()
    return {"pipeline_s": round(float(end) - float(start), 2), "threshold": float(threshold), "edges": int(edges)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", help="similarity jobs of the demo (kinc_jobs); default: the role's")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--interval", type=int, help="the pools' flock_interval (seconds)")
    options = parser.parse_args()
    extra = {} if options.jobs is None else {"kinc_jobs": options.jobs if options.jobs == "auto" else int(options.jobs)}
    if options.interval is not None:
        extra["flock_interval"] = options.interval
    failed = False
    with tempfile.TemporaryDirectory() as root:
        fed = Federation(Path(root), "cfbench-demo", "10.92.0")
        try:
            fed.playbook("playbooks/teardown.yml")
            for attempt in range(options.repeat):
                run = fed.playbook("kinc.yml", *(("--tags", "run") if attempt else ()), extra=extra)
                if run.rc != 0:
                    print(run.output[-3000:])
                    return 1
                summary = fed.summary(run)
                alone = pipeline(fed, summary)
                ratio = summary["makespan_s"] / alone["pipeline_s"]
                same = alone["threshold"] == summary["threshold"] and alone["edges"] == summary["edges"]
                failed |= not same
                print(json.dumps({"run": attempt + 1, "similarity_jobs": summary["jobs_total"],
                                  "jobs_by_pool": summary["jobs_by_pool"], "threshold": summary["threshold"],
                                  "edges": summary["edges"], "pipeline": alone, **timeline(summary)}))
                print(f"run {attempt + 1}: demo makespan_s {summary['makespan_s']:.1f} ({summary['jobs_total']} "
                      f"similarity jobs)  single-process pipeline_s {alone['pipeline_s']:.1f}  ratio {ratio:.2f} "
                      f"(goal <= {GOAL})  results {'the same' if same else 'DIFFER'}")
        finally:
            fed.playbook("playbooks/teardown.yml")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
