"""similarity against a direct per-pair computation that follows the spec, using scipy."""

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from kinc_testdata import messy_matrix
from scipy import stats
from similarity_reference import (
    CASES,
    EDGE_CASES,
    assert_edge_pairs_match_reference,
    edge_matrix,
    reference_pair,
    reference_run,
)

from kinc.formats import CCM_FORMAT, CMX_FORMAT, open_pairs
from kinc.pairs import chunk_range, pair_coords, pair_count, pair_index
from kinc.similarity import (
    SimilarityEngine,
    SimilarityParams,
    _pearson_of_zeroed,
    average_ranks,
    masked_pearson,
    write_similarity,
)


def borderline(values: np.ndarray, p: SimilarityParams, x: int, y: int) -> bool:
    """Pairs whose |r| sits within float rounding of a cutoff may legitimately fall either way."""
    loose = replace(p, mincorr=max(p.mincorr - 1e-5, 0.0), maxcorr=p.maxcorr + 1e-5)
    hit = reference_pair(values[x], values[y], loose)
    return hit is not None and min(abs(abs(hit[0]) - p.mincorr), abs(abs(hit[0]) - p.maxcorr)) < 1e-5


def engine_run(values: np.ndarray, p: SimilarityParams, block_pairs: int | None = None) -> dict:
    engine = SimilarityEngine(values, p, block_pairs=block_pairs)
    found = {}
    for res in engine.run(0, pair_count(values.shape[0])):
        for x, y, r, codes in zip(res.x, res.y, res.r, res.codes, strict=True):
            found[(int(x), int(y))] = (float(r), codes.tobytes().decode())
    return found


@pytest.mark.parametrize("params", CASES, ids=lambda p: f"{p.corrmethod}-{p.minsamp}-{p.preout}-{p.maxcorr}")
@pytest.mark.parametrize("seed", [1, 2])
def test_stored_pairs_match_reference(params: SimilarityParams, seed: int) -> None:
    values = messy_matrix(seed)
    expected = reference_run(values, params)
    found = engine_run(values, params, block_pairs=97)
    assert len(expected) > 100, "the generated data should store a fair share of pairs"
    differing = set(expected) ^ set(found)
    assert not {pair for pair in differing if not borderline(values, params, *pair)}
    for pair in set(expected) & set(found):
        assert found[pair][0] == pytest.approx(expected[pair][0], abs=2e-6), pair
        assert found[pair][1] == expected[pair][1], pair


def test_all_three_paths_are_exercised() -> None:
    """The generated data has clean pairs, complete pairs with outliers and pairs that lost samples."""
    values = messy_matrix(1)
    engine = SimilarityEngine(values, SimilarityParams())
    assert engine.clean.sum() >= 5
    assert (engine.complete & ~engine.clean).sum() >= 5
    assert (~engine.complete).sum() >= 5


def test_block_size_does_not_change_results() -> None:
    values = messy_matrix(3)
    params = SimilarityParams("spearman", minsamp=20, mincorr=0.3)
    assert engine_run(values, params, block_pairs=64) == engine_run(values, params)


def test_average_ranks_match_scipy_with_ties_and_masked_entries() -> None:
    rng = np.random.default_rng(7)
    data = np.round(rng.normal(size=(50, 30)), 1)
    data[rng.random(data.shape) < 0.2] = np.nan
    ranks = average_ranks(data)
    for row, rank in zip(data, ranks, strict=True):
        kept = ~np.isnan(row)
        np.testing.assert_allclose(rank[kept], stats.rankdata(row[kept]))


@pytest.mark.parametrize(
    "start,end", [(0, 1), (0, 10), (5, 6), (123_456, 124_000), (4_999_950_000, 4_999_950_010)]
)
def test_pair_coords_follow_lower_triangle_row_major(start: int, end: int) -> None:
    x, y = pair_coords(start, end)
    assert np.all(x > y) and np.all(y >= 0)
    np.testing.assert_array_equal(pair_index(x, y), np.arange(start, end))


def test_pair_coords_order() -> None:
    x, y = pair_coords(0, 6)
    assert list(zip(x.tolist(), y.tolist(), strict=True)) == [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)]


@pytest.mark.parametrize("chunks", [1, 3, 7, 779, 780, 781, 2000])
def test_chunk_ranges_tile_the_pairs(chunks: int) -> None:
    spans = [chunk_range(i, chunks, 780) for i in range(chunks)]
    assert spans[0][0] == 0 and spans[-1][1] == 780
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))


def test_written_files_hold_the_engine_results(tmp_path: Path) -> None:
    values = messy_matrix(4)
    params = SimilarityParams("pearson", minsamp=20, mincorr=0.3)
    cmx, ccm = tmp_path / "a.cmx", tmp_path / "a.ccm"
    with cmx.open("wb") as c, ccm.open("wb") as k:
        stored = write_similarity(values, params, (0, pair_count(60)), None, c, k)
    corr, clus = open_pairs(str(cmx), CMX_FORMAT), open_pairs(str(ccm), CCM_FORMAT)
    records, samples = corr.read_all(), clus.read_all()
    corr.close()
    clus.close()
    assert corr.count == clus.count == stored
    assert corr.header["params"]["corrmethod"] == "pearson" and corr.header["range"] == [0, 1770]
    expected = engine_run(values, params)
    assert [(int(x), int(y)) for x, y in zip(records["x"], records["y"], strict=True)] == list(expected)
    np.testing.assert_array_equal(records["x"], samples["x"])
    assert samples["samples"][0].decode() == expected[(int(records["x"][0]), int(records["y"][0]))][1]
    index = pair_index(records["x"], records["y"])
    assert np.all(np.diff(index) > 0), "pairs are stored in raw index order"


# ------------------------------------------------- the block path at the edges, pair by pair


@pytest.mark.parametrize("params", EDGE_CASES, ids=lambda p: f"{p.corrmethod}-{p.preout}-{p.minexpr}")
@pytest.mark.parametrize("seed", [5, 6])
def test_block_path_equals_the_per_pair_reference_at_the_edges(params: SimilarityParams, seed: int) -> None:
    values = edge_matrix(seed)
    found = engine_run(values, params, block_pairs=37)
    assert_edge_pairs_match_reference(values, params, found)
    assert engine_run(values, params, block_pairs=1) == found == engine_run(values, params)


def test_doubled_ranks_are_twice_the_average_ranks_among_the_kept_samples() -> None:
    rng = np.random.default_rng(8)
    values = np.round(rng.normal(size=(40, 30)), 1).astype(np.float32)
    values[rng.random(values.shape) < 0.1] = np.nan
    engine = SimilarityEngine(values, SimilarityParams("spearman"))
    genes = rng.integers(0, 40, size=200)
    kept = ~np.isnan(values[genes]) & (rng.random((200, 30)) < 0.8)
    doubled = engine._doubled_ranks(genes, kept)
    reference = average_ranks(np.where(kept, values[genes].astype(np.float64), np.nan))
    np.testing.assert_array_equal(doubled[kept], 2 * reference[kept])


def test_rows_zeroed_by_multiplying_give_the_masked_pearson_bit_for_bit() -> None:
    """The engine zeroes the columns not kept by multiplying (a negative value gives -0.0); r is the
    one of the rows zeroed with np.where, bit for bit."""
    rng = np.random.default_rng(10)
    a, b = rng.normal(size=(2, 500, 40))
    a[:, :3] = 0.0  # exact zeros among the kept values too
    keep = rng.random((500, 40)) < 0.8
    keep[0] = False
    keep[1, 5:] = False
    expected = masked_pearson(np.where(keep, a, np.nan), np.where(keep, b, np.nan), keep)
    found = _pearson_of_zeroed(a * keep, b * keep, keep)
    np.testing.assert_array_equal(found, expected)
    assert np.isnan(found[0]) and np.signbit(a * keep).any()


@pytest.mark.parametrize(
    "params",
    [SimilarityParams("pearson", minsamp=20, mincorr=0.3), SimilarityParams("pearson", minsamp=20, maxexpr=7.5)],
    ids=["kept", "out-of-range"],
)
def test_infinite_values_are_kept_or_dropped_as_the_reference_does(params: SimilarityParams) -> None:
    values = messy_matrix(11)
    values[[3, 17, 44], [5, 9, 30]] = (np.inf, -np.inf, np.inf)
    engine = SimilarityEngine(values, params)
    assert engine.infinite
    expected = reference_run(values, params)
    found = engine_run(values, params, block_pairs=61)
    assert not {pair for pair in set(expected) ^ set(found) if not borderline(values, params, *pair)}
    for pair in set(expected) & set(found):
        assert found[pair][0] == pytest.approx(expected[pair][0], abs=2e-6), pair
        assert found[pair][1] == expected[pair][1], pair
    # Gene 3's +inf (sample 5) is out of range, or in range and a pre-outlier (or missing in the other
    # gene): never used.
    code = "6" if params.maxexpr < np.inf else "7"
    codes = {found[pair][1][5] for pair in found if 3 in pair}
    assert code in codes and codes <= {code, "9"}
