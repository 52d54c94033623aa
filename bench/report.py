"""`make bench`: every bench in bench/, one after the other, gathered into ONE JSON file under bench/results/
(the machine, the commit, every figure with its goal beside it and whether it was met) and a PNG of the
2/4/8-pool curve (bench/pool_scaling.py).

The benches that can write JSON (--json FILE, or --json on stdout) are asked to; the others' figures are read
from what they print. A bench that fails is recorded with its exit code and the tail of its output, and
the report still written; the exit code is 1 then.

Usage: python bench/report.py [--only NAME ...] [--skip NAME ...] [--out-dir bench/results]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from figures import figure

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
# The GMM bench's GEM: the example's 1166 genes grown with seeded ones until GMM similarity takes at least 10
# minutes in one single-threaded process here (about 646 s at 1300 genes; 520 s for the example alone).
GMM_GENES = 1300
Figures = list[dict[str, Any]]


@dataclass
class Bench:
    """A bench's script and arguments ({json} is a file the bench writes), and how its figures are read: from
    the JSON file (json_file), the JSON it prints (json_stdout), or its text."""

    name: str
    args: tuple[str, ...]
    read: Callable[[Any], Figures]
    json_file: bool = False
    json_stdout: bool = False


def _number(text: str) -> float:
    return float(text)


def pool_overhead_figures(text: str) -> Figures:
    """bench/pool_overhead.py's lines '5 s jobs, run 1: pool_ready_s 4.1  makespan_s ... overhead ratio 1.12
    (goal <= 1.15) ...'."""
    jobs = re.search(r"; (\d+) jobs of", text)
    rows = []
    for seconds, attempt, ready, ratio, goal in re.findall(
            r"^([\d.]+) s jobs, run (\d+): pool_ready_s ([\d.]+|up).*?"
            r"overhead ratio ([\d.]+)(?: \(goal <= ([\d.]+)\))?",
            text, flags=re.M):
        what = f"{jobs.group(1) if jobs else '?'} x {seconds} s jobs, run {attempt}"
        if ready != "up":  # the pools were already up for this run: no pool-ready time
            rows.append(figure(f"pool_ready_s, {what}", _number(ready), "s"))
        rows.append(figure(f"overhead ratio, {what}", _number(ratio), "", ("<=", _number(goal)) if goal else None))
    return rows


def demo_figures(text: str) -> Figures:
    """bench/demo_makespan.py's lines 'run 1: demo makespan_s 40.2 (...)  single-process pipeline_s 20.1  ratio
    2.00 (goal <= 2.5)  results the same'."""
    rows = []
    for attempt, makespan, alone, ratio, goal, same in re.findall(
            r"^run (\d+): demo makespan_s ([\d.]+).*?pipeline_s ([\d.]+)\s+ratio ([\d.]+) \(goal <= ([\d.]+)\)"
            r"\s+results (the same|DIFFER)", text, flags=re.M):
        rows += [figure(f"demo makespan, run {attempt}", _number(makespan), "s"),
                 figure(f"single-process pipeline, run {attempt}", _number(alone), "s"),
                 figure(f"demo / pipeline, run {attempt}", _number(ratio), "", ("<=", _number(goal))),
                 figure(f"demo results differ from the pipeline's, run {attempt}", int(same != "the same"), "",
                        ("<=", 0))]
    return rows


def large_gem_figures(text: str) -> Figures:
    """bench/large_gem_makespan.py's line 'large GEM makespan_s 30.1 (4 slots, 2 cores)
    single-process pipeline_s 60.2  ratio 0.50 (goal <= 0.7)  parallel efficiency 0.50  networks the same'."""
    rows = []
    for makespan, slots, cores, alone, ratio, goal, efficiency, same in re.findall(
            r"^large GEM makespan_s ([\d.]+) \((\d+) slots, (\d+) cores\)\s+"
            r"single-process pipeline_s ([\d.]+)\s+ratio ([\d.]+) "
            r"\(goal <= ([\d.]+)\)\s+parallel efficiency ([\d.]+)\s+networks (the same|DIFFER)", text, flags=re.M):
        rows += [figure("large GEM makespan", _number(makespan), "s"),
                 figure("large GEM single-process pipeline, one thread", _number(alone), "s"),
                 figure("large GEM makespan / pipeline", _number(ratio), "", ("<=", _number(goal))),
                 figure(f"large GEM parallel efficiency, {cores} cores ({slots} slots)", _number(efficiency), ""),
                 figure("large GEM network differs from the pipeline's", int(same != "the same"), "", ("<=", 0))]
    return rows


def kinc_rmt_figures(text: str) -> Figures:
    """bench/kinc_rmt.py's lines 'rmt pearson    0.412 s (cpu 0.400 s)   goal <= 1 s  met; ...'."""
    return [figure(f"kinc {step} {method} (best)", _number(wall), "s", ("<=", _number(goal)))
            for step, method, wall, goal in re.findall(
                r"^(rmt|extract) (\w+)\s+([\d.]+) s \(cpu [\d.]+ s\)\s+goal <= ([\d.]+) s", text, flags=re.M)]


def marathon_figures(text: str) -> Figures:
    """bench/marathon_bringup.py's table: a header of column names, then one row of numbers per app count."""
    lines = text.splitlines()
    header = next((i for i, line in enumerate(lines) if line.split()[:1] == ["apps"]), None)
    if header is None:
        return []
    names = lines[header].split()
    rows = []
    for line in lines[header + 1:]:
        values = line.split()
        if len(values) != len(names) or not all(re.fullmatch(r"[\d.]+", v) for v in values):
            continue
        apps = values[0]
        rows += [figure(f"{name}, {apps} apps", _number(value), "s" if name.endswith("_s") else "x")
                 for name, value in zip(names[1:], values[1:], strict=True)]
    return rows


def federation_figures(data: dict[str, Any]) -> Figures:
    rows = []
    for setting, row in data.items():
        if isinstance(row, dict):
            rows += [figure(f"{setting}: KINC makespan", row["kinc_makespan_s"], "s"),
                     figure(f"{setting}: pool_ready_s", row["pool_ready_s"], "s"),
                     figure(f"{setting}: overhead ratio", row["overhead_ratio"], "")]
        else:
            rows.append(figure(setting, row, "x"))
    return rows


def fault_figures(data: dict[str, Any]) -> Figures:
    part = data["partition"]
    rows = [figure("partition: extra makespan", part["extra_makespan_s"], "s", ("<=", part["extra_makespan_goal_s"])),
            figure("partition: healthy pool's longest wait with a free slot", part["healthy_longest_wait_s"], "s",
                   ("<=", part["healthy_longest_wait_goal_s"])),
            figure("partition: jobs lost", part["jobs_lost"], "jobs", ("<=", 0)),
            figure("partition: results differ", int(not part["results_identical"]), "", ("<=", 0))]
    for key in ("executor_lost", "submitter_restart"):
        if key in data:
            drill = key.replace("_", " ")
            rows += [figure(f"{drill}: jobs lost", data[key]["jobs_lost"], "jobs", ("<=", 0)),
                     figure(f"{drill}: makespan", data[key]["makespan_s"], "s"),
                     figure(f"{drill}: network differs", int(not data[key]["network_identical"]), "", ("<=", 0))]
    return rows


def gmm_figures(data: dict[str, Any]) -> Figures:
    """bench/gmm_makespan.py --json: KINC's GMM example (its GEM grown to GMM_GENES with seeded genes) on the
    federation against the single-process steps."""
    gem = f"GMM {data['genes']} x {data['samples']}"
    return [figure(f"{gem} makespan", data["makespan_s"], "s"),
            figure(f"{gem} single-process pipeline, one thread", data["pipeline_s"], "s"),
            figure(f"{gem} similarity alone in that process", data["similarity_s"], "s", (">=", 600)),
            figure(f"{gem} makespan / pipeline", data["ratio"], "", ("<=", data["goal"])),
            figure(f"{gem} parallel efficiency, {data['cores']} cores", data["parallel_efficiency"], ""),
            figure(f"{gem} network differs from the pipeline's", int(not data["networks_same"]), "", ("<=", 0))]


def kinc_similarity_figures(data: dict[str, Any]) -> Figures:
    """bench/kinc_similarity.py's JSON: per figure best, median and goal ('>= 90'); the median is the value."""
    rows = []
    for name, row in data["figures"].items():
        goal = row.get("goal")
        op, target = goal.split() if goal else (None, None)
        rows.append(figure(f"{name} (median)", row["median"], "", (op, float(target)) if goal else None))
    return rows


def own_figures(data: dict[str, Any]) -> Figures:
    """A bench that writes bench/figures.py's shape itself."""
    return list(data["figures"])


BENCHES = [
    Bench("pool_overhead", ("pool_overhead.py",), pool_overhead_figures),
    Bench("pool_scaling", ("pool_scaling.py", "--json", "{json}"), own_figures, json_file=True),
    Bench("provision_twice", ("provision_twice.py", "--json", "{json}"), own_figures, json_file=True),
    Bench("demo_makespan", ("demo_makespan.py",), demo_figures),
    Bench("large_gem_makespan", ("large_gem_makespan.py",), large_gem_figures),
    Bench("federation_makespan", ("federation_makespan.py", "--json"), federation_figures, json_stdout=True),
    Bench("fault_recovery", ("fault_recovery.py", "--json"), fault_figures, json_stdout=True),
    Bench("gmm_makespan", ("gmm_makespan.py", "--json", "--genes", str(GMM_GENES)), gmm_figures, json_stdout=True),
    Bench("marathon_bringup", ("marathon_bringup.py",), marathon_figures),
    Bench("kinc_rmt", ("kinc_rmt.py",), kinc_rmt_figures),
    Bench("kinc_similarity", ("kinc_similarity.py", "--json", "{json}"), kinc_similarity_figures, json_file=True),
]


def _command(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=REPO)
    return done.stdout.strip() if done.returncode == 0 else ""


def machine() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo")
    total = re.search(r"MemTotal:\s+(\d+) kB", meminfo.read_text()) if meminfo.exists() else None
    return {"node": platform.node(), "system": platform.platform(), "cpus": os.cpu_count(),
            "mem_mib": int(total.group(1)) // 1024 if total else None, "python": platform.python_version(),
            "docker": _command("docker", "version", "--format", "{{.Server.Version}}") or None,
            "ansible": (_command(str(Path(sys.executable).parent / "ansible"), "--version").splitlines() or [None])[0],
            "load": os.getloadavg()}


def commit() -> dict[str, Any]:
    return {"sha": _command("git", "rev-parse", "HEAD") or None,
            "dirty": bool(_command("git", "status", "--porcelain", "--untracked-files=no"))}


def run(bench: Bench, scratch: Path) -> dict[str, Any]:
    """One bench as a process of its own; its figures, or its exit code and output's tail when it failed."""
    out = scratch / f"{bench.name}.json"
    argv = [sys.executable, *(str(BENCH / bench.args[0]),), *(a.replace("{json}", str(out)) for a in bench.args[1:])]
    print(f"== {bench.name}: {' '.join(argv[1:])}", flush=True)
    start = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=REPO)
    entry: dict[str, Any] = {"name": bench.name, "command": " ".join(["python", *argv[1:]]), "rc": done.returncode,
                             "seconds": round(time.monotonic() - start, 1), "figures": [], "details": None,
                             "error": None}
    print(done.stdout if not bench.json_stdout else "(figures as JSON)", flush=True)
    try:
        if bench.json_file:
            data = json.loads(out.read_text())
            entry["details"] = data.get("details", data.get("facts"))
        elif bench.json_stdout:
            data = json.loads(done.stdout[done.stdout.find("{"):])
            entry["details"] = data
        else:
            data = done.stdout
        entry["figures"] = bench.read(data)
    except (OSError, ValueError, KeyError) as exc:
        entry["error"] = f"figures unreadable: {exc!r}"
    if done.returncode != 0 or not entry["figures"]:
        entry["error"] = entry["error"] or ("no figures found" if done.returncode == 0 else "the bench failed")
        entry["output_tail"] = (done.stdout + done.stderr)[-3000:]
    return entry


def report(benches: list[dict[str, Any]], facts: dict[str, Any], sha: dict[str, Any], started: str,
           plot: str | None) -> dict[str, Any]:
    """The one JSON document: when, on what, at which commit, and every bench's figures with their goals."""
    rows = [row for bench in benches for row in bench["figures"]]
    return {"started": started, "finished": datetime.now(UTC).isoformat(timespec="seconds"), "commit": sha,
            "machine": facts, "benches": benches, "plot": plot,
            "goals": {"met": sum(row["met"] is True for row in rows),
                      "not_met": sum(row["met"] is False for row in rows),
                      "without_goal": sum(row["met"] is None for row in rows)},
            "failed": [bench["name"] for bench in benches if bench["error"]]}


def plot_scaling(rows: list[dict[str, Any]], path: Path) -> None:
    """The 2/4/8-pool curve: pool-ready time, overhead ratio and executor idle memory against pools."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from pool_scaling import GOAL_IDLE_MIB, GOAL_RATIO_GROWTH, GOAL_READY_S

    pools = [row["pools"] for row in rows]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    panels = [("pool ready (s)", [row["pool_ready_s"] for row in rows], GOAL_READY_S),
              ("overhead ratio, 64 x 5 s", [row["overhead_ratio"] for row in rows],
               rows[0]["overhead_ratio"] * GOAL_RATIO_GROWTH),
              ("executor idle memory, max (MiB)", [row["executor_idle_mib_max"] for row in rows], GOAL_IDLE_MIB)]
    for axis, (title, values, goal) in zip(axes, panels, strict=True):
        axis.plot(pools, values, marker="o")
        axis.axhline(goal, color="tab:red", linestyle="--", linewidth=1, label="goal")
        axis.set_xticks(pools)
        axis.set_xlabel("executor pools")
        axis.set_title(title, fontsize=10)
        axis.set_ylim(bottom=0)
        axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> int:
    names = [bench.name for bench in BENCHES]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=names, default=names)
    parser.add_argument("--skip", nargs="+", choices=names, default=[])
    parser.add_argument("--out-dir", type=Path, default=BENCH / "results")
    options = parser.parse_args()
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    options.out_dir.mkdir(parents=True, exist_ok=True)
    facts, sha = machine(), commit()
    with tempfile.TemporaryDirectory() as scratch:
        benches = [run(bench, Path(scratch)) for bench in BENCHES
                   if bench.name in options.only and bench.name not in options.skip]
    plot = None
    scaling = next((b for b in benches if b["name"] == "pool_scaling" and b["details"]), None)
    if scaling:
        plot_path = options.out_dir / f"pool-scaling-{stamp}.png"
        plot_scaling(scaling["details"]["rows"], plot_path)
        plot = str(plot_path.relative_to(REPO)) if plot_path.is_relative_to(REPO) else str(plot_path)
    facts["load_after"] = os.getloadavg()
    document = report(benches, facts, sha, started.isoformat(timespec="seconds"), plot)
    path = options.out_dir / f"bench-{stamp}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"written: {path}{f' and {plot}' if plot else ''}; goals met {document['goals']['met']}, not met "
          f"{document['goals']['not_met']}; failed: {', '.join(document['failed']) or 'none'}")
    return 1 if document["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
