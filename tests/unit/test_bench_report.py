"""bench/report.py's one JSON document and the figures it reads from the benches' output; bench/pool_scaling.py's
pure parts (docker's times and memory units, the figures beside their goals) and the 2/4/8-pool plot."""

from __future__ import annotations

import json
import sys

from tests.support import REPO

sys.path.insert(0, str(REPO / "bench"))
import pool_scaling  # noqa: E402
import report  # noqa: E402
from figures import figure, goal_text  # noqa: E402

POOL_OVERHEAD = """embedded default: 2 executor pools, 4 slots; 64 jobs of 5 s, of 2 s
5 s jobs, run 1: pool_ready_s 4.1  makespan_s 90.2  sum(job runtimes)/slots 80.3  overhead ratio 1.12 (goal <= 1.15)  \
{'first_job_s': 2.0, 'gap_s': 0.4, 'tail_s': 1.0}  jobs_by_pool {'executor1': 32, 'executor2': 32}
2 s jobs, run 1: pool_ready_s up  makespan_s 45.0  sum(job runtimes)/slots 32.1  overhead ratio 1.40 (goal <= 1.5)  \
{'first_job_s': 2.0, 'gap_s': 0.4, 'tail_s': 1.0}  jobs_by_pool {'executor1': 32, 'executor2': 32}
"""
DEMO = """{"run": 1, "similarity_jobs": 4}
run 1: demo makespan_s 40.2 (4 similarity jobs)  single-process pipeline_s 20.1  ratio 2.00 (goal <= 2.5)  \
results the same
"""
MARATHON = """test double of Marathon's API 1.4.3, deployment delay 1.0 s
apps  module_wait_each_s  seed/module_each
   3                 4.5              7.78
  12                12.0             10.50
"""
ROWS = [
    {"pools": pools, "slots": 2 * pools, "pool_ready_s": ready, "overhead_ratio": ratio,
     "executor_idle_mib_max": mib, "executor_idle_mib_mean": mib - 1}
    for pools, ready, ratio, mib in ((2, 6.0, 1.10, 40.0), (4, 8.0, 1.2, 41.0), (8, 16.0, 1.4, 70.0))
]


def test_a_figure_is_met_or_not_against_its_goal() -> None:
    assert figure("a", 3, "s", ("<=", 3))["met"] is True
    assert figure("a", 3.5, "s", ("<=", 3))["met"] is False
    assert figure("a", 90, "", (">=", 100))["met"] is False
    assert figure("a", 1, "s")["met"] is None and figure("a", None, "s", ("<=", 1))["met"] is None
    assert goal_text(figure("ready", 16, "s", ("<=", 15))) == " (goal <= 15 s: NOT met)"


def test_pool_overhead_and_demo_figures_are_read_from_their_text() -> None:
    rows = {row["name"]: row for row in report.pool_overhead_figures(POOL_OVERHEAD)}
    assert rows["overhead ratio, 64 x 5 s jobs, run 1"]["value"] == 1.12
    assert rows["overhead ratio, 64 x 5 s jobs, run 1"]["goal"] == {"op": "<=", "value": 1.15}
    assert rows["overhead ratio, 64 x 2 s jobs, run 1"]["met"] is True
    assert rows["pool_ready_s, 64 x 5 s jobs, run 1"]["goal"] is None
    assert "pool_ready_s, 64 x 2 s jobs, run 1" not in rows  # the pools were up already: no pool-ready time
    demo = {row["name"]: row for row in report.demo_figures(DEMO)}
    assert demo["demo / pipeline, run 1"]["value"] == 2.0 and demo["demo / pipeline, run 1"]["met"] is True
    assert demo["demo results differ from the pipeline's, run 1"]["value"] == 0
    marathon = {row["name"]: row["value"] for row in report.marathon_figures(MARATHON)}
    assert marathon == {"module_wait_each_s, 3 apps": 4.5, "seed/module_each, 3 apps": 7.78,
                        "module_wait_each_s, 12 apps": 12.0, "seed/module_each, 12 apps": 10.5}
    assert report.pool_overhead_figures("nothing printed") == []


def test_pool_scaling_figures_carry_the_goals() -> None:
    rows = {row["name"]: row for row in pool_scaling.scaling_figures(ROWS)}
    assert rows["pool_ready_s, 8 pools"]["goal"] == {"op": "<=", "value": 15.0}
    assert rows["pool_ready_s, 8 pools"]["met"] is False and rows["pool_ready_s, 2 pools"]["goal"] is None
    growth = rows["overhead ratio growth, 8 / 2 pools"]
    assert growth["value"] == round(1.4 / 1.1, 3) and growth["met"] is False
    assert rows["executor idle memory (max), 4 pools"]["met"] is True
    assert rows["executor idle memory (max), 8 pools"]["met"] is False
    assert pool_scaling.mebibytes("43.5MiB / 2GiB") == 43.5
    assert pool_scaling.mebibytes("1.5GiB / 2GiB") == 1536.0
    assert pool_scaling.mebibytes("512KiB / 2GiB") == 0.5
    assert pool_scaling.docker_time("2026-12-02T17:00:19.123456789Z") - pool_scaling.docker_time(
        "2026-12-02T17:00:18.623456Z") == 0.5


def test_the_report_is_one_json_document_with_goals_beside_figures(tmp_path) -> None:
    benches = [
        {"name": "pool_overhead", "command": "python bench/pool_overhead.py", "rc": 0, "seconds": 100.0,
         "figures": report.pool_overhead_figures(POOL_OVERHEAD), "details": None, "error": None},
        {"name": "pool_scaling", "command": "python bench/pool_scaling.py --json x", "rc": 0, "seconds": 300.0,
         "figures": pool_scaling.scaling_figures(ROWS), "details": {"rows": ROWS}, "error": None},
        {"name": "demo_makespan", "command": "python bench/demo_makespan.py", "rc": 1, "seconds": 5.0,
         "figures": [], "details": None, "error": "the bench failed", "output_tail": "Traceback"},
    ]
    plot = tmp_path / "curve.png"
    report.plot_scaling(ROWS, plot)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    document = json.loads(json.dumps(report.report(benches, report.machine(), report.commit(), "2026-12-02T17:00:00",
                                                   str(plot))))
    assert set(document) == {"started", "finished", "commit", "machine", "benches", "plot", "goals", "failed"}
    assert {"cpus", "mem_mib", "python", "docker", "load"} <= set(document["machine"])
    assert len(document["commit"]["sha"]) == 40
    assert document["failed"] == ["demo_makespan"]
    figures = [row for bench in document["benches"] for row in bench["figures"]]
    assert all(set(row) == {"name", "value", "unit", "goal", "met"} for row in figures)
    assert document["goals"]["met"] + document["goals"]["not_met"] + document["goals"]["without_goal"] == len(figures)
    assert document["goals"]["not_met"] == 3  # 8 pools: ready, memory, ratio growth


def test_gmm_figures_carry_the_goals_and_the_network_check() -> None:
    data = {"makespan_s": 700.0, "pipeline_s": 1250.0, "similarity_s": 1040.0, "ratio": 0.56, "goal": 0.6,
            "cores": 2, "parallel_efficiency": 0.89, "networks_same": True, "genes": 1300, "samples": 60}
    rows = {row["name"]: row for row in report.gmm_figures(data)}
    assert rows["GMM 1300 x 60 makespan / pipeline"]["met"] is True
    assert rows["GMM 1300 x 60 similarity alone in that process"]["goal"] == {"op": ">=", "value": 600}
    assert rows["GMM 1300 x 60 network differs from the pipeline's"]["met"] is True
    slow = {row["name"]: row for row in report.gmm_figures({**data, "ratio": 0.8, "similarity_s": 300.0,
                                                            "networks_same": False})}
    assert slow["GMM 1300 x 60 makespan / pipeline"]["met"] is False
    assert slow["GMM 1300 x 60 similarity alone in that process"]["met"] is False
    assert slow["GMM 1300 x 60 network differs from the pipeline's"]["met"] is False
