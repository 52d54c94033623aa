"""rmt follows the spec's walk: pruning, unique eigenvalues, unfolding, chi-square, stopping rule."""

from pathlib import Path

import numpy as np
import pytest

from kinc import rmt
from kinc.rmt import (
    CHI_POISSON,
    NoThreshold,
    PrunedMatrices,
    RmtParams,
    Step,
    chi_square,
    find_threshold,
    format_log,
    spacing_chi_square,
    unfold,
    unique_eigenvalues,
)


def test_unique_eigenvalues_compare_with_the_last_kept_one() -> None:
    eigens = np.array([0.0, 4e-7, 8e-7, 1.2e-6, 0.5, 0.5000005, 0.6], dtype=np.float32)
    np.testing.assert_array_equal(unique_eigenvalues(eigens, 1e-6), np.float32([0.0, 1.2e-6, 0.5, 0.6]))
    assert unique_eigenvalues(eigens, 0.0).size == eigens.size


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
