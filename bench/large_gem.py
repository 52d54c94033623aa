"""A seeded large GEM: genes x samples of noise with a few planted co-expressed modules and missing values.

Each module's genes follow one latent profile over the samples (plus noise), so their pairs correlate far
above the background's and RMT finds a threshold that keeps them; every other gene is independent noise.
A fraction of the values, chosen at random, is written as the NA token. Same arguments, same bytes.

    .venv/bin/python bench/large_gem.py OUT [--genes 4000] [--samples 100] [--seed 13] [--na 0.05]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

NA = "NA"
MODULES = 8  # planted modules
MODULE_GENES = 40  # genes in each, the first MODULES * MODULE_GENES genes
FACTORS = 10
BACKGROUND_LOADING = 0.5


def module_of(gene: int, modules: int = MODULES, size: int = MODULE_GENES) -> int | None:
    """The planted module a gene (by row) belongs to, or None for a background gene."""
    return gene // size if gene < modules * size else None


def expression(genes: int = 4000, samples: int = 100, seed: int = 13, na: float = 0.05,
               modules: int = MODULES, size: int = MODULE_GENES) -> np.ndarray:
    """The matrix (genes x samples, log2-like values around 8), NaN where a value is missing."""
    if modules * size > genes:
        raise ValueError(f"{modules} modules of {size} genes do not fit in {genes} genes")
    rng = np.random.default_rng(seed)
    # the background: every gene on the same few weak shared profiles (random loadings), so its correlations
    # run on a continuum past kinc's mincorr, one random web as in real data (what RMT tells from modules)
    loading = rng.normal(scale=BACKGROUND_LOADING, size=(genes, FACTORS))
    values = 8.0 + loading @ rng.normal(size=(FACTORS, samples)) + rng.normal(size=(genes, samples))
    for module in range(modules):
        latent = rng.normal(size=samples)
        rows = slice(module * size, (module + 1) * size)
        # a loading per gene and noise small beside it: within-module r around 0.8-0.95
        values[rows] = 8.0 + rng.uniform(0.8, 1.5, size=(size, 1)) * latent + rng.normal(scale=0.3,
                                                                                         size=(size, samples))
    values[rng.random(values.shape) < na] = np.nan
    return values


def gem_text(values: np.ndarray, nan: str = NA) -> str:
    """The GEM as kinc import-emx reads it: a header of sample names, then a gene name and its values."""
    lines = ["\t".join(f"sample{j + 1}" for j in range(values.shape[1]))]
    for i, row in enumerate(values):
        lines.append("\t".join([f"gene{i + 1}", *(nan if np.isnan(v) else f"{v:.4f}" for v in row)]))
    return "\n".join(lines) + "\n"


def write_gem(path: Path, genes: int = 4000, samples: int = 100, seed: int = 13, na: float = 0.05) -> Path:
    path.write_text(gem_text(expression(genes, samples, seed, na)))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--genes", type=int, default=4000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--na", type=float, default=0.05, help="fraction of values missing")
    options = parser.parse_args()
    write_gem(options.out, options.genes, options.samples, options.seed, options.na)
    print(f"{options.out}: {options.genes} genes x {options.samples} samples, seed {options.seed}, NA {options.na}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
