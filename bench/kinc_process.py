"""Whole ``python -m kinc`` processes as the benches time them, and the example GEM they read."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "images" / "kinc"
EXAMPLE = REPO / "images/submitter/data/PRJNA301554.slim.GEM.log2.txt"  # KINC's example GEM
THRESHOLDS = {"pearson": "0.831002", "spearman": "0.826002"}  # KINC 3.4's rules on the example
# The single-process pipelines the makespan benches compare with run with one BLAS/OpenMP thread.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def edges_of(network: Path) -> list[str]:
    """network.txt's edge lines (its header left out), sorted: the network whatever order it was written in."""
    return sorted(network.read_text().splitlines()[1:])


def run_kinc(*args: object) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one whole ``python -m kinc ARGS`` process; exits on failure."""
    env = {**os.environ, "PYTHONPATH": str(PACKAGE)}
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "kinc", *map(str, args)], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode:
        raise SystemExit(f"kinc {' '.join(map(str, args))} failed ({result.returncode}): {result.stderr}")
    return wall, now.ru_utime - used.ru_utime + now.ru_stime - used.ru_stime


def load() -> str:
    """The machine's load average, for the figures' context."""
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def parallel_efficiency(single_s: float, makespan_s: float, jobs: int) -> tuple[int, float]:
    """The cores a federation's jobs shared (one per job, at most this machine's) and single_s / (makespan_s x
    cores), rounded to two places."""
    cores = min(jobs, os.cpu_count() or 1)
    return cores, round(single_s / (makespan_s * cores), 2)


def timeline(summary: dict) -> dict[str, object]:
    """Where the federation's time went, seconds from the DAG's submit: the first chunk job's start, the last
    one's end, and the finish node's steps (merge, rmt, extract) as start-end."""
    jobs = [job for job in summary.get("jobs", []) if job.get("start") and job.get("end")]
    if not jobs:
        return {}
    t0 = summary["submitted_at"]
    return {"first_chunk_start_s": round(min(job["start"] for job in jobs) - t0, 1),
            "last_chunk_end_s": round(max(job["end"] for job in jobs) - t0, 1),
            "chunk_seconds": [round(job["end"] - job["start"], 1) for job in jobs],
            "chunk_cpu_s": [job.get("cpu_s") for job in jobs],
            "finish_steps_s": {step["name"]: [step["start_s"], step["end_s"]] for step in summary.get("steps", [])}}
