"""Planted expression data for the GMM and cond-test tests: groups of genes co-expressed in condition A
only, shifted between conditions, co-expressed over all samples, or independent; and its annotation matrix."""

from pathlib import Path

import numpy as np

SAMPLES = 60
HALF = 30  # samples 0..29 are condition A, 30..59 condition B
GROUPS = {"cond": range(6), "shift": range(6, 12), "all": range(12, 16), "indep": range(16, 24)}


def planted(seed: int = 3) -> np.ndarray:
    """Genes by group: ``cond`` co-expressed in A only (B: independent noise, shifted up); ``shift`` no
    correlation within either condition, B shifted up by 4 (two blobs: high r over all samples);
    ``all`` co-expressed over all samples; ``indep`` independent noise."""
    rng = np.random.default_rng(seed)
    values = rng.normal(5.0, 1.0, size=(24, SAMPLES))
    latent = rng.normal(size=HALF)
    for g in GROUPS["cond"]:
        values[g, :HALF] = 5.0 + 1.5 * latent + rng.normal(scale=0.2, size=HALF)
        values[g, HALF:] = 9.0 + rng.normal(scale=0.6, size=HALF)
    for g in GROUPS["shift"]:
        values[g, :HALF] = 5.0 + rng.normal(scale=0.5, size=HALF)
        values[g, HALF:] = 9.0 + rng.normal(scale=0.5, size=HALF)
    latent = rng.normal(size=SAMPLES)
    for g in GROUPS["all"]:
        values[g] = 5.0 + latent + rng.normal(scale=0.3, size=SAMPLES)
    return values.astype(np.float32)


def pairs_of(group: str, other: str | None = None) -> list[tuple[int, int]]:
    """The gene pairs (x > y) within a group, or between two groups."""
    a, b = GROUPS[group], GROUPS[other or group]
    return sorted({(max(x, y), min(x, y)) for x in a for y in b if x != y})


# The features of the annotation matrix amx_rows describes.
FEAT_TESTS = "Condition,Dose,Batch"


def write_amx(path: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    head = header if header is not None else ["Sample", "Condition", "Dose", "Batch"]
    lines = ([("\t".join(head))] if head else []) + ["\t".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def amx_rows(values: np.ndarray) -> list[list[str]]:
    """Condition A for samples 0..29, B for the rest; Dose follows gene 0 (a ``cond`` gene) in A and is
    noise in B; Batch an integer unrelated to anything."""
    rng = np.random.default_rng(11)
    dose = np.where(
        np.arange(SAMPLES) < HALF,
        2.0 * values[0] + rng.normal(scale=0.05, size=SAMPLES),
        rng.normal(size=SAMPLES),
    )
    return [[f"s{j}", "A" if j < HALF else "B", repr(float(dose[j])), str(j % 3)] for j in range(SAMPLES)]
