"""Threshold by random matrix theory (KINC's rmt): walk thresholds down until the nearest-neighbour
spacing distribution of the pruned matrix's eigenvalues moves from Poisson (random) to GOE."""

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import Akima1DInterpolator

from kinc.errors import EXIT_NO_THRESHOLD, KincError

CHI_POISSON = 99.607  # chi-square, df 60, alpha 0.001
CHI_STOP = 200.0
HISTOGRAM_MAX = 3.0


@dataclass(frozen=True)
class RmtParams:
    tstart: float = 0.99
    tstep: float = 0.001
    tstop: float = 0.5
    epsilon: float = 1e-6
    mineigens: int = 50
    spline: bool = True
    minpace: int = 10
    maxpace: int = 40
    bins: int = 60

    def __post_init__(self) -> None:
        if not self.tstart > self.tstop:
            raise KincError(f"--tstart ({self.tstart}) must be greater than --tstop ({self.tstop})")
        if not self.tstep > 0:
            raise KincError(f"--tstep must be > 0, got {self.tstep}")
        if self.minpace < 1 or self.minpace >= self.maxpace:
            raise KincError(f"need 1 <= --minpace < --maxpace, got {self.minpace} and {self.maxpace}")
        if self.bins < 1:
            raise KincError(f"--bins must be >= 1, got {self.bins}")
        if self.epsilon < 0:
            raise KincError(f"--epsilon must be >= 0, got {self.epsilon}")


@dataclass(frozen=True)
class Step:
    threshold: np.float32
    size: int
    unique: int
    chi: float | None  # None: skipped (empty matrix or too few unique eigenvalues)

    def log_line(self) -> str:
        chi = -1.0 if self.chi is None else self.chi
        return f"{float(self.threshold):g}\t{self.size}\t{self.unique}\t{chi:g}"


# ------------------------------------------------------------------------------- eigen pieces


def unique_eigenvalues(eigens: np.ndarray, epsilon: float) -> np.ndarray:
    """Keep an eigenvalue (ascending) only if it exceeds the last kept one by more than epsilon."""
    if eigens.size < 2 or bool(np.all(np.diff(eigens.astype(np.float64)) > epsilon)):
        return eigens.astype(np.float32)
    kept: list[np.float32] = []
    for value in eigens:
        if not kept or abs(float(value) - float(kept[-1])) > epsilon:
            kept.append(value)
    return np.array(kept, dtype=np.float32)


def unfold(eigens: np.ndarray, pace: int) -> np.ndarray:
    """Akima-spline unfolding through every pace-th eigenvalue; the ends are pinned to 0 and 1."""
    n = eigens.size
    knots = n // pace
    index = np.arange(knots) * pace
    kx = eigens[index].astype(np.float64)
    ky = (index + 1) / n
    kx[-1], ky[-1] = float(eigens[-1]), 1.0
    spline = Akima1DInterpolator(kx, ky)
    unfolded = np.empty(n, dtype=np.float32)
    unfolded[0], unfolded[-1] = 0.0, 1.0
    unfolded[1:-1] = spline(eigens[1:-1].astype(np.float64))
    return unfolded


def spacing_chi_square(unfolded: np.ndarray, bins: int) -> float:
    """Chi-square of the nearest-neighbour spacing histogram over [0, 3) against Poisson."""
    n = unfolded.size
    spacings = (unfolded[1:] - unfolded[:-1]) * np.float32(n)
    width = np.float32(HISTOGRAM_MAX) / np.float32(bins)
    inside = spacings[(spacings >= 0) & (spacings < HISTOGRAM_MAX)]
    index = np.minimum((inside / width).astype(np.int64), bins - 1)
    observed = np.bincount(index, minlength=bins).astype(np.float64)
    edges = np.arange(bins + 1) * float(width)
    expected = (np.exp(-edges[:-1]) - np.exp(-edges[1:])) * n
    return float(np.sum((observed - expected) ** 2 / expected))


def chi_square(unique: np.ndarray, params: RmtParams) -> float | None:
    """Mean chi-square over the unfolding paces minpace..maxpace (stopping when n/pace < 5)."""
    if not params.spline:
        span = float(unique[-1]) - float(unique[0])
        scaled = ((unique.astype(np.float64) - float(unique[0])) / span).astype(np.float32)
        return spacing_chi_square(scaled, params.bins)
    chis = [
        spacing_chi_square(unfold(unique, pace), params.bins)
        for pace in range(params.minpace, params.maxpace + 1)
        if unique.size // pace >= 5
    ]
    return float(np.mean(chis)) if chis else None


# ------------------------------------------------------------------------------------ the walk


class PrunedMatrices:
    """Builds the pruned matrix for any threshold from the stored pairs, sorted once by |r|."""

    def __init__(self, genes: int, x: np.ndarray, y: np.ndarray, r: np.ndarray) -> None:
        self.genes = genes
        magnitude = np.abs(np.asarray(r, dtype=np.float32))
        self.maxima = np.zeros(genes, dtype=np.float32)
        np.maximum.at(self.maxima, np.asarray(x, dtype=np.int64), magnitude)
        order = np.argsort(-magnitude, kind="stable")
        self.x, self.y, self.r = x[order], y[order], np.asarray(r, dtype=np.float32)[order]
        self.negative_magnitude = -magnitude[order]

    def build(self, threshold: np.float32) -> np.ndarray:
        kept = np.flatnonzero(self.maxima >= threshold)
        position = np.full(self.genes, -1, dtype=np.int64)
        position[kept] = np.arange(kept.size)
        count = int(np.searchsorted(self.negative_magnitude, -threshold, side="right"))
        px, py = position[self.x[:count]], position[self.y[:count]]
        both = (px >= 0) & (py >= 0)
        matrix = np.zeros((kept.size, kept.size), dtype=np.float64)
        matrix[px[both], py[both]] = self.r[:count][both]
        np.fill_diagonal(matrix, 1.0)
        return matrix


def evaluate(pruned: PrunedMatrices, threshold: np.float32, params: RmtParams) -> Step:
    matrix = pruned.build(threshold)
    if not matrix.size:
        return Step(threshold, 0, 0, None)
    eigens = np.linalg.eigvalsh(matrix, UPLO="L").astype(np.float32)
    unique = unique_eigenvalues(eigens, params.epsilon)
    chi = chi_square(unique, params) if unique.size >= params.mineigens else None
    return Step(threshold, matrix.shape[0], unique.size, chi)


def find_threshold(pruned: PrunedMatrices, params: RmtParams) -> tuple[np.float32, list[Step]]:
    """Walk t = tstart, tstart - tstep, ... (float32 like KINC); return the threshold and the steps.

    The candidate follows every t whose chi is below 99.607; once there is a candidate, the walk stops
    at the first chi above it that reaches 200. Passing tstop first is an error."""
    threshold = np.float32(params.tstart)
    step_size, stop = np.float32(params.tstep), np.float32(params.tstop)
    final_threshold: np.float32 | None = None
    steps: list[Step] = []
    while True:
        step = evaluate(pruned, threshold, params)
        steps.append(step)
        if step.chi is not None:
            if step.chi < CHI_POISSON:
                final_threshold = threshold
            if final_threshold is not None and step.chi >= CHI_STOP:
                return final_threshold, steps
        threshold = np.float32(threshold - step_size)
        if threshold < stop:
            raise NoThreshold(params, final_threshold, steps)


class NoThreshold(KincError):
    """The walk reached --tstop without a threshold; ``steps`` holds it, ``log`` names where it was written."""

    def __init__(
        self, params: RmtParams, candidate: np.float32 | None, steps: list[Step], log: str | None = None
    ) -> None:
        self.candidate, self.steps = candidate, steps
        chis = [s.chi for s in steps if s.chi is not None]
        seen = f"chi ranged {min(chis):g}..{max(chis):g}" if chis else "no step had enough unique eigenvalues"
        found = (
            f"a candidate {float(candidate):g} was found but no chi-square >= {CHI_STOP:g} followed"
            if candidate is not None
            else f"no chi-square below {CHI_POISSON}"
        )
        super().__init__(
            f"rmt: reached --tstop {params.tstop:g} without a threshold: {found} "
            f"({len(steps)} steps from {params.tstart:g}, {seen})"
            + (f"; the walk is in {log}: choose a threshold there and pass it as a fixed one" if log else ""),
            EXIT_NO_THRESHOLD,
        )


def format_walk(steps: list[Step]) -> str:
    return "".join(step.log_line() + "\n" for step in steps)


def format_log(threshold: np.float32, steps: list[Step]) -> str:
    return format_walk(steps) + f"{float(threshold):.6g}\n"


def parse_log(text: str, path: str = "rmt log") -> tuple[float, list[Step]]:
    """The threshold and the steps back from a log written by :func:`format_log` (for redrawing a walk)."""
    lines = text.splitlines()
    if not lines:
        raise KincError(f"{path}: empty, expected step lines and a threshold")
    steps = [_parse_step(line, number, path) for number, line in enumerate(lines[:-1], start=1)]
    try:
        threshold = float(lines[-1])
    except ValueError:
        raise KincError(f"{path}: line {len(lines)}: expected the threshold, got {lines[-1]!r}") from None
    return threshold, steps


def _parse_step(line: str, number: int, path: str) -> Step:
    fields = line.split("\t")
    try:
        if len(fields) != 4:
            raise ValueError(f"{len(fields)} fields")
        t, size, unique, chi = float(fields[0]), int(fields[1]), int(fields[2]), float(fields[3])
    except ValueError:
        raise KincError(f"{path}: line {number}: expected t, size, unique, chi; got {line!r}") from None
    return Step(np.float32(t), size, unique, None if chi < 0 else chi)
