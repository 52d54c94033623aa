"""A KINC run directory as the workflow leaves it (summary.json, network.txt, rmt.log, a picture), and the
report.html the run_report module writes into it, read back: what the run report's tests share."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

from ansible_collections.cloudflock.htcondor.plugins.module_utils.run_report import REPORT, render_png, timeline_figure

SUBMITTED = 1_795_594_804.0
# chunk, pool, slot, start, end (seconds after submission)
JOBS = [
    (0, "executor1", "slot1@executor1", 10.0, 13.0),
    (1, "executor1", "slot2@executor1", 10.1, 12.5),
    (2, "executor2", "slot1@executor2", 11.0, 15.0),
    (3, "executor2", "slot2@executor2", 11.2, 14.0),
    (4, "executor1", "slot2@executor1", 14.0, 18.0),
    (5, "executor1", "slot1@executor1", 14.5, 17.0),
    (6, "executor2", "slot1@executor2", 16.0, 19.5),
]


def summary(jobs: list[tuple[int, str, str | None, float, float]] = JOBS, **overrides: object) -> dict:
    record = {
        "run_id": "kinc-20261125-082004-527614", "mode": "kinc", "jobs_total": len(jobs), "jobs_done": len(jobs),
        "jobs_by_pool": {"executor1": 4, "executor2": 3}, "executor_pools": ["executor1", "executor2", "executor3"],
        "submitted_at": SUBMITTED, "finished_at": SUBMITTED + 30.0, "makespan_s": 30.0, "job_runtime_s": 22.1,
        "threshold": 0.831002, "threshold_source": "rmt", "edges": 3, "genes": 4, "network": "network.txt",
        "pool_ready_s": None,
        "jobs": [{"chunk": c, "chunks": len(jobs), "pool": p, "slot": s, "host": p, "exit_code": 0,
                  "start": SUBMITTED + a, "end": SUBMITTED + b} for c, p, s, a, b in jobs],
    }
    record.update(overrides)
    return record


def network_text(rows: list[tuple[str, str, str]]) -> str:
    header = "Source\tTarget\tSimilarity_Score\tInteraction\tCluster_Index\tCluster_Size\tSamples\n"
    return header + "".join(f"{s}\t{t}\t{r}\tco\t1\t5\t11111\n" for s, t, r in rows)


def make_run_dir(tmp_path: Path) -> Path:
    """A finished KINC run's directory under tmp_path: its summary, network, RMT log and a picture."""
    run = tmp_path / "kinc-20261125-082004-527614"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps(summary()))
    (run / "network.txt").write_text(network_text([("G2", "G1", "0.9"), ("G3", "G1", "-0.95"), ("G4", "G3", "0.86")]))
    (run / "rmt.log").write_text("0.99\t1\t1\t-1\n0.831002\n")
    (run / "rmt.png").write_bytes(render_png(timeline_figure(summary())))  # any PNG will do
    return run


class Page(HTMLParser):
    """Every src/href, the tags used, the text, and the rows of the edges table."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []
        self.rows: list[list[str]] = []
        self.tables: dict[str, list[list[str]]] = {}  # the <td> rows of every table, by its class
        self._table = ""
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = dict(attrs)
        self.references += [values[key] or "" for key in ("src", "href") if key in values]
        if tag == "table":
            self._table = values.get("class") or ""
        elif tag == "tr" and self._table:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._row.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self._row:
            self.tables.setdefault(self._table, []).append(self._row)
            if self._table == "edges":
                self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._row:
            self._row[-1] += data


def parse(run: Path) -> Page:
    page = Page()
    page.feed((run / REPORT).read_text(encoding="utf-8"))
    return page
