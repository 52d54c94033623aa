"""Read a plain-text gene expression matrix (GEM) the way KINC's import-emx does.

Lines split on runs of whitespace; blank lines are skipped. The first line names the samples (one field
fewer than a gene row); each gene row is a name and one value per sample, a number or the ``--nan`` token.
Gene names and sample names must be unique: the network names its genes, and a repeated name would make
two genes (or samples) one. The controller checks a GEM with the same rules before any run
(plugins/module_utils/kinc_gem.py), so the two must change together.
"""

from collections.abc import Iterator

import numpy as np

from kinc.errors import KincError
from kinc.formats import ExpressionMatrix, text_lines


def _lines(path: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, whitespace-split fields) for every non-blank line."""
    for number, text in text_lines(path):
        fields = text.split()
        if fields:
            yield number, fields


def _is_value(field: str, nan: str) -> bool:
    if field == nan:
        return True
    try:
        float(field)
    except ValueError:
        return False
    return True


def _parse_values(fields: list[str], nan: str, path: str, line: int, samples: list[str]) -> np.ndarray:
    values = [("nan" if v == nan else v) for v in fields]
    try:
        return np.array(values, dtype=np.float64)
    except ValueError:
        pass
    for column, value in enumerate(fields):
        if not _is_value(value, nan):
            raise KincError(
                f"{path}: line {line}, column {column + 2} (sample {samples[column]!r}): "
                f"{value!r} is neither a number nor the missing-value token {nan!r}"
            ) from None
    raise KincError(f"{path}: line {line}: cannot parse values")


def _check_samples(path: str, line: int, names: list[str]) -> None:
    """Each sample named once; a repeat names both header fields and the value columns they head."""
    seen: dict[str, int] = {}
    for field, name in enumerate(names, start=1):
        if name in seen:
            raise KincError(
                f"{path}: line {line}: sample {name!r} is named twice in the header, fields {seen[name]} and "
                f"{field} (the values' columns {seen[name] + 1} and {field + 1})"
            )
        seen[name] = field


def read_gem(path: str, nan: str = "NA", samples: int = 0) -> ExpressionMatrix:
    """Parse a GEM. With ``samples == 0`` the first line holds the sample names; otherwise there is no
    header and the samples are named 1..N."""
    if samples < 0:
        raise KincError(f"--samples must be >= 0, got {samples}")
    lines = _lines(path)
    header: tuple[int, list[str]] | None = None
    if samples == 0:
        header = next(lines, None)
        if header is None:
            raise KincError(f"{path}: file is empty (expected a header line of sample names)")
        sample_names = header[1]
        _check_samples(path, header[0], sample_names)
    else:
        sample_names = [str(i + 1) for i in range(samples)]
    genes: dict[str, int] = {}
    rows: list[np.ndarray] = []
    width = len(sample_names) + 1
    for number, fields in lines:
        if len(fields) != width:
            # The first gene row as long as the header: the header is a gene row, or it labels the
            # gene column too.
            first = header if not genes and header is not None and len(fields) == len(header[1]) else None
            if first is not None and _looks_like_gene_row(first[1], nan):
                raise KincError(
                    f"{path}: line {first[0]}: header missing: it looks like a gene row (a name and "
                    f"{len(first[1]) - 1} values); a GEM starts with a line of sample names only "
                    "(or give --samples N for a file without one)"
                )
            hint = ""
            if first is not None:
                hint = (
                    f" (an empty cell shifts the row, or line {first[0]} labels the gene column: the header "
                    "names the samples only)"
                )
            elif len(fields) < width:
                hint = " (an empty cell shifts the row)"
            raise KincError(
                f"{path}: line {number}: expected {width} fields (gene name and "
                f"{len(sample_names)} samples), found {len(fields)}{hint}"
            )
        gene = fields[0]
        if gene in genes:
            raise KincError(
                f"{path}: line {number}: gene {gene!r} is listed twice, on lines {genes[gene]} and {number}"
            )
        genes[gene] = number
        rows.append(_parse_values(fields[1:], nan, path, number, sample_names))
    if not genes:
        raise KincError(f"{path}: no gene rows found")
    values = np.vstack(rows).astype(np.float32)
    return ExpressionMatrix(list(genes), list(sample_names), values)


def _looks_like_gene_row(fields: list[str], nan: str) -> bool:
    """A first line of a name and values only: a gene row where the header should be."""
    return len(fields) > 1 and all(_is_value(field, nan) for field in fields[1:])
