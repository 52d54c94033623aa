"""Our file formats: one JSON header line, then little-endian binary records.

* ``.emx`` (expression matrix): header ``{"format": "kinc-emx", "version": 1, "genes": [...],
  "samples": [...]}``, then genes x samples float32 values, row-major; NaN marks a missing value.
* ``.cmx`` (correlation matrix): header ``{"format": "kinc-cmx", ...}``, then one 12-byte record per
  stored pair: int32 x, int32 y (x > y), float32 r.
* ``.ccm`` (cluster matrix): header ``{"format": "kinc-ccm", ...}``, then one record per stored pair, in
  the same order as the .cmx: int32 x, int32 y, then one ASCII byte per sample (``1`` used, ``6`` out of
  expression range, ``7`` pre-outlier, ``9`` missing).
* ``.csm`` (condition tests, from cond-test): header ``{"format": "kinc-csm", ..., "tests": [{"name",
  "feature", "type", "label"}, ...]}``, then one record per cluster, in the .cmx order: int32 x, int32 y,
  T float64 p-values, T float64 R^2 (T tests, in the header's order; NaN = not tested).

Pair files share the header keys ``genes``, ``samples`` (counts), ``pairs`` (total pairs of the matrix),
``range`` ([start, end) of raw pair indices covered), ``chunk`` (null or [index, count]) and ``params``
(the similarity options, as strings).
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from kinc.errors import KincError

EMX_FORMAT = "kinc-emx"
CMX_FORMAT = "kinc-cmx"
CCM_FORMAT = "kinc-ccm"
CSM_FORMAT = "kinc-csm"
FORMAT_VERSION = 1
_HEADER_LIMIT = 1 << 28
_READ_RECORDS = 1 << 16

CMX_DTYPE = np.dtype([("x", "<i4"), ("y", "<i4"), ("r", "<f4")])


def ccm_dtype(samples: int) -> np.dtype:
    return np.dtype([("x", "<i4"), ("y", "<i4"), ("samples", f"S{max(samples, 1)}")])


def csm_dtype(tests: int) -> np.dtype:
    return np.dtype([("x", "<i4"), ("y", "<i4"), ("p", "<f8", (tests,)), ("r2", "<f8", (tests,))])


def _csm_tests(header: dict[str, Any], path: str) -> int:
    tests = header.get("tests")
    if (
        not isinstance(tests, list)
        or not tests
        or not all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in tests)
    ):
        raise KincError(f"{path}: header field 'tests' must be a non-empty list of tests, got {tests!r}")
    return len(tests)


def pair_file_header(
    kind: str,
    genes: int,
    samples: int,
    pairs: int,
    span: tuple[int, int],
    chunk: tuple[int, int] | None,
    params: dict[str, Any],
) -> dict[str, Any]:
    """The header a pair file (CMX, CCM, CSM) starts with: span its range of pairs, chunk (index, chunks)
    for a chunk's file, else None."""
    return {
        "format": kind,
        "version": FORMAT_VERSION,
        "genes": genes,
        "samples": samples,
        "pairs": pairs,
        "range": list(span),
        "chunk": list(chunk) if chunk else None,
        "params": params,
    }


def write_header(out: BinaryIO, header: dict[str, Any]) -> None:
    out.write(json.dumps(header, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n")


def open_input(path: str) -> BinaryIO:
    try:
        return open(path, "rb")
    except FileNotFoundError as exc:
        raise KincError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise KincError(f"{path}: is a directory, expected a file") from exc
    except OSError as exc:
        raise KincError(f"{path}: cannot open: {exc.strerror}") from exc


def text_lines(path: str) -> Iterator[tuple[int, str]]:
    """Yield (line number, text) for each line of a UTF-8 text input, naming the line that is not UTF-8."""
    with open_input(path) as f:
        for number, raw in enumerate(f, start=1):
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise KincError(f"{path}: line {number}: not valid UTF-8 text ({exc.reason})") from exc


def read_header(f: BinaryIO, path: str, expected: str) -> dict[str, Any]:
    line = f.readline(_HEADER_LIMIT)
    if not line:
        raise KincError(f"{path}: file is empty, expected a {expected} file")
    try:
        header = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KincError(f"{path}: line 1: not a {expected} file (bad header: {exc})") from exc
    if not isinstance(header, dict) or header.get("format") != expected:
        found = header.get("format") if isinstance(header, dict) else type(header).__name__
        raise KincError(f"{path}: not a {expected} file (header format is {found!r})")
    if header.get("version") != FORMAT_VERSION:
        raise KincError(f"{path}: unsupported {expected} version {header.get('version')!r}")
    return header


# ----------------------------------------------------------------------------------------- emx


@dataclass(frozen=True)
class ExpressionMatrix:
    genes: list[str]
    samples: list[str]
    values: np.ndarray  # float32, genes x samples, NaN = missing


def write_emx(out: BinaryIO, emx: ExpressionMatrix) -> None:
    write_header(
        out, {"format": EMX_FORMAT, "version": FORMAT_VERSION, "genes": emx.genes, "samples": emx.samples}
    )
    out.write(np.ascontiguousarray(emx.values, dtype="<f4").tobytes())


def read_emx_header(path: str) -> dict[str, Any]:
    with open_input(path) as f:
        return _checked_emx_header(read_header(f, path, EMX_FORMAT), path)


def _checked_emx_header(header: dict[str, Any], path: str) -> dict[str, Any]:
    for key in ("genes", "samples"):
        names = header.get(key)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise KincError(
                f"{path}: header field {key!r} must be a list of names, got {type(names).__name__}"
            )
    return header


def read_emx(path: str) -> ExpressionMatrix:
    with open_input(path) as f:
        header = _checked_emx_header(read_header(f, path, EMX_FORMAT), path)
        body = f.read()
    genes, samples = header["genes"], header["samples"]
    expected = len(genes) * len(samples) * 4
    if len(body) != expected:
        raise KincError(
            f"{path}: expected {expected} bytes of values for {len(genes)} genes x {len(samples)} samples, "
            f"found {len(body)} (truncated or corrupt)"
        )
    values = np.frombuffer(body, dtype="<f4").reshape(len(genes), len(samples)).astype(np.float32)
    return ExpressionMatrix(genes, samples, values)


# ----------------------------------------------------------------------------------- cmx / ccm


@dataclass(frozen=True)
class PairFile:
    """An open .cmx or .ccm file positioned at its first record."""

    path: str
    header: dict[str, Any]
    dtype: np.dtype
    file: BinaryIO
    count: int

    def blocks(self, records: int = _READ_RECORDS) -> Iterator[np.ndarray]:
        left = self.count
        while left:
            n = min(records, left)
            yield self.read(n)
            left -= n

    def read(self, records: int) -> np.ndarray:
        """The next ``records`` records (read-only)."""
        data = self.file.read(records * self.dtype.itemsize)
        if len(data) != records * self.dtype.itemsize:
            raise KincError(f"{self.path}: file changed while reading (truncated)")
        return np.frombuffer(data, dtype=self.dtype)

    def read_all(self) -> np.ndarray:
        parts = list(self.blocks())
        return np.concatenate(parts) if parts else np.empty(0, dtype=self.dtype)

    def close(self) -> None:
        self.file.close()


def open_pairs(path: str, expected: str) -> PairFile:
    f = open_input(path)
    try:
        header = read_header(f, path, expected)
        samples = header.get("samples")
        if not isinstance(samples, int) or samples < 0:
            raise KincError(f"{path}: header field 'samples' must be a count, got {samples!r}")
        if expected == CSM_FORMAT:
            dtype = csm_dtype(_csm_tests(header, path))
        else:
            dtype = CMX_DTYPE if expected == CMX_FORMAT else ccm_dtype(samples)
        start = f.tell()
        size = f.seek(0, 2) - start
        f.seek(start)
        if size % dtype.itemsize:
            raise KincError(
                f"{path}: body of {size} bytes is not a whole number of {dtype.itemsize}-byte records "
                "(truncated or corrupt)"
            )
    except BaseException:
        f.close()
        raise
    return PairFile(path, header, dtype, f, size // dtype.itemsize)
