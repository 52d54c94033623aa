"""The direct per-pair computation that follows the spec (scipy), the data and parameter sets it is
checked on: what the block path and the row path of similarity are both held against."""

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from kinc.pairs import pair_count
from kinc.similarity import SimilarityParams

F32_TUKEY = np.float32(1.5)


def reference_pair(a: np.ndarray, b: np.ndarray, p: SimilarityParams) -> tuple[float, str] | None:
    """Spec steps 1-5 for one pair, the plain way."""
    codes = np.full(a.size, "1")
    missing = np.isnan(a) | np.isnan(b)
    with np.errstate(invalid="ignore"):
        out_of_range = ~missing & ((a < p.minexpr) | (a > p.maxexpr) | (b < p.minexpr) | (b > p.maxexpr))
    codes[missing], codes[out_of_range] = "9", "6"
    keep = ~missing & ~out_of_range
    if p.preout and keep.any():
        outlier = np.zeros(a.size, bool)
        for v in (a, b):
            ordered = np.sort(v[keep])
            n = ordered.size
            q1, q3 = ordered[n // 4], ordered[3 * n // 4]
            low, high = q1 - F32_TUKEY * (q3 - q1), q3 + F32_TUKEY * (q3 - q1)
            outlier |= keep & ((v < low) | (v > high))
        codes[outlier] = "7"
        keep &= ~outlier
    if keep.sum() < max(p.minsamp, 2):
        return None
    x, y = a[keep].astype(np.float64), b[keep].astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = stats.pearsonr(x, y)[0] if p.corrmethod == "pearson" else stats.spearmanr(x, y)[0]
    if not np.isfinite(r):
        return None
    magnitude = abs(np.float32(r))
    if not np.float32(p.mincorr) <= magnitude <= np.float32(p.maxcorr):
        return None
    return float(r), "".join(codes)


def reference_run(values: np.ndarray, p: SimilarityParams) -> dict[tuple[int, int], tuple[float, str]]:
    stored = {}
    for x in range(values.shape[0]):
        for y in range(x):
            hit = reference_pair(values[x], values[y], p)
            if hit:
                stored[(x, y)] = hit
    return stored


def both_methods(*settings: dict) -> list[SimilarityParams]:
    """Each setting with Pearson, then with Spearman."""
    return [SimilarityParams(method, **kw) for kw in settings for method in ("pearson", "spearman")]


CASES = both_methods(
    {"minsamp": 20, "mincorr": 0.3},
    {"minsamp": 25, "minexpr": 3.0, "maxexpr": 7.5, "mincorr": 0.4, "maxcorr": 0.9},
    {"minsamp": 15, "preout": False, "mincorr": 0.2},
)


def edge_matrix(seed: int, samples: int = 24) -> np.ndarray:
    """Genes for the corners: missing values so that pairs keep minsamp - 1, minsamp or minsamp + 1
    samples (minsamp 12), heavy ties (halves, two levels), planted outliers, a constant gene, one
    constant but for its outliers, and values outside [2, 8]."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(3, samples))
    rows = []
    for g in range(36):
        row = rng.uniform(0.4, 1.0) * latent[g % 3] + rng.normal(scale=0.6, size=samples) + 5.0
        if g % 4 == 1:
            row = np.round(row * 2) / 2  # ties
        if g % 4 == 2:
            row = np.where(row > 5.0, 6.0, 4.0)  # two levels
        if g % 5 == 3:
            hit = rng.choice(samples, size=2, replace=False)
            row[hit] += rng.choice([-1, 1], size=2) * 9.0  # outliers
        missing = (0, 1, 6, 11, 12, 13)[g % 6]  # 12 missing leaves exactly minsamp, 13 one fewer
        row[rng.choice(samples, size=missing, replace=False)] = np.nan
        rows.append(row)
    constant = np.full(samples, 5.0)
    almost = constant.copy()
    almost[[3, 9]] = (-4.0, 14.0)
    range_row = latent[0] * 3.0 + 5.0  # reaches outside [2, 8]
    return np.vstack([*rows, constant, almost, range_row]).astype(np.float32)


def exact_spearman(a: np.ndarray, b: np.ndarray, codes: str) -> np.float32:
    """Spearman r over the samples coded 1, from integer sums of doubled ranks: what Pearson on the
    average ranks gives in float64, with no rounding until the last two operations."""
    keep = np.array([c == "1" for c in codes])
    n = int(keep.sum())
    ra = (2 * stats.rankdata(a[keep])).astype(np.int64) - (n + 1)
    rb = (2 * stats.rankdata(b[keep])).astype(np.int64) - (n + 1)
    sab, saa, sbb = int(ra @ rb), int(ra @ ra), int(rb @ rb)
    return np.float32(max(-1.0, min(1.0, sab / math.sqrt(float(saa) * float(sbb)))))


EDGE_CASES = both_methods(
    {"minsamp": 12, "mincorr": 0.0},
    {"minsamp": 12, "minexpr": 2.0, "maxexpr": 8.0, "mincorr": 0.0},
    {"minsamp": 12, "preout": False, "mincorr": 0.0},
)


def assert_edge_pairs_match_reference(values: np.ndarray, params: SimilarityParams, found: dict) -> None:
    """found (pair: (r, codes)) at mincorr 0 against the reference: every pair with minsamp samples and a
    defined r stored (no cutoff to be near), the same codes, Spearman's r exact, Pearson's within 2e-6."""
    expected = reference_run(values, params)
    assert set(found) == set(expected)
    kept = [codes.count("1") for _, codes in expected.values()]
    assert min(kept) == params.minsamp, "some stored pairs keep exactly minsamp samples"
    all_pairs = pair_count(values.shape[0])
    assert len(expected) < all_pairs - 40, "pairs short of minsamp or without r are left out"
    for pair, (r, codes) in found.items():
        assert codes == expected[pair][1], pair
        if params.corrmethod == "spearman":
            assert np.float32(r) == exact_spearman(values[pair[0]], values[pair[1]], codes), pair
        else:
            assert r == pytest.approx(expected[pair][0], abs=2e-6), pair
