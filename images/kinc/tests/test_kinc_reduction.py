"""rmt --reduction: the one value a pair with several clusters gives the matrix rmt walks."""

from pathlib import Path

import numpy as np
import pytest
from kinc_testdata import write_pair_files

from kinc.formats import CMX_DTYPE
from kinc.reduction import pair_draw, reduce_clusters

GENES = ["a", "b", "c", "d", "e", "f"]
# Consecutive records of one pair are its clusters, as GMM mode stores them.
CLUSTERED = [
    (1, 0, 0.9, "1100"),
    (1, 0, -0.95, "0011"),
    (2, 0, 0.3, "1111"),
    (2, 1, -0.2, "1100"),
    (2, 1, 0.8, "0010"),
    (2, 1, 0.6, "0001"),
    (3, 1, 0.7, "1111"),
    (3, 2, 0.4, "1100"),
    (3, 2, -0.85, "0011"),
    (4, 3, 0.65, "1100"),
    (4, 3, 0.1, "0011"),
    (5, 4, -0.75, "1111"),
]
PAIRS = [(1, 0), (2, 0), (2, 1), (3, 1), (3, 2), (4, 3), (5, 4)]
FIRST = [0.9, 0.3, -0.2, 0.7, 0.4, 0.65, -0.75]
MAXCORR = [0.95, 0.3, 0.8, 0.7, 0.85, 0.65, 0.75]  # KINC keeps the magnitude: never negative
WALK = ["--tstart", "0.99", "--tstep", "0.05", "--tstop", "0.05"]  # too few eigenvalues: no threshold


def _records(rows: list[tuple[int, int, float, str]]) -> np.ndarray:
    return np.array([(x, y, r) for x, y, r, _ in rows], dtype=CMX_DTYPE)


def _single(pairs: list[tuple[int, int]], values: list[float]) -> list[tuple[int, int, float, str]]:
    return [(x, y, r, "1111") for (x, y), r in zip(pairs, values, strict=True)]


def _walk(kinc, tmp_path: Path, name: str, rows: list[tuple[int, int, float, str]], *options: str) -> str:
    files = write_pair_files(tmp_path / name, GENES, 4, rows)
    log = tmp_path / f"{name}.log"
    result = kinc("run", "rmt", "--input", files["cmx"], "--log", log, *WALK, *options)
    assert result.code == 1 and "without a threshold" in result.err, result.err
    return log.read_text()


@pytest.mark.parametrize("name,values", [("first", FIRST), ("maxcorr", MAXCORR)])
def test_first_and_maxcorr_pick_by_kincs_rules(name: str, values: list[float]) -> None:
    reduced = reduce_clusters(_records(CLUSTERED), name)
    assert list(zip(reduced["x"].tolist(), reduced["y"].tolist(), strict=True)) == PAIRS
    np.testing.assert_array_equal(reduced["r"], np.float32(values))


def test_random_picks_one_of_the_pairs_clusters_fixed_by_the_pair() -> None:
    records = _records(CLUSTERED)
    reduced = reduce_clusters(records, "random")
    assert list(zip(reduced["x"].tolist(), reduced["y"].tolist(), strict=True)) == PAIRS
    for (x, y), r in zip(PAIRS, reduced["r"].tolist(), strict=True):
        assert r in [c for cx, cy, c in records.tolist() if (cx, cy) == (x, y)]
    np.testing.assert_array_equal(reduce_clusters(records, "random"), reduced)
    # A pair's draw does not depend on the other pairs in the file.
    alone = reduce_clusters(records[3:6], "random")
    assert alone["r"].tolist() == [reduced["r"][2]]
    # Over many pairs of two clusters, both clusters are drawn, about as often.
    x = np.arange(1, 2001)
    drawn = pair_draw(x, x - 1, np.full(x.size, 2))
    assert set(drawn.tolist()) == {0, 1} and 900 < drawn.sum() < 1100


@pytest.mark.parametrize("name", ["first", "maxcorr", "random"])
def test_rmt_walks_the_reduced_matrix(tmp_path: Path, kinc, name: str) -> None:
    """The walk of the clustered file is the walk of a one-cluster file holding the values picked."""
    values = {"first": FIRST, "maxcorr": MAXCORR}.get(name)
    if values is None:
        values = reduce_clusters(_records(CLUSTERED), "random")["r"].tolist()
    walk = _walk(kinc, tmp_path, "clustered", CLUSTERED, "--reduction", name)
    assert walk == _walk(kinc, tmp_path, "single", _single(PAIRS, values))
    assert len(walk.splitlines()) == 19  # 0.99 down to 0.09 in float32 steps


def test_reductions_walk_differently_and_first_is_the_default(tmp_path: Path, kinc) -> None:
    walks = {name: _walk(kinc, tmp_path, name, CLUSTERED, "--reduction", name) for name in ("first", "maxcorr")}
    assert walks["first"] != walks["maxcorr"]
    assert _walk(kinc, tmp_path, "default", CLUSTERED) == walks["first"]
    # At t = 0.94 only maxcorr keeps gene b (its |r| 0.95 with a); first's largest is 0.9.
    sizes = {name: walk.splitlines()[1].split("\t")[:2] for name, walk in walks.items()}
    assert sizes == {"first": ["0.94", "0"], "maxcorr": ["0.94", "1"]}


@pytest.mark.parametrize(
    "value,message",
    [
        ("maxsize", "--reduction maxsize is not supported, as in KINC 3.4"),
        ("mincorr", "--reduction must be one of first|maxcorr|maxsize|random, got 'mincorr'"),
    ],
)
def test_unsupported_and_unknown_reductions_are_errors(tmp_path: Path, kinc, value: str, message: str) -> None:
    files = write_pair_files(tmp_path / "m", GENES, 4, CLUSTERED)
    result = kinc("run", "rmt", "--input", files["cmx"], "--log", tmp_path / "m.log", "--reduction", value)
    assert result.code == 2 and message in result.err, result.err
    assert not (tmp_path / "m.log").exists()
