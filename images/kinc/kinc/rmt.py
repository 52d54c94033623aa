"""Threshold by random matrix theory (KINC's rmt): walk thresholds down until the nearest-neighbour
spacing distribution of the pruned matrix's eigenvalues moves from Poisson (random) to GOE."""

from dataclasses import dataclass

import numpy as np

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
    """Keep an eigenvalue (ascending) only if it exceeds the last kept one by more than epsilon.

    A value more than epsilon above its predecessor is always kept (the last kept one is no larger
    than the predecessor), so only runs of close values need the one-by-one comparison."""
    values = eigens.astype(np.float32)
    if values.size < 2:
        return values
    wide = eigens.astype(np.float64)
    close = np.flatnonzero(~(np.diff(wide) > epsilon)) + 1  # indices within epsilon of the one before
    if not close.size:
        return values
    keep = np.ones(values.size, dtype=bool)
    last = 0.0
    previous = -2
    for i in close.tolist():
        if i != previous + 1:  # a new run starts: its first value (i - 1) is kept
            last = float(wide[i - 1])
        if abs(float(wide[i]) - last) > epsilon:
            last = float(wide[i])
        else:
            keep[i] = False
        previous = i
    return values[keep]


def _paces(n: int, params: RmtParams) -> np.ndarray:
    """The unfolding paces minpace..maxpace, up to the first that leaves fewer than 5 knots."""
    paces = []
    for pace in range(params.minpace, params.maxpace + 1):
        if n // pace < 5:
            break
        paces.append(pace)
    return np.array(paces, dtype=np.int64)


def unfold_paces(eigens: np.ndarray, paces: np.ndarray) -> np.ndarray:
    """Akima-spline unfolding of ascending, distinct eigenvalues, one row per pace (float32, paces x n).

    Per pace: knots x = e[i*pace], y = (i*pace + 1)/n for i < n//pace, the last knot replaced by
    (e[-1], 1); Akima's slopes (the end slopes extrapolated, a slope weighted only where the weights
    exceed 1e-9 of their largest); the cubic pieces evaluated at e[1..n-2]; the ends pinned to 0 and 1.
    The arithmetic is the one of scipy's Akima1DInterpolator, so the values are the same, bit for bit."""
    e = eigens.astype(np.float64)
    n = e.size
    rows = np.arange(paces.size)
    knots = n // paces  # >= 5 for every pace
    width = int(knots.max())
    column = np.arange(width)
    valid = column < knots[:, None]
    last = knots - 1
    index = paces[:, None] * column
    kx = e[np.minimum(index, n - 1)]
    ky = (index + 1) / n
    kx[rows, last], ky[rows, last] = e[-1], 1.0
    beyond = column[None, :] - last[:, None]
    kx = np.where(valid, kx, e[-1] + beyond)  # padding: increasing, never used
    ky = np.where(valid, ky, 1.0)
    dx = np.diff(kx, axis=1)
    slope = np.diff(ky, axis=1) / dx
    m = np.empty((paces.size, width + 3))
    m[:, 2 : width + 1] = slope
    m[:, 1] = 2.0 * m[:, 2] - m[:, 3]
    m[:, 0] = 2.0 * m[:, 1] - m[:, 2]
    m[rows, knots + 1] = 2.0 * m[rows, knots] - m[rows, knots - 1]
    m[rows, knots + 2] = 2.0 * m[rows, knots + 1] - m[rows, knots]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        t = 0.5 * (m[:, 3:] + m[:, :-3])
        dm = np.abs(np.diff(m, axis=1))
        f1, f2 = dm[:, 2:], dm[:, :-2]
        f12 = f1 + f2
        largest = np.where(valid, f12, -np.inf).max(axis=1)
        weighted = valid & (f12 > 1e-9 * largest[:, None])
        t = np.where(weighted, m[:, 1 : width + 1] + (f2 / f12) * (m[:, 2 : width + 2] - m[:, 1 : width + 1]), t)
        # Cubic Hermite pieces on each interval, highest power first.
        cubic = (t[:, :-1] + t[:, 1:] - 2 * slope) / dx
        c0 = cubic / dx
        c1 = (slope - t[:, :-1]) / dx - cubic
        c2, c3 = t[:, :-1], ky[:, :-1]
    # e[j] lies in interval j // pace (knots sit on eigenvalues), the last interval reaching e[-1]: the
    # points of a row are its intervals' in turn, interval 0 holding pace - 1 of them (e[0] is pinned),
    # the last the rest, the padding none. So repeating each interval's start and coefficients that
    # many times lines them up with e[1..n-2].
    count = np.where(valid[:, 1:], paces[:, None], 0)
    count[:, 0] -= 1
    count[rows, knots - 2] = n - 1 - (knots - 2) * paces
    pieces = np.stack([kx[:, :-1], c3, c2, c1, c0]).reshape(5, -1)
    start, p3, p2, p1, p0 = np.repeat(pieces, count.ravel(), axis=1).reshape(5, paces.size, n - 2)
    s = e[1:-1][None, :] - start
    s2 = s * s
    values = p3 + p2 * s
    values = values + p1 * s2
    values = values + p0 * (s2 * s)
    unfolded = np.empty((paces.size, n), dtype=np.float32)
    unfolded[:, 0], unfolded[:, -1] = 0.0, 1.0
    unfolded[:, 1:-1] = values
    return unfolded


def unfold(eigens: np.ndarray, pace: int) -> np.ndarray:
    """Akima-spline unfolding through every pace-th eigenvalue; the ends are pinned to 0 and 1."""
    return unfold_paces(eigens, np.array([pace], dtype=np.int64))[0]


def _expected_counts(bins: int, n: int) -> tuple[np.float32, np.ndarray]:
    width = np.float32(HISTOGRAM_MAX) / np.float32(bins)
    edges = np.arange(bins + 1) * float(width)
    return width, (np.exp(-edges[:-1]) - np.exp(-edges[1:])) * n


def spacing_chi_squares(unfolded: np.ndarray, bins: int) -> np.ndarray:
    """Per row: chi-square of the nearest-neighbour spacing histogram over [0, 3) against Poisson."""
    rows, n = unfolded.shape
    spacings = (unfolded[:, 1:] - unfolded[:, :-1]) * np.float32(n)
    width, expected = _expected_counts(bins, n)
    inside = (spacings >= 0) & (spacings < HISTOGRAM_MAX)
    index = np.minimum((spacings[inside] / width).astype(np.int64), bins - 1)
    index += np.broadcast_to(np.arange(0, rows * bins, bins)[:, None], spacings.shape)[inside]
    observed = np.bincount(index, minlength=rows * bins).reshape(rows, bins).astype(np.float64)
    return np.sum((observed - expected) ** 2 / expected, axis=1)


def spacing_chi_square(unfolded: np.ndarray, bins: int) -> float:
    """Chi-square of the nearest-neighbour spacing histogram over [0, 3) against Poisson."""
    return float(spacing_chi_squares(unfolded[None, :], bins)[0])


def chi_square(unique: np.ndarray, params: RmtParams) -> float | None:
    """Mean chi-square over the unfolding paces minpace..maxpace (stopping when n/pace < 5)."""
    if not params.spline:
        span = float(unique[-1]) - float(unique[0])
        scaled = ((unique.astype(np.float64) - float(unique[0])) / span).astype(np.float32)
        return spacing_chi_square(scaled, params.bins)
    paces = _paces(unique.size, params)
    if not paces.size:
        return None
    return float(np.mean(spacing_chi_squares(unfold_paces(unique, paces), params.bins)))


# ------------------------------------------------------------------------------------ the walk


class PrunedMatrices:
    """The pruned matrix, and its eigenvalues, for any threshold, from the stored pairs.

    A gene is kept at t when its maximum >= t, and a pair is an entry when |r| >= t and both genes are
    kept: with the maximum of x at least |r|, when min(|r|, maximum of y) >= t. As t falls, genes and
    entries only join, so the connected components of the matrix only grow and merge. Its eigenvalues are
    those of its components; :meth:`eigenvalues` keeps each component's and recomputes only the
    components that changed since the previous (higher) threshold. A gene without entries is a component
    of its own with the eigenvalue 1, so only components of two genes or more reach LAPACK. The pairs are
    distinct (rmt reduces a pair's clusters to one value first)."""

    def __init__(self, genes: int, x: np.ndarray, y: np.ndarray, r: np.ndarray) -> None:
        self.genes = genes
        self.x, self.y = np.asarray(x, dtype=np.int64), np.asarray(y, dtype=np.int64)
        self.r = np.asarray(r, dtype=np.float32)
        magnitude = np.abs(self.r)
        self.maxima = np.zeros(genes, dtype=np.float32)
        np.maximum.at(self.maxima, self.x, magnitude)
        self._gene_order = np.argsort(-self.maxima, kind="stable")
        self._gene_entry = -self.maxima[self._gene_order]
        entry = np.minimum(magnitude, self.maxima[self.y])  # a pair's first threshold
        # Not a stable sort (ten times faster here): the pairs entering at one threshold join in one step,
        # whatever their order.
        self._pair_order = np.argsort(-entry)
        self._pair_entry = -entry[self._pair_order]
        self._local = np.zeros(genes, dtype=np.int64)  # scratch: a gene's row in its component's matrix
        self._reset()

    def _reset(self) -> None:
        self._threshold: np.float32 | None = None
        self._genes_in = self._pairs_in = 0
        self._parent: dict[int, int] = {}
        self._members: dict[int, list[int]] = {}
        self._entries: dict[int, list[int]] = {}
        self._eigens: dict[int, np.ndarray] = {}  # float32, ascending, per component of >= 2 genes
        self._singletons = 0  # components of one gene

    def build(self, threshold: np.float32) -> np.ndarray:
        """The whole pruned matrix at ``threshold`` (float64; the lower triangle holds the entries)."""
        kept = np.flatnonzero(self.maxima >= threshold)
        position = np.full(self.genes, -1, dtype=np.int64)
        position[kept] = np.arange(kept.size)
        entries = np.flatnonzero(np.abs(self.r) >= threshold)
        px, py = position[self.x[entries]], position[self.y[entries]]
        both = (px >= 0) & (py >= 0)
        matrix = np.zeros((kept.size, kept.size), dtype=np.float64)
        matrix[px[both], py[both]] = self.r[entries][both]
        np.fill_diagonal(matrix, 1.0)
        return matrix

    def _root(self, gene: int) -> int:
        parent = self._parent
        root = gene
        while parent[root] != root:
            root = parent[root]
        while parent[gene] != root:
            parent[gene], gene = root, parent[gene]
        return root

    def _advance(self, threshold: np.float32) -> set[int]:
        """Let in the genes and entries of ``threshold``; return the components of two genes or more
        that changed."""
        if self._threshold is not None and threshold > self._threshold:
            self._reset()
        self._threshold = threshold
        changed: set[int] = set()
        genes = int(np.searchsorted(self._gene_entry, -threshold, side="right"))
        for gene in self._gene_order[self._genes_in : genes].tolist():
            self._parent[gene] = gene
            self._members[gene], self._entries[gene] = [gene], []
        self._singletons += genes - self._genes_in
        pairs = int(np.searchsorted(self._pair_entry, -threshold, side="right"))
        new = self._pair_order[self._pairs_in : pairs]
        members, entries = self._members, self._entries
        for pair, gx, gy in zip(new.tolist(), self.x[new].tolist(), self.y[new].tolist(), strict=True):
            a, b = self._root(gx), self._root(gy)
            if a != b:
                if len(members[a]) < len(members[b]):
                    a, b = b, a
                self._singletons -= (len(members[a]) == 1) + (len(members[b]) == 1)
                self._parent[b] = a
                members[a] += members.pop(b)
                entries[a] += entries.pop(b)
                self._eigens.pop(b, None)
                changed.discard(b)
            entries[a].append(pair)
            changed.add(a)
        self._genes_in, self._pairs_in = genes, pairs
        return changed

    def _component_eigenvalues(self, root: int) -> np.ndarray:
        """Eigenvalues (ascending, float32) of a component's matrix, its genes in index order as they
        sit in :meth:`build`'s matrix."""
        genes = np.sort(np.array(self._members[root], dtype=np.int64))
        pairs = np.array(self._entries[root], dtype=np.int64)
        local = self._local
        local[genes] = np.arange(genes.size)
        matrix = np.zeros((genes.size, genes.size), dtype=np.float64)
        matrix[local[self.x[pairs]], local[self.y[pairs]]] = self.r[pairs]
        np.fill_diagonal(matrix, 1.0)
        return np.linalg.eigvalsh(matrix, UPLO="L").astype(np.float32)

    def eigenvalues(self, threshold: np.float32) -> np.ndarray:
        """Eigenvalues (ascending, float32) of the pruned matrix at ``threshold``: those of
        ``build(threshold)``, computed per connected component (rounding to float32 keeps the order, so
        rounding each component's is rounding the whole set's)."""
        for root in self._advance(threshold):
            self._eigens[root] = self._component_eigenvalues(root)
        ones = np.ones(self._singletons, dtype=np.float32)
        return np.sort(np.concatenate([*self._eigens.values(), ones]))


def evaluate(pruned: PrunedMatrices, threshold: np.float32, params: RmtParams) -> Step:
    eigens = pruned.eigenvalues(threshold)
    if not eigens.size:
        return Step(threshold, 0, 0, None)
    unique = unique_eigenvalues(eigens, params.epsilon)
    chi = chi_square(unique, params) if unique.size >= params.mineigens else None
    return Step(threshold, eigens.size, unique.size, chi)


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
