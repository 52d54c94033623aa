"""corrpower (KINC 3.4): drop the clusters whose correlation has too little statistical power.

Per cluster with n samples (the ``1`` of its sample string) and r = |r| (KINC's pwr_r_test, after R's
``pwr.r.test``)::

    t = qt(alpha / 2, n - 2)          (Student's t quantile, negative)
    rc = sqrt(t^2 / (t^2 + n - 2))
    zr = atanh(r) + r / (2 (n - 1)),  zrc = atanh(rc)
    power = Phi((zr - zrc) sqrt(n - 3) + Phi((-zr - zrc) sqrt(n - 3)))

KINC nests the second Phi inside the first; pwr.r.test adds the two instead. We compute what KINC does.
A cluster is kept when power >= --power (n <= 3 gives NaN: dropped). Each record of our .cmx/.ccm is one
cluster and its sample string marks only its own samples, so dropping records renumbers a pair's remaining
clusters (their order is kept) and a pair left with none disappears.
"""

import math
from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np

from kinc.errors import KincError
from kinc.formats import CCM_FORMAT, CMX_FORMAT, PairFile, open_pairs, write_header

_BISECTIONS = 80
_phi = np.frompyfunc(lambda v: 0.5 * math.erfc(-v / math.sqrt(2.0)), 1, 1)


def _two_sided_tail(theta: np.ndarray, df: np.ndarray) -> np.ndarray:
    """P(|T| > t) for Student's t with integer df >= 1 at t = sqrt(df) tan(theta), from the finite series
    of Abramowitz and Stegun 26.7.3 (odd df) and 26.7.4 (even df) for P(|T| <= t)."""
    s, c2 = np.sin(theta), np.cos(theta) ** 2
    odd = df % 2 == 1
    last = (df - 2 - odd) // 2  # the series' last term: cos^(df-2)
    term = np.where(odd, s * np.cos(theta), s)
    total = np.where(last >= 0, term, 0.0)
    for j in range(1, int(last.max(initial=0)) + 1):
        term = term * np.where(odd, 2.0 * j / (2.0 * j + 1.0), (2.0 * j - 1.0) / (2.0 * j)) * c2
        total = total + np.where(j <= last, term, 0.0)
    central = np.where(odd, (2.0 / math.pi) * (theta + total), total)
    return 1.0 - central


def t_quantile(p: float, df: np.ndarray) -> np.ndarray:
    """Student's t quantile at lower tail probability p < 1/2 for each integer df >= 1 (NaN for df < 1)."""
    df = np.asarray(df, dtype=np.int64)
    valid = df >= 1
    d = np.where(valid, df, 1)
    low, high = np.zeros(d.shape), np.full(d.shape, math.pi / 2)
    for _ in range(_BISECTIONS):
        mid = (low + high) / 2
        beyond = _two_sided_tail(mid, d) / 2 < p  # mid is past the quantile's magnitude
        high = np.where(beyond, mid, high)
        low = np.where(beyond, low, mid)
    return np.where(valid, -np.sqrt(d) * np.tan((low + high) / 2), np.nan)


class PowerTest:
    """Power of each cluster's r, with the t quantiles computed once per sample count."""

    def __init__(self, alpha: float, samples: int) -> None:
        n = np.arange(samples + 1)
        self.t = t_quantile(alpha / 2.0, n - 2)

    def power(self, r: np.ndarray, n: np.ndarray) -> np.ndarray:
        r = np.abs(r.astype(np.float64))
        n = n.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            t2 = self.t[n.astype(np.int64)] ** 2
            rc = np.sqrt(t2 / (t2 + n - 2.0))
            zr = np.arctanh(r) + r / (2.0 * (n - 1.0))
            zrc = np.arctanh(rc)
            root = np.sqrt(n - 3.0)
            inner = _phi((-zr - zrc) * root).astype(np.float64)
            return _phi((zr - zrc) * root + inner).astype(np.float64)


def _check_pair(cmx: PairFile, ccm: PairFile, chunk: tuple[int, int] | None = None) -> None:
    """Both files of one similarity run: whole files, or (chunk given) that chunk's files."""
    expected = list(chunk) if chunk else None
    for pairs in (cmx, ccm):
        found = pairs.header.get("chunk")
        if found != expected:
            raise KincError(
                f"{pairs.path}: is chunk {found}, merge the chunks first" if expected is None
                else f"{pairs.path}: is {f'chunk {found}' if found else 'a whole file'}, expected chunk {expected}"
            )
    for key in ("genes", "samples", "pairs", "params"):
        if cmx.header.get(key) != ccm.header.get(key):
            raise KincError(
                f"{cmx.path} and {ccm.path} differ in header {key} ({cmx.header.get(key)!r} vs "
                f"{ccm.header.get(key)!r}): not made by one similarity run"
            )
    if cmx.count != ccm.count:
        raise KincError(f"{cmx.path} holds {cmx.count} clusters but {ccm.path} holds {ccm.count}")


def _kept_blocks(cmx: PairFile, ccm: PairFile, test: PowerTest, power: float) -> Iterator[tuple[Any, Any]]:
    for r_block, c_block in zip(cmx.blocks(), ccm.blocks(), strict=True):
        if np.any((r_block["x"] != c_block["x"]) | (r_block["y"] != c_block["y"])):
            i = int(np.flatnonzero((r_block["x"] != c_block["x"]) | (r_block["y"] != c_block["y"]))[0])
            raise KincError(
                f"{cmx.path} and {ccm.path} disagree: pair ({r_block['x'][i]}, {r_block['y'][i]}) vs "
                f"({c_block['x'][i]}, {c_block['y'][i]})"
            )
        samples = np.ascontiguousarray(c_block["samples"]).view(np.uint8).reshape(c_block.size, -1)
        n = (samples == ord("1")).sum(axis=1)
        keep = test.power(r_block["r"], n) >= power
        yield r_block[keep], c_block[keep]


def write_corrpower(
    cmx_in: str,
    ccm_in: str,
    alpha: float,
    power: float,
    cmx_out: BinaryIO,
    ccm_out: BinaryIO,
    chunk: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """Filter the clusters; return (clusters read, clusters kept). With chunk, the inputs are that chunk's
    files and the outputs keep their chunk and range: the chunks' outputs merge to the whole run's."""
    cmx, ccm = open_pairs(cmx_in, CMX_FORMAT), None
    try:
        ccm = open_pairs(ccm_in, CCM_FORMAT)
        _check_pair(cmx, ccm, chunk)
        test = PowerTest(alpha, int(ccm.header["samples"]))
        for header, out in ((cmx.header, cmx_out), (ccm.header, ccm_out)):
            params = {**header.get("params", {}), "corrpower_alpha": repr(alpha), "corrpower_power": repr(power)}
            write_header(out, {**header, "params": params})
        kept = 0
        for r_block, c_block in _kept_blocks(cmx, ccm, test, power):
            cmx_out.write(r_block.tobytes())
            ccm_out.write(c_block.tobytes())
            kept += r_block.size
        return cmx.count, kept
    finally:
        cmx.close()
        if ccm is not None:
            ccm.close()
