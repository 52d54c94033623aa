"""Throughput of ``kinc`` similarity on the example GEM, against a plain per-pair scipy loop.

Prints gene pairs per second for pearson and spearman (vectorised engine and a per-pair scipy loop on a
sample of pairs, and their ratio), then the seconds of a whole example run (import-emx, similarity, rmt,
extract). Asserts nothing about time.

    .venv/bin/python bench/kinc_similarity.py [GEM]
"""

import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "images" / "kinc"))

from kinc.cli import main  # noqa: E402
from kinc.gem import read_gem  # noqa: E402
from kinc.pairs import pair_coords, pair_count  # noqa: E402
from kinc.similarity import SimilarityEngine, SimilarityParams  # noqa: E402

# KINC's example GEM, as the collection ships it.
EXAMPLE = REPO / "images/submitter/data/PRJNA301554.slim.GEM.log2.txt"
LOOP_PAIRS = 3000


def per_pair(a: np.ndarray, b: np.ndarray, method: str, minsamp: int = 30) -> float:
    """The straightforward per-pair computation: drop missing, Tukey fences, scipy correlation."""
    keep = ~(np.isnan(a) | np.isnan(b))
    if keep.sum() < max(minsamp, 2):
        return float("nan")
    outlier = np.zeros(a.size, bool)
    for v in (a, b):
        ordered = np.sort(v[keep])
        n = ordered.size
        q1, q3 = ordered[n // 4], ordered[3 * n // 4]
        outlier |= keep & ((v < q1 - 1.5 * (q3 - q1)) | (v > q3 + 1.5 * (q3 - q1)))
    keep &= ~outlier
    if keep.sum() < minsamp:
        return float("nan")
    corr = stats.pearsonr if method == "pearson" else stats.spearmanr
    return float(corr(a[keep], b[keep])[0])


def engine_rate(values: np.ndarray, method: str) -> tuple[float, int]:
    engine = SimilarityEngine(values, SimilarityParams(corrmethod=method))
    pairs = pair_count(values.shape[0])
    start = time.perf_counter()
    stored = sum(result.x.size for result in engine.run(0, pairs))
    return pairs / (time.perf_counter() - start), stored


def loop_rate(values: np.ndarray, method: str) -> float:
    rng = np.random.default_rng(0)
    index = np.sort(rng.choice(pair_count(values.shape[0]), size=LOOP_PAIRS, replace=False))
    xs, ys = pair_coords(0, pair_count(values.shape[0]))
    data = values.astype(np.float64)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in index:
            per_pair(data[xs[k]], data[ys[k]], method)
    return LOOP_PAIRS / (time.perf_counter() - start)


def timed(*args: object) -> float:
    start = time.perf_counter()
    code = main([str(a) for a in args])
    if code:
        raise SystemExit(f"kinc {' '.join(map(str, args))} failed with exit code {code}")
    return time.perf_counter() - start


def whole_run(gem: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        seconds = {"import-emx": timed("run", "import-emx", "--input", gem, "--output", d / "x.emx")}
        seconds["similarity"] = timed(
            "run", "similarity", "--input", d / "x.emx", "--ccm", d / "x.ccm", "--cmx", d / "x.cmx"
        )
        seconds["rmt"] = timed("run", "rmt", "--input", d / "x.cmx", "--log", d / "x.log")
        threshold = (d / "x.log").read_text().splitlines()[-1]
        seconds["extract"] = timed(
            "run",
            "extract",
            "--emx",
            d / "x.emx",
            "--ccm",
            d / "x.ccm",
            "--cmx",
            d / "x.cmx",
            "--output",
            d / "net.txt",
            "--mincorr",
            threshold,
        )
        edges = len((d / "net.txt").read_text().splitlines()) - 1
    print(f"threshold {threshold}, {edges} edges")
    return seconds


def bench(gem: Path) -> None:
    values = read_gem(str(gem)).values
    print(f"{gem.name}: {values.shape[0]} genes x {values.shape[1]} samples, {pair_count(values.shape[0])} pairs")
    for method in ("pearson", "spearman"):
        rate, stored = engine_rate(values, method)
        loop = loop_rate(values, method)
        print(
            f"{method:8s}: kinc {rate:12,.0f} pairs/s ({stored} stored) | "
            f"per-pair scipy loop {loop:8,.0f} pairs/s ({LOOP_PAIRS} pairs) | ratio {rate / loop:6.1f}x"
        )
    seconds = whole_run(gem)
    steps = ", ".join(f"{name} {s:.2f}s" for name, s in seconds.items())
    print(f"whole run: {sum(seconds.values()):.2f}s ({steps})")


if __name__ == "__main__":
    bench(Path(sys.argv[1]) if len(sys.argv) > 1 else EXAMPLE)
