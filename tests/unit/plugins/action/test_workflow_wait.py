"""The progress lines workflow_wait prints while it waits."""

from __future__ import annotations

from ansible_collections.cloudflock.htcondor.plugins.action.workflow_wait import progress_line


def test_a_run_shows_jobs_and_pools() -> None:
    line = progress_line({"run_id": "kinc-1", "jobs_done": 3, "jobs_total": 8, "jobs_running": 2, "jobs_idle": 3,
                          "nodes_done": 4, "nodes_total": 11, "jobs_by_pool": {"executor1": 3},
                          "running_by_pool": {"executor2": 2}}, 12.4)
    assert line == ("[    12s] kinc-1: 3/8 jobs done, 2 running, 3 idle; nodes 4/11 | executor1 3 done/0 running, "
                    "executor2 0 done/2 running")


def test_a_status_with_its_own_progress_text_shows_that() -> None:
    line = progress_line({"state": "running", "progress": "executor pools visible 1/2: executor1; waiting for "
                                                          "executor2"}, 3.0)
    assert line == "[     3s] executor pools visible 1/2: executor1; waiting for executor2"
