"""Synthetic expression data, and hand-made pair files, for the kinc tests."""

from pathlib import Path

import numpy as np

from kinc.formats import (
    CCM_FORMAT,
    CMX_DTYPE,
    CMX_FORMAT,
    FORMAT_VERSION,
    ExpressionMatrix,
    ccm_dtype,
    write_emx,
    write_header,
)


def write_gem(path: Path, values: np.ndarray, nan: str = "NA", genes: list[str] | None = None) -> Path:
    """Write a GEM: header of sample names, then gene name and values (NaN written as the nan token)."""
    names = genes or [f"g{i}" for i in range(values.shape[0])]
    lines = ["\t".join(f"s{j}" for j in range(values.shape[1]))]
    for name, row in zip(names, values, strict=True):
        cells = [nan if np.isnan(v) else repr(float(v)) for v in row]
        lines.append("\t".join([name, *cells]))
    path.write_text("\n".join(lines) + "\n")
    return path


def messy_matrix(seed: int, genes: int = 60, samples: int = 40) -> np.ndarray:
    """Correlated genes with missing values, ties and outliers, plus a constant gene, as float32.

    Genes come in groups sharing a latent profile, so many pairs correlate. A third of the genes is
    left complete and outlier-free-ish, a third gets planted outliers, a third missing values; some
    genes are rounded to create ties, one is constant, one is mostly missing.
    """
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(6, samples))
    group = rng.integers(0, 6, size=genes)
    loading = rng.uniform(0.3, 1.0, size=genes) * rng.choice([-1, 1], size=genes)
    values = loading[:, None] * latent[group] + rng.normal(scale=0.5, size=(genes, samples)) + 5.0
    third = genes // 3
    for g in range(third, 2 * third):
        hit = rng.choice(samples, size=rng.integers(1, 4), replace=False)
        values[g, hit] += rng.choice([-1, 1], size=hit.size) * rng.uniform(4, 8, size=hit.size)
    for g in range(2 * third, genes):
        values[g, rng.random(samples) < rng.uniform(0.02, 0.3)] = np.nan
    for g in rng.choice(genes, size=genes // 4, replace=False):
        values[g] = np.round(values[g] * 2) / 2
    values[1] = 3.0
    values[genes - 1, rng.random(samples) < 0.7] = np.nan
    return values.astype(np.float32)


def write_pair_files(stem: Path, genes: list[str], samples: int, records: list[tuple[int, int, float, str]]) -> dict[str, Path]:
    """Hand-made .emx, .cmx and .ccm at stem.*: records (x, y, r, sample string) in stored order, a pair
    with several clusters as consecutive records (as GMM mode stores them)."""
    files = {kind: stem.with_suffix(f".{kind}") for kind in ("emx", "cmx", "ccm")}
    values = np.zeros((len(genes), samples), dtype=np.float32)
    with open(files["emx"], "wb") as out:
        write_emx(out, ExpressionMatrix(genes, [f"s{j}" for j in range(samples)], values))
    pairs = len(genes) * (len(genes) - 1) // 2
    corr = np.array([(x, y, r) for x, y, r, _ in records], dtype=CMX_DTYPE)
    clus = np.array([(x, y, s.encode()) for x, y, _, s in records], dtype=ccm_dtype(samples))
    for kind, body in ((CMX_FORMAT, corr), (CCM_FORMAT, clus)):
        header = {"format": kind, "version": FORMAT_VERSION, "genes": len(genes), "samples": samples,
                  "pairs": pairs, "range": [0, pairs], "chunk": None, "params": {}}
        with open(files["cmx" if kind == CMX_FORMAT else "ccm"], "wb") as out:
            write_header(out, header)
            out.write(body.tobytes())
    return files
