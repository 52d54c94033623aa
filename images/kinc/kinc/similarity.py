"""Pairwise similarity (KINC traditional mode), vectorised over blocks of pairs.

Per pair x > y: drop samples missing in either gene (code 9) or outside [minexpr, maxexpr] (code 6),
drop Tukey outliers on either axis over the remaining samples (code 7, one pass), then Pearson or
Spearman over what is left when at least minsamp samples remain; store when mincorr <= |r| <= maxcorr.

Work per block is split three ways so the common case costs one dot product per pair:
* clean pairs (both genes complete, in range, no outlier sample): dot product of per-gene standardised
  vectors (values or ranks over all samples);
* complete pairs with outliers: per-gene fences give the kept samples; masked correlation;
* pairs that lost samples: fences from sorting the pair's own samples; masked correlation.

``run`` evaluates each gene's run of pairs (x, y0..y1-1) as one row: gene x is a broadcast row and the
others a slice, so per-pair gathers mostly go, and a pair with one complete gene takes the other's own
fences (computed once per gene). The first genes' short runs go by blocks of pairs; both paths give
the same bits (tested), so any chunking gives the same bytes.

Pairs left with fewer than minsamp samples are never correlated. Spearman's masked correlation ranks
each pair's kept samples by counting along each gene's own sorted order (sorted once), and forms the
sums from doubled ranks in integers: the same float64 r as Pearson on the average ranks, with no sort
per pair. Blocks are small enough (about 64k pairs x samples) for their arrays to stay in cache.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from kinc.errors import KincError
from kinc.formats import CCM_FORMAT, CMX_DTYPE, CMX_FORMAT, ccm_dtype, pair_file_header, write_header
from kinc.options import MAX_CLUSTERS
from kinc.pairs import pair_coords, pair_count

if TYPE_CHECKING:
    from kinc.gmm import GmmEngine

CODE_USED = ord("1")
CODE_RANGE = ord("6")
CODE_OUTLIER = ord("7")
CODE_MISSING = ord("9")
_BLOCK_ELEMENTS = 1 << 16  # pairs x samples per block: the arrays of a block stay in cache
_TUKEY = np.float32(1.5)
_ROW_PAIRS = 128  # runs of one gene at least this long go by SimilarityEngine.row


@dataclass(frozen=True)
class SimilarityParams:
    corrmethod: str = "pearson"
    minsamp: int = 30
    minexpr: float = float("-inf")
    maxexpr: float = float("inf")
    preout: bool = True
    mincorr: float = 0.5
    maxcorr: float = 1.0
    clusmethod: str = "none"
    minclus: int = 1
    maxclus: int = 5
    crit: str = "icl"
    postout: bool = True

    def __post_init__(self) -> None:
        if self.clusmethod not in ("none", "gmm"):
            raise KincError(f"--clusmethod must be none or gmm, got {self.clusmethod!r}")
        if self.corrmethod not in ("pearson", "spearman"):
            raise KincError(f"--corrmethod must be pearson or spearman, got {self.corrmethod!r}")
        if self.crit not in ("aic", "bic", "icl"):
            raise KincError(f"--crit must be aic, bic or icl, got {self.crit!r}")
        if not 1 <= self.minclus <= self.maxclus <= MAX_CLUSTERS:
            raise KincError(
                f"--minclus ({self.minclus}) must not exceed --maxclus ({self.maxclus}), both between 1 and "
                f"{MAX_CLUSTERS}"
            )
        if self.minsamp < 1:
            raise KincError(f"--minsamp must be >= 1, got {self.minsamp}")
        if self.minexpr > self.maxexpr:
            raise KincError(f"--minexpr ({self.minexpr}) must not exceed --maxexpr ({self.maxexpr})")
        if self.mincorr > self.maxcorr:
            raise KincError(f"--mincorr ({self.mincorr}) must not exceed --maxcorr ({self.maxcorr})")

    def as_header(self) -> dict[str, str]:
        return {
            "corrmethod": self.corrmethod,
            "minsamp": str(self.minsamp),
            "minexpr": repr(float(self.minexpr)),
            "maxexpr": repr(float(self.maxexpr)),
            "preout": "true" if self.preout else "false",
            "mincorr": repr(float(self.mincorr)),
            "maxcorr": repr(float(self.maxcorr)),
            # Traditional mode's header is unchanged; the clustering options only where they count.
            **(
                {
                    "clusmethod": self.clusmethod,
                    "minclus": str(self.minclus),
                    "maxclus": str(self.maxclus),
                    "crit": self.crit,
                    "postout": "true" if self.postout else "false",
                }
                if self.clusmethod == "gmm"
                else {}
            ),
        }


# --------------------------------------------------------------------------------- statistics


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks along axis 1, ties averaged; NaN entries sort last and get ranks past the rest."""
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    rows, cols = values.shape
    pos = np.broadcast_to(np.arange(cols), (rows, cols))
    differs = ordered[:, 1:] != ordered[:, :-1]
    starts = np.concatenate([np.ones((rows, 1), bool), differs], axis=1)
    ends = np.concatenate([differs, np.ones((rows, 1), bool)], axis=1)
    first = np.maximum.accumulate(np.where(starts, pos, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, pos, cols - 1)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty((rows, cols), dtype=np.float64)
    np.put_along_axis(ranks, order, (first + last) / 2.0 + 1.0, axis=1)
    return ranks


def masked_pearson(a: np.ndarray, b: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Pearson r per row over the columns where ``keep`` is true (NaN when undefined)."""
    return _pearson_of_zeroed(np.where(keep, a, 0.0), np.where(keep, b, 0.0), keep)


def kept_counts(keep: np.ndarray) -> np.ndarray:
    """keep.sum(axis=1) as int64; with fewer than 256 columns summed as bytes, several times faster."""
    if keep.dtype == np.bool_ and keep.shape[1] < 256 and keep.flags.c_contiguous:
        return np.einsum("ij->i", keep.view(np.uint8)).astype(np.int64)
    return keep.sum(axis=1).astype(np.int64)


def _pearson_of_zeroed(
    ac: np.ndarray, bc: np.ndarray, keep: np.ndarray, n: np.ndarray | None = None
) -> np.ndarray:
    """Pearson r per row over the kept columns of float64 rows that are zero (of either sign) elsewhere;
    ``ac`` and ``bc`` are overwritten. A zero's sign changes no sum that is not zero itself, so the
    sums, means and r are those of rows with +0 outside ``keep`` (bool, or 0.0/1.0 floats: the same
    products). ``n``: the kept count per row, when known."""
    if n is None:
        n = kept_counts(keep)
    with np.errstate(invalid="ignore", divide="ignore"):
        for rows in (ac, bc):
            rows -= (rows.sum(axis=1) / n)[:, None]  # centre, then zero the columns not kept again
            rows *= keep
        r = np.einsum("ij,ij->i", ac, bc) / np.sqrt(
            np.einsum("ij,ij->i", ac, ac) * np.einsum("ij,ij->i", bc, bc)
        )
    return np.clip(r, -1.0, 1.0)


def tukey_fences(values: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row fences over the valid entries: Q1 = sorted[n/4], Q3 = sorted[3n/4], +-1.5 IQR (float32)."""
    ordered = np.sort(np.where(valid, values, np.float32(np.inf)), axis=1)  # the valid ones first
    n = valid.sum(axis=1)
    rows = np.arange(values.shape[0])
    q1 = ordered[rows, np.minimum(n // 4, ordered.shape[1] - 1)]
    q3 = ordered[rows, np.minimum(3 * n // 4, ordered.shape[1] - 1)]
    iqr = q3 - q1
    return q1 - _TUKEY * iqr, q3 + _TUKEY * iqr


def _column_fences(values: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``tukey_fences`` with every row's valid entries the same columns: the same order statistics."""
    ordered = np.sort(values[:, columns], axis=1)
    n = columns.size
    q1, q3 = ordered[:, n // 4], ordered[:, 3 * n // 4]
    iqr = q3 - q1
    return q1 - _TUKEY * iqr, q3 + _TUKEY * iqr


def _inside(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return ~((values < low[:, None]) | (values > high[:, None]))


def _doubled_without_ties(in_order: np.ndarray) -> np.ndarray:
    """Doubled ranks along rows of kept flags in a tie-free gene's sorted order: one more than twice
    the kept ones before, plus the sample's own flag (2 * inclusive count - flag + 1)."""
    doubled = np.cumsum(in_order, axis=1, dtype=np.int32)
    doubled *= 2
    doubled -= in_order
    doubled += 1
    return doubled


# --------------------------------------------------------------------------------- the engine


@dataclass(frozen=True)
class PairResult:
    x: np.ndarray
    y: np.ndarray
    r: np.ndarray  # float32
    codes: np.ndarray  # uint8, pairs x samples


class SimilarityEngine:
    """Per-gene facts computed once, then blocks of pairs evaluated with array operations."""

    def __init__(self, values: np.ndarray, params: SimilarityParams, block_pairs: int | None = None) -> None:
        self.values = np.ascontiguousarray(values, dtype=np.float32)
        self.params = params
        samples = self.values.shape[1]
        self.samples = samples
        with np.errstate(invalid="ignore"):
            self.finite = ~np.isnan(self.values)
            self.in_range = self.finite & (self.values >= params.minexpr) & (self.values <= params.maxexpr)
        self.complete = self.in_range.all(axis=1)
        if params.preout and samples:
            low, high = tukey_fences(self.values, np.ones_like(self.finite))
            self.inlier = _inside(self.values, low, high) & self.complete[:, None]
        else:
            self.inlier = self.in_range.copy()
        self.clean = self.complete & self.inlier.all(axis=1)
        # Valid samples inside the fences of the gene's own valid ones: the kept samples of any pair
        # whose other gene is complete.
        self.own_inlier = self.in_range.copy()
        if samples:
            with np.errstate(invalid="ignore"):
                self.own_inlier &= _inside(self.values, *tukey_fences(self.values, self.in_range))
        self.standard = self._standardise()
        # float64 values with 0 for missing ones: a row times a kept mask is then zero outside it. With an
        # infinite value (times 0: NaN) the mask is applied with np.where instead.
        self.zeroed = np.where(self.finite, self.values, np.float32(0.0)).astype(np.float64)
        self.infinite = bool(np.isinf(self.values).any())
        if params.corrmethod == "spearman":
            self._rank_tables()
        self.block_pairs = block_pairs or max(64, _BLOCK_ELEMENTS // max(samples, 1))
        self.min_r = np.float32(params.mincorr)
        self.max_r = np.float32(params.maxcorr)

    def _standardise(self) -> np.ndarray:
        rows = np.flatnonzero(self.clean)
        data = self.values[rows].astype(np.float64)
        if self.params.corrmethod == "spearman" and rows.size:
            data = average_ranks(data)
        standard = np.full(self.values.shape, np.nan)
        centred = data - data.mean(axis=1, keepdims=True) if rows.size else data
        with np.errstate(invalid="ignore", divide="ignore"):
            standard[rows] = centred / np.sqrt(np.einsum("ij,ij->i", centred, centred))[:, None]
        return standard

    def _kept(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Kept-sample mask of pairs that are not clean."""
        valid = self.in_range[xs] & self.in_range[ys]
        if not self.params.preout:
            return valid
        complete = self.complete[xs] & self.complete[ys]
        kept = self.inlier[xs] & self.inlier[ys]
        partial = np.flatnonzero(~complete)
        if partial.size:
            a, b, v = self.values[xs[partial]], self.values[ys[partial]], valid[partial]
            with np.errstate(invalid="ignore"):
                kept[partial] = v & _inside(a, *tukey_fences(a, v)) & _inside(b, *tukey_fences(b, v))
        return kept

    def _rank_tables(self) -> None:
        """Per gene: its samples in ascending order (missing last), the sorted position of each
        sample, and for each sorted position where its run of equal values starts and ends (+1)."""
        genes, samples = self.values.shape
        order = np.argsort(self.values, axis=1, kind="stable")
        ordered = np.take_along_axis(self.values, order, axis=1)
        # Flat indices (gene * samples + column), so a run of genes' rows indexes a genes x samples array
        # with a slice of the table; held instead of the per-row orders, not beside them.
        first = (np.arange(genes) * samples)[:, None]
        self.flat_order = order + first
        self.flat_position = np.argsort(order, axis=1) + first
        self.rows_kept = np.empty((genes, samples), dtype=bool)  # scratch rows for _slice_doubled_ranks
        self.rows_doubled = np.empty((genes, samples), dtype=np.int32)
        position = np.broadcast_to(np.arange(samples), (genes, samples))
        differs = ordered[:, 1:] != ordered[:, :-1]
        starts = np.concatenate([np.ones((genes, 1), bool), differs], axis=1)
        ends = np.concatenate([differs, np.ones((genes, 1), bool)], axis=1)
        self.tie_start = np.maximum.accumulate(np.where(starts, position, 0), axis=1)
        last = np.where(ends, position, samples - 1)[:, ::-1]
        self.tie_end = np.minimum.accumulate(last, axis=1)[:, ::-1] + 1
        self.tie_free = (self.tie_end == position + 1).all(axis=1)  # every run of one value is one sample

    def _doubled_ranks(self, genes: np.ndarray, kept: np.ndarray) -> np.ndarray:
        """Twice the average rank (ties averaged) of each row's kept samples among the kept ones, in
        sample order; other entries are undefined. Twice a rank is one more than twice the kept samples
        of smaller value, plus the other kept samples of the same value: counts of kept samples along the
        gene's own sorted order, so no sort per pair."""
        rows, samples = kept.shape
        row = np.arange(rows)[:, None]
        offset = (row - genes[:, None]) * samples
        in_order = kept.ravel()[self.flat_order[genes] + offset]
        if self.tie_free[genes].all():
            doubled = _doubled_without_ties(in_order)
        else:
            counts = np.zeros((rows, samples + 1), dtype=np.int32)
            np.cumsum(in_order, axis=1, out=counts[:, 1:])
            flat = counts.ravel()
            base = row * (samples + 1)
            doubled = flat[self.tie_start[genes] + base] + flat[self.tie_end[genes] + base] + 1
        return doubled.ravel()[self.flat_position[genes] + offset]

    def _spearman(self, xs: np.ndarray, ys: np.ndarray, kept: np.ndarray) -> np.ndarray:
        """Spearman r over each pair's kept samples, in exact integer arithmetic.

        With doubled ranks A, B over n kept samples (their mean is n + 1), the centred sums are
        sum(A*B) - n(n+1)^2 and the like: integers, so exactly 4 times the sums of centred ranks that
        Pearson on the ranks forms, and r = sab / sqrt(saa * sbb) is the same float64 value."""
        return self._spearman_of_doubled(self._doubled_ranks(xs, kept), self._doubled_ranks(ys, kept), kept)

    def _spearman_of_doubled(self, a: np.ndarray, b: np.ndarray, kept: np.ndarray) -> np.ndarray:
        # Every product and partial sum is an integer of at most samples * (2 samples)^2: float32 holds
        # them exactly below 2^24 (samples <= 161), in any order of summing; float64 beyond.
        dtype = np.float32 if 4 * self.samples**3 < 1 << 24 else np.float64
        weight = kept.astype(dtype)
        a = a.astype(dtype)
        b = b.astype(dtype)
        a *= weight
        b *= weight
        n = kept_counts(kept).astype(np.float64)
        mean_square = n * (n + 1.0) ** 2
        sab = np.einsum("ij,ij->i", a, b).astype(np.float64) - mean_square
        saa = np.einsum("ij,ij->i", a, a).astype(np.float64) - mean_square
        sbb = np.einsum("ij,ij->i", b, b).astype(np.float64) - mean_square
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.clip(sab / np.sqrt(saa * sbb), -1.0, 1.0)

    def _correlate(self, xs: np.ndarray, ys: np.ndarray, kept: np.ndarray) -> np.ndarray:
        if self.params.corrmethod == "spearman":
            return self._spearman(xs, ys, kept)
        a, b = self.zeroed[xs], self.zeroed[ys]
        if self.infinite:
            return masked_pearson(a, b, kept)
        a *= kept
        b *= kept
        return _pearson_of_zeroed(a, b, kept)

    def _codes(self, xs: np.ndarray, ys: np.ndarray, kept: np.ndarray) -> np.ndarray:
        codes = np.full(kept.shape, CODE_OUTLIER, dtype=np.uint8)
        codes[~(self.in_range[xs] & self.in_range[ys])] = CODE_RANGE
        codes[~(self.finite[xs] & self.finite[ys])] = CODE_MISSING
        codes[kept] = CODE_USED
        return codes

    def block(self, xs: np.ndarray, ys: np.ndarray) -> PairResult:
        """Evaluate pairs (xs, ys); return only the stored ones."""
        r = np.full(xs.size, np.nan)
        n = np.full(xs.size, self.samples)
        clean = self.clean[xs] & self.clean[ys]
        c = np.flatnonzero(clean)
        r[c] = np.clip(np.einsum("ij,ij->i", self.standard[xs[c]], self.standard[ys[c]]), -1.0, 1.0)
        other = np.flatnonzero(~clean)
        kept = self._kept(xs[other], ys[other])
        n[other] = kept.sum(axis=1)
        enough = np.flatnonzero(n[other] >= self.params.minsamp)  # the others are never stored
        if enough.size:
            pairs = other[enough]
            r[pairs] = self._correlate(xs[pairs], ys[pairs], kept[enough])
        r32 = r.astype(np.float32)
        with np.errstate(invalid="ignore"):
            stored = (n >= self.params.minsamp) & (np.abs(r32) >= self.min_r) & (np.abs(r32) <= self.max_r)
        keep = np.flatnonzero(stored)
        codes = np.full((keep.size, self.samples), CODE_USED, dtype=np.uint8)
        hits = np.flatnonzero(stored[other])  # stored pairs that are not clean, as indices into other
        if hits.size:
            where = np.searchsorted(keep, other[hits])
            codes[where] = self._codes(xs[other[hits]], ys[other[hits]], kept[hits])
        return PairResult(xs[keep], ys[keep], r32[keep], codes)

    # ------------------------------------------------------------- one gene against a run of others

    def row(self, x: int, y0: int, y1: int) -> PairResult:
        """Evaluate pairs (x, y) for y0 <= y < y1, as ``block`` does, bit for bit: x's rows are one
        broadcast row and the others' a slice, so most per-pair gathers go."""
        p = self.params
        ys = np.arange(y0, y1)
        valid = self.in_range[x] & self.in_range[y0:y1]
        if not p.preout:
            kept = valid
        else:
            kept = self.inlier[x] & self.inlier[y0:y1]
            with np.errstate(invalid="ignore"):
                self._row_outliers(x, y0, valid, kept)
        n = kept_counts(kept)
        r = np.full(ys.size, np.nan)
        clean = self.clean[y0:y1] & self.clean[x]
        c = np.flatnonzero(clean)
        if c.size:
            own = np.repeat(self.standard[x][None, :], c.size, axis=0)  # contiguous, as block's gather
            r[c] = np.clip(np.einsum("ij,ij->i", own, self.standard[y0 + c]), -1.0, 1.0)
        enough = np.flatnonzero(~clean & (n >= p.minsamp))
        if enough.size and p.corrmethod == "spearman":
            a = self._row_doubled_ranks(x, kept[enough])
            b = self._slice_doubled_ranks(y0, y1, kept)[enough]
            r[enough] = self._spearman_of_doubled(a, b, kept[enough])
        elif enough.size:
            r[enough] = self._row_correlate(x, y0 + enough, kept[enough])
        r32 = r.astype(np.float32)
        with np.errstate(invalid="ignore"):
            stored = (n >= p.minsamp) & (np.abs(r32) >= self.min_r) & (np.abs(r32) <= self.max_r)
        keep = np.flatnonzero(stored)
        codes = np.full((keep.size, self.samples), CODE_USED, dtype=np.uint8)
        hits = np.flatnonzero(stored & ~clean)
        if hits.size:
            where = np.searchsorted(keep, hits)
            codes[where] = self._codes(np.full(hits.size, x), y0 + hits, kept[hits])
        return PairResult(np.full(keep.size, x, dtype=np.int64), ys[keep], r32[keep], codes)

    def _row_outliers(self, x: int, y0: int, valid: np.ndarray, kept: np.ndarray) -> None:
        """kept (the complete pairs' already) for the pairs that lost samples. A pair with one complete
        gene keeps the other gene's valid samples: that gene's fences are its own, and the complete
        gene's are order statistics of the same columns, sorted without the others."""
        complete = self.complete[y0 : y0 + kept.shape[0]]
        if self.complete[x]:
            rows = np.flatnonzero(~complete)
            if rows.size:
                v = valid[rows]
                a = np.broadcast_to(self.values[x], v.shape)
                kept[rows] = _inside(a, *tukey_fences(a, v)) & self.own_inlier[y0 + rows]
            return
        rows = np.flatnonzero(complete)
        cols = np.flatnonzero(self.in_range[x])
        if rows.size and cols.size:
            b = self.values[y0 + rows]
            kept[rows] = self.own_inlier[x] & _inside(b, *_column_fences(b, cols))
        elif rows.size:
            kept[rows] = False
        rows = np.flatnonzero(~complete)
        if rows.size:
            b, v = self.values[y0 + rows], valid[rows]
            a = np.broadcast_to(self.values[x], v.shape)
            kept[rows] = v & _inside(a, *tukey_fences(a, v)) & _inside(b, *tukey_fences(b, v))

    def _row_correlate(self, x: int, ys: np.ndarray, kept: np.ndarray) -> np.ndarray:
        """Pearson r of gene x against genes ys over the kept samples."""
        b = self.zeroed[ys]
        if self.infinite:
            return masked_pearson(self.zeroed[x][None, :], b, kept)
        weight = kept.astype(np.float64)  # converted once, not at each of the four products
        a = np.repeat(self.zeroed[x][None, :], ys.size, axis=0)
        a *= weight
        b *= weight
        return _pearson_of_zeroed(a, b, weight, kept_counts(kept))

    def _row_doubled_ranks(self, gene: int, kept: np.ndarray) -> np.ndarray:
        """``_doubled_ranks`` of one gene against many masks: its orders are column permutations."""
        rows, samples = kept.shape
        first = gene * samples
        in_order = kept[:, self.flat_order[gene] - first]
        if self.tie_free[gene]:
            doubled = _doubled_without_ties(in_order)
        else:
            counts = np.zeros((rows, samples + 1), dtype=np.int32)
            np.cumsum(in_order, axis=1, out=counts[:, 1:])
            doubled = counts[:, self.tie_start[gene]] + counts[:, self.tie_end[gene]] + 1
        return doubled[:, self.flat_position[gene] - first]

    def _slice_doubled_ranks(self, y0: int, y1: int, kept: np.ndarray) -> np.ndarray:
        """``_doubled_ranks`` of genes y0..y1-1, one mask each: with the masks in those genes' rows of a
        scratch array, the flat tables' rows index it directly, no index arithmetic per pair."""
        self.rows_kept[y0:y1] = kept
        in_order = self.rows_kept.ravel()[self.flat_order[y0:y1]]
        self.rows_doubled[y0:y1] = _doubled_without_ties(in_order)
        doubled = self.rows_doubled.ravel()[self.flat_position[y0:y1]]
        ties = np.flatnonzero(~self.tie_free[y0:y1])
        if ties.size:
            doubled[ties] = self._doubled_ranks(y0 + ties, kept[ties])
        return doubled

    def run(self, start: int, end: int) -> Iterator[PairResult]:
        """Pairs start..end-1 in order: the genes with fewer than _ROW_PAIRS pairs in blocks of pairs,
        then each gene's run of pairs (in pieces of block_pairs) by ``row``."""
        step = self.block_pairs
        rows_from = pair_count(_ROW_PAIRS) if step >= _ROW_PAIRS else end
        for lo in range(start, min(end, rows_from), step):
            yield self.block(*pair_coords(lo, min(end, rows_from, lo + step)))
        lo = max(start, rows_from)
        while lo < end:
            x = int(pair_coords(lo, lo + 1)[0][0])
            first = x * (x - 1) // 2
            hi = min(end, first + x, lo + step)
            yield self.row(x, lo - first, hi - first)
            lo = hi


# ------------------------------------------------------------------------------------- output


def pair_header(
    kind: str,
    genes: int,
    samples: int,
    params: SimilarityParams,
    span: tuple[int, int],
    chunk: tuple[int, int] | None,
) -> dict[str, object]:
    return pair_file_header(kind, genes, samples, pair_count(genes), span, chunk, params.as_header())


def write_similarity(
    values: np.ndarray,
    params: SimilarityParams,
    span: tuple[int, int],
    chunk: tuple[int, int] | None,
    cmx: BinaryIO,
    ccm: BinaryIO,
) -> int:
    """Evaluate pairs span[0]..span[1]-1 and write the stored ones; return how many were stored."""
    genes, samples = values.shape
    write_header(cmx, pair_header(CMX_FORMAT, genes, samples, params, span, chunk))
    write_header(ccm, pair_header(CCM_FORMAT, genes, samples, params, span, chunk))
    engine: SimilarityEngine | GmmEngine
    if params.clusmethod == "gmm":
        from kinc import gmm  # here: it builds on this module

        engine = gmm.GmmEngine(values, params)
    else:
        engine = SimilarityEngine(values, params)
    stored = 0
    for result in engine.run(*span):
        stored += write_records(cmx, ccm, result, samples)
    return stored


def write_records(cmx: BinaryIO, ccm: BinaryIO, result: PairResult, samples: int) -> int:
    count = result.x.size
    if not count:
        return 0
    corr = np.empty(count, dtype=CMX_DTYPE)
    corr["x"], corr["y"], corr["r"] = result.x, result.y, result.r
    clus = np.empty(count, dtype=ccm_dtype(samples))
    clus["x"], clus["y"] = result.x, result.y
    clus["samples"] = np.ascontiguousarray(result.codes).view(f"S{samples}").reshape(count)
    cmx.write(corr.tobytes())
    ccm.write(clus.tobytes())
    return count
