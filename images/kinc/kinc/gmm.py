"""KINC's GMM mode of similarity: per pair, 2-D Gaussian mixtures, each cluster correlated on its own.

Per pair x > y (KINC 3.4's similarity with ``--clusmethod gmm``):

1. Sample codes as in traditional mode: 9 missing, 6 out of [minexpr, maxexpr], 7 Tukey pre-outlier (one
   pass over the pair's clean samples). Fewer than minsamp clean samples: no clusters.
2. One fit per K = minclus..maxclus on the N clean samples, in sample order. Start: weights 1/K, identity
   covariances, means at the clean samples numbered by the C library's classic ``rand()`` sequence from
   seed 1 (restarted for every fit), modulo N. EM with full 2x2 covariances, at most 100 iterations,
   stopping when the log-likelihood changes by less than 1e-8; a fit meeting a covariance determinant
   that is not > 0 fails and its K is skipped.
3. Criterion (p = 7K): AIC = 2p - 2 logL, BIC = p ln N - 2 logL, ICL = BIC + 2E with E the entropy of the
   hard labels; the lowest wins, ties to the smaller K. Hard labels by the largest responsibility (ties to
   the lower cluster).
4. postout (K > 1): the Tukey rule within each cluster, code 8.
5. Each cluster's r over its own samples (pearson, or spearman on its own average ranks), NaN below
   minsamp; kept when mincorr <= |r| <= maxcorr. Kept clusters are renumbered 0..m-1 and written as m
   consecutive records of the pair, each sample string marking its cluster's samples ``1`` and the pair's
   other clean samples ``0``.

Arithmetic is float32, as in KINC. The fits run batched: a block of pairs, one K at a time, as arrays of
pairs x components x samples; a pair leaves the batch when it converges or fails, so what it computes
never depends on the other pairs of its block. Every operation is one whose float32 result numpy defines
exactly (+ - * /, sqrt, rint, frexp, ldexp, min/max, sums along a row): exp and log are computed here from
them, since numpy's own pick a SIMD variant per CPU and may differ in the last bit between machines. The
same input then gives the same bytes on any machine and with any chunking.
"""

from collections.abc import Iterator

import numpy as np

from kinc.pairs import pair_coords
from kinc.similarity import (
    CODE_USED,
    PairResult,
    SimilarityEngine,
    SimilarityParams,
    average_ranks,
    masked_pearson,
    tukey_fences,
)

CODE_OTHER = ord("0")
CODE_POSTOUT = ord("8")
MAX_ITERATIONS = 100
TOLERANCE = np.float32(1e-8)
_BLOCK_ELEMENTS = 1 << 17  # pairs x samples per block
_F = np.float32


def c_rand(count: int, seed: int = 1) -> np.ndarray:
    """The first ``count`` values of the C library's classic rand() (POSIX's example) from ``seed``."""
    state, values = seed, []
    for _ in range(count):
        state = (state * 1103515245 + 12345) % (1 << 64)
        values.append((state // 65536) % 32768)
    return np.array(values, dtype=np.int64)


# ------------------------------------------------------------------- exp and log, bit-reproducible

_LOG2E = _F(1.4426950408889634)
_LN2_HI = _F(0.693145751953125)  # 16 significant bits: k * _LN2_HI is exact for |k| < 2^8
_LN2_LO = _F(1.4286068203094173e-06)
_LN2 = _F(0.6931471805599453)
_EXP_MIN = _F(-87.0)  # below, exp is a denormal or zero; clamping keeps the result > 0
_SQRT_HALF = _F(0.7071067811865476)
_EXP_TAYLOR = [_F(1.0 / f) for f in (720.0, 120.0, 24.0, 6.0, 2.0, 1.0, 1.0)]
_LOG_SERIES = [_F(2.0 / 9.0), _F(2.0 / 7.0), _F(2.0 / 5.0), _F(2.0 / 3.0)]


def exp32(x: np.ndarray) -> np.ndarray:
    """exp of float32 values <= 88 (a few units in the last place), clamped below at exp(-87).

    x = k ln2 + r with |r| <= ln2/2; exp(r) by its Taylor polynomial of degree 6 (relative error < 2e-7);
    times 2^k by ldexp. NaN stays NaN."""
    out = np.array(x, dtype=np.float32)
    with np.errstate(invalid="ignore"):
        _exp_into(out, np.empty_like(out), np.empty_like(out), np.empty(out.shape, dtype=np.int32))
    return out


def _exp_into(x: np.ndarray, t: np.ndarray, p: np.ndarray, k: np.ndarray) -> None:
    """x = exp32(x) in place; t, p (float32) and k (int32) of its shape are scratch."""
    np.maximum(x, _EXP_MIN, out=x)
    np.multiply(x, _LOG2E, out=t)
    np.rint(t, out=t)
    np.multiply(t, _LN2_HI, out=p)
    x -= p
    np.multiply(t, _LN2_LO, out=p)
    x -= p  # x is r now
    k[...] = t
    np.multiply(x, _EXP_TAYLOR[0], out=p)
    p += _EXP_TAYLOR[1]
    for c in _EXP_TAYLOR[2:]:
        p *= x
        p += c
    np.ldexp(p, k, out=x)


def log32(x: np.ndarray) -> np.ndarray:
    """Natural log of float32 values (a few units in the last place): 0 gives -inf, below 0 or NaN NaN.

    x = m 2^e with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172, by its
    series to s^9 (relative error < 3e-9)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _log32(np.asarray(x, dtype=np.float32))


def _log32(x: np.ndarray) -> np.ndarray:
    log = _log_positive(x)
    positive_finite = (x > 0) & (x < np.inf)
    if positive_finite.all():
        return log
    return np.where(positive_finite, log, np.where(x == 0, _F(-np.inf), np.where(x == np.inf, x, np.nan)))


def _log_positive(x: np.ndarray) -> np.ndarray:
    """log32 of positive finite float32 values (others give meaningless numbers)."""
    m, e = np.frexp(x)
    small = m < _SQRT_HALF
    m = np.where(small, m * _F(2.0), m)
    e = (e - small).astype(np.float32)
    f = m - _F(1.0)
    s = f / (f + _F(2.0))
    z = s * s
    series = np.full_like(z, _LOG_SERIES[0])
    for c in _LOG_SERIES[1:]:
        series *= z
        series += c
    series *= z
    return e * _LN2 + (s + s) + s * series


# ----------------------------------------------------------------------------------------- EM


class _Fits:
    """The outcome of one K's fits for a block: per pair, success, log-likelihood and the last E step's
    responsibilities (pairs x K x samples, zero at samples that are not clean)."""

    def __init__(self, pairs: int, k: int, samples: int) -> None:
        self.ok = np.zeros(pairs, bool)
        self.log_l = np.full(pairs, np.nan, dtype=np.float32)
        self.gamma = np.zeros((pairs, k, samples), dtype=np.float32)


class _Workspace:
    """Arrays of K x samples x pairs reused by every E and M step of a fit (new arrays of this size would
    cost a page fault per few values); the pairs still fitting use their first K x samples x A values."""

    def __init__(self, k: int, samples: int, pairs: int) -> None:
        self.shape = (k, samples)
        size = k * samples * pairs
        self.q, self.t, self.u, self.dx, self.dy = (np.empty(size, dtype=np.float32) for _ in range(5))
        self.k = np.empty(size, dtype=np.int32)

    def view(self, name: str, pairs: int) -> np.ndarray:
        size = self.shape[0] * self.shape[1] * pairs
        return getattr(self, name)[:size].reshape(*self.shape, pairs)

    def views(self, pairs: int) -> tuple[np.ndarray, ...]:
        return tuple(self.view(name, pairs) for name in ("q", "t", "u", "dx", "dy", "k"))


class _State:
    """The pairs still fitting, as the last axis of their data and their mixtures' parameters. There are
    always at least two (a lone pair is doubled, its twin's results never kept): with one, numpy would
    sum along the samples in another order, and a pair's result would depend on its company."""

    def __init__(self, **arrays: np.ndarray) -> None:
        self.__dict__.update(arrays)
        self.names = tuple(arrays)

    def keep(self, columns: np.ndarray) -> None:
        if columns.size == 1:
            columns = np.repeat(columns, 2)
        for name in self.names:
            value = getattr(self, name)[..., columns]
            setattr(self, name, value)
        if columns.size == 2 and columns[0] == columns[1]:
            self.index = self.index.copy()
            self.index[1] = -1


def fit_block(x: np.ndarray, y: np.ndarray, clean: np.ndarray, k: int) -> _Fits:
    """Fit K components to every row's clean samples (x, y float32 rows; ``clean`` boolean; each row at
    least one clean sample)."""
    pairs, samples = x.shape
    fits = _Fits(pairs, k, samples)
    n = clean.sum(axis=1)
    # Initial means: clean sample number rand() mod N, counted in sample order.
    picks = c_rand(k)[None, :] % n[:, None]
    position = (np.cumsum(clean, axis=1)[:, None, :] <= picks[:, :, None]).sum(axis=2)
    rows = np.arange(pairs)[:, None]
    s = _State(
        index=np.arange(pairs),
        x=np.ascontiguousarray(np.where(clean, x, _F(0.0)).astype(np.float32).T),
        y=np.ascontiguousarray(np.where(clean, y, _F(0.0)).astype(np.float32).T),
        weight=np.ascontiguousarray(clean.astype(np.float32).T),
        n=n.astype(np.float32),
        previous=np.full(pairs, -np.inf, dtype=np.float32),
        mux=np.ascontiguousarray(x[rows, position].astype(np.float32).T),
        muy=np.ascontiguousarray(y[rows, position].astype(np.float32).T),
        pi=np.full((k, pairs), _F(1.0 / k), dtype=np.float32),
        sxx=np.ones((k, pairs), dtype=np.float32),
        sxy=np.zeros((k, pairs), dtype=np.float32),
        syy=np.ones((k, pairs), dtype=np.float32),
    )
    if pairs == 1:
        s.keep(np.array([0]))
    work = _Workspace(k, samples, max(pairs, 2))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for step in range(MAX_ITERATIONS):
            det = s.sxx * s.syy - s.sxy * s.sxy
            good = (det > 0).all(axis=0)
            if not good.all():
                if not good.any():
                    break
                s.keep(np.flatnonzero(good))
                det = s.sxx * s.syy - s.sxy * s.sxy
            log_l, e = _e_step(s, det, work)
            done = np.abs(log_l - s.previous) < TOLERANCE
            if step == MAX_ITERATIONS - 1:
                done[:] = True
            if done.any():
                real = done & (s.index >= 0)
                fits.ok[s.index[real]] = True
                fits.log_l[s.index[real]] = log_l[real]
                fits.gamma[s.index[real]] = e[:, :, real].transpose(2, 0, 1)
                keep = np.flatnonzero(~done)
                if not keep.size:
                    break
                columns = np.repeat(keep, 2) if keep.size == 1 else keep
                s.keep(keep)
                log_l = log_l[columns]
                e = np.take(e, columns, axis=2, out=work.view("t", columns.size))
                work.q, work.t = work.t, work.q
            s.previous = log_l
            _m_step(s, e, work)
    return fits


_TWO_LOG_2PI = _F(3.6757541328186907)  # 2 ln(2 pi), the D ln(2 pi) of a 2-D normal


def _e_step(s: _State, det: np.ndarray, work: _Workspace) -> tuple[np.ndarray, np.ndarray]:
    """Log-likelihood per pair and responsibilities (K x samples x pairs, 0 at samples not clean), the
    latter in work.q. A nearly singular covariance may overflow to inf or NaN: the fit then fails."""
    q, t, u, dx, dy, k = work.views(s.index.size)
    # -1/2 (x - mu)' S^-1 (x - mu) + log pi - 1/2 log((2 pi)^2 det S)
    a = (_F(-0.5) * s.syy / det)[:, None, :]
    b = (s.sxy / det)[:, None, :]
    c = (_F(-0.5) * s.sxx / det)[:, None, :]
    h = (_log_positive(s.pi) - _F(0.5) * (_TWO_LOG_2PI + _log_positive(det)))[:, None, :]
    np.subtract(s.x[None, :, :], s.mux[:, None, :], out=dx)
    np.subtract(s.y[None, :, :], s.muy[:, None, :], out=dy)
    np.multiply(dx, dx, out=q)
    q *= a
    np.multiply(dx, dy, out=t)
    t *= b
    q += t
    np.multiply(dy, dy, out=t)
    t *= c
    q += t
    q += h
    top = q.max(axis=0)
    q -= top[None, :, :]
    _exp_into(q, t, u, k)
    total = q.sum(axis=0)
    q /= total[None, :, :]
    q *= s.weight[None, :, :]
    log_px = top + _log_positive(total)
    log_px *= s.weight
    return log_px.sum(axis=0), q


def _m_step(s: _State, e: np.ndarray, work: _Workspace) -> None:
    _, t, u, dx, dy, _ = work.views(s.index.size)
    nk = e.sum(axis=1)
    s.pi = nk / s.n[None, :]
    s.mux = np.multiply(e, s.x[None, :, :], out=t).sum(axis=1) / nk
    s.muy = np.multiply(e, s.y[None, :, :], out=t).sum(axis=1) / nk
    np.subtract(s.x[None, :, :], s.mux[:, None, :], out=dx)
    np.subtract(s.y[None, :, :], s.muy[:, None, :], out=dy)
    np.multiply(e, dx, out=t)
    s.sxx = np.multiply(t, dx, out=u).sum(axis=1) / nk
    s.sxy = np.multiply(t, dy, out=u).sum(axis=1) / nk
    np.multiply(e, dy, out=t)
    s.syy = np.multiply(t, dy, out=u).sum(axis=1) / nk


def criterion(crit: str, k: int, n: np.ndarray, log_l: np.ndarray, entropy: np.ndarray) -> np.ndarray:
    """AIC, BIC or ICL with p = 7K parameters, in float32."""
    p = _F(7 * k)
    value = _F(2.0) * p - _F(2.0) * log_l
    if crit == "aic":
        return value
    value = log32(n.astype(np.float32)) * p - _F(2.0) * log_l
    return value if crit == "bic" else value + _F(2.0) * entropy


def cluster_pairs(
    x: np.ndarray, y: np.ndarray, clean: np.ndarray, params: SimilarityParams
) -> tuple[np.ndarray, np.ndarray]:
    """Best K per row (0: none) and labels (cluster, or -1 where not clean), by the chosen criterion."""
    pairs, samples = x.shape
    n = clean.sum(axis=1)
    best_k = np.zeros(pairs, dtype=np.int64)
    best = np.full(pairs, np.inf, dtype=np.float32)
    labels = np.full((pairs, samples), -1, dtype=np.int8)
    for k in range(params.minclus, params.maxclus + 1):
        fits = fit_block(x, y, clean, k)
        own = fits.gamma.argmax(axis=1)
        own_gamma = fits.gamma.max(axis=1)
        entropy = -(np.where(clean, log32(np.where(clean, own_gamma, _F(1.0))), _F(0.0))).sum(axis=1)
        value = criterion(params.crit, k, n, fits.log_l, entropy.astype(np.float32))
        better = fits.ok & (value < best)
        if better.any():
            best[better] = value[better]
            best_k[better] = k
            labels[better] = np.where(clean[better], own[better], -1).astype(np.int8)
    return best_k, labels


# ------------------------------------------------------------------------------------- engine


class GmmEngine:
    """Blocks of pairs: codes as traditional mode, then the mixtures, postout and per-cluster r."""

    def __init__(self, values: np.ndarray, params: SimilarityParams, block_pairs: int | None = None) -> None:
        self.base = SimilarityEngine(values, params)
        self.values = self.base.values
        self.params = params
        self.samples = self.values.shape[1]
        self.block_pairs = block_pairs or max(16, _BLOCK_ELEMENTS // max(self.samples, 1) // params.maxclus)
        self.min_r = np.float32(params.mincorr)
        self.max_r = np.float32(params.maxcorr)

    def _postout(self, x: np.ndarray, y: np.ndarray, labels: np.ndarray, best_k: np.ndarray) -> None:
        """Mark each cluster's Tukey outliers (either axis) -8, for pairs of more than one cluster."""
        for k in range(int(best_k.max(initial=0))):
            rows = np.flatnonzero((best_k > 1) & (best_k > k))  # pairs with K > 1 and a cluster k
            if not rows.size:
                continue
            member = labels[rows] == k
            a, b = x[rows], y[rows]
            with np.errstate(invalid="ignore"):
                inside = (
                    _between(a, *tukey_fences(a, member)) & _between(b, *tukey_fences(b, member))
                )
            labels[rows] = np.where(member & ~inside, np.int8(-8), labels[rows])

    def _correlate(self, x: np.ndarray, y: np.ndarray, member: np.ndarray) -> np.ndarray:
        a, b = x.astype(np.float64), y.astype(np.float64)
        if self.params.corrmethod == "spearman":
            a = average_ranks(np.where(member, a, np.nan))
            b = average_ranks(np.where(member, b, np.nan))
        return masked_pearson(a, b, member)

    def block(self, xs: np.ndarray, ys: np.ndarray) -> PairResult:
        params = self.params
        kept = self.base._kept(xs, ys)
        n = kept.sum(axis=1)
        fit = np.flatnonzero(n >= params.minsamp)
        kmax = params.maxclus
        r = np.full((xs.size, kmax), np.nan)
        labels = np.full((xs.size, self.samples), -1, dtype=np.int8)
        if fit.size:
            x, y = self.values[xs[fit]], self.values[ys[fit]]
            best_k, fit_labels = cluster_pairs(x, y, kept[fit], params)
            if params.postout:
                self._postout(x, y, fit_labels, best_k)
            labels[fit] = fit_labels
            for k in range(kmax):
                member = fit_labels == k
                rows = np.flatnonzero((best_k > k) & (member.sum(axis=1) >= params.minsamp))
                if rows.size:
                    r[fit[rows], k] = self._correlate(x[rows], y[rows], member[rows])
        r32 = r.astype(np.float32)
        with np.errstate(invalid="ignore"):
            stored = (np.abs(r32) >= self.min_r) & (np.abs(r32) <= self.max_r)
        pair, cluster = np.nonzero(stored)  # row-major: pairs in order, each pair's clusters in order
        codes = self.base._codes(xs[pair], ys[pair], kept[pair])
        lab = labels[pair]
        codes[lab == -8] = CODE_POSTOUT
        codes[(codes == CODE_USED) & (lab != cluster[:, None])] = CODE_OTHER
        return PairResult(xs[pair], ys[pair], r32[pair, cluster], codes)

    def run(self, start: int, end: int) -> Iterator[PairResult]:
        for lo in range(start, end, self.block_pairs):
            xs, ys = pair_coords(lo, min(end, lo + self.block_pairs))
            yield self.block(xs, ys)


def _between(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return ~((values < low[:, None]) | (values > high[:, None]))
