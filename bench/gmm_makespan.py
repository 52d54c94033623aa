"""KINC's GMM example (the reference GEM and its annotations) through kinc.yml across the embedded default's two
executor pools, against the same steps as one single-threaded process each, timed in the same bench.

federation: kinc.yml -e kinc_clusmethod=gmm -e kinc_annotations=<the example's annotations> with the settings
of KINC's example/kinc-gmm-run.sh (spearman, minsamp 25, mincorr 0, extract at 0; kinc_jobs auto: one job per
executor slot, each running similarity, corrpower and cond-test on its pairs); makespan_s from the run's
summary.json.
pipeline: import-emx, similarity --clusmethod gmm, corrpower, cond-test (rmt when no fixed threshold), extract
with the CSM filters: whole ``python -m kinc`` processes one after the other with the run's own settings (read
from its summary.json), OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1, seconds per step; by default
in the executor image the jobs ran in (its Python and numpy: measured about 25 % more CPU for the same GMM
work than this checkout's venv), --pipeline-on host with this checkout's.
Printed: seconds per step, makespan, ratio makespan / pipeline (goal <= 0.6, with GMM similarity alone taking
at least 10 minutes in the one process) and the parallel efficiency pipeline_s / (makespan_s x cores), cores
the jobs or this machine's cores if fewer. The two
networks must be the same (threshold and network.txt's edges; the condition tests' p-values and R^2 within a
relative 1e-5 or 1e-12 apart, as numpy builds differ in the last digits; exit 1 otherwise).

Runs on a fresh federation of its own (deployment cfbench-gmm, 10.94.0.0/24) and removes it afterwards.
Takes about 35 minutes on 2 cores; anything else running (another session's processes count whatever their
nice value while the kernel groups them per session, /proc/sys/kernel/sched_autogroup_enabled) skews it.
--genes N takes the GEM's first N genes (a shorter run, same steps); N above the example's 1166 adds seeded genes,
each a copy of a random example gene with noise of half its spread (its NA kept), for a GEM where GMM similarity
takes at least 10 minutes in one process (about 1300 genes on this machine); the annotations stay the same.
Usage: python bench/gmm_makespan.py [--genes N] [--jobs N|auto] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kinc_process import EXAMPLE, ONE_THREAD, edges_of, load, parallel_efficiency, run_kinc

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / ".collections")]

GOAL = 0.6  # federation makespan / single-process pipeline seconds, at most
ANNOTATIONS = EXAMPLE.with_name("PRJNA301554.slim.annotations.txt")  # KINC's example annotations (MIT)
# KINC's example/kinc-gmm-run.sh: its similarity settings, the features it tests, the one type it gives and its
# extract threshold (0: every cluster that passes a condition test).
EXAMPLE_RUN = {"kinc_corrmethod": "spearman", "kinc_minexpr": "-inf", "kinc_minsamp": 25, "kinc_minclus": 1,
               "kinc_maxclus": 5, "kinc_crit": "ICL", "kinc_mincorr": 0, "kinc_maxcorr": 1,
               "kinc_feat_tests": "Subspecies,Treatment,GTAbbr,Duration", "kinc_feat_types": "Duration:quantitative",
               "kinc_pvalue": 0.001, "kinc_rsquare": 0.3, "kinc_threshold": 0}


def same_networks(ours: list[str], theirs: list[str], rel: float = 1e-5) -> bool:
    """The same edges (genes, similarity, cluster, samples: the first seven columns, exactly) with the same
    condition tests up to rel, or 1e-12 apart: the regression's p-values and R^2 come from least squares and
    special functions whose last digits differ between numpy builds (the images' and this checkout's), and
    p-values near 1e-16 are rounding (8e-17 in one build, 0 or 1.1e-16 in another)."""
    if len(ours) != len(theirs):
        return False
    for mine, other in zip(ours, theirs, strict=True):
        a, b = mine.split("\t"), other.split("\t")
        if a[:7] != b[:7] or len(a) != len(b):
            return False
        for x, y in zip(a[7:], b[7:], strict=True):
            if x != y and not (x not in ("nan", "NA") and abs(float(x) - float(y)) <= max(rel * abs(float(x)), 1e-12)):
                return False
    return True


def in_image(image: str, work: Path) -> Callable[..., tuple[float, float]]:
    """run_kinc's twin that runs ``python3 -m kinc ARGS`` in the pool image (its Python, numpy and payload, as
    the federation's jobs run), work mounted at the same path; wall seconds (CPU is not measured: 0)."""
    def run(*args: object) -> tuple[float, float]:
        env = [item for name, value in ONE_THREAD.items() for item in ("-e", f"{name}={value}")]
        start = time.perf_counter()
        done = subprocess.run(["docker", "run", "--rm", "--network", "none", "--user", "root", "-v",
                               f"{work}:{work}", "-w", str(work), *env, "--entrypoint", "python3", image, "-m", "kinc",
                               *map(str, args)], capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"kinc {' '.join(map(str, args))} failed in {image} ({done.returncode}): {done.stderr}")
        return time.perf_counter() - start, 0.0
    return run


def pipeline(gem: Path, work: Path, s: dict, run_kinc: Callable[..., tuple[float, float]] = run_kinc
             ) -> dict[str, object]:
    """The six steps with the run's settings s, as whole processes with one thread each."""
    os.environ.update(ONE_THREAD)
    gem = Path(shutil.copy(gem, work / "gem.txt"))
    annotations = Path(shutil.copy(ANNOTATIONS, work / "annotations.txt"))
    w = {name: work / name for name in ("x.emx", "s.ccm", "s.cmx", "n.ccm", "n.cmx", "n.csm", "rmt.log")}
    flag = {True: "true", False: "false"}
    steps = {}
    steps["import_emx_s"] = run_kinc("run", "import-emx", "--input", gem, "--output", w["x.emx"], "--nan", s["nan"])[0]
    steps["similarity_s"] = run_kinc(
        "run", "similarity", "--input", w["x.emx"], "--ccm", w["s.ccm"], "--cmx", w["s.cmx"], "--clusmethod", "gmm",
        "--corrmethod", s["corrmethod"], "--minsamp", s["minsamp"], "--minexpr", s["minexpr"], "--maxexpr",
        s["maxexpr"], "--preout", flag[s["preout"]], "--mincorr", s["mincorr"], "--maxcorr", s["maxcorr"],
        "--minclus", s["minclus"], "--maxclus", s["maxclus"], "--crit", s["crit"], "--postout", flag[s["postout"]])[0]
    steps["corrpower_s"] = run_kinc("run", "corrpower", "--ccm-in", w["s.ccm"], "--cmx-in", w["s.cmx"],
                                    "--ccm-out", w["n.ccm"], "--cmx-out", w["n.cmx"], "--alpha", s["alpha"],
                                    "--power", s["power"])[0]
    if s["threshold"] is None:
        steps["rmt_s"] = run_kinc("run", "rmt", "--input", w["n.cmx"], "--log", w["rmt.log"], "--reduction",
                                  s["reduction"])[0]
        threshold = w["rmt.log"].read_text().splitlines()[-1]
    else:
        threshold = str(s["threshold"])
    steps["cond_test_s"] = run_kinc(
        "run", "cond-test", "--emx", w["x.emx"], "--ccm", w["n.ccm"], "--cmx", w["n.cmx"], "--amx", annotations,
        "--output", w["n.csm"], "--feat-tests", s["feat_tests"], "--feat-types", s["feat_types"], "--alpha",
        s["alpha"], "--power", s["power"], "--nan", s["nan"])[0]
    steps["extract_s"] = run_kinc(
        "run", "extract", "--emx", w["x.emx"], "--ccm", w["n.ccm"], "--cmx", w["n.cmx"], "--format", "text",
        "--output", work / "network.txt", "--mincorr", threshold, "--csm", w["n.csm"], "--filter-pvalue",
        s["pvalue"], "--filter-rsquare", s["rsquare"])[0]
    return {**{k: round(v, 1) for k, v in steps.items()}, "pipeline_s": round(sum(steps.values()), 1),
            "threshold": float(threshold), "edges": edges_of(work / "network.txt")}


def sized_gem(gem: Path, genes: int, out: Path, seed: int = 29) -> Path:
    """The GEM's header and its first genes rows; beyond its own rows, seeded noisy copies of random ones."""
    import numpy as np

    lines = gem.read_text().splitlines(keepends=True)
    rows = lines[1:]
    extra = []
    rng = np.random.default_rng(seed)
    for k in range(max(0, genes - len(rows))):
        name, *fields = rows[int(rng.integers(len(rows)))].rstrip("\n").split("\t")
        values = np.array([np.nan if f in ("NA", "") else float(f) for f in fields])
        spread = np.nanstd(values) if np.isfinite(values).sum() > 1 else 1.0
        noisy = values + rng.normal(scale=0.5 * spread, size=values.size)
        extra.append("\t".join([f"{name}_copy{k}", *("NA" if np.isnan(v) else f"{v:.6g}" for v in noisy)]) + "\n")
    out.write_text("".join([lines[0], *rows[:genes], *extra]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genes", type=int, default=0,
                        help="the GEM's first N genes only, or with seeded copies beyond its own (0: as it is)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--jobs", default="auto",
                        help="kinc_jobs: similarity and cond-test jobs, a number or auto (one per slot, the default)")
    parser.add_argument("--pipeline-on", choices=("image", "host"), default="image",
                        help="run the single process in the executor image, as the jobs run (default), or with "
                             "this checkout's Python and numpy")
    options = parser.parse_args()
    from tests.support.flock import Federation

    before = load()
    with tempfile.TemporaryDirectory() as root:
        gem = sized_gem(EXAMPLE, options.genes, Path(root) / "gem.txt") if options.genes else EXAMPLE
        fed = Federation(Path(root), "cfbench-gmm", "10.94.0")
        try:
            fed.playbook("playbooks/teardown.yml")
            site = fed.playbook("site.yml")
            if site.rc != 0:
                print(site.output[-3000:])
                return 1
            kinc_jobs = int(options.jobs) if options.jobs.isdigit() else options.jobs
            run = fed.playbook("kinc.yml", extra={"kinc_gem": str(gem), "kinc_clusmethod": "gmm",
                                                  "kinc_annotations": str(ANNOTATIONS), **EXAMPLE_RUN,
                                                  "kinc_jobs": kinc_jobs})
            if run.rc != 0:
                print(run.output[-3000:])
                return 1
            summary = fed.summary(run)
            network = fed.results / re.search(r"run_id: (kinc-\S+)", run.output).group(1) / "network.txt"
            theirs = edges_of(network)
        finally:
            fed.playbook("playbooks/teardown.yml")
        work = Path(root) / "pipeline"
        work.mkdir()
        runner = in_image(f"cloudflock/executor:{fed.spec['flock_image_tag']}", work) if (
            options.pipeline_on == "image") else run_kinc
        alone = pipeline(gem, work, summary["settings"], runner)
    edges = alone.pop("edges")
    same = summary["threshold"] == alone["threshold"] and same_networks(theirs, edges)
    jobs = summary["settings"]["jobs"]  # one per slot with --jobs auto
    ratio = summary["makespan_s"] / alone["pipeline_s"]
    cores, efficiency = parallel_efficiency(alone["pipeline_s"], summary["makespan_s"], jobs)
    figures = {"genes": summary["gem_genes"], "samples": summary["gem_samples"], "pipeline_on": options.pipeline_on,
               **alone, "edge_count": len(edges),
               "makespan_s": summary["makespan_s"], "similarity_jobs": jobs, "jobs_by_pool": summary["jobs_by_pool"],
               "ratio": round(ratio, 2), "goal": GOAL,
               "cores": cores, "parallel_efficiency": efficiency,
               "networks_same": same,
               "load_before": before, "load_after": load(),
               # Where the federation's time went: each job's pool, start and seconds from the DAG's submit.
               "jobs": [{"mode": job.get("mode"), "chunk": job.get("chunk"), "pool": job.get("pool"),
                         "start_s": round(job["start"] - summary["submitted_at"], 1),
                         "seconds": round(job["end"] - job["start"], 1), "cpu_s": job.get("cpu_s")}
                        for job in summary.get("jobs", []) if job.get("start") and job.get("end")]}
    # The chunks' CPU (their kinc processes' user + system seconds: similarity, corrpower and cond-test on their
    # pairs) against the one process's same three steps: above 1, the split itself costs work; the wall clock of
    # a chunk also counts waiting.
    chunk_cpu = [job["cpu_s"] for job in figures["jobs"] if job["mode"] in ("kinc", "gmm") and job["cpu_s"] is not None]
    per_pair = alone["similarity_s"] + alone["corrpower_s"] + alone["cond_test_s"]
    if chunk_cpu:
        figures["chunks_cpu_s"] = round(sum(chunk_cpu), 1)
        figures["chunks_cpu_ratio"] = round(sum(chunk_cpu) / per_pair, 2)
    steps = summary.get("steps", [])
    if steps:  # the finish node's steps after the last chunk, seconds each
        figures["finish_steps_s"] = {step["name"]: round(step["end_s"] - step["start_s"], 1) for step in steps}
        figures["after_last_chunk_s"] = round(summary["makespan_s"] - max(
            (job["start_s"] + job["seconds"] for job in figures["jobs"]), default=0.0), 1)
    if options.json:
        print(json.dumps(figures))
    else:
        print(json.dumps(figures, indent=1))
        print(f"GMM example makespan_s {summary['makespan_s']:.1f} ({jobs} jobs, {summary['jobs_by_pool']})  "
              f"single-process pipeline_s {alone['pipeline_s']:.1f} (similarity {alone['similarity_s']:.1f})  "
              f"ratio {ratio:.2f} (goal <= {GOAL})  parallel efficiency {figures['parallel_efficiency']:.2f}  "
              f"networks {'the same' if same else 'DIFFER'}")
        if chunk_cpu:
            print(f"chunks' CPU {figures['chunks_cpu_s']:.1f} s against the one process's similarity, corrpower "
                  f"and cond-test {per_pair:.1f} s: {figures['chunks_cpu_ratio']:.2f}x")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
