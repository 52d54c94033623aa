"""extract: text/tidy, minimal and GraphML outputs."""

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from kinc_testdata import messy_matrix, write_gem

GRAPHML = "{http://graphml.graphdrawing.org/xmlns}"


@pytest.fixture
def network(tmp_path: Path, kinc) -> dict[str, Path]:
    values = messy_matrix(9, genes=45)
    write_gem(tmp_path / "gem.txt", values, genes=[f"gene<{i}>&" for i in range(45)])
    files = {n: tmp_path / f"n.{n}" for n in ("emx", "cmx", "ccm")}
    assert kinc("run", "import-emx", "--input", tmp_path / "gem.txt", "--output", files["emx"]).code == 0
    args = [
        "--input",
        files["emx"],
        "--ccm",
        files["ccm"],
        "--cmx",
        files["cmx"],
        "--minsamp",
        "20",
        "--mincorr",
        "0.3",
    ]
    assert kinc("run", "similarity", *args).code == 0
    return files


def _extract(kinc, files: dict[str, Path], out: Path, fmt: str, *extra: object):
    return kinc(
        "run",
        "extract",
        "--emx",
        files["emx"],
        "--ccm",
        files["ccm"],
        "--cmx",
        files["cmx"],
        "--format",
        fmt,
        "--output",
        out,
        *extra,
    )


@pytest.mark.parametrize("fmt", ["text", "tidy"])
def test_text_columns(tmp_path: Path, kinc, network: dict[str, Path], fmt: str) -> None:
    assert _extract(kinc, network, tmp_path / "net.txt", fmt, "--mincorr", "0.5").code == 0
    header, *rows = [line.split("\t") for line in (tmp_path / "net.txt").read_text().splitlines()]
    # KINC's columns, written out here rather than taken from kinc.extract, so a change there shows.
    assert header == ["Source", "Target", "Similarity_Score", "Interaction", "Cluster_Index", "Cluster_Size",
                      "Samples"]
    assert len(rows) > 20
    for source, target, score, interaction, index, size, samples in rows:
        assert int(source[5:-2]) > int(target[5:-2]), "source is the gene with the larger index"
        assert 0.5 <= abs(float(score)) <= 1.0
        assert len(score.lstrip("-0.").replace(".", "").rstrip("0")) <= 8
        assert interaction == "co" and index == "1"
        assert int(size) == samples.count("1") and len(samples) == 40
        assert set(samples) <= set("1679")


def test_thresholds_select_edges(tmp_path: Path, kinc, network: dict[str, Path]) -> None:
    counts = {}
    for low, high in ((0.3, 1.0), (0.6, 1.0), (0.3, 0.6)):
        out = tmp_path / f"{low}-{high}.txt"
        assert _extract(kinc, network, out, "text", "--mincorr", low, "--maxcorr", high).code == 0
        scores = np.array([abs(float(r.split("\t")[2])) for r in out.read_text().splitlines()[1:]])
        assert np.all((scores >= low - 1e-7) & (scores <= high + 1e-7))
        counts[(low, high)] = scores.size
    assert counts[(0.6, 1.0)] + counts[(0.3, 0.6)] >= counts[(0.3, 1.0)] > counts[(0.6, 1.0)] > 0


def test_default_mincorr_is_085(tmp_path: Path, kinc, network: dict[str, Path]) -> None:
    assert _extract(kinc, network, tmp_path / "d.txt", "text").code == 0
    assert _extract(kinc, network, tmp_path / "e.txt", "text", "--mincorr", "0.85").code == 0
    assert (tmp_path / "d.txt").read_bytes() == (tmp_path / "e.txt").read_bytes()


def test_minimal_columns(tmp_path: Path, kinc, network: dict[str, Path]) -> None:
    assert _extract(kinc, network, tmp_path / "text.txt", "text", "--mincorr", "0.5").code == 0
    assert _extract(kinc, network, tmp_path / "min.txt", "minimal", "--mincorr", "0.5").code == 0
    header, *rows = [line.split("\t") for line in (tmp_path / "min.txt").read_text().splitlines()]
    text_rows = [line.split("\t") for line in (tmp_path / "text.txt").read_text().splitlines()[1:]]
    assert header == ["Source", "Target", "Similarity_Score", "Cluster_Index", "Num_Clusters"]
    assert [r[:3] for r in rows] == [r[:3] for r in text_rows]
    assert all(r[3:] == ["1", "1"] for r in rows)


def test_graphml_parses_with_the_right_edges(tmp_path: Path, kinc, network: dict[str, Path]) -> None:
    assert _extract(kinc, network, tmp_path / "text.txt", "text", "--mincorr", "0.5").code == 0
    assert _extract(kinc, network, tmp_path / "net.graphml", "graphml", "--mincorr", "0.5").code == 0
    text_rows = [line.split("\t") for line in (tmp_path / "text.txt").read_text().splitlines()[1:]]
    graph = ET.parse(tmp_path / "net.graphml").getroot().find(f"{GRAPHML}graph")
    assert graph is not None and graph.get("edgedefault") == "undirected"
    nodes = {n.get("id") for n in graph.iter(f"{GRAPHML}node")}
    edges = list(graph.iter(f"{GRAPHML}edge"))
    assert len(nodes) == 45 and "gene<3>&" in nodes
    assert len(edges) == len(text_rows)
    first = {d.get("key"): d.text for d in edges[0]}
    assert (edges[0].get("source"), edges[0].get("target")) == (text_rows[0][0], text_rows[0][1])
    assert first == dict(
        zip(
            ["Similarity_Score", "Interaction", "Cluster_Index", "Cluster_Size", "Samples"],
            text_rows[0][2:],
            strict=True,
        )
    )


def test_extract_checks_the_files_belong_together(tmp_path: Path, kinc, network: dict[str, Path]) -> None:
    write_gem(tmp_path / "other.txt", messy_matrix(1, genes=10))
    assert (
        kinc("run", "import-emx", "--input", tmp_path / "other.txt", "--output", tmp_path / "o.emx").code == 0
    )
    mismatched = [
        ({**network, "emx": tmp_path / "o.emx"}, "45 genes"),  # another GEM's EMX
        ({**network, "ccm": network["cmx"]}, "not a kinc-ccm file"),  # the CMX given as the CCM
    ]
    for files, needle in mismatched:
        inputs = ["--emx", files["emx"], "--ccm", files["ccm"], "--cmx", files["cmx"]]
        result = kinc("run", "extract", *inputs, "--output", tmp_path / "net.txt")
        assert result.code == 2 and needle in result.err
        assert not (tmp_path / "net.txt").exists()


# A pair's clusters are consecutive records; pairs (2, 0) and (3, 2) have several.
CLUSTERED = [
    (1, 0, 0.9, "1100"),
    (2, 0, 0.3, "1100"),
    (2, 0, -0.95, "0011"),
    (2, 0, 0.88, "1010"),
    (3, 1, 0.2, "1111"),
    (3, 2, -0.86, "0110"),
    (3, 2, 0.1, "1001"),
]


def test_a_kept_cluster_keeps_its_place_among_all_its_pairs_clusters(tmp_path: Path, kinc, monkeypatch) -> None:
    from kinc_testdata import write_pair_files

    from kinc.formats import PairFile

    files = write_pair_files(tmp_path / "m", ["a", "b", "c", "d"], 4, CLUSTERED)
    assert _extract(kinc, files, tmp_path / "net.min", "minimal", "--mincorr", "0.85").code == 0
    assert _extract(kinc, files, tmp_path / "net.txt", "text", "--mincorr", "0.85").code == 0

    def score(r: float) -> str:
        return f"{float(np.float32(r)):.8g}"

    minimal = [line.split("\t") for line in (tmp_path / "net.min").read_text().splitlines()[1:]]
    assert minimal == [
        ["b", "a", score(0.9), "1", "1"],
        ["c", "a", score(-0.95), "2", "3"],
        ["c", "a", score(0.88), "3", "3"],
        ["d", "c", score(-0.86), "1", "2"],
    ]
    text = [line.split("\t") for line in (tmp_path / "net.txt").read_text().splitlines()[1:]]
    assert [row[4:] for row in text] == [["1", "2", "1100"], ["2", "2", "0011"], ["3", "2", "1010"], ["1", "2", "0110"]]
    # Read in blocks that split the pairs' clusters, the network is the same.
    reference = (tmp_path / "net.min").read_bytes()
    original = PairFile.blocks
    for size in (1, 2, 3, 5):
        monkeypatch.setattr(PairFile, "blocks", lambda self, records=size: original(self, records))
        assert _extract(kinc, files, tmp_path / f"net{size}.min", "minimal", "--mincorr", "0.85").code == 0
        assert (tmp_path / f"net{size}.min").read_bytes() == reference


def test_a_ccm_out_of_step_with_the_cmx_is_an_error(tmp_path: Path, kinc) -> None:
    from kinc_testdata import write_pair_files

    files = write_pair_files(tmp_path / "m", ["a", "b", "c", "d"], 4, CLUSTERED)
    other = write_pair_files(tmp_path / "o", ["a", "b", "c", "d"], 4, [*CLUSTERED[:4], (3, 0, 0.2, "1111"), *CLUSTERED[5:]])
    result = _extract(kinc, {**files, "ccm": other["ccm"]}, tmp_path / "net.txt", "text")
    assert result.code == 2 and "disagree: pair (3, 1) vs (3, 0)" in result.err
    assert not (tmp_path / "net.txt").exists()
