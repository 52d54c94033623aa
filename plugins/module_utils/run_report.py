# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""The report of a KINC run on the controller: a timeline of its jobs and one static report.html.

Pure functions over a run directory as kinc.yml fetches it back (summary.json, network.txt, the payload's
PNGs). :func:`timeline_figure` builds the figure without saving it, so it can be inspected;
:func:`build_report` renders every output in memory and :func:`write_report` writes the ones that
differ from what is on disk (nothing in check mode). matplotlib is imported only to draw, with Agg.
"""

from __future__ import annotations

import heapq
import html
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SUMMARY = "summary.json"
NETWORK = "network.txt"
TIMELINE = "timeline.png"
REPORT = "report.html"
# The pictures a report shows, in this order, when they are in the run directory.
FIGURES = (
    (TIMELINE, "Timeline: each similarity job as a bar on the lane of the executor pool that ran it, "
               "one track per slot, from its start to its end, in seconds since the run was submitted."),
    ("rmt.png", "RMT walk: chi-square of the eigenvalue spacings against the threshold; the threshold is "
                "the last t below 99.607 before the walk reached 200."),
    ("similarity-histogram.png", "Similarity of the stored pairs, with the threshold at +t and -t: "
                                 "pairs outside the two lines are the network's edges."),
    ("degree-distribution.png", "Degree distribution of the network (log-log): genes per number of edges."),
)
# Files the report links to when they exist.
LINKS = (NETWORK, SUMMARY, "rmt.log", "threshold.txt", "run.json")
_SUMMARY_ROWS = (
    ("run_id", "run"), ("mode", "mode"), ("gem", "GEM"), ("gem_sha256", "GEM sha256"), ("gem_genes", "GEM genes"),
    ("gem_samples", "GEM samples"), ("corrmethod", "correlation"), ("settings", "KINC settings"),
    ("threshold", "threshold"), ("threshold_source", "threshold from"), ("genes", "genes"),
    ("edges", "edges"), ("jobs_done", "jobs done"), ("jobs_total", "jobs"), ("jobs_by_pool", "jobs by pool"),
    ("jobs_by_cluster", "jobs by cluster"), ("executor_pools", "executor pools"), ("submitted_at", "submitted"),
    ("finished_at", "finished"), ("makespan_s", "makespan (s)"), ("job_runtime_s", "job time, summed (s)"),
    ("pool_ready_s", "pools ready after (s)"), ("network", "network"),
)
_HIDDEN = {"jobs", "plots"}
_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
_LABELLED_BARS = 64  # chunk numbers are written in the bars up to this many jobs
_DPI = 100


class ReportError(Exception):
    """A run directory the report cannot be made from; the message names the file and the value."""


# ------------------------------------------------------------------------------------------ input


def load_summary(run_dir: Path) -> dict[str, Any]:
    path = run_dir / SUMMARY
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file; is {str(run_dir)!r} a fetched kinc run?") from None
    except ValueError as error:
        raise ReportError(f"{path}: not JSON: {error}") from None
    if not isinstance(summary, dict):
        raise ReportError(f"{path}: expected an object, got {type(summary).__name__}")
    return summary


@dataclass(frozen=True)
class Bar:
    """One job on the timeline, in seconds since the run was submitted."""

    chunk: int
    pool: str
    slot: str | None
    start: float
    end: float


def job_bars(summary: dict[str, Any]) -> list[Bar]:
    jobs = summary.get("jobs") or []
    if not isinstance(jobs, list):
        raise ReportError(f"summary.json: jobs must be a list, got {type(jobs).__name__}")
    bars = [_bar(job, index) for index, job in enumerate(jobs)]
    origin = summary.get("submitted_at")
    if not isinstance(origin, int | float):
        origin = min((job_bar.start for job_bar in bars), default=0.0)
    return [Bar(b.chunk, b.pool, b.slot, b.start - origin, b.end - origin) for b in bars]


def _bar(job: Any, index: int) -> Bar:
    try:
        start, end = float(job["start"]), float(job["end"])
        return Bar(int(job.get("chunk", index)), str(job["pool"]), job.get("slot"), start, end)
    except (KeyError, TypeError, ValueError) as error:
        raise ReportError(f"summary.json: jobs[{index}] needs pool, start and end: {job!r} ({error})") from None


def pool_lanes(summary: dict[str, Any], bars: list[Bar]) -> list[str]:
    """The executor pools of the federation in their order, then any other pool a job ran on."""
    pools = [str(pool) for pool in summary.get("executor_pools") or []]
    return pools + sorted({job_bar.pool for job_bar in bars} - set(pools))


def slot_tracks(bars: list[Bar]) -> tuple[dict[int, int], int]:
    """Each job's track within its lane (a track per slot, or packed when slots are unknown); the count."""
    if bars and all(job_bar.slot for job_bar in bars):
        slots = sorted({str(job_bar.slot) for job_bar in bars})
        return {id(job_bar): slots.index(str(job_bar.slot)) for job_bar in bars}, len(slots)
    ends: list[float] = []
    tracks: dict[int, int] = {}
    for job_bar in sorted(bars, key=lambda b: (b.start, b.chunk)):
        free = next((i for i, end in enumerate(ends) if end <= job_bar.start), len(ends))
        ends[free:free + 1] = [job_bar.end]
        tracks[id(job_bar)] = free
    return tracks, len(ends)


# --------------------------------------------------------------------------------------- timeline


def _new_figure(width: float, height: float) -> Figure:
    try:
        import matplotlib
    except ImportError as error:
        raise ReportError(f"the timeline needs matplotlib in the controller's Python {sys.executable}: {error}") \
            from None
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=_DPI, layout="constrained")


def timeline_figure(summary: dict[str, Any]) -> Figure:
    """A lane per executor pool, a bar per job (gid ``job``) from its start to its end, coloured by pool."""
    bars = job_bars(summary)
    lanes = pool_lanes(summary, bars)
    figure = _new_figure(10.0, 1.6 + 1.1 * max(len(lanes), 1))
    ax = figure.add_subplot()
    for lane, pool in enumerate(lanes):
        _draw_lane(ax, lane, _COLORS[lane % len(_COLORS)], [b for b in bars if b.pool == pool], len(bars))
    _decorate(ax, summary, bars, lanes)
    return figure


def _draw_lane(ax: Axes, lane: int, color: str, bars: list[Bar], total: int) -> None:
    tracks, count = slot_tracks(bars)
    height = 0.84 / max(count, 1)
    for job_bar in bars:
        bottom = lane - 0.42 + tracks[id(job_bar)] * height
        ax.barh(bottom + height / 2, job_bar.end - job_bar.start, left=job_bar.start, height=height * 0.86,
                color=color, edgecolor="white", linewidth=0.5, gid="job")
        if total <= _LABELLED_BARS:
            ax.text(job_bar.start + (job_bar.end - job_bar.start) / 2, bottom + height / 2, str(job_bar.chunk),
                    ha="center", va="center", fontsize=7, color="white", clip_on=True)


def _decorate(ax: Axes, summary: dict[str, Any], bars: list[Bar], lanes: list[str]) -> None:
    counts = {pool: sum(1 for job_bar in bars if job_bar.pool == pool) for pool in lanes}
    ax.set_yticks(range(len(lanes)), [f"{pool}\n{counts[pool]} jobs" for pool in lanes])
    for label, lane in zip(ax.get_yticklabels(), range(len(lanes)), strict=True):
        label.set_color(_COLORS[lane % len(_COLORS)])
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    makespan = summary.get("makespan_s")
    if bars:
        after = "merge, rmt, extract" if summary.get("mode") == "kinc" else "summary"
        _phase(ax, 0.0, min(job_bar.start for job_bar in bars), "import, matching,\nflocking", "before-first-job")
        if isinstance(makespan, int | float):
            _phase(ax, max(job_bar.end for job_bar in bars), makespan, after, "after-last-job")
    if isinstance(makespan, int | float):
        ax.axvline(makespan, color="#444444", linestyle="--", linewidth=1, gid="finished")
        ax.text(makespan, 1.0, "summary", transform=ax.get_xaxis_transform(), fontsize=8, va="bottom",
                ha="center")
    if not bars:
        ax.text(0.5, 0.5, "no job records in summary.json", transform=ax.transAxes, ha="center", va="center")
    ax.set_xlim(left=0)
    ax.set_xlabel("seconds since the run was submitted")
    ax.grid(axis="x", alpha=0.3)
    span = f", makespan {makespan:.1f} s" if isinstance(makespan, int | float) else ""
    ax.set_title(f"{summary.get('run_id', 'run')}: {len(bars)} jobs on {len(lanes)} executor pools{span}",
                 loc="left")


def _phase(ax: Axes, start: float, end: float, label: str, gid: str) -> None:
    """Shade a stretch of the run without similarity jobs and say what happens in it."""
    if end <= start:
        return
    ax.axvspan(start, end, color="#eeeeee", zorder=0, gid=gid)
    ax.text((start + end) / 2, 0.02, label, transform=ax.get_xaxis_transform(), ha="center", va="bottom",
            fontsize=8, color="#666666", clip_on=True)


def render_png(figure: Figure) -> bytes:
    """PNG bytes without a timestamp or version, so an unchanged run renders to the same bytes."""
    out = BytesIO()
    figure.savefig(out, format="png", dpi=_DPI, metadata={"Software": None})
    return out.getvalue()


# ------------------------------------------------------------------------------------------ edges


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    score: str  # as written in network.txt
    samples: str  # Cluster_Size, or "" when the format has none

    @property
    def magnitude(self) -> float:
        return abs(float(self.score))


def read_edges(network: Path, top: int) -> tuple[list[Edge], int]:
    """The ``top`` edges by |score| (ties in file order) and the number of edges in the file, in one pass."""
    best: list[tuple[float, int, Edge]] = []  # a min-heap of (|score|, -order, edge)
    count = 0
    with network.open(encoding="utf-8") as handle:
        columns = handle.readline().rstrip("\n").split("\t")
        missing = [name for name in ("Source", "Target", "Similarity_Score") if name not in columns]
        if missing:
            raise ReportError(f"{network}: header lacks {', '.join(missing)}: {columns!r}")
        for number, line in enumerate(handle, start=2):
            if not line.strip():
                continue
            edge = _edge(network, number, line.rstrip("\n").split("\t"), columns)
            count += 1
            item = (edge.magnitude, -count, edge)
            if len(best) < top:
                heapq.heappush(best, item)
            elif top and item > best[0]:
                heapq.heapreplace(best, item)
    return [edge for _magnitude, _order, edge in sorted(best, reverse=True)], count


def _edge(network: Path, number: int, fields: list[str], columns: list[str]) -> Edge:
    value = dict(zip(columns, fields, strict=False))
    try:
        float(value["Similarity_Score"])
        return Edge(value["Source"], value["Target"], value["Similarity_Score"], value.get("Cluster_Size", ""))
    except (KeyError, ValueError):
        raise ReportError(f"{network}: line {number}: expected {len(columns)} fields with a numeric "
                          f"Similarity_Score, got {fields!r}") from None


# ------------------------------------------------------------------------------------------- html


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ddd; }
.lead { color: #444; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.92em; }
td, th { padding: 0.25em 0.8em; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
th { background: #f5f5f5; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.edges { font-size: 0.85em; } section { overflow-x: auto; }
table.kv th { background: none; color: #555; font-weight: normal; }
.columns { display: flex; flex-wrap: wrap; gap: 0 2em; align-items: flex-start; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 0 1.5em; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; } code { font-size: 0.95em; } .neg { color: #b00; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _href(name: str) -> str:
    return _e(quote(name))


def _format(key: str, value: Any) -> str:
    if key in ("submitted_at", "finished_at") and isinstance(value, int | float):
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(value))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return "n/a" if value is None else str(value)


def _summary_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    known = [(label, _format(key, summary[key])) for key, label in _SUMMARY_ROWS if key in summary]
    labels = {key for key, _label in _SUMMARY_ROWS} | _HIDDEN
    extra = [(key, _format(key, value)) for key, value in sorted(summary.items()) if key not in labels]
    return known + extra


def _lead(summary: dict[str, Any]) -> str:
    jobs = f"{summary.get('jobs_done', '?')}/{summary.get('jobs_total', '?')} similarity jobs"
    if summary.get("mode") != "kinc":
        return f"Test run: {jobs}, makespan {summary.get('makespan_s', '?')} s."
    return (f"{summary.get('edges', '?')} edges between {summary.get('genes', '?')} genes at threshold "
            f"{summary.get('threshold', '?')} ({summary.get('threshold_source', '?')}); {jobs} on "
            f"{len(summary.get('jobs_by_pool') or {})} executor pools; makespan {summary.get('makespan_s', '?')} s.")


def _edges_section(edges: list[Edge] | None, total: int) -> list[str]:
    if edges is None:
        return ["<p>No network in this run.</p>"]
    rows = ["<table class=\"edges\"><thead><tr><th>#</th><th>Source</th><th>Target</th><th>Similarity</th>"
            "<th>Samples</th></tr></thead><tbody>"]
    for rank, edge in enumerate(edges, start=1):
        sign = " neg" if edge.score.startswith("-") else ""
        rows.append(f"<tr><td class=\"num\">{rank}</td><td>{_e(edge.source)}</td><td>{_e(edge.target)}</td>"
                    f"<td class=\"num{sign}\">{_e(edge.score)}</td><td class=\"num\">{_e(edge.samples)}</td></tr>")
    rows.append(f"</tbody></table><p>{len(edges)} of {total} edges in <a href=\"{_href(NETWORK)}\">"
                f"{_e(NETWORK)}</a>, by |similarity|.</p>")
    return rows


def _summary_tables(rows: list[tuple[str, str]]) -> str:
    """The summary's rows as two tables side by side."""
    half = (len(rows) + 1) // 2
    tables = [
        "<table class=\"kv\"><tbody>"
        + "".join(f"<tr><th>{_e(label)}</th><td>{_e(value)}</td></tr>" for label, value in part)
        + "</tbody></table>"
        for part in (rows[:half], rows[half:])
    ]
    return f"<div class=\"columns\">{''.join(tables)}</div>"


def _figure(name: str, caption: str) -> str:
    return f"<figure><img src=\"{_href(name)}\" alt=\"{_e(caption)}\"><figcaption>{_e(caption)}</figcaption></figure>"


def report_html(summary: dict[str, Any], figures: list[tuple[str, str]], edges: list[Edge] | None, total: int,
                links: list[str]) -> str:
    """The page: the summary, the figures as <img src="NAME">, the top edges and links to the files."""
    run_id = summary.get("run_id", "")
    parts = [
        "<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>KINC run {_e(run_id)}</title><style>{_CSS}</style></head><body>",
        f"<h1>KINC run <code>{_e(run_id)}</code></h1>", f"<p class=\"lead\">{_e(_lead(summary))}</p>",
        "<h2>Summary</h2>", _summary_tables(_summary_rows(summary)), "<h2>Pictures</h2>",
        *(_figure(name, caption) for name, caption in figures if name == TIMELINE),
        "<div class=\"grid\">", *(_figure(name, caption) for name, caption in figures if name != TIMELINE),
        f"<section><h2>Top {len(edges or [])} edges</h2>", *_edges_section(edges, total), "</section></div>",
        "<h2>Files</h2><ul>", *(f"<li><a href=\"{_href(name)}\">{_e(name)}</a></li>" for name in links),
        "</ul></body></html>",
    ]
    return "\n".join(parts) + "\n"


# ------------------------------------------------------------------------------------------ files


def build_report(run_dir: Path, top_edges: int = 25) -> dict[str, bytes]:
    """Every output, rendered in memory: file name in the run directory -> content."""
    if top_edges < 0:
        raise ReportError(f"top_edges must be >= 0, got {top_edges}")
    if not run_dir.is_dir():
        raise ReportError(f"run_dir {str(run_dir)!r} is not a directory")
    summary = load_summary(run_dir)
    outputs = {TIMELINE: render_png(timeline_figure(summary))}
    present = set(outputs) | {name for name, _caption in FIGURES if (run_dir / name).is_file()}
    figures = [(name, caption) for name, caption in FIGURES if name in present]
    network = run_dir / NETWORK
    edges, total = read_edges(network, top_edges) if network.is_file() else (None, 0)
    links = [name for name in LINKS if (run_dir / name).is_file()]
    outputs[REPORT] = report_html(summary, figures, edges, total, links).encode("utf-8")
    return outputs


def _write_atomic(path: Path, content: bytes) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_report(run_dir: Path, top_edges: int = 25, check_mode: bool = False) -> dict[str, Any]:
    """Write the outputs that differ from the run directory's; in check mode only say which would change."""
    outputs = build_report(run_dir, top_edges)
    stale = [name for name, content in outputs.items()
             if not (run_dir / name).is_file() or (run_dir / name).read_bytes() != content]
    if not check_mode:
        for name in stale:
            _write_atomic(run_dir / name, outputs[name])
    return {
        "changed": bool(stale),
        "files": [str(run_dir / name) for name in outputs],
        "written": [] if check_mode else [str(run_dir / name) for name in stale],
        "report": str(run_dir / REPORT),
    }
