"""The run report: the timeline has a bar per job on its pool's lane; report.html is static, escaped and
references only files of the run directory; the module writes only what changed."""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from ansible_collections.cloudflock.htcondor.plugins.module_utils.run_report import (
    REPORT,
    TIMELINE,
    ReportError,
    build_report,
    condition_tests,
    job_bars,
    pool_lanes,
    read_edges,
    render_png,
    slot_tracks,
    timeline_figure,
    write_report,
)

from tests.support.kinc_run import JOBS, Page, make_run_dir, network_text, parse, summary


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    return make_run_dir(tmp_path)


def job_patches(figure) -> list:
    return [patch for patch in figure.axes[0].patches if patch.get_gid() == "job"]


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a well-formed PNG: signature, IHDR first, every CRC right, IEND last."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, kinds = 8, []
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])[0]
        kinds.append(kind)
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        offset += 12 + length
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    return size


# ------------------------------------------------------------------------------------------ timeline


def test_timeline_has_a_bar_per_job_on_its_pools_lane() -> None:
    figure = timeline_figure(summary())
    bars = job_patches(figure)
    assert len(bars) == len(JOBS)
    lanes = pool_lanes(summary(), job_bars(summary()))
    assert lanes == ["executor1", "executor2", "executor3"]
    for bar, (_, pool, _, start, end) in zip(sorted(bars, key=lambda b: b.get_x()), sorted(JOBS, key=lambda j: j[3]),
                                             strict=True):
        assert bar.get_x() == pytest.approx(start) and bar.get_width() == pytest.approx(end - start)
        lane = lanes.index(pool)
        assert lane - 0.5 < bar.get_y() < bar.get_y() + bar.get_height() < lane + 0.5
    colours = {tuple(bar.get_facecolor()) for bar in bars}
    assert len(colours) == 2  # one per pool that ran jobs


def test_each_slot_has_its_own_track_so_concurrent_jobs_do_not_overlap() -> None:
    bars = job_patches(timeline_figure(summary()))
    for a in bars:
        for b in bars:
            if a is not b and a.get_x() < b.get_x() + b.get_width() and b.get_x() < a.get_x() + a.get_width():
                assert a.get_y() + a.get_height() <= b.get_y() or b.get_y() + b.get_height() <= a.get_y()


def test_jobs_without_slots_are_packed_into_as_few_tracks_as_overlap_needs() -> None:
    bars = job_bars(summary([(0, "p", None, 0, 5), (1, "p", None, 1, 3), (2, "p", None, 3, 6), (3, "p", None, 5, 7)]))
    tracks, count = slot_tracks(bars)
    assert count == 2
    assert [tracks[id(bar)] for bar in bars] == [0, 1, 1, 0]


def test_a_pool_without_jobs_keeps_its_lane() -> None:
    labels = [label.get_text() for label in timeline_figure(summary()).axes[0].get_yticklabels()]
    assert labels == ["executor1\n4 jobs", "executor2\n3 jobs", "executor3\n0 jobs"]


def test_timeline_renders_to_a_plausible_png() -> None:
    data = render_png(timeline_figure(summary()))
    width, height = png_size(data)
    assert 800 <= width <= 2000 and 300 <= height <= 1200
    assert len(data) > 10_000


def test_a_summary_without_jobs_still_draws_a_timeline() -> None:
    figure = timeline_figure(summary([]))
    assert job_patches(figure) == []
    assert "no job records in summary.json" in [text.get_text() for text in figure.axes[0].texts]


def test_a_job_without_times_is_named() -> None:
    broken = summary()
    del broken["jobs"][2]["end"]
    with pytest.raises(ReportError, match=r"jobs\[2\] needs pool, start and end"):
        timeline_figure(broken)


# ---------------------------------------------------------------------------------------------- html


def test_report_references_only_files_of_the_run_directory(run_dir: Path) -> None:
    write_report(run_dir)
    page = parse(run_dir)
    assert {"timeline.png", "rmt.png", "network.txt", "summary.json", "rmt.log"} <= set(page.references)
    for reference in page.references:
        target = (run_dir / reference).resolve()
        assert target.is_file(), reference
        assert target.parent == run_dir.resolve(), reference
    assert "degree-distribution.png" not in page.references  # not drawn in this run
    assert not page.tags & {"script", "link", "iframe", "object"}


def test_every_picture_in_the_run_directory_is_shown(run_dir: Path) -> None:
    for name in ("similarity-histogram.png", "degree-distribution.png"):
        shutil.copy(run_dir / "rmt.png", run_dir / name)
    write_report(run_dir)
    images = [ref for ref in parse(run_dir).references if ref.endswith(".png")]
    assert images == ["timeline.png", "rmt.png", "similarity-histogram.png", "degree-distribution.png"]


def test_gene_names_and_summary_values_are_escaped(run_dir: Path) -> None:
    names = ("<b>G&1</b>", 'G"2\'<i>')
    (run_dir / "network.txt").write_text(network_text([(names[0], names[1], "0.99")]))
    (run_dir / "summary.json").write_text(json.dumps(summary(gem="/data/<script>alert(1)</script>.txt")))
    write_report(run_dir)
    raw = (run_dir / REPORT).read_text()
    assert "<b>" not in raw and "<i>" not in raw and "<script>" not in raw
    assert "&lt;b&gt;G&amp;1&lt;/b&gt;" in raw
    page = parse(run_dir)
    assert page.rows == [["1", names[0], names[1], "0.99", "5"]]
    assert "/data/<script>alert(1)</script>.txt" in page.text
    assert not page.tags & {"b", "i", "script"}


def test_top_edges_are_the_strongest_by_absolute_score_in_order(run_dir: Path) -> None:
    scores = [0.86, -0.99, 0.91, 0.97, -0.88, 0.99, 0.9, -0.93, 0.87, 0.95, 0.92, -0.97]
    rows = [(f"G{i + 1}", "G0", f"{score:g}") for i, score in enumerate(scores)]
    (run_dir / "network.txt").write_text(network_text(rows))
    write_report(run_dir, top_edges=5)
    table = parse(run_dir).rows
    assert [row[0] for row in table] == ["1", "2", "3", "4", "5"]
    # ties in file order: -0.99 (line 2) before 0.99 (line 6), 0.97 (line 4) before -0.97 (line 12)
    assert [(row[1], row[3]) for row in table] == [("G2", "-0.99"), ("G6", "0.99"), ("G4", "0.97"),
                                                   ("G12", "-0.97"), ("G10", "0.95")]
    assert "5 of 12 edges" in "".join(parse(run_dir).text)


def test_read_edges_counts_every_edge_and_keeps_n(tmp_path: Path) -> None:
    network = tmp_path / "network.txt"
    network.write_text(network_text([(f"G{i}", "G0", f"{0.5 + i / 100:g}") for i in range(1, 41)]))
    edges, total = read_edges(network, 25)
    assert total == 40 and len(edges) == 25
    assert [edge.magnitude for edge in edges] == sorted((edge.magnitude for edge in edges), reverse=True)
    assert read_edges(network, 0) == ([], 40)


def test_a_bad_score_is_named_with_its_line(tmp_path: Path) -> None:
    network = tmp_path / "network.txt"
    network.write_text(network_text([("G1", "G0", "0.9"), ("G2", "G0", "high")]))
    with pytest.raises(ReportError, match=r"network.txt: line 3: .*'high'"):
        read_edges(network, 5)


def test_a_test_run_without_network_has_no_edges_table(run_dir: Path) -> None:
    (run_dir / "network.txt").unlink()
    (run_dir / "summary.json").write_text(json.dumps(summary(mode="test")))
    write_report(run_dir)
    page = parse(run_dir)
    assert page.rows == [] and "network.txt" not in page.references
    assert "No network in this run." in page.text


# -------------------------------------------------------------------------------------------- files


def test_check_mode_writes_nothing_and_a_second_run_changes_nothing(run_dir: Path) -> None:
    check = write_report(run_dir, check_mode=True)
    assert check["changed"] and check["written"] == []
    assert not (run_dir / REPORT).exists() and not (run_dir / TIMELINE).exists()
    first = write_report(run_dir)
    assert first["changed"] and sorted(first["written"]) == sorted(first["files"])
    assert (run_dir / TIMELINE).stat().st_mode & 0o777 == 0o644
    assert write_report(run_dir) == {**first, "changed": False, "written": []}
    assert write_report(run_dir, check_mode=True)["changed"] is False


def test_a_directory_without_summary_is_named(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=rf"{tmp_path}/summary.json: no such file"):
        build_report(tmp_path)
    with pytest.raises(ReportError, match="top_edges must be >= 0, got -1"):
        build_report(tmp_path, -1)


def test_the_summary_table_names_the_gem_and_the_settings(run_dir: Path) -> None:
    (run_dir / "summary.json").write_text(json.dumps(summary(
        gem="/data/my.gem", gem_sha256="ab" * 32, gem_genes=150, gem_samples=40,
        settings={"minsamp": 25, "corrmethod": "spearman"})))
    write_report(run_dir)
    text = parse(run_dir).text
    for shown in ("GEM sha256", "ab" * 32, "GEM genes", "150", "GEM samples", "KINC settings",
                  "minsamp: 25, corrmethod: spearman"):
        assert shown in text, shown


# ---------------------------------------------------------------------------------------------- gmm

GMM_SETTINGS = {"corrmethod": "pearson", "clusmethod": "gmm", "maxclus": 5, "annotations": True,
                "feat_tests": "Treatment,Age", "pvalue": 0.001, "rsquare": 0.3}
GMM_HEADER = ("Source\tTarget\tSimilarity_Score\tInteraction\tCluster_Index\tCluster_Size\tSamples\t"
              "Treatment__A_pVal\tTreatment__B_pVal\tAge_pVal\tAge_RSqr\n")
# source, target, Cluster_Index, then p of Treatment A, of Treatment B, Age's p and R^2; passing: p < 0.001,
# and R^2 > 0.3 for Age
GMM_ROWS = [
    ("G1", "G0", 1, "1e-05", "0.5", "0.0001", "0.5"),  # A, Age
    ("G1", "G0", 2, "0.2", "1e-06", "nan", "nan"),  # B
    ("G1", "G0", 3, "0.0005", "0.9", "1e-05", "0.2"),  # A (Age's R^2 too low)
    ("G2", "G0", 2, "0.001", "0.5", "1e-09", "0.9"),  # Age (A's p is not below 0.001)
    ("G3", "G2", 1, "nan", "0.0001", "0.5", "0.1"),  # B
    ("G3", "G1", 1, "0.0001", "0.3", "0.2", "0.9"),  # A
    ("G3", "G1", 2, "0.4", "0.0001", "0.2", "0.9"),  # B
    ("G4", "G0", 1, "0.5", "0.5", "0.01", "0.9"),  # none
]


def gmm_network(rows: list[tuple] = GMM_ROWS, header: str = GMM_HEADER) -> str:
    return header + "".join(f"{s}\t{t}\t0.9\tco\t{i}\t5\t11111\t" + "\t".join(tests) + "\n"
                            for s, t, i, *tests in rows)


def gmm_run(run: Path, network: str, **settings: object) -> Page:
    (run / "summary.json").write_text(json.dumps(summary(edges=network.count("\n") - 1,
                                                         settings={**GMM_SETTINGS, **settings})))
    (run / "network.txt").write_text(network)
    write_report(run)
    return parse(run)


def test_a_gmm_report_counts_the_pairs_per_number_of_clusters(run_dir: Path) -> None:
    page = gmm_run(run_dir, gmm_network())
    # pairs: G1-G0 three rows up to Cluster_Index 3, G2-G0 one row (index 2), G3-G2 one, G3-G1 two, G4-G0 one
    assert page.tables["clusters"] == [["1", "3", "2"], ["2", "1", "2"], ["3", "1", "1"]]
    text = "".join(page.text)
    assert "Clusters per gene pair" in text and "5 gene pairs with 8 edges" in text
    assert "Pairs by edges in network.txt" in text and "Pairs by highest Cluster_Index" in text
    assert "Num_Clusters" not in text  # the text format has no such column


def test_a_gmm_report_counts_the_edges_per_feature_and_label_at_the_runs_filters(run_dir: Path) -> None:
    page = gmm_run(run_dir, gmm_network())
    assert page.tables["conditions"] == [
        ["Treatment", "A", "p < 0.001", "3"],
        ["Treatment", "B", "p < 0.001", "3"],
        ["Treatment", "any label", "p < 0.001", "6"],
        ["Age", "", "p < 0.001, R² > 0.3", "2"],
    ]
    assert "7 of 8 edges pass at least one test, at the run's pvalue and rsquare" in "".join(page.text)
    # the run's own filters: looser ones count more edges of the same file
    page = gmm_run(run_dir, gmm_network(), pvalue=0.01, rsquare=0.1)
    assert [row[-1] for row in page.tables["conditions"]] == ["4", "3", "7", "3"]
    assert page.tables["conditions"][3][2] == "p < 0.01, R² > 0.1"


def test_a_gmm_run_without_annotations_has_clusters_but_no_condition_table(run_dir: Path) -> None:
    rows = [("G1", "G0", 1), ("G1", "G0", 2), ("G2", "G1", 1), ("G3", "G1", 2), ("G3", "G2", 1)]
    page = gmm_run(run_dir, network_text([]) + "".join(f"{s}\t{t}\t0.9\tco\t{i}\t5\t11111\n" for s, t, i in rows),
                   annotations=False, feat_tests="")
    assert page.tables["clusters"] == [["1", "3", "2"], ["2", "1", "2"]]
    assert "conditions" not in page.tables
    assert "No condition tests in this network (no annotation matrix in this run)." in page.text


def test_the_minimal_formats_num_clusters_is_counted_and_marks_a_gmm_network(run_dir: Path) -> None:
    header = "Source\tTarget\tSimilarity_Score\tCluster_Index\tNum_Clusters\n"
    rows = ["G1\tG0\t0.9\t1\t3", "G1\tG0\t-0.8\t3\t3", "G2\tG0\t0.95\t1\t2"]
    (run_dir / "network.txt").write_text(header + "\n".join(rows) + "\n")
    write_report(run_dir)  # the summary says nothing of GMM: the column does
    page = parse(run_dir)
    assert page.tables["clusters"] == [["1", "1", "1", "0"], ["2", "1", "0", "1"], ["3", "0", "1", "1"]]
    assert "Pairs by Num_Clusters" in "".join(page.text)


def test_without_recorded_filters_the_defaults_are_used_and_said(run_dir: Path) -> None:
    header = "Source\tTarget\tSimilarity_Score\tCluster_Index\tDose_pVal\tDose_RSqr\n"
    rows = ["G1\tG0\t0.9\t1\t0.0005\t0.31", "G2\tG0\t0.9\t1\t0.005\t0.9", "G3\tG0\t0.9\t1\t0.0001\t0.29"]
    (run_dir / "network.txt").write_text(header + "\n".join(rows) + "\n")
    write_report(run_dir)
    page = parse(run_dir)
    assert page.tables["conditions"] == [["Dose", "", "p < 0.001, R² > 0.3", "1"]]
    assert "kincflow's default pvalue and rsquare (summary.json records none)" in "".join(page.text)


def test_a_categorical_features_labels_split_after_the_tested_feature() -> None:
    columns = ["Source", "Target", "Cell__line__He__La_pVal", "Dose_pVal", "Dose_RSqr", "Sex__F_pVal"]
    tests = condition_tests(columns, ["Cell__line", "Sex", "Dose"])
    assert [(t.feature, t.label, t.p_column, t.r2_column) for t in tests] == [
        ("Cell__line", "He__La", 2, None), ("Dose", None, 3, 4), ("Sex", "F", 5, None)]
    # without the run's feature list a label is what follows the first "__"
    assert [(t.feature, t.label) for t in condition_tests(columns, [])][0] == ("Cell", "line__He__La")


def test_a_bad_test_value_in_a_gmm_network_is_named_with_its_line(run_dir: Path) -> None:
    rows = [*GMM_ROWS[:2], ("G5", "G0", 1, "low", "0.5", "0.1", "0.1")]
    (run_dir / "network.txt").write_text(gmm_network(rows))
    (run_dir / "summary.json").write_text(json.dumps(summary(settings=GMM_SETTINGS)))
    with pytest.raises(ReportError, match=r"network.txt: line 4: .*'low'"):
        build_report(run_dir)


def test_a_traditional_report_has_no_gmm_sections(run_dir: Path) -> None:
    (run_dir / "summary.json").write_text(json.dumps(summary(settings={"minsamp": 25, "corrmethod": "spearman"})))
    write_report(run_dir)
    page = parse(run_dir)
    text = "".join(page.text)
    assert len(page.rows) == 3
    assert "clusters" not in page.tables and "conditions" not in page.tables
    assert "Clusters per gene pair" not in text and "Edges per condition" not in text
