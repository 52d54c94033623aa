"""Pair indexing: lower triangle, row-major, (1,0), (2,0), (2,1), (3,0) ...; index x(x-1)/2 + y."""

import numpy as np

from kinc.errors import KincError


def pair_count(genes: int) -> int:
    return genes * (genes - 1) // 2


def pair_index(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.int64)
    return x * (x - 1) // 2 + np.asarray(y, dtype=np.int64)


def pair_coords(start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of the raw pair indices start..end-1."""
    k = np.arange(start, end, dtype=np.int64)
    x = ((1.0 + np.sqrt(1.0 + 8.0 * k.astype(np.float64))) / 2.0).astype(np.int64)
    x = np.where(x * (x - 1) // 2 > k, x - 1, x)
    x = np.where((x + 1) * x // 2 <= k, x + 1, x)
    return x, k - x * (x - 1) // 2


def chunk_range(index: int, chunks: int, pairs: int) -> tuple[int, int]:
    """The contiguous raw index range [start, end) of chunk ``index`` (0-based) of ``chunks``."""
    if chunks < 1:
        raise KincError(f"the number of chunks must be >= 1, got {chunks}")
    if not 0 <= index < chunks:
        raise KincError(f"chunk index must be in 0..{chunks - 1}, got {index}")
    return index * pairs // chunks, (index + 1) * pairs // chunks


def chunk_path(path: str, index: int, chunks: int) -> str:
    """The file chunk ``index`` of ``chunks`` writes for the output ``path``."""
    return f"{path}.chunk-{index}-of-{chunks}"
