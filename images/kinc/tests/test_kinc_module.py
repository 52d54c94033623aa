"""End to end: a planted co-expression module is recovered by import-emx, similarity, rmt and extract."""

from pathlib import Path

import numpy as np
from kinc_testdata import write_gem

MODULE = 100
BACKGROUND = 600
SAMPLES = 60


def planted_gem(seed: int) -> np.ndarray:
    """Genes 0..99 share one strong profile (r about 0.9+); genes 100..699 share a weak one (r about
    0.5, spread by sampling noise), which plays the dense random background; 2% values missing."""
    rng = np.random.default_rng(seed)
    module = rng.normal(size=SAMPLES) + rng.uniform(0.1, 0.3, size=(MODULE, 1)) * rng.normal(
        size=(MODULE, SAMPLES)
    )
    background = rng.normal(size=SAMPLES) + rng.normal(size=(BACKGROUND, SAMPLES))
    values = np.vstack([module, background]) + 8.0
    values[rng.random(values.shape) < 0.02] = np.nan
    order = rng.permutation(values.shape[0])  # module genes scattered over the matrix
    return values[order].astype(np.float32), order < MODULE


def test_planted_module_is_recovered(tmp_path: Path, kinc) -> None:
    values, in_module = planted_gem(1)
    names = [f"m{i}" if m else f"b{i}" for i, m in enumerate(in_module)]
    write_gem(tmp_path / "gem.txt", values, genes=names)
    emx, cmx, ccm, log, net = (tmp_path / n for n in ("p.emx", "p.cmx", "p.ccm", "p.log", "p.txt"))
    assert kinc("run", "import-emx", "--input", tmp_path / "gem.txt", "--output", emx).code == 0
    assert kinc("run", "similarity", "--input", emx, "--ccm", ccm, "--cmx", cmx).code == 0
    result = kinc("run", "rmt", "--input", cmx, "--log", log)
    assert result.code == 0, result.err
    lines = log.read_text().splitlines()
    assert all(len(line.split("\t")) == 4 for line in lines[:-1])
    threshold = float(lines[-1])
    assert len(lines[-1].replace("0.", "", 1)) <= 6
    assert 0.6 <= threshold <= 0.85
    assert (
        kinc(
            "run",
            "extract",
            "--emx",
            emx,
            "--ccm",
            ccm,
            "--cmx",
            cmx,
            "--output",
            net,
            "--mincorr",
            lines[-1],
        ).code
        == 0
    )
    edges = [line.split("\t") for line in net.read_text().splitlines()[1:]]
    assert all(abs(float(e[2])) >= threshold for e in edges)
    inside = sum(e[0].startswith("m") and e[1].startswith("m") for e in edges)
    precision, recall = inside / len(edges), inside / (MODULE * (MODULE - 1) // 2)
    assert precision >= 0.75, (threshold, precision)
    assert recall >= 0.95, (threshold, recall)
