# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""The report of a KINC run on the controller: a timeline of its jobs and one static report.html.

Pure functions over a run directory as kinc.yml fetches it back (summary.json, network.txt, the payload's
PNGs). In GMM mode (:func:`is_gmm`) :func:`read_gmm` counts network.txt's clusters per gene pair and its edges
per condition test. :func:`timeline_figure` builds the figure without saving it, so it can be inspected;
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
        after = ", ".join(step["name"] for step in summary.get("steps", []) if step.get("name") != "summary") or (
            "merge, rmt, extract" if summary.get("mode") == "kinc" else "summary")
        _phase(ax, 0.0, min(job_bar.start for job_bar in bars), "matching,\nflocking", "before-first-job")
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


# -------------------------------------------------------------------------- GMM: clusters, conditions

# extract's filters when summary.json records none (kincflow's --pvalue and --rsquare defaults).
_DEFAULT_PVALUE = 0.001
_DEFAULT_RSQUARE = 0.3


@dataclass(frozen=True)
class ConditionTest:
    """A condition test as network.txt names it: a categorical feature's label (``Feature__Label_pVal``) or a
    quantitative or ordinal feature (``Feature_pVal`` and ``Feature_RSqr``)."""

    feature: str
    label: str | None  # None: a regression test, with an R^2
    p_column: int
    r2_column: int | None


@dataclass(frozen=True)
class GmmCounts:
    """What network.txt tells of a GMM run: clusters per gene pair and edges per condition test."""

    edges: int
    pairs_by_edges: dict[int, int]  # a pair's rows (its clusters that are edges) -> pairs
    pairs_by_index: dict[int, int] | None  # a pair's highest Cluster_Index -> pairs
    pairs_by_clusters: dict[int, int] | None  # Num_Clusters (the minimal format writes it) -> pairs
    tests: list[ConditionTest]
    edges_by_test: list[int]
    edges_by_feature: dict[str, int]  # edges with a passing test of the feature
    edges_any_test: int
    pvalue: float
    rsquare: float
    filters_recorded: bool


def network_columns(network: Path) -> list[str]:
    with network.open(encoding="utf-8") as handle:
        return handle.readline().rstrip("\n").split("\t")


def _settings(summary: dict[str, Any]) -> dict[str, Any]:
    """summary.json's settings, or none when it records none."""
    settings = summary.get("settings")
    return settings if isinstance(settings, dict) else {}


def is_gmm(summary: dict[str, Any], columns: list[str]) -> bool:
    """A GMM run: its settings say so, or its network has condition tests or a pair's cluster count."""
    return (_settings(summary).get("clusmethod") == "gmm"
            or "Num_Clusters" in columns or any(column.endswith("_pVal") for column in columns))


def condition_tests(columns: list[str], features: list[str]) -> list[ConditionTest]:
    """The tests of the ``<test>_pVal`` columns, in column order. A test with an ``_RSqr`` column is a
    regression on its feature; any other is ``Feature__Label``, split after the longest of ``features``
    (the run's feat_tests) it starts with, else at its first ``__``."""
    tests = []
    for index, column in enumerate(columns):
        if not column.endswith("_pVal"):
            continue
        name = column[:-len("_pVal")]
        if f"{name}_RSqr" in columns:
            tests.append(ConditionTest(name, None, index, columns.index(f"{name}_RSqr")))
            continue
        prefix = max((feature for feature in features if name.startswith(f"{feature}__")), key=len, default="")
        feature, _sep, label = name.partition("__") if not prefix else (prefix, "__", name[len(prefix) + 2:])
        tests.append(ConditionTest(feature, label, index, None))
    return tests


def _filters(summary: dict[str, Any]) -> tuple[float, float, bool]:
    settings = _settings(summary)
    try:
        if "pvalue" in settings and "rsquare" in settings:
            return float(settings["pvalue"]), float(settings["rsquare"]), True
    except (TypeError, ValueError):
        raise ReportError(f"summary.json: settings pvalue and rsquare must be numbers, got "
                          f"{settings['pvalue']!r} and {settings['rsquare']!r}") from None
    return _DEFAULT_PVALUE, _DEFAULT_RSQUARE, False


def read_gmm(network: Path, summary: dict[str, Any]) -> GmmCounts:
    """Count, in one pass over network.txt: each gene pair's rows, its highest Cluster_Index and its
    Num_Clusters (when written), and the edges whose test passes the run's filters as extract applies them
    (p below pvalue and, for a regression test, R^2 above rsquare; a NaN passes nothing)."""
    pvalue, rsquare, recorded = _filters(summary)
    settings = _settings(summary)
    features = [name for name in str(settings.get("feat_tests") or "").split(",") if name]
    rows: dict[tuple[str, str], list[int]] = {}  # pair -> [rows, highest Cluster_Index, Num_Clusters]
    with network.open(encoding="utf-8") as handle:
        columns = handle.readline().rstrip("\n").split("\t")
        missing = [name for name in ("Source", "Target") if name not in columns]
        if missing:
            raise ReportError(f"{network}: header lacks {', '.join(missing)}: {columns!r}")
        source, target = columns.index("Source"), columns.index("Target")
        index = columns.index("Cluster_Index") if "Cluster_Index" in columns else None
        clusters = columns.index("Num_Clusters") if "Num_Clusters" in columns else None
        tests = condition_tests(columns, features)
        by_test = [0] * len(tests)
        by_feature = dict.fromkeys((test.feature for test in tests), 0)
        any_test = edges = 0
        for number, line in enumerate(handle, start=2):
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != len(columns):
                raise ReportError(f"{network}: line {number}: expected {len(columns)} fields, got {fields!r}")
            edges += 1
            pair = rows.setdefault(tuple(sorted((fields[source], fields[target]))), [0, 0, 0])
            pair[0] += 1
            try:
                if index is not None:
                    pair[1] = max(pair[1], int(fields[index]))
                if clusters is not None:
                    pair[2] = max(pair[2], int(fields[clusters]))
                passed = [_passes(fields, test, pvalue, rsquare) for test in tests]
            except ValueError:
                raise ReportError(f"{network}: line {number}: Cluster_Index and Num_Clusters must be integers and "
                                  f"the tests' columns numbers, got {fields!r}") from None
            for i, ok in enumerate(passed):
                by_test[i] += ok
            for feature in {test.feature for test, ok in zip(tests, passed, strict=True) if ok}:
                by_feature[feature] += 1
            any_test += any(passed)
    return GmmCounts(
        edges=edges, pairs_by_edges=_histogram(pair[0] for pair in rows.values()),
        pairs_by_index=None if index is None else _histogram(pair[1] for pair in rows.values()),
        pairs_by_clusters=None if clusters is None else _histogram(pair[2] for pair in rows.values()),
        tests=tests, edges_by_test=by_test, edges_by_feature=by_feature, edges_any_test=any_test,
        pvalue=pvalue, rsquare=rsquare, filters_recorded=recorded)


def _passes(fields: list[str], test: ConditionTest, pvalue: float, rsquare: float) -> bool:
    p = float(fields[test.p_column])
    r2 = float(fields[test.r2_column]) if test.r2_column is not None else None
    return p < pvalue and (r2 is None or r2 > rsquare)


def _histogram(values: Any) -> dict[int, int]:
    counts: dict[int, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))


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


def _gmm_section(gmm: GmmCounts | None) -> list[str]:
    """GMM mode: the gene pairs per number of clusters, and the edges per condition test and feature."""
    if gmm is None:
        return []
    pairs = sum(gmm.pairs_by_edges.values())
    columns = [("edges in network.txt", gmm.pairs_by_edges), ("highest Cluster_Index", gmm.pairs_by_index),
               ("Num_Clusters", gmm.pairs_by_clusters)]
    columns = [(title, counts) for title, counts in columns if counts is not None]
    sizes = sorted({size for _title, counts in columns for size in counts})
    parts = [
        "<section><h2>Clusters per gene pair</h2>",
        "<table class=\"clusters\"><thead><tr><th>Clusters</th>",
        *(f"<th>Pairs by {_e(title)}</th>" for title, _counts in columns), "</tr></thead><tbody>",
        *(f"<tr><td class=\"num\">{size}</td>"
          + "".join(f"<td class=\"num\">{counts.get(size, 0)}</td>" for _title, counts in columns) + "</tr>"
          for size in sizes),
        f"</tbody></table><p>{pairs} gene pairs with {gmm.edges} edges. In GMM mode each cluster of a pair that "
        "is kept is an edge of its own: a pair's rows in network.txt are its clusters kept, and its highest "
        "Cluster_Index is a lower bound on its clusters after corrpower (the others fell below the threshold or "
        "failed the condition tests).</p></section>",
    ]
    if not gmm.tests:
        return [*parts, "<section><h2>Edges per condition</h2><p>No condition tests in this network "
                        "(no annotation matrix in this run).</p></section>"]
    rule = f"p &lt; {_e(f'{gmm.pvalue:g}')}"
    regression = f"{rule}, R² &gt; {_e(f'{gmm.rsquare:g}')}"
    source = "the run's pvalue and rsquare" if gmm.filters_recorded else \
        "kincflow's default pvalue and rsquare (summary.json records none)"
    parts += ["<section><h2>Edges per condition</h2>",
              "<table class=\"conditions\"><thead><tr><th>Feature</th><th>Label</th><th>Test passes at</th>"
              "<th>Edges</th></tr></thead><tbody>"]
    for feature, edges in gmm.edges_by_feature.items():
        tests = [(test, count) for test, count in zip(gmm.tests, gmm.edges_by_test, strict=True)
                 if test.feature == feature]
        for test, count in tests:
            label = "" if test.label is None else test.label
            parts.append(f"<tr><td>{_e(feature)}</td><td>{_e(label)}</td>"
                         f"<td>{rule if test.label is not None else regression}</td>"
                         f"<td class=\"num\">{count}</td></tr>")
        if len(tests) > 1:
            parts.append(f"<tr><td>{_e(feature)}</td><td>any label</td><td>{rule}</td>"
                         f"<td class=\"num\">{edges}</td></tr>")
    parts.append(f"</tbody></table><p>{gmm.edges_any_test} of {gmm.edges} edges pass at least one test, at "
                 f"{_e(source)}, from the p-values and R² as network.txt writes them. An edge counts once "
                 "for each test it passes.</p></section>")
    return parts


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
                links: list[str], gmm: GmmCounts | None = None) -> str:
    """The page: the summary, the figures as <img src="NAME">, the top edges, in GMM mode the clusters per pair
    and the edges per condition, and links to the files."""
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
        *_gmm_section(gmm),
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
    gmm = read_gmm(network, summary) if edges is not None and is_gmm(summary, network_columns(network)) else None
    links = [name for name in LINKS if (run_dir / name).is_file()]
    outputs[REPORT] = report_html(summary, figures, edges, total, links, gmm).encode("utf-8")
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
