"""rmt's --reduction: the one value a pair with several clusters (consecutive records of one pair, in GMM
mode) gives the matrix rmt walks, as KINC 3.4's rmt picks it from a pair's correlations."""

import numpy as np

from kinc.errors import KincError

# KINC's names, in KINC's order; "first" is its default.
REDUCTIONS = ("first", "maxcorr", "maxsize", "random")
DEFAULT_REDUCTION = "first"


def check_reduction(name: str) -> None:
    if name == "maxsize":
        raise KincError(
            "rmt: --reduction maxsize is not supported, as in KINC 3.4 (rmt reads only the .cmx, which holds "
            "no cluster sizes); choose first, maxcorr or random"
        )
    if name not in REDUCTIONS:
        raise KincError(f"rmt: --reduction must be one of {'|'.join(REDUCTIONS)}, got {name!r}")


def reduce_clusters(records: np.ndarray, name: str) -> np.ndarray:
    """One record (x, y, r) per pair, in stored order.

    * first: cluster 0's r.
    * maxcorr: the largest |r| of the pair's clusters; KINC keeps its magnitude, so the value is never
      negative, also for a pair of one cluster.
    * random: a cluster drawn per pair. KINC draws with Qt's qrand() at every threshold; here a pair's draw
      is a hash of the pair, so a run is reproducible and a pair has one value over the whole walk.
    """
    check_reduction(name)
    if not records.size:
        return records
    x, y = records["x"], records["y"]
    first = np.ones(records.size, dtype=bool)
    first[1:] = (x[1:] != x[:-1]) | (y[1:] != y[:-1])
    starts = np.flatnonzero(first)
    if name == "first":
        return records if starts.size == records.size else records[starts]
    if name == "maxcorr":
        reduced = records[starts].copy()
        reduced["r"] = np.maximum.reduceat(np.abs(records["r"]), starts)
        return reduced
    counts = np.diff(np.append(starts, records.size))
    return records[starts + pair_draw(x[starts], y[starts], counts)]


def pair_draw(x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """A number in [0, count) per pair, fixed by the pair alone: splitmix64 of its raw index x(x-1)/2 + y."""
    z = (x.astype(np.uint64) * (x.astype(np.uint64) - np.uint64(1)) // np.uint64(2)) + y.astype(np.uint64)
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z % counts.astype(np.uint64)).astype(np.int64)
