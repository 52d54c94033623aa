"""Read a plain-text gene expression matrix (GEM) the way KINC's import-emx does."""

from collections.abc import Iterator

import numpy as np

from kinc.errors import KincError
from kinc.formats import ExpressionMatrix, open_input


def _lines(path: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, whitespace-split fields) for every non-blank line."""
    with open_input(path) as f:
        for number, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise KincError(f"{path}: line {number}: not valid UTF-8 text ({exc.reason})") from exc
            fields = text.split()
            if fields:
                yield number, fields


def _parse_values(fields: list[str], nan: str, path: str, line: int, samples: list[str]) -> np.ndarray:
    values = [("nan" if v == nan else v) for v in fields]
    try:
        return np.array(values, dtype=np.float64)
    except ValueError:
        pass
    for column, value in enumerate(fields):
        if value == nan:
            continue
        try:
            float(value)
        except ValueError:
            raise KincError(
                f"{path}: line {line}, column {column + 2} (sample {samples[column]!r}): "
                f"{value!r} is neither a number nor the missing-value token {nan!r}"
            ) from None
    raise KincError(f"{path}: line {line}: cannot parse values")


def read_gem(path: str, nan: str = "NA", samples: int = 0) -> ExpressionMatrix:
    """Parse a GEM. With ``samples == 0`` the first line holds the sample names; otherwise there is no
    header and the samples are named 1..N."""
    if samples < 0:
        raise KincError(f"--samples must be >= 0, got {samples}")
    lines = _lines(path)
    if samples == 0:
        first = next(lines, None)
        if first is None:
            raise KincError(f"{path}: file is empty (expected a header line of sample names)")
        sample_names = first[1]
    else:
        sample_names = [str(i + 1) for i in range(samples)]
    genes: list[str] = []
    rows: list[np.ndarray] = []
    for number, fields in lines:
        if len(fields) != len(sample_names) + 1:
            raise KincError(
                f"{path}: line {number}: expected {len(sample_names) + 1} fields (gene name and "
                f"{len(sample_names)} samples), found {len(fields)}"
                + (" (an empty cell shifts the row)" if len(fields) < len(sample_names) + 1 else "")
            )
        genes.append(fields[0])
        rows.append(_parse_values(fields[1:], nan, path, number, sample_names))
    if not genes:
        raise KincError(f"{path}: no gene rows found")
    values = np.vstack(rows).astype(np.float32)
    return ExpressionMatrix(genes, list(sample_names), values)
