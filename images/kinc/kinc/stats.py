"""Distribution tails for cond-test, numpy and the standard library only.

* :func:`normal_cdf`: P(Z <= z) for the standard normal, from ``math.erfc``, with GSL's
  ``gsl_cdf_ugaussian_P`` cut-offs (exactly 1 above 8.572, 0 below -37.519).
* :func:`betainc`: the regularized incomplete beta I_x(a, b) by its continued fraction (modified Lentz),
  evaluated where it converges fast (x < (a+1)/(a+b+2)) and by symmetry elsewhere.
* :func:`f_sf`: P(F > f) for Fisher's F with (d1, d2) degrees of freedom, ``I_{d2/(d2+d1 f)}(d2/2, d1/2)``.
* :func:`f_power`: power of the regression F test at effect size f2 (as R's ``pwr.f2.test``): the upper tail of
  the noncentral F with noncentrality f2 (u + v + 1) beyond the central F's 1 - alpha quantile.
"""

import math
from functools import lru_cache

import numpy as np

_TINY = 1e-300
_EPS = 1e-15
_ITERATIONS = 400


def normal_cdf(z: float) -> float:
    """P(Z <= z) for Z standard normal; NaN for NaN. The upper half is 1 minus the upper tail, so that
    1 - normal_cdf(z) rounds as KINC's ``1 - gsl_cdf_gaussian_P(z, 1)`` does."""
    if math.isnan(z):
        return math.nan
    if z > 8.572:
        return 1.0
    if z < -37.519:
        return 0.0
    if z > 0.0:
        return 1.0 - 0.5 * math.erfc(z / math.sqrt(2.0))
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _beta_fraction(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The continued fraction of I_x(a, b) (without its prefactor), for x < (a+1)/(a+b+2)."""
    c = np.ones_like(x)
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / np.where(np.abs(d) < _TINY, _TINY, d)
    value = d.copy()
    done = np.zeros(x.shape, dtype=bool)
    for m in range(1, _ITERATIONS + 1):
        for even in (True, False):
            if even:
                coef = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            else:
                coef = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1.0 + coef * d
            d = 1.0 / np.where(np.abs(d) < _TINY, _TINY, d)
            c = 1.0 + coef / c
            c = np.where(np.abs(c) < _TINY, _TINY, c)
            step = c * d
            value = np.where(done, value, value * step)
        done |= np.abs(step - 1.0) < _EPS
        if done.all():
            break
    return value


def betainc(a, b, x) -> np.ndarray:
    """Regularized incomplete beta I_x(a, b) for a, b > 0 and 0 <= x <= 1, elementwise."""
    a, b, x = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, x)))
    out = np.full(x.shape, np.nan)
    valid = (a > 0) & (b > 0) & (x >= 0) & (x <= 1)
    out[valid & (x == 0)] = 0.0
    out[valid & (x == 1)] = 1.0
    inner = valid & (x > 0) & (x < 1)
    if inner.any():
        ai, bi, xi = a[inner], b[inner], x[inner]
        flip = xi >= (ai + 1.0) / (ai + bi + 2.0)
        aa, bb, xx = np.where(flip, bi, ai), np.where(flip, ai, bi), np.where(flip, 1.0 - xi, xi)
        lbeta = np.array(
            [math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q) for p, q in zip(aa, bb, strict=True)]
        )
        front = np.exp(aa * np.log(xx) + bb * np.log1p(-xx) - lbeta) / aa
        part = front * _beta_fraction(xx, aa, bb)
        out[inner] = np.where(flip, 1.0 - part, part)
    return out


def f_sf(f, d1, d2) -> np.ndarray:
    """P(F > f) for F(d1, d2); 1 for f <= 0."""
    f, d1, d2 = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (f, d1, d2)))
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(f > 0, d2 / (d2 + d1 * np.maximum(f, 0.0)), 1.0)
    return betainc(d2 / 2.0, d1 / 2.0, x)


@lru_cache(maxsize=4096)
def f_quantile_upper(alpha: float, d1: float, d2: float) -> float:
    """The f with P(F(d1, d2) > f) = alpha, by bisection on the tail."""
    low, high = 0.0, 1.0
    while float(f_sf(high, d1, d2)) > alpha:
        high *= 2.0
        if high > 1e300:
            return math.inf
    for _ in range(200):
        mid = (low + high) / 2.0
        if float(f_sf(mid, d1, d2)) > alpha:
            low = mid
        else:
            high = mid
        if high - low <= 1e-14 * high:
            break
    return (low + high) / 2.0


def ncf_sf(f: float, d1: float, d2: float, noncentrality: float) -> float:
    """P(F' > f) for the noncentral F: a Poisson(lambda/2) mixture of central tails."""
    if f <= 0:
        return 1.0
    half = noncentrality / 2.0
    y = d1 * f / (d1 * f + d2)
    top = int(half + 12.0 * math.sqrt(half) + 40)
    j = np.arange(top + 1, dtype=np.float64)
    weights = (
        np.exp(-half + j * math.log(half) - np.array([math.lgamma(v + 1) for v in j]))
        if half > 0
        else (j == 0) * 1.0
    )
    below = betainc(d1 / 2.0 + j, d2 / 2.0, y)
    return float(max(0.0, min(1.0, 1.0 - math.fsum(weights * below))))


def f_power(f2: float, d1: int, d2: int, alpha: float) -> float:
    """Power of the F test of a regression with ``d1`` predictors and ``d2`` residual degrees of freedom
    at effect size ``f2`` (pwr.f2.test's lambda = f2 (u + v + 1))."""
    if not f2 >= 0:
        return math.nan
    critical = f_quantile_upper(alpha, d1, d2)
    return ncf_sf(critical, d1, d2, f2 * (d1 + d2 + 1))
