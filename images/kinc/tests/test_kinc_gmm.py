"""similarity --clusmethod gmm: planted clusters found, chunks equal the whole run, errors, determinism;
corrpower on its clusters."""

import math
from pathlib import Path

import numpy as np
import pytest
from kinc_testdata import messy_matrix, write_gem
from planted import HALF, SAMPLES, pairs_of, planted

from kinc.corrpower import PowerTest, t_quantile
from kinc.formats import CCM_FORMAT, CMX_FORMAT, PairFile, open_pairs, write_header
from kinc.gmm import GmmEngine, c_rand, exp32, fit_block, log32
from kinc.pairs import chunk_path, pair_index
from kinc.similarity import SimilarityParams

# mincorr 0.7: a blob of 30 independent samples reaches |r| 0.5 by chance now and then (sd of r 0.19)
GMM = ["--clusmethod", "gmm", "--minsamp", "15", "--mincorr", "0.7"]


def _records(stem: Path) -> tuple[np.ndarray, np.ndarray]:
    corr, clus = open_pairs(f"{stem}.cmx", CMX_FORMAT), open_pairs(f"{stem}.ccm", CCM_FORMAT)
    try:
        return corr.read_all(), clus.read_all()
    finally:
        corr.close()
        clus.close()


def _run(kinc, emx: Path, stem: Path, *options: str) -> None:
    outputs = ["--ccm", f"{stem}.ccm", "--cmx", f"{stem}.cmx"]
    result = kinc("run", "similarity", "--input", emx, *outputs, *options)
    assert result.code == 0, result.err


def _by_pair(corr: np.ndarray, clus: np.ndarray) -> dict[tuple[int, int], list[tuple[float, str]]]:
    found: dict[tuple[int, int], list[tuple[float, str]]] = {}
    for c, s in zip(corr, clus, strict=True):
        assert (c["x"], c["y"]) == (s["x"], s["y"])
        found.setdefault((int(c["x"]), int(c["y"])), []).append((float(c["r"]), s["samples"].decode()))
    return found


@pytest.fixture
def planted_emx(tmp_path: Path, kinc) -> Path:
    write_gem(tmp_path / "planted.txt", planted())
    emx = tmp_path / "planted.emx"
    assert kinc("run", "import-emx", "--input", tmp_path / "planted.txt", "--output", emx).code == 0
    return emx


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_planted_clusters(tmp_path: Path, kinc, planted_emx: Path, method: str) -> None:
    _run(kinc, planted_emx, tmp_path / "gmm", *GMM, "--corrmethod", method)
    _run(kinc, planted_emx, tmp_path / "trad", "--minsamp", "15", "--mincorr", "0.5", "--corrmethod", method)
    gmm, trad = _by_pair(*_records(tmp_path / "gmm")), _by_pair(*_records(tmp_path / "trad"))
    # Co-expressed in condition A only: one cluster of (almost) only A's samples, strongly correlated.
    for pair in pairs_of("cond"):
        assert pair in gmm, pair
        best = max(gmm[pair], key=lambda c: abs(c[0]))
        r, samples = best
        in_a, in_b = samples[:HALF].count("1"), samples[HALF:].count("1")
        assert r > 0.8 and in_a >= 25 and in_b <= 6, (pair, best)  # B on the line of A: a few join
        assert set(samples) <= set("01678")  # every sample is in this cluster, another one, or dropped
    # Two blobs without correlation inside either: an edge over all samples; in GMM mode no cluster
    # joins the conditions. A mixture may still carve a thin cluster out of one blob where its samples
    # happen to line up (as KINC's would): that is rare, not the rule.
    shift = pairs_of("shift")
    for pair in shift:
        # spearman of two blobs is about 0.75, plus a quarter of the blobs' own
        assert trad[pair][0][0] > (0.8 if method == "pearson" else 0.5), (pair, trad.get(pair))
        for r, samples in gmm.get(pair, []):
            assert min(samples[:HALF].count("1"), samples[HALF:].count("1")) <= 2, (pair, r, samples)
    print(f"{method}: {sum(p in gmm for p in shift)} of {len(shift)} shift pairs with a cluster")
    assert sum(p in gmm for p in shift) <= len(shift) // 5
    # Correlated over all samples: one cluster of all clean samples, the traditional r.
    for pair in pairs_of("all"):
        assert len(gmm[pair]) == 1, gmm[pair]
        (r, samples), ((r_trad, samples_trad),) = gmm[pair][0], trad[pair]
        assert samples == samples_trad and r == pytest.approx(r_trad, abs=1e-6)
    # Independent genes: neither.
    for pair in pairs_of("indep"):
        assert pair not in gmm and all(abs(r) < 0.7 for r, _ in trad.get(pair, []))
    # Clusters of a pair are consecutive records in pair order; each sample string marks one cluster.
    corr, clus = _records(tmp_path / "gmm")
    index = pair_index(corr["x"], corr["y"])
    assert np.all(np.diff(index) >= 0)
    for samples in clus["samples"]:
        assert b"1" in samples and set(samples.decode()) <= set("016789")


def test_header_names_the_clustering_options(tmp_path: Path, kinc, planted_emx: Path) -> None:
    _run(kinc, planted_emx, tmp_path / "gmm", *GMM, "--crit", "BIC", "--maxclus", "3", "--postout", "no")
    _run(kinc, planted_emx, tmp_path / "trad")
    pairs = open_pairs(str(tmp_path / "gmm.cmx"), CMX_FORMAT)
    params = pairs.header["params"]
    pairs.close()
    assert {k: params[k] for k in ("clusmethod", "minclus", "maxclus", "crit", "postout")} == {
        "clusmethod": "gmm",
        "minclus": "1",
        "maxclus": "3",
        "crit": "bic",
        "postout": "false",
    }
    pairs = open_pairs(str(tmp_path / "trad.ccm"), CCM_FORMAT)
    assert "clusmethod" not in pairs.header["params"]  # traditional mode's files are as before
    pairs.close()


@pytest.fixture
def messy_emx(tmp_path: Path, kinc) -> Path:
    values = np.concatenate([planted(5), messy_matrix(11, genes=16, samples=SAMPLES)])
    values[20, ::7] = np.nan
    write_gem(tmp_path / "messy.txt", values)
    emx = tmp_path / "messy.emx"
    assert kinc("run", "import-emx", "--input", tmp_path / "messy.txt", "--output", emx).code == 0
    return emx


MESSY = ["--clusmethod", "gmm", "--minsamp", "15", "--minexpr", "3.0", "--mincorr", "0.3"]


@pytest.mark.parametrize(
    "extra", [[], ["--corrmethod", "spearman", "--crit", "aic"], ["--minclus", "2", "--maxclus", "4"]]
)
def test_chunks_merge_to_the_whole_run(tmp_path: Path, kinc, messy_emx: Path, extra: list[str]) -> None:
    options = [*MESSY, *extra]
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    _run(kinc, messy_emx, whole, *options)
    outputs = ["--input", messy_emx, "--ccm", f"{parts}.ccm", "--cmx", f"{parts}.cmx", *options]
    for chunks in (3, 11):
        for index in range(chunks):
            result = kinc("chunkrun", index, chunks, "similarity", *outputs)
            assert result.code == 0, result.err
        assert kinc("merge", chunks, "similarity", *outputs).code == 0
        for ext in ("cmx", "ccm"):
            assert Path(f"{parts}.{ext}").read_bytes() == Path(f"{whole}.{ext}").read_bytes()
    corr, clus = _records(whole)
    codes = set(b"".join(clus["samples"]).decode())
    assert {"0", "1", "6", "7", "9"} <= codes, codes  # other clusters, range, pre-outliers, missing
    assert len(corr) > 100 and len(set(pair_index(corr["x"], corr["y"]).tolist())) < len(corr)


def test_postout_marks_outliers_within_clusters(tmp_path: Path, kinc, messy_emx: Path) -> None:
    _run(kinc, messy_emx, tmp_path / "on", *MESSY)
    _run(kinc, messy_emx, tmp_path / "off", *MESSY, "--postout", "false")
    on, off = _records(tmp_path / "on")[1]["samples"], _records(tmp_path / "off")[1]["samples"]
    assert any(b"8" in s for s in on)
    assert not any(b"8" in s for s in off)


def test_same_output_twice_and_for_any_block_size(tmp_path: Path, kinc, messy_emx: Path) -> None:
    _run(kinc, messy_emx, tmp_path / "a", *MESSY)
    _run(kinc, messy_emx, tmp_path / "b", *MESSY)
    for ext in ("cmx", "ccm"):
        assert (tmp_path / f"a.{ext}").read_bytes() == (tmp_path / f"b.{ext}").read_bytes()
    values = np.concatenate([planted(5), messy_matrix(11, genes=16, samples=SAMPLES)])
    params = SimilarityParams(clusmethod="gmm", minsamp=15, mincorr=0.3, corrmethod="spearman")

    def records(block: int, end: int) -> bytes:
        results = list(GmmEngine(values, params, block_pairs=block).run(0, end))
        return b"".join(
            np.concatenate([getattr(r, name) for r in results]).tobytes() for name in ("x", "y", "r", "codes")
        )

    whole = records(1000, 780)
    assert len(whole) > 1000 and records(97, 780) == whole
    assert records(7, 150) == records(1000, 150)
    assert records(1, 28) == records(1000, 28)  # one pair at a time: pairs (1, 0) .. (7, 6)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--minclus", "3", "--maxclus", "2"], "--minclus (3) must not exceed --maxclus (2)"),
        (["--minclus", "6"], "--minclus (6) must not exceed --maxclus (5)"),
        (["--crit", "mdl"], "--crit must be one of aic|bic|icl"),
        (["--maxclus", "65"], "--maxclus must be between 1 and 64"),
        (["--minclus", "0"], "--minclus must be between 1 and 64"),
        (["--postout", "perhaps"], "--postout expects a bool"),
    ],
)
def test_bad_gmm_options(tmp_path: Path, kinc, planted_emx: Path, args: list[str], needle: str) -> None:
    outputs = ["--ccm", tmp_path / "a.ccm", "--cmx", tmp_path / "a.cmx"]
    for verb in (["run"], ["chunkrun", "0", "2"]):
        result = kinc(*verb, "similarity", "--input", planted_emx, *outputs, "--clusmethod", "gmm", *args)
        assert result.code == 2 and needle in result.err, result.err
    result = kinc("run", "similarity", "--input", planted_emx, *outputs, "--clusmethod", "kmeans")
    assert result.code == 2 and "--clusmethod must be one of none|gmm" in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["planted.emx", "planted.txt"]


def test_merge_refuses_chunks_of_other_clustering_options(tmp_path: Path, kinc, planted_emx: Path) -> None:
    outputs = ["--input", planted_emx, "--ccm", tmp_path / "p.ccm", "--cmx", tmp_path / "p.cmx", *GMM]
    for index in range(2):
        assert kinc("chunkrun", index, 2, "similarity", *outputs).code == 0
    result = kinc("merge", 2, "similarity", *outputs, "--crit", "bic")
    assert result.code == 2 and "params" in result.err
    assert not (tmp_path / "p.cmx").exists() and not (tmp_path / "p.ccm").exists()
    assert Path(chunk_path(str(tmp_path / "p.cmx"), 1, 2)).exists()


def test_c_rand_and_the_exp_and_log_used() -> None:
    assert c_rand(3).tolist() == [16838, 5758, 10113]  # rand() from seed 1
    x = np.linspace(-87.0, 0.0, 100001, dtype=np.float32)
    exact = np.exp(x.astype(np.float64))
    assert exp32(x).dtype == np.float32 and np.max(np.abs(exp32(x) - exact) / exact) < 4e-7
    x = np.logspace(-30, 30, 100001).astype(np.float32)
    exact = np.log(x.astype(np.float64))
    assert np.max(np.abs(log32(x) - exact) / np.maximum(np.abs(exact), 1.0)) < 4e-7
    assert log32(np.array([0.0, -1.0, np.inf], dtype=np.float32)).tolist()[::2] == [-np.inf, np.inf]
    assert np.isnan(log32(np.array([-1.0], dtype=np.float32)))[0]


def test_pairs_short_of_minsamp_have_no_clusters() -> None:
    params = SimilarityParams(clusmethod="gmm", minsamp=15, mincorr=0.0)
    for short, expected in ((False, True), (True, False)):
        values = planted()
        if short:
            values[0, 10:] = np.nan  # gene 0 keeps 10 samples
        results = list(GmmEngine(values, params).run(0, 276))
        ys = np.concatenate([r.y for r in results])
        assert bool(np.any(ys == 0)) is expected and ys.size > 100


# --------------------------------------------------------------------------------- corrpower


def _phi(v: float) -> float:
    return 0.5 * math.erfc(-v / math.sqrt(2.0))


def _power_kinc(r: float, n: int, alpha: float) -> float:
    """KINC's pwr_r_test written out per cluster (the second Phi nested in the first)."""
    phi = _phi
    t = float(t_quantile(alpha / 2.0, np.array([n - 2]))[0])
    rc = math.sqrt(t * t / (t * t + n - 2.0))
    zr, zrc = math.atanh(r) + r / (2.0 * (n - 1.0)), math.atanh(rc)
    return phi((zr - zrc) * math.sqrt(n - 3.0) + phi((-zr - zrc) * math.sqrt(n - 3.0)))


def test_t_quantiles_match_the_tables() -> None:
    # Student's t quantiles from the standard tables (R's qt).
    found = t_quantile(0.025, np.array([1, 2, 10, 30, 0]))
    assert found[:4] == pytest.approx([-12.7062047362, -4.30265272975, -2.22813885196, -2.04227245630], rel=1e-9)
    assert np.isnan(found[4])
    assert t_quantile(0.0005, np.array([1, 58]))[0] == pytest.approx(-636.619248768, rel=1e-9)
    assert t_quantile(0.0005, np.array([58]))[0] == pytest.approx(-3.46632879493, rel=1e-9)


@pytest.fixture
def gmm_run(tmp_path: Path, kinc, planted_emx: Path) -> Path:
    _run(kinc, planted_emx, tmp_path / "all", "--clusmethod", "gmm", "--minsamp", "5", "--mincorr", "0")
    return tmp_path / "all"


def test_corrpower_keeps_the_powered_clusters(tmp_path: Path, kinc, gmm_run: Path) -> None:
    out = tmp_path / "paf"
    result = kinc(
        "run", "corrpower", "--ccm-in", f"{gmm_run}.ccm", "--cmx-in", f"{gmm_run}.cmx",
        "--ccm-out", f"{out}.ccm", "--cmx-out", f"{out}.cmx", "--alpha", "0.001", "--power", "0.8",
    )  # fmt: skip
    assert result.code == 0, result.err
    corr, clus = _records(gmm_run)
    n = np.array([s.count(b"1") for s in clus["samples"]])
    expected = np.array(
        [k >= 4 and _power_kinc(abs(float(r)), int(k), 0.001) >= 0.8 for r, k in zip(corr["r"], n, strict=True)]
    )
    assert 0 < expected.sum() < len(corr)  # some clusters go, some stay
    kept_corr, kept_clus = _records(out)
    assert kept_corr.tobytes() == corr[expected].tobytes()
    assert kept_clus.tobytes() == clus[expected].tobytes()
    assert "corrpower: kept" in result.out and f"{expected.sum()} of {len(corr)}" in result.out
    pairs = open_pairs(f"{out}.cmx", CMX_FORMAT)
    assert pairs.header["params"]["corrpower_power"] == "0.8" and pairs.header["params"]["clusmethod"] == "gmm"
    pairs.close()
    # The co-expressed clusters of condition A are strong enough to stay.
    assert set(pairs_of("cond")) <= set(_by_pair(kept_corr, kept_clus))


def test_corrpower_power_is_kincs_nested_form() -> None:
    test = PowerTest(0.001, 60)
    r, n = np.array([0.5, 0.62, 0.9, 1.0, 0.99]), np.array([60, 40, 12, 10, 3])
    found = test.power(r, n)
    for value, rr, nn in zip(found[:3], r[:3], n[:3], strict=True):
        assert value == pytest.approx(_power_kinc(float(rr), int(nn), 0.001), abs=1e-12)
    assert found[3] == 1.0  # r = 1: atanh is infinite
    # pwr.r.test adds the two terms, KINC nests them: the figures differ where the second term counts
    # (a large alpha, a small r).
    phi = _phi
    t = float(t_quantile(0.25, np.array([8]))[0])
    rc = math.sqrt(t * t / (t * t + 8))
    zr, zrc = math.atanh(0.1) + 0.1 / 18, math.atanh(rc)
    added = phi((zr - zrc) * math.sqrt(7)) + phi((-zr - zrc) * math.sqrt(7))
    nested = PowerTest(0.5, 60).power(np.array([0.1]), np.array([10]))[0]
    assert nested == pytest.approx(_power_kinc(0.1, 10, 0.5), abs=1e-12) and abs(nested - added) > 0.05
    assert found[4] == pytest.approx(phi(0.5))  # n = 3: sqrt(n - 3) = 0, as KINC computes it
    assert np.isnan(test.power(np.array([0.9]), np.array([2])))[0]  # no degrees of freedom


@pytest.mark.parametrize(
    "change,needle",
    [
        (["--alpha", "0"], "--alpha must be above 0 and below 1"),
        (["--power", "1.5"], "--power must be between 0 and 1"),
        (["--cmx-in", "CHUNK"], "merge the chunks first"),
        (["--cmx-in", "TRAD"], "differ in header params"),
        (["--ccm-out", "IN"], "would replace that input"),
    ],
)
def test_corrpower_bad_input(tmp_path: Path, kinc, gmm_run: Path, planted_emx: Path, change, needle) -> None:
    opts = {
        "--ccm-in": f"{gmm_run}.ccm", "--cmx-in": f"{gmm_run}.cmx",
        "--ccm-out": str(tmp_path / "o.ccm"), "--cmx-out": str(tmp_path / "o.cmx"),
    }  # fmt: skip
    name, value = change
    if value == "CHUNK":
        outputs = ["--input", planted_emx, "--ccm", tmp_path / "c.ccm", "--cmx", tmp_path / "c.cmx"]
        assert kinc("chunkrun", 0, 2, "similarity", *outputs, *GMM).code == 0
        value = chunk_path(str(tmp_path / "c.cmx"), 0, 2)
    elif value == "TRAD":
        _run(kinc, planted_emx, tmp_path / "t")
        value = str(tmp_path / "t.cmx")
    elif value == "IN":
        value = f"{gmm_run}.ccm"
    opts[name] = value
    before = sorted(p.name for p in tmp_path.iterdir())
    result = kinc("run", "corrpower", *[a for item in opts.items() for a in item])
    assert result.code == 2 and needle in result.err, result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# ------------------------------------------------------------------------------------ rmt


def test_rmt_takes_each_pairs_first_cluster(tmp_path: Path, kinc) -> None:
    """A pair's later clusters do not count in rmt (KINC's default reduction, cluster 0's r): a matrix
    whose pairs got a second cluster of r 0.99 walks as the matrix of their first clusters."""
    example = Path(__file__).resolve().parents[2] / "submitter" / "data" / "PRJNA301554.slim.GEM.log2.txt"
    emx = tmp_path / "x.emx"
    assert kinc("run", "import-emx", "--input", example, "--output", emx).code == 0
    _run(kinc, emx, tmp_path / "trad")
    corr = open_pairs(f"{tmp_path / 'trad'}.cmx", CMX_FORMAT)
    header, records = corr.header, corr.read_all()
    corr.close()
    second = records[::3].copy()
    second["r"] = np.float32(0.99)
    doubled = np.concatenate([records, second])
    doubled = doubled[np.argsort(pair_index(doubled["x"], doubled["y"]), kind="stable")]
    with open(tmp_path / "gmm.cmx", "wb") as out:
        write_header(out, {**header, "params": {**header["params"], "clusmethod": "gmm"}})
        out.write(doubled.tobytes())
    for stem in ("trad", "gmm"):
        result = kinc("run", "rmt", "--input", f"{tmp_path / stem}.cmx", "--log", tmp_path / f"{stem}.log")
        assert result.code == 0, result.err
    log = (tmp_path / "trad.log").read_text()
    assert log.splitlines()[-1] == "0.831002" and (tmp_path / "gmm.log").read_text() == log


# -------------------------------------------------------------------------------- extract


def test_extract_numbers_each_pairs_clusters(tmp_path: Path, kinc, gmm_run: Path, planted_emx: Path, monkeypatch) -> None:
    corr, clus = _records(gmm_run)
    clusters = _by_pair(corr, clus)
    assert max(len(c) for c in clusters.values()) >= 2  # some pairs have several clusters

    def extract(fmt: str, name: str) -> list[list[str]]:
        files = ["--emx", planted_emx, "--ccm", f"{gmm_run}.ccm", "--cmx", f"{gmm_run}.cmx"]
        result = kinc("run", "extract", *files, "--format", fmt, "--output", tmp_path / name, "--mincorr", "0")
        assert result.code == 0, result.err
        return [line.split("\t") for line in (tmp_path / name).read_text().splitlines()[1:]]

    minimal, text = extract("minimal", "net.min"), extract("text", "net.txt")
    assert len(minimal) == len(text) == len(corr)
    for (source, target, _, index, count), row in zip(minimal, text, strict=True):
        pair = (int(source[1:]), int(target[1:]))
        assert int(count) == len(clusters[pair]) and row[4] == index
        r, samples = clusters[pair][int(index) - 1]
        assert row[6] == samples and int(row[5]) == samples.count("1") and row[2] == f"{r:.8g}"
    # Blocks of records that split a pair's clusters give the same network.
    reference = (tmp_path / "net.min").read_bytes()
    original = PairFile.blocks
    for size in (1, 2, 3):
        monkeypatch.setattr(PairFile, "blocks", lambda self, records=size: original(self, records))
        extract("minimal", f"net{size}.min")
        assert (tmp_path / f"net{size}.min").read_bytes() == reference


# ------------------------------------------------------------------- EM against a plain one


def _plain_em(x: np.ndarray, y: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """Per pair in float64, as the spec reads: means at clean samples rand() mod N, identity covariances,
    weights 1/K; E and M steps until the log-likelihood changes by less than 1e-8 or 100 iterations."""
    data = np.stack([x, y], axis=1).astype(np.float64)
    n = len(data)
    mu = data[c_rand(k) % n].copy()
    sigma = np.array([np.eye(2)] * k)
    pi = np.full(k, 1.0 / k)
    previous = -np.inf
    for _ in range(100):
        log_p = np.empty((k, n))
        for j in range(k):
            d = data - mu[j]
            inv = np.linalg.inv(sigma[j])
            log_p[j] = np.log(pi[j]) - 0.5 * np.einsum("ni,ij,nj->n", d, inv, d)
            log_p[j] -= 0.5 * (2 * math.log(2 * math.pi) + math.log(np.linalg.det(sigma[j])))
        top = log_p.max(axis=0)
        log_px = top + np.log(np.exp(log_p - top).sum(axis=0))
        gamma = np.exp(log_p - log_px)
        log_l = float(log_px.sum())
        if abs(log_l - previous) < 1e-8:
            break
        previous = log_l
        nk = gamma.sum(axis=1)
        pi = nk / n
        mu = gamma @ data / nk[:, None]
        for j in range(k):
            d = data - mu[j]
            sigma[j] = (gamma[j][:, None] * d).T @ d / nk[j]
    return log_l, gamma.argmax(axis=0)


def test_batched_em_matches_a_plain_one() -> None:
    rng = np.random.default_rng(8)
    rows = []
    for shift in (3.0, 4.0, 5.0, 6.0):  # two elongated clusters, well apart
        a = rng.normal(size=40)
        x = np.concatenate([a, rng.normal(shift, 0.5, size=20)])
        y = np.concatenate([0.8 * a + rng.normal(scale=0.3, size=40), rng.normal(-shift, 0.5, size=20)])
        rows.append((x, y))
    x = np.array([r[0] for r in rows], dtype=np.float32)
    y = np.array([r[1] for r in rows], dtype=np.float32)
    clean = np.ones(x.shape, dtype=bool)
    clean[1, [0, 17, 59]] = False  # a pair with samples left out
    for k in (1, 2, 3):
        fits = fit_block(x, y, clean, k)
        assert fits.ok.all()
        for p in range(len(rows)):
            log_l, labels = _plain_em(x[p, clean[p]], y[p, clean[p]], k)
            assert fits.log_l[p] == pytest.approx(log_l, rel=1e-4, abs=1e-2)
            if k == 2:
                assert np.array_equal(fits.gamma[p].argmax(axis=0)[clean[p]], labels)
                assert np.all(fits.gamma[p][:, ~clean[p]] == 0)
