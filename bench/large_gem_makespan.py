"""A large GEM (bench/large_gem.py: 4,000 genes x 100 samples, NA values, planted modules) through kinc.yml on
the embedded default, against the single-process pipeline with one thread, timed in the same bench.

pipeline: import-emx, similarity (not split), rmt, extract as whole ``python -m kinc`` processes on this
machine, one after the other, OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1, seconds per step.
federation: kinc.yml with -e kinc_gem=<the GEM> (kinc_jobs auto: one similarity job per executor slot);
makespan_s from the run's summary.json. Printed: makespan, ratio makespan / pipeline (goal <= 0.7) and the
parallel efficiency, pipeline_s / (makespan_s x cores), cores = the jobs' share of this machine (the run's
similarity jobs, one per slot, at most this machine's cores), as bench/gmm_makespan.py counts it; then where the
federation's time went: the first chunk's start, the last chunk's end and the finish node's steps, seconds from
the DAG's submit.
The two networks must be the same (threshold and network.txt's edges; exit 1 otherwise).

Runs on a fresh federation of its own (deployment cfbench-large, 10.93.0.0/24) and removes it afterwards;
--pipeline-only times the single-process side alone (no Docker).
Usage: python bench/large_gem_makespan.py [--genes 4000] [--samples 100] [--seed 13] [--pipeline-only]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

from kinc_process import ONE_THREAD, edges_of, parallel_efficiency, run_kinc, timeline
from large_gem import NA, write_gem

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / ".collections")]

GOAL = 0.7  # federation makespan / single-process pipeline seconds, at most


def pipeline(gem: Path, work: Path) -> dict[str, object]:
    """The four steps as whole processes with one thread each: seconds per step, threshold, the network."""
    os.environ.update(ONE_THREAD)
    steps = {}
    steps["import_emx_s"] = run_kinc("run", "import-emx", "--input", gem, "--output", work / "x.emx", "--nan", NA)[0]
    steps["similarity_s"] = run_kinc("run", "similarity", "--input", work / "x.emx", "--ccm", work / "x.ccm",
                                     "--cmx", work / "x.cmx", "--clusmethod", "none")[0]
    steps["rmt_s"] = run_kinc("run", "rmt", "--input", work / "x.cmx", "--log", work / "rmt.log")[0]
    threshold = (work / "rmt.log").read_text().splitlines()[-1]
    steps["extract_s"] = run_kinc("run", "extract", "--emx", work / "x.emx", "--ccm", work / "x.ccm", "--cmx",
                                  work / "x.cmx", "--format", "text", "--output", work / "network.txt",
                                  "--mincorr", threshold)[0]
    return {**{k: round(v, 2) for k, v in steps.items()}, "pipeline_s": round(sum(steps.values()), 2),
            "threshold": float(threshold), "edges": edges_of(work / "network.txt")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genes", type=int, default=4000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--pipeline-only", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        gem = write_gem(Path(root) / "large.gem", options.genes, options.samples, options.seed)
        (Path(root) / "pipeline").mkdir()
        alone = pipeline(gem, Path(root) / "pipeline")
        edges = alone.pop("edges")
        print(json.dumps({"genes": options.genes, "samples": options.samples, "seed": options.seed,
                          "edge_count": len(edges), **alone}))
        print(f"single-process pipeline_s {alone['pipeline_s']:.1f} (one thread)  threshold {alone['threshold']}  "
              f"{len(edges)} edges")
        if options.pipeline_only:
            return 0
        from tests.support.flock import Federation

        fed = Federation(Path(root), "cfbench-large", "10.93.0")
        try:
            fed.playbook("playbooks/teardown.yml")
            run = fed.playbook("kinc.yml", extra={"kinc_gem": str(gem)})
            if run.rc != 0:
                print(run.output[-3000:])
                return 1
            summary = fed.summary(run)
            network = fed.results / re.search(r"run_id: (kinc-\S+)", run.output).group(1) / "network.txt"
        finally:
            fed.playbook("playbooks/teardown.yml")
        same = summary["threshold"] == alone["threshold"] and edges_of(network) == edges
        slots = summary["jobs_total"]
        cores, efficiency = parallel_efficiency(alone["pipeline_s"], summary["makespan_s"], slots)
        ratio = summary["makespan_s"] / alone["pipeline_s"]
        print(json.dumps({"jobs_by_pool": summary["jobs_by_pool"], "threshold": summary["threshold"],
                          "edges": summary["edges"], **timeline(summary)}))
        print(f"large GEM makespan_s {summary['makespan_s']:.1f} ({slots} slots, {cores} cores)  "
              f"single-process pipeline_s {alone['pipeline_s']:.1f}  ratio {ratio:.2f} (goal <= {GOAL})  "
              f"parallel efficiency {efficiency:.2f}  networks {'the same' if same else 'DIFFER'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
