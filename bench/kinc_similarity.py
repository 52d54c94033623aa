"""The payload's own speed on KINC's example GEM, as whole ``kinc`` processes, each figure beside its goal.

* similarity: pairs per second of a whole ``kinc run similarity`` process (start, read, compute, write),
  pearson and spearman, against a plain per-pair scipy loop timed in the same round; the ratio.
* rmt: seconds of a whole ``kinc run rmt`` on the pearson and the spearman matrix (and its threshold).
* extract: seconds of a whole ``kinc run extract`` with rmt's threshold, text format (and the sha256 of
  the network it writes).
* gmm: pairs per CPU second of a whole ``kinc run similarity --clusmethod gmm`` process (KINC's
  example-run options: spearman, minsamp 25, K 1..5 by ICL, preout and postout, mincorr 0) on the first
  GMM_GENES genes, against a per-pair loop of scikit-learn GaussianMixture fits with the same K range,
  criterion, iteration cap and tolerance (one BLAS thread, as in the images); the ratio. Without
  scikit-learn the loop and the ratio are skipped, and the bench says so.

Each process's CPU seconds (user + system) are reported too: unlike the wall clock, they hardly move
when other work shares the cores.

Every round measures all of them side by side; the best and the median over the rounds are reported,
with the machine's load (``uptime``) before and after, since others may share the cores. Asserts
nothing about time; exits 1 when a threshold is not the expected one or a network changes between
rounds.

    .venv/bin/python bench/kinc_similarity.py [--rounds 5] [--json bench/results/kinc.json] [GEM]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from kinc_process import EXAMPLE, PACKAGE, REPO, THRESHOLDS, load, run_kinc
from scipy import stats

sys.path.insert(0, str(PACKAGE))

from kinc.formats import ExpressionMatrix, read_emx, write_emx  # noqa: E402
from kinc.gem import read_gem  # noqa: E402
from kinc.pairs import pair_coords, pair_count  # noqa: E402

LOOP_PAIRS = 3000
GMM_GENES = 150  # 11,175 pairs: some seconds of the batched fits, while the example's 679,195 take minutes
GMM_LOOP_PAIRS = 30
GMM_OPTIONS = ["--clusmethod", "gmm", "--corrmethod", "spearman", "--minsamp", "25", "--minclus", "1",
               "--maxclus", "5", "--crit", "icl", "--preout", "true", "--postout", "true", "--mincorr", "0"]
GOALS = {
    "similarity_ratio_pearson": (">=", 90.0),
    "similarity_ratio_spearman": (">=", 60.0),
    "rmt_s_pearson": ("<=", 1.0),
    "rmt_s_spearman": ("<=", 1.0),
    "extract_s_pearson": ("<=", 0.5),
    "gmm_ratio": (">=", 50.0),
}


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


def loop_rate(values: np.ndarray, method: str, seed: int) -> float:
    """Pairs per second of the per-pair loop over LOOP_PAIRS random pairs."""
    pairs = pair_count(values.shape[0])
    index = np.sort(np.random.default_rng(seed).choice(pairs, size=LOOP_PAIRS, replace=False))
    xs, ys = pair_coords(0, pairs)
    data = values.astype(np.float64)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in index:
            per_pair(data[xs[k]], data[ys[k]], method)
    return LOOP_PAIRS / (time.perf_counter() - start)


def _tukey_inside(values: np.ndarray) -> np.ndarray:
    ordered = np.sort(values)
    q1, q3 = ordered[values.size // 4], ordered[3 * values.size // 4]
    return (values >= q1 - 1.5 * (q3 - q1)) & (values <= q3 + 1.5 * (q3 - q1))


def per_pair_gmm(a: np.ndarray, b: np.ndarray, mixture: type, minsamp: int = 25) -> list[float]:
    """The straightforward per-pair GMM mode with scikit-learn: drop missing samples and Tukey outliers,
    fit K = 1..5 (full covariances, means started at data points, 100 iterations, KINC's 1e-8 on the
    total log-likelihood), keep the lowest ICL, Tukey outliers within each cluster, spearman per cluster."""
    keep = np.flatnonzero(~(np.isnan(a) | np.isnan(b)))
    keep = keep[_tukey_inside(a[keep]) & _tukey_inside(b[keep])]
    if keep.size < minsamp:
        return []
    data = np.stack([a[keep], b[keep]], axis=1)
    best, labels = np.inf, None
    for k in range(1, 6):
        try:
            model = mixture(k, covariance_type="full", max_iter=100, tol=1e-8 / keep.size,
                            init_params="random_from_data", random_state=0).fit(data)
        except ValueError:  # a collapsed component: KINC skips that K too
            continue
        resp = model.predict_proba(data)
        log_l = model.score(data) * keep.size
        icl = 7 * k * np.log(keep.size) - 2.0 * log_l - 2.0 * np.log(resp.max(axis=1)).sum()  # p = 7K
        if icl < best:
            best, labels = icl, resp.argmax(axis=1)
    if labels is None:
        return []
    r = []
    for k in range(int(labels.max()) + 1):
        members = np.flatnonzero(labels == k)
        if labels.max() > 0 and members.size:
            members = members[_tukey_inside(data[members, 0]) & _tukey_inside(data[members, 1])]
        if members.size >= minsamp:
            r.append(float(stats.spearmanr(data[members, 0], data[members, 1])[0]))
    return r


def gmm_loop_rate(values: np.ndarray, seed: int) -> float | None:
    """Pairs per second of the scikit-learn loop over GMM_LOOP_PAIRS random pairs (None without it)."""
    try:
        from sklearn.mixture import GaussianMixture
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    pairs = pair_count(values.shape[0])
    index = np.sort(np.random.default_rng(seed).choice(pairs, size=GMM_LOOP_PAIRS, replace=False))
    xs, ys = pair_coords(0, pairs)
    data = values.astype(np.float64)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.process_time()
        for k in index:
            per_pair_gmm(data[xs[k]], data[ys[k]], GaussianMixture)
        return GMM_LOOP_PAIRS / (time.process_time() - start)


CPU: dict[str, float] = {}  # CPU seconds (user + system) of the last process, by analytic


def kinc(*args: object) -> float:
    """Seconds of one whole ``python -m kinc ARGS`` process (its CPU seconds go to CPU[analytic])."""
    seconds, CPU[str(args[1])] = run_kinc(*args)
    return seconds


def one_round(values: np.ndarray, d: Path, seed: int) -> tuple[dict[str, float], dict[str, str]]:
    figures: dict[str, float] = {}
    facts: dict[str, str] = {}
    pairs = pair_count(values.shape[0])
    for method in ("pearson", "spearman"):
        loop = loop_rate(values, method, seed)
        outputs = ["--ccm", d / f"{method}.ccm", "--cmx", d / f"{method}.cmx"]
        seconds = kinc("run", "similarity", "--input", d / "x.emx", *outputs, "--corrmethod", method)
        figures[f"similarity_s_{method}"] = seconds
        figures[f"similarity_cpu_s_{method}"] = CPU["similarity"]
        figures[f"loop_pairs_per_s_{method}"] = loop
        figures[f"similarity_ratio_{method}"] = pairs / seconds / loop
        log = d / f"{method}.log"
        figures[f"rmt_s_{method}"] = kinc("run", "rmt", "--input", d / f"{method}.cmx", "--log", log)
        figures[f"rmt_cpu_s_{method}"] = CPU["rmt"]
        facts[f"threshold_{method}"] = log.read_text().splitlines()[-1]
    net = d / "net.txt"
    extract = ["--emx", d / "x.emx", "--ccm", d / "pearson.ccm", "--cmx", d / "pearson.cmx"]
    figures["extract_s_pearson"] = kinc(
        "run", "extract", *extract, "--output", net, "--mincorr", facts["threshold_pearson"]
    )
    figures["extract_cpu_s_pearson"] = CPU["extract"]
    facts["network_sha256_pearson"] = hashlib.sha256(net.read_bytes()).hexdigest()
    facts["edges_pearson"] = str(len(net.read_bytes().splitlines()) - 1)
    gmm = values[:GMM_GENES]
    outputs = ["--ccm", d / "gmm.ccm", "--cmx", d / "gmm.cmx"]
    figures["gmm_s"] = kinc("run", "similarity", "--input", d / "gmm.emx", *outputs, *GMM_OPTIONS)
    figures["gmm_cpu_s"] = CPU["similarity"]
    figures["gmm_pairs_per_cpu_s"] = pair_count(gmm.shape[0]) / CPU["similarity"]
    loop = gmm_loop_rate(gmm, seed)
    if loop is not None:
        figures["gmm_loop_pairs_per_cpu_s"] = loop
        figures["gmm_ratio"] = figures["gmm_pairs_per_cpu_s"] / loop
    facts["gmm_cmx_sha256"] = hashlib.sha256((d / "gmm.cmx").read_bytes()).hexdigest()
    return figures, facts


def commit() -> str:
    result = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gem", nargs="?", type=Path, default=EXAMPLE)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here (machine, commit, goals)")
    options = parser.parse_args()
    values = read_gem(str(options.gem)).values
    print(f"{options.gem.name}: {values.shape[0]} genes x {values.shape[1]} samples, "
          f"{pair_count(values.shape[0])} pairs; {options.rounds} rounds")
    before = load()
    print(f"load before: {before}")
    rounds: list[dict[str, float]] = []
    facts: list[dict[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        kinc("run", "import-emx", "--input", options.gem, "--output", d / "x.emx")
        emx = read_emx(str(d / "x.emx"))
        with open(d / "gmm.emx", "wb") as out:
            write_emx(out, ExpressionMatrix(emx.genes[:GMM_GENES], emx.samples, emx.values[:GMM_GENES]))
        try:
            import sklearn  # noqa: F401
        except ImportError:
            print("scikit-learn is not importable: the GMM loop and gmm_ratio are skipped "
                  "(.venv/bin/pip install scikit-learn)")
        for number in range(options.rounds):
            figures, found = one_round(values, d, seed=number)
            rounds.append(figures)
            facts.append(found)
            print(f"round {number + 1}: " + ", ".join(f"{k} {v:.3g}" for k, v in figures.items()))
    after = load()
    print(f"load after:  {after}")
    summary = {}
    print(f"\n{'figure':28s} {'best':>10s} {'median':>10s}   goal")
    for name in rounds[0]:
        series = [r[name] for r in rounds]
        higher = name.startswith(("similarity_ratio", "loop_", "gmm_ratio", "gmm_loop", "gmm_pairs"))
        best = max(series) if higher else min(series)
        median = statistics.median(series)
        goal = GOALS.get(name)
        mark = ""
        if goal:
            sign, target = goal
            met = (median >= target) if sign == ">=" else (median <= target)
            mark = f"   {sign} {target:g}  {'met' if met else 'NOT met'} (median)"
        summary[name] = {"best": best, "median": median, "rounds": series,
                         **({"goal": f"{goal[0]} {goal[1]:g}"} if goal else {})}
        print(f"{name:28s} {best:10.3f} {median:10.3f}{mark}")
    status = 0
    for method, expected in THRESHOLDS.items():
        found = {f[f"threshold_{method}"] for f in facts}
        ok = found == {expected} if options.gem == EXAMPLE else len(found) == 1
        print(f"threshold {method}: {', '.join(sorted(found))}" + ("" if ok else f"  (expected {expected})"))
        status |= not ok
    gmm_outputs = {f["gmm_cmx_sha256"] for f in facts}
    print(f"gmm .cmx ({GMM_GENES} genes): sha256 {', '.join(sorted(gmm_outputs))}")
    status |= len(gmm_outputs) != 1
    networks = {f["network_sha256_pearson"] for f in facts}
    print(f"network (pearson, text): {facts[0]['edges_pearson']} edges, sha256 {', '.join(sorted(networks))}")
    status |= len(networks) != 1
    if options.json:
        options.json.parent.mkdir(parents=True, exist_ok=True)
        options.json.write_text(json.dumps({
            "bench": "kinc_similarity", "gem": options.gem.name, "commit": commit(),
            "machine": {"node": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
                        "numpy": np.__version__, "load_before": before, "load_after": after},
            "figures": summary, "facts": facts[0],
        }, indent=2) + "\n")
        print(f"written: {options.json}")
    return status


if __name__ == "__main__":
    sys.exit(main())
