"""rmt follows the spec's walk: pruning, unique eigenvalues, unfolding, chi-square, stopping rule."""

from pathlib import Path

import numpy as np
import pytest
from kinc_testdata import messy_matrix
from scipy.interpolate import Akima1DInterpolator

from kinc import rmt
from kinc.gem import read_gem
from kinc.pairs import pair_count
from kinc.rmt import (
    CHI_POISSON,
    NoThreshold,
    PrunedMatrices,
    RmtParams,
    Step,
    chi_square,
    find_threshold,
    format_log,
    format_walk,
    spacing_chi_square,
    spacing_chi_squares,
    unfold,
    unfold_paces,
    unique_eigenvalues,
)
from kinc.similarity import SimilarityEngine, SimilarityParams

EXAMPLE = Path(__file__).resolve().parents[2] / "submitter" / "data" / "PRJNA301554.slim.GEM.log2.txt"


# ------------------------------------------------------------ the plain way, as the spec reads


def plain_unique(eigens: np.ndarray, epsilon: float) -> np.ndarray:
    kept: list[float] = []
    for value in eigens.astype(np.float64):
        if not kept or abs(value - kept[-1]) > epsilon:
            kept.append(value)
    return np.array(kept, dtype=np.float32)


def scipy_unfold(eigens: np.ndarray, pace: int) -> np.ndarray:
    n = eigens.size
    index = np.arange(n // pace) * pace
    kx, ky = eigens[index].astype(np.float64), (index + 1) / n
    kx[-1], ky[-1] = float(eigens[-1]), 1.0
    unfolded = np.empty(n, dtype=np.float32)
    unfolded[0], unfolded[-1] = 0.0, 1.0
    unfolded[1:-1] = Akima1DInterpolator(kx, ky)(eigens[1:-1].astype(np.float64))
    return unfolded


def plain_chi(unfolded: np.ndarray, bins: int) -> float:
    n = unfolded.size
    spacings = (unfolded[1:] - unfolded[:-1]) * np.float32(n)
    width = np.float32(3.0) / np.float32(bins)
    observed = np.zeros(bins)
    for s in spacings:
        if 0 <= s < 3.0:
            observed[min(int(s / width), bins - 1)] += 1
    edges = np.arange(bins + 1) * float(width)
    expected = (np.exp(-edges[:-1]) - np.exp(-edges[1:])) * n
    return float(np.sum((observed - expected) ** 2 / expected))


def plain_step(pruned: PrunedMatrices, t: np.float32, p: RmtParams) -> Step:
    """One step the plain way: the whole pruned matrix, one spline per pace."""
    matrix = pruned.build(t)
    if not matrix.size:
        return Step(t, 0, 0, None)
    unique = plain_unique(np.linalg.eigvalsh(matrix, UPLO="L").astype(np.float32), p.epsilon)
    paces = [pace for pace in range(p.minpace, p.maxpace + 1) if unique.size // pace >= 5]
    chi = None
    if unique.size >= p.mineigens and not p.spline:  # scaled linearly onto [0, 1]
        low, span = float(unique[0]), float(unique[-1]) - float(unique[0])
        chi = plain_chi(((unique.astype(np.float64) - low) / span).astype(np.float32), p.bins)
    elif unique.size >= p.mineigens and paces:
        chi = float(np.mean([plain_chi(scipy_unfold(unique, pace), p.bins) for pace in paces]))
    return Step(t, matrix.shape[0], unique.size, chi)


def pairs_of(values: np.ndarray, params: SimilarityParams) -> PrunedMatrices:
    results = list(SimilarityEngine(values, params).run(0, pair_count(values.shape[0])))
    x, y, r = (np.concatenate([getattr(res, name) for res in results]) for name in ("x", "y", "r"))
    return PrunedMatrices(values.shape[0], x.astype(np.int64), y.astype(np.int64), r)


def test_unique_eigenvalues_compare_with_the_last_kept_one() -> None:
    eigens = np.array([0.0, 4e-7, 8e-7, 1.2e-6, 0.5, 0.5000005, 0.6], dtype=np.float32)
    np.testing.assert_array_equal(unique_eigenvalues(eigens, 1e-6), np.float32([0.0, 1.2e-6, 0.5, 0.6]))
    assert unique_eigenvalues(eigens, 0.0).size == eigens.size


def test_unique_eigenvalues_match_the_one_by_one_rule() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        steps = rng.choice([0.0, 3e-7, 6e-7, 9e-7, 1e-6, 2e-6, 0.1], size=rng.integers(2, 60))
        eigens = (np.cumsum(steps) + rng.uniform(-2, 2)).astype(np.float32)
        np.testing.assert_array_equal(unique_eigenvalues(eigens, 1e-6), plain_unique(eigens, 1e-6))
    assert unique_eigenvalues(np.float32([0.5]), 1e-6).tolist() == [0.5]


@pytest.mark.parametrize("n", [50, 57, 120, 200, 239, 333, 401, 600])
def test_unfold_is_scipy_akima_bit_for_bit(n: int) -> None:
    rng = np.random.default_rng(n)
    eigens = np.unique(np.concatenate([rng.normal(size=n - 10), rng.uniform(0.9, 1.1, size=10)]))
    eigens = np.unique(eigens.astype(np.float32))
    paces = np.array([p for p in range(10, 41) if eigens.size // p >= 5])
    rows = unfold_paces(eigens, paces)
    for pace, row in zip(paces, rows, strict=True):
        np.testing.assert_array_equal(row, scipy_unfold(eigens, int(pace)), err_msg=f"pace {pace}")
        assert spacing_chi_squares(rows, 60)[list(paces).index(pace)] == plain_chi(row, 60)


def test_unfold_pins_ends_and_reproduces_a_linear_staircase() -> None:
    n = 200
    eigens = np.linspace(-1.0, 3.0, n).astype(np.float32)
    for pace in (10, 17, 40):
        unfolded = unfold(eigens, pace)
        assert unfolded[0] == 0.0 and unfolded[-1] == 1.0
        np.testing.assert_allclose(unfolded[1:-1], (np.arange(1, n - 1) + 1) / n, atol=1e-5)


def test_poisson_spacings_give_a_small_chi_and_goe_a_large_one() -> None:
    rng = np.random.default_rng(11)
    poisson = np.cumsum(rng.exponential(size=1000)).astype(np.float32)
    goe_matrix = rng.normal(size=(600, 600))
    goe = np.linalg.eigvalsh((goe_matrix + goe_matrix.T) / 2).astype(np.float32)
    params = RmtParams()
    assert chi_square(poisson, params) < CHI_POISSON
    assert chi_square(goe, params) > rmt.CHI_STOP


def test_chi_is_the_mean_over_paces_that_leave_five_knots() -> None:
    rng = np.random.default_rng(5)
    eigens = np.sort(rng.uniform(size=120)).astype(np.float32)
    params = RmtParams(minpace=10, maxpace=40)
    paces = [p for p in range(10, 41) if 120 // p >= 5]
    assert paces == list(range(10, 25))
    expected = np.mean([spacing_chi_square(unfold(eigens, p), 60) for p in paces])
    assert chi_square(eigens, params) == pytest.approx(expected)
    assert chi_square(eigens[:45], params) is None


def test_spacing_chi_square_against_a_hand_count() -> None:
    unfolded = np.float32([0.0, 0.01, 0.05, 0.1, 0.5, 0.52, 1.0])  # spacings x7: .07 .28 .35 2.8 .14 3.36
    n, width = 7, 3.0 / 6
    observed = np.zeros(6)
    for s in (0.07, 0.28, 0.35, 2.8, 0.14):
        observed[int(s / width)] += 1
    edges = np.arange(7) * width
    expected = (np.exp(-edges[:-1]) - np.exp(-edges[1:])) * n
    assert spacing_chi_square(unfolded, 6) == pytest.approx(
        np.sum((observed - expected) ** 2 / expected), rel=1e-5
    )


def test_gene_maximum_counts_only_pairs_where_the_gene_is_x() -> None:
    x, y = np.array([1, 2, 2]), np.array([0, 0, 1])
    pruned = PrunedMatrices(3, x, y, np.float32([0.95, -0.9, 0.85]))
    np.testing.assert_array_equal(pruned.maxima, np.float32([0.0, 0.95, 0.9]))
    matrix = pruned.build(np.float32(0.85))
    np.testing.assert_allclose(np.tril(matrix), [[1.0, 0.0], [0.85, 1.0]], atol=1e-7)
    assert pruned.build(np.float32(0.92)).shape == (1, 1)
    assert pruned.build(np.float32(0.99)).size == 0


def test_eigenvalues_per_component_are_those_of_the_whole_matrix() -> None:
    pruned = pairs_of(messy_matrix(4, genes=120), SimilarityParams(minsamp=20, mincorr=0.3))
    thresholds = [np.float32(t) for t in np.arange(0.99, 0.3, -0.01)]
    for t in [*thresholds, np.float32(0.8), np.float32(0.5), np.float32(0.95)]:  # and back up: recomputed
        dense = np.linalg.eigvalsh(pruned.build(t), UPLO="L").astype(np.float32)
        found = pruned.eigenvalues(t)
        assert found.dtype == np.float32 and found.size == dense.size, t
        np.testing.assert_allclose(found, dense, atol=2e-6, err_msg=str(t))
    assert pruned.build(np.float32(0.3)).shape[0] > 60, "the data should keep most genes at the end"


def test_kept_genes_without_entries_count_as_eigenvalues_of_one() -> None:
    # Maxima: gene 2 0.8, gene 3 0.95, gene 4 0.6; gene 1 is never kept, so (2, 1) is never an entry.
    x, y = np.array([2, 3, 4]), np.array([1, 0, 3])
    pruned = PrunedMatrices(5, x, y, np.float32([0.8, 0.95, 0.6]))
    assert pruned.eigenvalues(np.float32(0.99)).size == 0
    np.testing.assert_array_equal(pruned.eigenvalues(np.float32(0.7)), np.float32([1.0, 1.0]))
    found = pruned.eigenvalues(np.float32(0.5))  # (4, 3) joins genes 3 and 4; gene 2 stays alone
    assert found.dtype == np.float32
    np.testing.assert_allclose(found, [0.4, 1.0, 1.6], atol=1e-6)
    np.testing.assert_array_equal(found, np.linalg.eigvalsh(pruned.build(np.float32(0.5))).astype(np.float32))


def _walk(pruned: PrunedMatrices, params: RmtParams) -> list[Step]:
    try:
        return find_threshold(pruned, params)[1]
    except NoThreshold as failed:
        return failed.steps


@pytest.mark.parametrize(
    "seed,params",
    [
        (4, RmtParams(tstop=0.3, mineigens=20, minpace=5, maxpace=20)),
        (7, RmtParams(tstop=0.3, mineigens=30, tstep=0.004)),
        (8, RmtParams(tstop=0.3, mineigens=10, spline=False)),
    ],
)
def test_a_random_walk_is_the_plain_walk(seed: int, params: RmtParams) -> None:
    """Components that form, grow and merge, genes kept alone: every step as the plain way has it."""
    pruned = pairs_of(messy_matrix(seed, genes=150), SimilarityParams(minsamp=20, mincorr=0.3))
    steps = _walk(pruned, params)
    assert sum(step.chi is not None for step in steps) > 20
    plain = PrunedMatrices(pruned.genes, pruned.x, pruned.y, pruned.r)
    assert format_walk(steps) == format_walk([plain_step(plain, step.threshold, params) for step in steps])


@pytest.mark.parametrize("method,expected", [("pearson", "0.831002"), ("spearman", "0.826002")])
def test_the_example_walk_is_the_plain_walk(method: str, expected: str) -> None:
    """KINC's example GEM: the thresholds KINC 3.4's rules give, and every step as the plain way has it."""
    pruned = pairs_of(read_gem(str(EXAMPLE)).values, SimilarityParams(corrmethod=method))
    params = RmtParams()
    threshold, steps = find_threshold(pruned, params)
    assert f"{float(threshold):.6g}" == expected
    plain = PrunedMatrices(pruned.genes, pruned.x, pruned.y, pruned.r)
    assert format_walk(steps) == format_walk([plain_step(plain, step.threshold, params) for step in steps])


def _scripted(monkeypatch: pytest.MonkeyPatch, chis: list[float | None]) -> None:
    script = iter(chis)

    def fake(_pruned: PrunedMatrices, threshold: np.float32, _params: RmtParams) -> Step:
        chi = next(script)
        return Step(threshold, 100, 90, chi)

    monkeypatch.setattr(rmt, "evaluate", fake)


def test_walk_follows_the_last_chi_below_the_cutoff_until_a_chi_of_200(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _scripted(monkeypatch, [None, 150.0, 80.0, 120.0, 90.0, 199.0, 250.0, 10.0])
    params = RmtParams(tstart=0.9, tstep=0.01)
    threshold, steps = find_threshold(
        PrunedMatrices(2, np.array([1]), np.array([0]), np.float32([0.5])), params
    )
    assert len(steps) == 7
    assert threshold == steps[4].threshold
    assert float(threshold) == pytest.approx(0.86, abs=1e-6)
    log = format_log(threshold, steps).splitlines()
    assert len(log) == 8 and log[-1] == "0.86"
    assert log[0].split("\t") == ["0.9", "100", "90", "-1"]


def test_chi_of_200_before_any_candidate_does_not_stop_the_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    _scripted(monkeypatch, [250.0, 300.0, 50.0, 220.0])
    threshold, steps = find_threshold(
        PrunedMatrices(2, np.array([1]), np.array([0]), np.float32([0.5])), RmtParams(tstart=0.9, tstep=0.1)
    )
    assert len(steps) == 4 and threshold == steps[2].threshold


def test_reaching_tstop_without_a_chi_of_200_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _scripted(monkeypatch, [80.0] * 100)
    with pytest.raises(NoThreshold, match="tstop 0.5") as err:
        find_threshold(
            PrunedMatrices(2, np.array([1]), np.array([0]), np.float32([0.5])),
            RmtParams(tstart=0.99, tstep=0.1, tstop=0.5),
        )
    assert "candidate 0.59" in str(err.value) and err.value.exit_code == 1


def test_rmt_without_a_threshold_fails_and_writes_its_walk(tmp_path: Path, kinc) -> None:
    rng = np.random.default_rng(2)
    from kinc_testdata import write_gem

    write_gem(tmp_path / "g.txt", rng.normal(size=(20, 40)).astype(np.float32))
    assert kinc("run", "import-emx", "--input", tmp_path / "g.txt", "--output", tmp_path / "g.emx").code == 0
    out = ["--ccm", tmp_path / "g.ccm", "--cmx", tmp_path / "g.cmx"]
    assert kinc("run", "similarity", "--input", tmp_path / "g.emx", *out).code == 0
    result = kinc("run", "rmt", "--input", tmp_path / "g.cmx", "--log", tmp_path / "g.log", "--tstop", "0.9")
    assert result.code == 1
    assert "without a threshold" in result.err and f"the walk is in {tmp_path / 'g.log'}" in result.err
    # One line per step (t, pruned size, unique eigenvalues, chi) from 0.99 down by 0.001 to 0.9, and no
    # threshold line.
    walk = (tmp_path / "g.log").read_text().splitlines()
    assert len(walk) == 91 and all(len(line.split("\t")) == 4 for line in walk)
    assert walk[0].split("\t")[0] == "0.99" and 0.9 <= float(walk[-1].split("\t")[0]) < 0.901
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--tstart", "0.5", "--tstop", "0.6"], "--tstart"),
        (["--minpace", "40", "--maxpace", "10"], "--minpace"),
        (["--tstep", "0"], "--tstep"),
        (["--bins", "0"], "--bins"),
    ],
)
def test_rmt_option_checks(tmp_path: Path, kinc, args: list[str], message: str) -> None:
    result = kinc("run", "rmt", "--input", tmp_path / "none.cmx", "--log", tmp_path / "x.log", *args)
    assert result.code == 2 and message in result.err
