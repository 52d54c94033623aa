"""similarity's row path (one gene against a run of others, as ``run`` evaluates most pairs) against the
block path bit for bit, and against the direct per-pair computation at the minsamp edges."""

from dataclasses import replace

import numpy as np
import pytest
from kinc_testdata import messy_matrix
from similarity_reference import (
    CASES,
    EDGE_CASES,
    assert_edge_pairs_match_reference,
    edge_matrix,
    exact_spearman,
)

from kinc.pairs import chunk_range, pair_coords, pair_count
from kinc.similarity import _ROW_PAIRS, PairResult, SimilarityEngine, SimilarityParams


def assert_same(found: PairResult, expected: PairResult) -> None:
    np.testing.assert_array_equal(found.x, expected.x)
    np.testing.assert_array_equal(found.y, expected.y)
    assert found.r.dtype == expected.r.dtype and found.r.tobytes() == expected.r.tobytes()
    np.testing.assert_array_equal(found.codes, expected.codes)


def spans(x: int) -> list[tuple[int, int]]:
    """A gene's whole run of pairs and a piece from its middle."""
    return [(0, x), (x // 3, x - x // 4)] if x >= 4 else [(0, x)]


def assert_rows_equal_blocks(values: np.ndarray, params: SimilarityParams) -> int:
    """Every gene's runs by ``row`` equal the same pairs by ``block``; return the stored pairs."""
    engine = SimilarityEngine(values, params)
    stored = 0
    for x in range(1, values.shape[0]):
        first = x * (x - 1) // 2
        for y0, y1 in spans(x):
            expected = engine.block(*pair_coords(first + y0, first + y1))
            assert_same(engine.row(x, y0, y1), expected)
            stored += expected.x.size
    return stored


@pytest.mark.parametrize("params", CASES, ids=lambda p: f"{p.corrmethod}-{p.minsamp}-{p.preout}-{p.maxcorr}")
def test_rows_equal_blocks_bit_for_bit(params: SimilarityParams) -> None:
    values = messy_matrix(12)
    assert assert_rows_equal_blocks(values, params) > 200


@pytest.mark.parametrize("params", EDGE_CASES, ids=lambda p: f"{p.corrmethod}-{p.preout}-{p.minexpr}")
def test_rows_equal_blocks_at_the_edges(params: SimilarityParams) -> None:
    engine = SimilarityEngine(edge_matrix(7), params)
    if params.corrmethod == "spearman":
        assert engine.tie_free.any() and not engine.tie_free.all(), "genes with and without ties"
    assert assert_rows_equal_blocks(edge_matrix(7), params) > 100


def test_rows_equal_blocks_with_infinite_values() -> None:
    values = messy_matrix(11)
    values[[3, 17, 44], [5, 9, 30]] = (np.inf, -np.inf, np.inf)
    params = SimilarityParams("pearson", minsamp=20, mincorr=0.3)
    assert SimilarityEngine(values, params).infinite
    assert assert_rows_equal_blocks(values, params) > 100


@pytest.mark.parametrize("corrmethod", ["pearson", "spearman"])
def test_rows_equal_blocks_with_many_samples(corrmethod: str) -> None:
    """Past 161 samples Spearman's integer sums leave float32's exact range, past 255 the kept
    counts a byte: both fall back to the wider sums."""
    values = messy_matrix(13, genes=14, samples=300)
    params = SimilarityParams(corrmethod, minsamp=200, mincorr=0.2)
    assert assert_rows_equal_blocks(values, params) > 10
    engine = SimilarityEngine(values, params)
    for x in range(1, values.shape[0]):
        res = engine.row(x, 0, x)
        for y, r, codes in zip(res.y, res.r, res.codes, strict=True):
            if corrmethod == "spearman":
                assert r == exact_spearman(values[x], values[y], codes.tobytes().decode()), (x, y)


@pytest.mark.parametrize("params", EDGE_CASES, ids=lambda p: f"{p.corrmethod}-{p.preout}-{p.minexpr}")
@pytest.mark.parametrize("seed", [5, 6])
def test_row_path_equals_the_per_pair_reference_at_the_edges(params: SimilarityParams, seed: int) -> None:
    values = edge_matrix(seed)
    engine = SimilarityEngine(values, params)
    found = {}
    for x in range(1, values.shape[0]):
        res = engine.row(x, 0, x)
        for y, r, codes in zip(res.y, res.r, res.codes, strict=True):
            found[(x, int(y))] = (float(r), codes.tobytes().decode())
    assert_edge_pairs_match_reference(values, params, found)


def flatten(results: list[PairResult]) -> tuple[bytes, bytes, bytes, bytes]:
    return tuple(
        np.concatenate([getattr(res, k) for res in results]).tobytes() for k in ("x", "y", "r", "codes")
    )


@pytest.mark.parametrize("corrmethod", ["pearson", "spearman"])
def test_run_by_rows_equals_run_by_blocks_and_any_chunking(corrmethod: str) -> None:
    """With genes past _ROW_PAIRS, run takes the row path; its results are those of the block path
    (block_pairs below _ROW_PAIRS), and chunks joined give the whole run, also cutting genes' runs."""
    values = messy_matrix(14, genes=_ROW_PAIRS + 30, samples=30)
    params = SimilarityParams(corrmethod, minsamp=20, mincorr=0.3)
    pairs = pair_count(values.shape[0])
    engine = SimilarityEngine(values, params)
    rows_used = []
    row = engine.row
    engine.row = lambda x, y0, y1: rows_used.append(x) or row(x, y0, y1)  # type: ignore[method-assign]
    whole = flatten(list(engine.run(0, pairs)))
    assert min(rows_used) == _ROW_PAIRS and max(rows_used) == values.shape[0] - 1
    blocks = flatten(list(SimilarityEngine(values, params, block_pairs=97).run(0, pairs)))
    assert whole == blocks and len(whole[0]) > 1000 * 8
    for chunks in (3, 7, 50):
        parts = [res for i in range(chunks) for res in engine.run(*chunk_range(i, chunks, pairs))]
        assert flatten(parts) == whole, chunks
    small = replace(params, minsamp=29)
    assert flatten(list(SimilarityEngine(values, small).run(0, pairs))) == flatten(
        list(SimilarityEngine(values, small, block_pairs=97).run(0, pairs))
    )


@pytest.mark.parametrize("corrmethod", ["pearson", "spearman"])
def test_rows_equal_blocks_with_genes_that_keep_no_sample(corrmethod: str) -> None:
    """A gene all missing and one all outside [minexpr, maxexpr]: no valid sample against any gene."""
    values = messy_matrix(15)
    values[7] = np.nan
    values[20] = 9.5
    params = SimilarityParams(corrmethod, minsamp=20, minexpr=2.0, maxexpr=9.0, mincorr=0.3)
    engine = SimilarityEngine(values, params)
    assert not engine.in_range[7].any() and not engine.in_range[20].any()
    assert assert_rows_equal_blocks(values, params) > 100
