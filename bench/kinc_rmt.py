"""Seconds of ``kinc run rmt`` and ``kinc run extract`` on KINC's example GEM, as whole processes.

The pipeline runs as a user runs it: import-emx, similarity (whole, pearson and spearman), rmt on each
matrix, then extract on the pearson matrix at rmt's threshold (text format). rmt and extract are timed
best of --rounds (others may share the cores: the best is the least disturbed), each process's CPU
seconds (user + system) beside it, and printed next to the goals: rmt <= 1 s, extract <= 0.5 s.

Asserts nothing about time; exits 1 when a threshold is not KINC 3.4's (0.831002 pearson, 0.826002
spearman) or the network changes between rounds.

    .venv/bin/python bench/kinc_rmt.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

from kinc_process import EXAMPLE, THRESHOLDS, load
from kinc_process import run_kinc as kinc

GOALS = {"rmt": 1.0, "extract": 0.5}  # seconds, at most


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    print(f"{EXAMPLE.name}; best of {rounds}; load before: {load()}")
    status = 0
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        kinc("run", "import-emx", "--input", EXAMPLE, "--output", d / "x.emx")
        thresholds = {}
        for method in THRESHOLDS:
            kinc("run", "similarity", "--input", d / "x.emx", "--ccm", d / f"{method}.ccm",
                 "--cmx", d / f"{method}.cmx", "--corrmethod", method)
            log = d / f"{method}.log"
            runs = [kinc("run", "rmt", "--input", d / f"{method}.cmx", "--log", log) for _ in range(rounds)]
            thresholds[method] = log.read_text().splitlines()[-1]
            wall, cpu = min(runs)
            met = "met" if wall <= GOALS["rmt"] else "NOT met"
            print(f"rmt {method:9s} {wall:6.3f} s (cpu {cpu:.3f} s)   goal <= {GOALS['rmt']:g} s  {met};  "
                  f"threshold {thresholds[method]}")
        net = d / "net.txt"
        files = ["--emx", d / "x.emx", "--ccm", d / "pearson.ccm", "--cmx", d / "pearson.cmx"]
        runs, networks = [], set()
        for _ in range(rounds):
            runs.append(kinc("run", "extract", *files, "--output", net, "--mincorr", thresholds["pearson"]))
            networks.add(hashlib.sha256(net.read_bytes()).hexdigest())
        edges = len(net.read_bytes().splitlines()) - 1
        wall, cpu = min(runs)
        met = "met" if wall <= GOALS["extract"] else "NOT met"
        print(f"extract pearson {wall:6.3f} s (cpu {cpu:.3f} s)   goal <= {GOALS['extract']:g} s  {met};  "
              f"{edges} edges, sha256 {', '.join(sorted(networks))}")
    print(f"load after: {load()}")
    for method, expected in THRESHOLDS.items():
        if thresholds[method] != expected:
            print(f"threshold {method} is {thresholds[method]}, expected {expected}")
            status = 1
    if len(networks) != 1:
        print("the network changed between rounds")
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
