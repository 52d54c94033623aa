"""cond-test: planted condition-specific clusters tied to their label, KINC 3.4.2's bootstrap test of
proportions against an independent rewrite of GSL's mt19937 draws and by hand, regression on a
quantitative feature, chunks equal the whole run, bad annotation files refused; the distribution tails
against scipy (or table values)."""

import math
from pathlib import Path

import numpy as np
import pytest
from kinc_testdata import write_gem
from planted import FEAT_TESTS, GROUPS, HALF, SAMPLES, amx_rows, pairs_of, planted, write_amx

from kinc import annotations, condtest, stats
from kinc.cli import main
from kinc.formats import CMX_FORMAT, CSM_FORMAT, open_pairs
from kinc.pairs import chunk_path

GMM = ["--clusmethod", "gmm", "--minsamp", "15", "--mincorr", "0"]


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
    # KINC's code gives pwr_f2_test R^2 as the effect size: with a cluster of at most 30 samples (condition A
    # here) the regression's power reaches the default 0.8 at alpha 0.001 only as R^2 nears 1, so Dose is
    # mostly NaN there...
    result = _condtest(kinc, run_dir, output="default.csm")
    assert result.code == 0, result.err
    _, default = _read(run_dir / "default.csm")
    # ...and at --power 0.5 the planted Dose relation shows.
    result = _condtest(kinc, run_dir, "--power", "0.5")
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
    tied = cut_by_power = 0
    for row, low, rec, s in zip(rows, default, records, strings, strict=True):
        members = np.frombuffer(s["samples"], dtype=np.uint8) == ord("1")
        in_a = members[:HALF].sum() / members.sum()
        if not math.isnan(row["r2"][2]):
            underpowered = stats.f_power(float(row["r2"][2]), 3, int(members.sum()) - 4, 0.001) < 0.8
            assert math.isnan(low["r2"][2]) == underpowered and math.isnan(low["p"][2]) == underpowered, low
            cut_by_power += underpowered
        assert low["p"][0] == row["p"][0] or (math.isnan(low["p"][0]) and math.isnan(row["p"][0]))
        if row["x"] in cond and row["y"] in cond and abs(rec["r"]) > 0.8 and in_a > 0.9:
            assert row["p"][0] < 1e-3, (row, in_a)
            assert math.isnan(row["p"][1]) or row["p"][1] > 0.5  # NaN: no B sample in the cluster
            assert row["r2"][2] > 0.5 and row["p"][2] < 1e-3  # Dose follows the pair in A
            assert math.isnan(row["r2"][0])
            tied += 1
        if row["x"] in indep and row["y"] in indep:
            assert not (row["p"][:2] < 1e-3).any(), row
            assert not (row["p"][2:] < 1e-3).any(), row
    assert tied >= 10 and cut_by_power >= 10
    indep_rows = [r for r in rows if r["x"] in indep and r["y"] in indep]
    assert len(indep_rows) >= 28  # independent pairs were tested, and none tied to a label


def _gsl_mt19937(seed: int = 4357):
    """GSL's mt19937 (rng/mt.c) in plain Python: 2002 seeding, twist, tempering; the outputs, one by one."""
    mask = 0xFFFFFFFF
    state = [seed & mask]
    for i in range(1, 624):
        state.append((1812433253 * (state[-1] ^ (state[-1] >> 30)) + i) & mask)
    index = 624
    while True:
        if index >= 624:
            for kk in range(624):
                y = (state[kk] & 0x80000000) | (state[(kk + 1) % 624] & 0x7FFFFFFF)
                state[kk] = state[(kk + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
            index = 0
        y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        yield y


def _kinc_proportions(label: list[bool], members: list[bool]) -> float:
    """KINC 3.4.2's test_proportions restated with the plain-Python generator and math.erfc."""
    if not any(a and b for a, b in zip(label, members, strict=True)):
        return math.nan
    at = [j for j, m in enumerate(members) if m]
    draws, scale = _gsl_mt19937(), 0xFFFFFFFF // len(at)
    average = 0.0
    for _ in range(30):
        hits = 0
        for _ in range(30):
            k = next(draws) // scale
            while k >= len(at):
                k = next(draws) // scale
            hits += label[at[k]]
        average += hits / 30
    average /= 30

    def tail(observed: float, expected: float) -> float:
        spread = math.sqrt(expected * (1 - expected) / 30)
        if spread == 0:
            return math.nan if observed == expected else 1.0
        return 0.5 * math.erfc((observed - expected) / spread / math.sqrt(2))

    first = tail(average, 0.5)
    second = tail(min(1.0, average * len(at) / sum(label)), sum(label) / len(label))
    return first if math.isnan(second) else max(first, second)


def test_gsl_mt19937_is_gsls_generator() -> None:
    # GSL's own check (rng/test.c): gsl_rng_mt19937 seeded 4357 gives 1186927261 as its 1000th output.
    raw = condtest.gsl_mt19937(2000)
    assert int(raw[999]) == 1186927261
    reference = _gsl_mt19937()
    assert [int(v) for v in raw] == [next(reference) for _ in range(2000)]


@pytest.mark.parametrize("size", [1, 2, 10, 29, 30, 31, 45, 700])
def test_bootstrap_positions_are_gsl_uniform_int(size: int) -> None:
    draws, scale = _gsl_mt19937(), 0xFFFFFFFF // size
    expected = []
    while len(expected) < 900:
        k = next(draws) // scale
        if k < size:
            expected.append(k)
    positions = condtest.bootstrap_positions(size)
    assert positions.tolist() == expected
    assert positions.min() >= 0 and positions.max() < size


def _masks(samples: int, labelled, cluster) -> tuple[np.ndarray, np.ndarray]:
    label, members = np.zeros(samples, dtype=bool), np.zeros(samples, dtype=bool)
    label[list(labelled)] = True
    members[list(cluster)] = True
    return label, members


@pytest.mark.parametrize(
    ("samples", "labelled", "cluster"),
    [
        (60, range(30), [*range(0, 30, 10), *range(40, 47)]),  # 10 members (below 30), 3 labelled
        (60, range(30), range(10, 40)),  # 30 members, 20 labelled
        (80, range(0, 80, 2), [*range(0, 60, 2), *range(1, 30, 2)]),  # 45 members (above 30), 30 labelled
        (60, range(25), [3]),  # a single labelled member, drawn 900 times
    ],
)
def test_proportions_match_kincs_draws(samples: int, labelled, cluster) -> None:
    label, members = _masks(samples, labelled, cluster)
    expected = _kinc_proportions(label.tolist(), members.tolist())
    assert condtest.proportions_test(label, members) == pytest.approx(expected, rel=1e-13, abs=1e-300)
    # the same cluster elsewhere in a run (another pair, another chunk) gives the same p
    again = condtest.proportions_test(label.copy(), members.copy())
    assert again == condtest.proportions_test(label, members)


def test_small_clusters_are_resampled() -> None:
    """10 members, 8 labelled (10 labelled of 60): KINC draws 30 x 30 from the 10 even so, and the p is the
    first test's at the drawn average, not at 8/10."""
    label, members = _masks(60, range(10), [*range(8), 20, 30])
    drawn = label[np.flatnonzero(members)[condtest.bootstrap_positions(10)]]
    average = float(drawn.reshape(30, 30).mean(axis=1).mean())
    assert average != 0.8 and abs(average - 0.8) < 0.05
    first = 0.5 * math.erfc((average - 0.5) / math.sqrt(0.25 / 30) / math.sqrt(2))
    got = condtest.proportions_test(label, members)
    assert got == pytest.approx(first, rel=1e-9)
    assert got != pytest.approx(0.5 * math.erfc(0.3 / math.sqrt(0.25 / 30) / math.sqrt(2)), rel=1e-3)


def test_proportions_by_hand() -> None:
    """Clusters whose members all carry the label draw an average proportion of exactly 1."""
    # 20 of 60 samples, all labelled, 30 labelled in all: first 1 - Phi(sqrt 30) = 2.16e-8; second
    # observed min(1, 20/30), expected 30/60, z = (1/6) / sqrt(0.25/30) = 1.8257, 1 - Phi(z) = 0.033945.
    label, members = _masks(60, range(30), range(5, 25))
    assert condtest.proportions_test(label, members) == pytest.approx(0.0339446, abs=1e-7)
    # The cluster holds every labelled sample (k == K, where the hypergeometric code of earlier KINC
    # returned 1): 12 of 60, second z = 0.8 / sqrt(0.16/30) = 10.95, p 0; the first decides: 2.16e-8.
    label, members = _masks(60, range(12), range(12))
    assert condtest.proportions_test(label, members) == pytest.approx(2.1602315e-08, rel=1e-7)
    # Every sample labelled, so the second test's expected proportion is 1 and its spread 0: a cluster of
    # 10 of the 40 observes 10/40, z = -inf, p 1 (which wins); the cluster of all 40 observes 1, z = 0/0,
    # a NaN second p, and the first stays.
    label, members = _masks(40, range(40), range(10, 20))
    assert condtest.proportions_test(label, members) == 1.0
    label, members = _masks(40, range(40), range(40))
    assert condtest.proportions_test(label, members) == pytest.approx(2.1602315e-08, rel=1e-7)
    # No labelled member: NaN.
    label, members = _masks(60, range(30), range(30, 50))
    assert math.isnan(condtest.proportions_test(label, members))


def test_condition_p_of_a_run_by_kincs_rule(run_dir: Path, kinc) -> None:
    """One cluster's Condition__A and Condition__B p recomputed from its sample string."""
    assert _condtest(kinc, run_dir).code == 0
    _, rows = _read(run_dir / "x.csm")
    clus = open_pairs(str(run_dir / "x.ccm"), "kinc-ccm")
    strings = clus.read_all()
    clus.close()
    in_a = [j < HALF for j in range(SAMPLES)]
    for i in (0, len(rows) // 2, len(rows) - 1):
        members = (np.frombuffer(strings["samples"][i], dtype=np.uint8) == ord("1"))[:SAMPLES].tolist()
        for t, label in enumerate((in_a, [not a for a in in_a])):
            expected = _kinc_proportions(label, members)
            got = float(rows["p"][i][t])
            assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected, rel=1e-13)


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
    # Table values: F(3, 20) upper 5% point 3.10, 1% point 4.94; the normal's 97.5% point 1.96.
    assert stats.f_quantile_upper(0.05, 3, 20) == pytest.approx(3.0984, abs=1e-4)
    assert stats.f_quantile_upper(0.01, 3, 20) == pytest.approx(4.9382, abs=1e-4)
    assert stats.normal_cdf(1.959964) == pytest.approx(0.975, abs=1e-7)
    assert stats.normal_cdf(-1.959964) == pytest.approx(0.025, abs=1e-7) and stats.normal_cdf(0.0) == 0.5
    # GSL's cut-offs: exactly 1 above 8.572 and 0 below -37.519; NaN stays NaN
    assert stats.normal_cdf(8.6) == 1.0 and stats.normal_cdf(-37.6) == 0.0
    assert 0.0 < stats.normal_cdf(-37.4) < 1e-300 and math.isnan(stats.normal_cdf(math.nan))
    if sst is None:
        # scipy is no dependency: without it the table values above are the check.
        return
    rng = np.random.default_rng(5)
    a, b, x = rng.uniform(0.2, 60, 200), rng.uniform(0.2, 60, 200), rng.uniform(0, 1, 200)
    np.testing.assert_allclose(stats.betainc(a, b, x), special.betainc(a, b, x), rtol=1e-10, atol=1e-300)
    for z in np.linspace(-37, 8.5, 400):
        assert stats.normal_cdf(float(z)) == pytest.approx(special.ndtr(z), rel=1e-11, abs=1e-300)
        assert 1.0 - stats.normal_cdf(float(z)) == pytest.approx(sst.norm.sf(z), rel=1e-9, abs=2e-16)
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


def _regression_tester(gx, gy, feature, power: float = 0.0):
    """A ClusterTests over two genes and one quantitative feature, every sample in the cluster."""
    values = np.array([gx, gy], dtype=np.float32)
    notes = annotations.Annotations(
        [annotations.Test("F", "F", "quantitative", None)], {}, {"F": np.asarray(feature, dtype=np.float64)}
    )
    tester = condtest.ClusterTests(values, notes, 0.001, power)
    p, r2 = tester.run(0, 1, np.ones(values.shape[1], dtype=bool))
    return float(p[0]), float(r2[0])


def test_regression_keeps_kincs_degrees_of_freedom_for_a_rank_deficient_design() -> None:
    """Gene x constant over the cluster: the design [1, gx, gy, gx*gy] has rank 2, but KINC's F test keeps
    DFM = 3 and DFE = n - 4 (F(1, n - 2) gave a smaller p)."""
    n = 12
    gy = np.linspace(1.0, 4.0, n)
    feature = 2.0 * gy + np.array([0.3, -0.2, 0.1, -0.4, 0.2, 0.0, -0.1, 0.3, -0.3, 0.1, 0.2, -0.2])
    feature = feature.astype(np.float32).astype(np.float64)  # as KINC reads it
    p, r2 = _regression_tester(np.full(n, 2.0), gy, feature)
    fit = np.polyval(np.polyfit(gy.astype(np.float32), feature, 1), gy.astype(np.float32))
    expected_r2 = 1.0 - float(((feature - fit) ** 2).sum()) / float(((feature - feature.mean()) ** 2).sum())
    assert r2 == pytest.approx(expected_r2, rel=1e-9)
    f = (expected_r2 / 3) / ((1 - expected_r2) / (n - 4))
    assert p == pytest.approx(float(stats.f_sf(f, 3, n - 4)), rel=1e-6)
    rank_based = float(stats.f_sf((expected_r2 / 1) / ((1 - expected_r2) / (n - 2)), 1, n - 2))
    assert p > 10 * rank_based


def test_regression_reads_the_feature_in_single_precision() -> None:
    """KINC's Y is QString::toFloat of each value: at 1e6 a float32 step is 0.0625, so the fractions of
    this feature are rounded away before the fit, and R^2 is the float32 feature's."""
    n = 10
    gx = np.array([1.0, 2.5, 0.5, 3.0, 2.0, 4.0, 1.5, 3.5, 0.8, 2.2])
    gy = np.array([2.0, 1.0, 3.5, 0.5, 2.5, 1.5, 4.0, 3.0, 1.2, 0.7])
    feature = 1e6 + np.array([0.01, 0.13, 0.02, 0.11, 0.07, 0.19, 0.03, 0.16, 0.05, 0.09])
    p, r2 = _regression_tester(gx, gy, feature)

    def r_squared(target: np.ndarray) -> float:
        a, b = gx.astype(np.float32).astype(np.float64), gy.astype(np.float32).astype(np.float64)
        design = np.column_stack([np.ones(n), a, b, a * b])
        residual = target - design @ np.linalg.lstsq(design, target, rcond=None)[0]
        return 1.0 - float(residual @ residual) / float(((target - target.mean()) ** 2).sum())

    single = r_squared(feature.astype(np.float32).astype(np.float64))
    assert r2 == pytest.approx(single, rel=1e-9)
    assert abs(single - r_squared(feature)) > 0.02
    assert p == pytest.approx(float(stats.f_sf((single / 3) / ((1 - single) / (n - 4)), 3, n - 4)), rel=1e-6)


def test_regression_p_value_is_one_minus_the_cdf() -> None:
    """KINC's p is 1 - gsl_cdf_fdist_P(F): a fit this close (R^2 just below 1, an upper tail far below
    1e-16) gives 0, and a moderate one the upper tail to within a double's step under 1."""
    n = 40
    gx = np.linspace(0.0, 8.0, n)
    gy = np.cos(np.arange(n, dtype=np.float64))
    close = gx + 1e-3 * np.sin(3.0 * np.arange(n))
    p, r2 = _regression_tester(gx, gy, close)
    assert 0.999 < r2 < 1.0
    f = (r2 / 3) / ((1 - r2) / (n - 4))
    assert 0.0 < float(stats.f_sf(f, 3, n - 4)) < 1e-30
    assert p == 0.0
    loose = gx + 6.0 * np.sin(3.0 * np.arange(n))
    p, r2 = _regression_tester(gx, gy, loose)
    tail = float(stats.f_sf((r2 / 3) / ((1 - r2) / (n - 4)), 3, n - 4))
    assert 1e-6 < tail < 0.5 and p == pytest.approx(tail, abs=2.3e-16)


def test_a_column_of_missing_values_only_is_ordinal(tmp_path: Path) -> None:
    """KINC counts a column of the missing token only as ordinal (no value that is not an integer), so it
    is one regression test, NaN for every cluster; as categorical it was a test Empty__NA whose label
    every sample carries, with a small p for every cluster."""
    path = tmp_path / "amx.txt"
    path.write_text("Sample\tEmpty\tGroup\n" + "".join(f"s{i}\tNA\t{'AB'[i % 2]}\n" for i in range(8)))
    notes = annotations.read_annotations(str(path), [f"s{i}" for i in range(8)], ["Empty", "Group"], {}, "\t", "NA")
    assert [(t.name, t.type) for t in notes.tests] == [
        ("Empty", "ordinal"),
        ("Group__A", "categorical"),
        ("Group__B", "categorical"),
    ]
    assert np.isnan(notes.numbers["Empty"]).all()
    values = np.arange(16, dtype=np.float32).reshape(2, 8) ** 1.5
    p, r2 = condtest.ClusterTests(values, notes, 0.001, 0.0).run(0, 1, np.ones(8, dtype=bool))
    assert math.isnan(p[0]) and math.isnan(r2[0])
