"""cond-test (KINC 3.4): test each cluster of each pair against the sample annotations.

For a cluster (the ``1`` samples of its sample string) and a test:

* categorical ``Feature__Label``: KINC 3.4.2's bootstrap test of proportions (its code; its documentation
  describes a hypergeometric test). With n the cluster's size, k its members with the label, K the samples
  with the label and N all samples of the GEM: k == 0 gives NaN; otherwise 30 iterations each draw 30 of
  the cluster's members with replacement (whatever n, above or below 30) and count the labelled ones, ns;
  p is the average of ns / 30 over the iterations. Two one-sided z tests of proportions with 30 draws,
  z = (observed - expected) / sqrt(expected (1 - expected) / 30) and p-value 1 - Phi(z): the cluster's
  proportion, observed p against 0.5, and the label's share of the cluster, observed min(1, p n / K)
  against K / N. The result is the larger p-value (when the second is NaN, as when every sample has the
  label, the first). R^2 is NaN.
  The draws are KINC's: a GSL mt19937 generator made afresh for every test with GSL's default seed
  (4357), each draw ``gsl_ran_sample``'s ``gsl_rng_uniform_int(n)`` (a 32-bit output divided by
  floor((2^32 - 1) / n), outputs giving n or more skipped) picking a member in sample order. So the same
  cluster and annotations always give the same p, in any chunk (KINC's own run reads the generator type
  and seed from GSL_RNG_TYPE and GSL_RNG_SEED; without them, as here).
* quantitative / ordinal ``Feature``: least squares of the feature (rounded to float32, as KINC's
  toFloat reads it; ordinal values as the numbers they are) on [1, gx, gy, gx*gy] over the cluster's
  samples whose feature is not missing (fewer than 5 or a constant feature: NaN), R^2 and the F test's
  p-value with KINC's degrees of freedom, 3 and n - 4, even when the design has a lower rank, taken as
  KINC's 1 - cdf (so p-values below about 1e-16 are 0); when the F test's power (noncentrality
  f2 (u + v + 1), as R's pwr.f2.test, with f2 = R^2 as KINC's code passes it, not Cohen's
  R^2 / (1 - R^2)) is below --power at --alpha, both are NaN.

Results go to a .csm file, one record per cluster in the .cmx/.ccm order (see kinc.formats). Every number
depends on its cluster only, so any chunking gives the same records.
"""

import math
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, BinaryIO

import numpy as np

from kinc.annotations import Annotations
from kinc.errors import KincError
from kinc.formats import (
    CCM_FORMAT,
    CMX_FORMAT,
    CSM_FORMAT,
    PairFile,
    csm_dtype,
    open_pairs,
    pair_file_header,
    write_header,
)
from kinc.pairs import pair_index
from kinc.stats import f_power, f_sf, normal_cdf

MIN_REGRESSION_SAMPLES = 5
BOOTSTRAP_ITERATIONS = 30  # KINC's num_i
BOOTSTRAP_DRAWS = 30  # KINC's bs_t: members drawn per iteration, and the z tests' sample size
GSL_DEFAULT_SEED = 4357  # what GSL's mt19937 takes for its default seed 0
_MT_STATES = 624


def gsl_mt19937(count: int, seed: int = GSL_DEFAULT_SEED) -> np.ndarray:
    """The first ``count`` 32-bit outputs of GSL's mt19937 seeded with ``seed``: GSL's seeding (the
    2002 init_genrand) sets the state, numpy's MT19937, the same generator, produces the outputs."""
    key = np.empty(_MT_STATES, dtype=np.uint32)
    value = seed & 0xFFFFFFFF
    key[0] = value
    for i in range(1, _MT_STATES):
        value = (1812433253 * (value ^ (value >> 30)) + i) & 0xFFFFFFFF
        key[i] = value
    bits = np.random.MT19937(0)
    bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": _MT_STATES}}
    return bits.random_raw(count)


@lru_cache(maxsize=4096)
def bootstrap_positions(size: int) -> np.ndarray:
    """The positions (0 .. size-1, into the cluster's members in sample order) KINC's 30 x 30 draws pick
    for a cluster of ``size`` members: ``gsl_rng_uniform_int(size)`` on a freshly seeded generator."""
    need = BOOTSTRAP_ITERATIONS * BOOTSTRAP_DRAWS
    scale = 0xFFFFFFFF // size
    count = need + _MT_STATES
    while True:
        picks = gsl_mt19937(count) // scale
        picks = picks[picks < size]
        if picks.size >= need:
            out = picks[:need].astype(np.intp)
            out.flags.writeable = False
            return out
        count *= 2


def _divide(a: float, b: float) -> float:
    """a / b with IEEE results for b == 0 (inf or NaN), as KINC's C++ divides."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(a) / np.float64(b))


def proportions_test(label: np.ndarray, members: np.ndarray) -> float:
    """KINC 3.4.2's categorical p-value for one cluster (boolean masks over all samples)."""
    labelled = int((label & members).sum())
    if labelled == 0:
        return math.nan
    at = np.flatnonzero(members)
    hits = label[at[bootstrap_positions(at.size)]].reshape(BOOTSTRAP_ITERATIONS, BOOTSTRAP_DRAWS)
    average = 0.0
    for drawn in hits.sum(axis=1).tolist():
        average += drawn / BOOTSTRAP_DRAWS
    average /= BOOTSTRAP_ITERATIONS
    expected = 0.5
    z = _divide(average - expected, math.sqrt((expected * (1 - expected)) / BOOTSTRAP_DRAWS))
    first = 1.0 - normal_cdf(z)
    total = int(label.sum())
    observed = min(1.0, (average * at.size) / total)
    expected = total / label.size
    z = _divide(observed - expected, math.sqrt((expected * (1 - expected)) / BOOTSTRAP_DRAWS))
    second = 1.0 - normal_cdf(z)
    return max(first, second)  # a NaN second keeps first, as std::max(first, second)


def _check_inputs(
    cmx: PairFile, ccm: PairFile, genes: int, samples: int, emx: str, chunk: tuple[int, int] | None
) -> None:
    """The inputs: whole files, or (in chunk I of N) chunk I's own files, as corrpower's chunks write them."""
    for pairs in (cmx, ccm):
        found = pairs.header.get("chunk")
        if found is not None and (chunk is None or found != list(chunk)):
            raise KincError(f"{pairs.path}: is chunk {found}, merge the chunks first")
        if pairs.header.get("genes") != genes or pairs.header.get("samples") != samples:
            raise KincError(
                f"{pairs.path}: made for {pairs.header.get('genes')} genes x {pairs.header.get('samples')} "
                f"samples, but {emx} has {genes} x {samples}"
            )
    for key in ("pairs", "params"):
        if cmx.header.get(key) != ccm.header.get(key):
            raise KincError(f"{cmx.path} and {ccm.path} differ in header {key}: not made by one run")
    if cmx.count != ccm.count:
        raise KincError(f"{cmx.path} holds {cmx.count} clusters but {ccm.path} holds {ccm.count}")


class ClusterTests:
    def __init__(self, values: np.ndarray, notes: Annotations, alpha: float, power: float) -> None:
        self.values = values.astype(np.float64)
        self.notes = notes
        self.alpha, self.power = alpha, power
        self.label_masks = {
            (t.feature, t.label): np.array([v == t.label for v in notes.labels[t.feature]])
            for t in notes.tests
            if t.type == "categorical"
        }
        # KINC reads each value into the regression's Y with QString::toFloat: single precision.
        self.targets = {
            name: column.astype(np.float32).astype(np.float64) for name, column in notes.numbers.items()
        }

    def run(self, x: int, y: int, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tests = self.notes.tests
        p, r2 = np.full(len(tests), np.nan), np.full(len(tests), np.nan)
        gx, gy = self.values[x], self.values[y]
        for i, test in enumerate(tests):
            if test.type == "categorical":
                p[i] = proportions_test(self.label_masks[(test.feature, test.label)], members)
            else:
                p[i], r2[i] = self._regression(gx, gy, self.targets[test.feature], members)
        return p, r2

    def _regression(
        self, gx: np.ndarray, gy: np.ndarray, feature: np.ndarray, members: np.ndarray
    ) -> tuple[float, float]:
        use = members & ~np.isnan(feature) & ~np.isnan(gx) & ~np.isnan(gy)
        n = int(use.sum())
        if n < MIN_REGRESSION_SAMPLES:
            return np.nan, np.nan
        a, b, target = gx[use], gy[use], feature[use]
        design = np.column_stack([np.ones(n), a, b, a * b])
        centred = target - target.mean()
        total = float(centred @ centred)
        if total <= 0.0:
            return np.nan, np.nan
        coef = np.linalg.lstsq(design, target, rcond=None)[0]
        residual = target - design @ coef
        # KINC's DFM and DFE: 3 and n - 4 whatever the design's rank (a gene constant over the cluster
        # leaves fewer free columns, KINC's F test counts four all the same).
        d1, d2 = 3, n - 4
        r_squared = min(1.0, max(0.0, 1.0 - float(residual @ residual) / total))
        if r_squared >= 1.0:
            p_value = 0.0
        else:
            # KINC's p is 1 - gsl_cdf_fdist_P(F): below half a double's step under 1 it is 0.
            p_value = 1.0 - (1.0 - float(f_sf((r_squared / d1) / ((1.0 - r_squared) / d2), d1, d2)))
        # KINC's code gives pwr_f2_test R^2 itself as the effect size, not Cohen's f2 = R^2 / (1 - R^2): a
        # lower power, so more tests become NaN. The code is what KINC's users get.
        if f_power(r_squared, d1, d2, self.alpha) < self.power:
            return np.nan, np.nan
        return p_value, r_squared


def csm_header(
    cmx_header: dict[str, Any],
    notes: Annotations,
    options: dict[str, str],
    span: tuple[int, int],
    chunk: tuple[int, int] | None,
) -> dict[str, Any]:
    genes, samples, pairs = cmx_header["genes"], cmx_header["samples"], cmx_header["pairs"]
    params = {**cmx_header.get("params", {}), **options}
    tests = [t.as_header() for t in notes.tests]
    return {**pair_file_header(CSM_FORMAT, genes, samples, pairs, span, chunk, params), "tests": tests}


def _records(cmx: PairFile, ccm: PairFile, span: tuple[int, int]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for r_block, c_block in zip(cmx.blocks(), ccm.blocks(), strict=True):
        differ = (r_block["x"] != c_block["x"]) | (r_block["y"] != c_block["y"])
        if differ.any():
            i = int(np.flatnonzero(differ)[0])
            raise KincError(
                f"{cmx.path} and {ccm.path} disagree: pair ({r_block['x'][i]}, {r_block['y'][i]}) vs "
                f"({c_block['x'][i]}, {c_block['y'][i]})"
            )
        index = pair_index(r_block["x"], r_block["y"])
        inside = (index >= span[0]) & (index < span[1])
        if inside.any():
            yield r_block[inside], c_block[inside]


def write_condtest(
    emx_values: np.ndarray,
    emx_path: str,
    cmx_path: str,
    ccm_path: str,
    notes: Annotations,
    options: dict[str, str],
    alpha: float,
    power: float,
    span_of,
    chunk: tuple[int, int] | None,
    out: BinaryIO,
) -> tuple[int, tuple[int, int]]:
    """Test every cluster of the pairs in the chunk's range; return (clusters written, range)."""
    cmx, ccm = open_pairs(cmx_path, CMX_FORMAT), None
    try:
        ccm = open_pairs(ccm_path, CCM_FORMAT)
        genes, samples = emx_values.shape
        _check_inputs(cmx, ccm, genes, samples, emx_path, chunk)
        if cmx.header.get("chunk") != ccm.header.get("chunk"):
            raise KincError(f"{cmx.path} and {ccm.path} differ in header chunk: not one chunk's files")
        span = span_of(int(cmx.header["pairs"]))
        write_header(out, csm_header(cmx.header, notes, options, span, chunk))
        dtype = csm_dtype(len(notes.tests))
        tester = ClusterTests(emx_values, notes, alpha, power)
        written = 0
        for r_block, c_block in _records(cmx, ccm, span):
            strings = (
                np.ascontiguousarray(c_block["samples"]).view(np.uint8).reshape(c_block.size, -1)[:, :samples]
            )
            rows = np.zeros(r_block.size, dtype=dtype)
            rows["x"], rows["y"] = r_block["x"], r_block["y"]
            for i in range(r_block.size):
                rows["p"][i], rows["r2"][i] = tester.run(
                    int(r_block["x"][i]), int(r_block["y"][i]), strings[i] == ord("1")
                )
            out.write(rows.tobytes())
            written += rows.size
        return written, span
    finally:
        cmx.close()
        if ccm is not None:
            ccm.close()
