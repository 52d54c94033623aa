"""cond-test: planted condition-specific clusters tied to their label, regression on a quantitative
feature, chunks equal the whole run, bad annotation files refused; the distribution tails against scipy
(or table values)."""

import math
from pathlib import Path

import numpy as np
import pytest
from kinc_testdata import write_gem
from planted import GROUPS, HALF, SAMPLES, pairs_of, planted

from kinc import stats
from kinc.cli import main
from kinc.formats import CMX_FORMAT, CSM_FORMAT, open_pairs
from kinc.pairs import chunk_path

GMM = ["--clusmethod", "gmm", "--minsamp", "15", "--mincorr", "0"]


def write_amx(path: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    head = header if header is not None else ["Sample", "Condition", "Dose", "Batch"]
    lines = ([("\t".join(head))] if head else []) + ["\t".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def amx_rows(values: np.ndarray) -> list[list[str]]:
    """Condition A for samples 0..29, B for the rest; Dose follows gene 0 (a ``cond`` gene) in A and is
    noise in B; Batch an integer unrelated to anything."""
    rng = np.random.default_rng(11)
    dose = np.where(
        np.arange(SAMPLES) < HALF,
        2.0 * values[0] + rng.normal(scale=0.05, size=SAMPLES),
        rng.normal(size=SAMPLES),
    )
    return [[f"s{j}", "A" if j < HALF else "B", repr(float(dose[j])), str(j % 3)] for j in range(SAMPLES)]


@pytest.fixture(scope="module")
def similarity_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The planted GEM's GMM similarity, computed once for the module (the tests only read it)."""
    base = tmp_path_factory.mktemp("condtest")
    write_gem(base / "gem.txt", planted())
    assert main(["run", "import-emx", "--input", str(base / "gem.txt"), "--output", str(base / "x.emx")]) == 0
    args = ["--input", str(base / "x.emx"), "--ccm", str(base / "x.ccm"), "--cmx", str(base / "x.cmx"), *GMM]
    assert main(["run", "similarity", *args]) == 0
    return base


@pytest.fixture
def run_dir(tmp_path: Path, similarity_run: Path) -> Path:
    for name in ("x.emx", "x.ccm", "x.cmx"):
        (tmp_path / name).symlink_to(similarity_run / name)
    write_amx(tmp_path / "amx.txt", amx_rows(planted()))
    return tmp_path


FEAT_TESTS = "Condition,Dose,Batch"


def _similarity_files(d: Path) -> list[object]:
    """The EMX and the similarity run's CCM and CMX in d, as cond-test and extract take them."""
    return ["--emx", d / "x.emx", "--ccm", d / "x.ccm", "--cmx", d / "x.cmx"]


def _condtest(
    kinc,
    d: Path,
    *extra: object,
    output: str = "x.csm",
    verb: tuple[str, ...] = ("run",),
    feat_tests: str | None = FEAT_TESTS,
):
    """cond-test on d's run and amx.txt; feat_tests None leaves --feat-tests to extra."""
    tests = ["--feat-tests", feat_tests] if feat_tests else []
    files = [*_similarity_files(d), "--amx", d / "amx.txt", "--output", d / output]
    return kinc(*verb, "cond-test", *files, *tests, *extra)


def _read(path: Path) -> tuple[dict, np.ndarray]:
    csm = open_pairs(str(path), CSM_FORMAT)
    try:
        return csm.header, csm.read_all()
    finally:
        csm.close()


def test_planted_condition_clusters(run_dir: Path, kinc) -> None:
    result = _condtest(kinc, run_dir)
    assert result.code == 0, result.err
    header, rows = _read(run_dir / "x.csm")
    names = [t["name"] for t in header["tests"]]
    assert names == ["Condition__A", "Condition__B", "Dose", "Batch"]
    assert [t["type"] for t in header["tests"]] == ["categorical", "categorical", "quantitative", "ordinal"]
    corr = open_pairs(str(run_dir / "x.cmx"), CMX_FORMAT)
    clus = open_pairs(str(run_dir / "x.ccm"), "kinc-ccm")
    records, strings = corr.read_all(), clus.read_all()
    corr.close()
    clus.close()
    assert (
        rows.size == records.size and (rows["x"] == records["x"]).all() and (rows["y"] == records["y"]).all()
    )
    cond = set(GROUPS["cond"])
    indep = set(GROUPS["indep"])
    tied = 0
    for row, rec, s in zip(rows, records, strings, strict=True):
        members = np.frombuffer(s["samples"], dtype=np.uint8) == ord("1")
        in_a = members[:HALF].sum() / members.sum()
        if row["x"] in cond and row["y"] in cond and abs(rec["r"]) > 0.8 and in_a > 0.9:
            assert row["p"][0] < 1e-3, (row, in_a)
            assert row["p"][1] > 0.5
            assert row["r2"][2] > 0.5 and row["p"][2] < 1e-3  # Dose follows the pair in A
            assert math.isnan(row["r2"][0])
            tied += 1
        if row["x"] in indep and row["y"] in indep:
            assert not (row["p"][:2] < 1e-3).any(), row
            assert not (row["p"][2:] < 1e-3).any(), row
    assert tied >= 10
    indep_rows = [r for r in rows if r["x"] in indep and r["y"] in indep]
    assert len(indep_rows) >= 28  # independent pairs were tested, and none tied to a label


def test_hypergeometric_value_by_hand(run_dir: Path, kinc) -> None:
    """One cluster's Condition__A p recomputed from its counts with exact integers."""
    assert _condtest(kinc, run_dir).code == 0
    _, rows = _read(run_dir / "x.csm")
    clus = open_pairs(str(run_dir / "x.ccm"), "kinc-ccm")
    strings = clus.read_all()
    clus.close()
    members = np.frombuffer(strings["samples"][0], dtype=np.uint8) == ord("1")
    n, k = int(members.sum()), int(members[:HALF].sum())
    exact = sum(math.comb(HALF, j) * math.comb(SAMPLES - HALF, n - j) for j in range(k, min(HALF, n) + 1))
    assert rows["p"][0][0] == pytest.approx(exact / math.comb(SAMPLES, n), rel=1e-12)


def test_chunks_merge_to_the_whole_run(run_dir: Path, kinc) -> None:
    assert _condtest(kinc, run_dir).code == 0
    for index in range(3):
        result = _condtest(kinc, run_dir, output="c.csm", verb=("chunkrun", str(index), "3"))
        assert result.code == 0, result.err
        assert (run_dir / chunk_path("c.csm", index, 3)).exists()
    result = _condtest(kinc, run_dir, output="c.csm", verb=("merge", "3"))
    assert result.code == 0, result.err
    whole, merged = (run_dir / "x.csm").read_bytes(), (run_dir / "c.csm").read_bytes()
    assert merged == whole
    _, rows = _read(run_dir / chunk_path("c.csm", 1, 3))
    assert 0 < rows.size < _read(run_dir / "x.csm")[1].size


def test_merge_refuses_a_chunk_of_other_options(run_dir: Path, kinc) -> None:
    for index in range(2):
        extra = ("--alpha", "0.01") if index else ()
        assert _condtest(kinc, run_dir, *extra, output="c.csm", verb=("chunkrun", str(index), "2")).code == 0
    result = _condtest(kinc, run_dir, output="c.csm", verb=("merge", "2"))
    assert result.code == 2 and "c.csm.chunk-1-of-2: header params" in result.err
    assert not (run_dir / "c.csm").exists()


def _bad(rows: list[list[str]]) -> list[list[str]]:
    return [list(r) for r in rows]


def _missing(rows):
    return rows[:7] + rows[8:]


def _duplicate(rows):
    return [*rows[:5], rows[3], *rows[5:]]


def _text_dose(rows):
    rows = _bad(rows)
    rows[9][2] = "high"
    return rows


@pytest.mark.parametrize(
    ("change", "header", "extra", "needle"),
    [
        (_missing, None, (), "amx.txt: 1 of the GEM's samples not annotated ('s7')"),
        (_duplicate, None, (), "amx.txt: line 7: sample 's3' is annotated twice, on lines 5 and 7"),
        (
            lambda r: r,
            None,
            ("--feat-tests", "Condition,Height"),
            "amx.txt: line 1: --feat-tests names feature 'Height'",
        ),
        (
            lambda r: r,
            None,
            ("--feat-types", "Condition:quantitative"),
            "amx.txt: line 2, field 2 ('Condition'): 'A' is not a number",
        ),
        (
            _text_dose,
            None,
            ("--feat-types", "Dose:quantitative"),
            "amx.txt: line 11, field 3 ('Dose'): 'high' is not a number",
        ),
        (lambda r: r, None, ("--feat-types", "Dose:ordinal"), "is not an integer"),
        (lambda r: r, [], (), "amx.txt: line 1: header missing: field 1 's0' is a sample of the GEM"),
        (
            lambda r: [*r[:4], ["s3x", "A", "1", "1", "9"], *r[4:]],
            None,
            (),
            "amx.txt: line 6: expected 4 fields",
        ),
        (
            lambda r: [*r, ["s99", "A", "1", "1"]],
            None,
            (),
            "amx.txt: line 62: sample 's99' is not a sample of the GEM",
        ),
        (lambda r: r, None, ("--feat-types", "Dose:numeric"), "--feat-types item 'Dose:numeric'"),
    ],
)
def test_bad_annotations(run_dir: Path, kinc, change, header, extra, needle) -> None:
    rows = change(amx_rows(planted()))
    write_amx(run_dir / "amx.txt", rows, header)
    own_tests = bool(extra) and extra[0] == "--feat-tests"
    result = _condtest(kinc, run_dir, *extra, feat_tests=None if own_tests else FEAT_TESTS)
    assert result.code == 2
    assert needle in result.err
    assert not (run_dir / "x.csm").exists()
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]


def test_tails_match_scipy_or_tables() -> None:
    try:
        from scipy import special
        from scipy import stats as sst
    except ImportError:
        sst = None
    # Table values: F(3, 20) upper 5% point 3.10, 1% point 4.94; hypergeometric by exact integers.
    assert stats.f_quantile_upper(0.05, 3, 20) == pytest.approx(3.0984, abs=1e-4)
    assert stats.f_quantile_upper(0.01, 3, 20) == pytest.approx(4.9382, abs=1e-4)
    exact = sum(math.comb(12, j) * math.comb(28, 10 - j) for j in range(7, 11)) / math.comb(40, 10)
    assert stats.hypergeom_upper(7, 40, 12, 10) == pytest.approx(exact, rel=1e-12)
    assert stats.hypergeom_upper(0, 40, 12, 10) == 1.0 and stats.hypergeom_upper(11, 40, 12, 10) == 0.0
    if sst is None:
        # scipy is no dependency: without it the table values and exact sums above are the check.
        return
    rng = np.random.default_rng(5)
    a, b, x = rng.uniform(0.2, 60, 200), rng.uniform(0.2, 60, 200), rng.uniform(0, 1, 200)
    np.testing.assert_allclose(stats.betainc(a, b, x), special.betainc(a, b, x), rtol=1e-10, atol=1e-300)
    for k, N, K, n in [(20, 60, 30, 25), (3, 100, 5, 10), (30, 60, 30, 30), (1, 1000, 400, 3)]:
        assert stats.hypergeom_upper(k, N, K, n) == pytest.approx(sst.hypergeom.sf(k - 1, N, K, n), rel=1e-10)
    f = rng.uniform(0, 20, 50)
    np.testing.assert_allclose(stats.f_sf(f, 3, 26), sst.f.sf(f, 3, 26), rtol=1e-10)
    for lam in (0.0, 3.0, 40.0):
        assert stats.ncf_sf(4.0, 3, 20, lam) == pytest.approx(
            sst.ncf.sf(4.0, 3, 20, max(lam, 1e-12)), rel=1e-8
        )


def _extract(kinc, d: Path, fmt: str, *extra: object):
    files = [*_similarity_files(d), "--csm", d / "x.csm"]
    return kinc(
        "run", "extract", *files, "--output", d / f"net.{fmt}", "--format", fmt, "--mincorr", "0", *extra
    )


def test_extract_keeps_the_edges_passing_a_condition_test(run_dir: Path, kinc) -> None:
    assert _condtest(kinc, run_dir).code == 0
    plain = kinc("run", "extract", *_similarity_files(run_dir), "--output", run_dir / "plain.txt", "--mincorr", "0")
    assert plain.code == 0
    every = (run_dir / "plain.txt").read_text().splitlines()
    assert _extract(kinc, run_dir, "text", "--filter-pvalue", "Condition,A,1e-3").code == 0
    lines = (run_dir / "net.text").read_text().splitlines()
    head = lines[0].split("\t")
    assert head[7:] == [
        "Condition__A_pVal",
        "Condition__B_pVal",
        "Dose_pVal",
        "Dose_RSqr",
        "Batch_pVal",
        "Batch_RSqr",
    ]
    rows = [line.split("\t") for line in lines[1:]]
    assert rows and len(rows) < len(every) - 1
    assert all(float(r[7]) < 1e-3 for r in rows)
    # every kept cluster is (mostly) condition A's samples; no independent pair is kept; each pair
    # co-expressed in A only has its A cluster kept
    assert all(r[6][:HALF].count("1") >= 0.8 * int(r[5]) for r in rows)
    indep = {f"g{i}" for i in GROUPS["indep"]}
    assert not [r for r in rows if r[0] in indep and r[1] in indep]
    cond_pairs = {(f"g{x}", f"g{y}") for x, y in pairs_of("cond")}
    assert cond_pairs <= {(r[0], r[1]) for r in rows if float(r[2]) > 0.8}
    kept = {tuple(r[:7]) for r in rows}
    assert kept <= {tuple(line.split("\t")) for line in every[1:]}
    # tidy: a row per passing test; minimal: the same edges; graphml: the test values as edge data
    assert (
        _extract(kinc, run_dir, "tidy", "--filter-pvalue", "1e-3", "--filter-rsquare", "Dose,0.5").code == 0
    )
    tidy = [line.split("\t") for line in (run_dir / "net.tidy").read_text().splitlines()]
    assert tidy[0][7:] == ["Test_Name", "p_value", "r_squared"]
    assert {r[7] for r in tidy[1:]} >= {"Condition__A", "Dose"}
    assert all(float(r[8]) < 1e-3 for r in tidy[1:])
    assert all(float(r[9]) > 0.5 for r in tidy[1:] if r[7] == "Dose")
    assert _extract(kinc, run_dir, "minimal", "--filter-pvalue", "Condition,A,1e-3").code == 0
    minimal = (run_dir / "net.minimal").read_text().splitlines()
    assert [m.split("\t")[:3] for m in minimal[1:]] == [r[:3] for r in rows]
    assert _extract(kinc, run_dir, "graphml", "--filter-pvalue", "Condition,A,1e-3").code == 0
    import xml.etree.ElementTree as ET

    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    graph = ET.parse(run_dir / "net.graphml").getroot()
    keys = {k.get("id"): k.get("attr.name") for k in graph.findall("g:key", ns)}
    assert keys["t0"] == "Condition__A_pVal"
    edges = graph.findall(".//g:edge", ns)
    assert len(edges) == len(rows)
    assert all(float(e.find("g:data[@key='t0']", ns).text) < 1e-3 for e in edges)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (("--filter-pvalue", "Height,1e-3"), "filter names 'Height', which is no test"),
        (("--filter-pvalue", "Condition,A,x"), "--filter-pvalue item 'Condition,A,x'"),
    ],
)
def test_extract_bad_filters(run_dir: Path, kinc, extra, needle) -> None:
    assert _condtest(kinc, run_dir).code == 0
    result = _extract(kinc, run_dir, "text", *extra)
    assert result.code == 2 and needle in result.err
    assert not (run_dir / "net.text").exists()
