"""Read an annotation matrix (AMX) for cond-test, as KINC 3.4 does, with every problem named.

A header row names the columns (the first is the sample column), then one row per sample: its name and
one value per feature, fields split on ``--delim`` (a tab by default); blank lines are skipped. The rows
must be exactly the GEM's samples, each once; they are reordered to the GEM's order. The ``--nan`` token
marks a missing value.

Types, unless ``--feat-types`` names one: a column whose values (missing ones aside) are all integers is
ordinal (so is a column of missing values only, as KINC's code counts it: its regressions are all NaN),
all numbers quantitative, otherwise categorical. A categorical feature is tested once per label
(test ``Feature__Label``; the missing token is a label too, as KINC codes it), the others once (test
``Feature``).
"""

import math
from dataclasses import dataclass

import numpy as np

from kinc.errors import KincError
from kinc.formats import text_lines

TYPES = ("categorical", "quantitative", "ordinal")


@dataclass(frozen=True)
class Test:
    name: str
    feature: str
    type: str
    label: str | None  # categorical: the label tested; otherwise None

    def as_header(self) -> dict[str, object]:
        return {"name": self.name, "feature": self.feature, "type": self.type, "label": self.label}


@dataclass(frozen=True)
class Annotations:
    tests: list[Test]
    labels: dict[str, list[str]]  # categorical feature -> its column, in GEM sample order
    numbers: dict[str, np.ndarray]  # quantitative/ordinal feature -> float64 values, NaN = missing


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _is_integer(text: str) -> bool:
    try:
        int(text, 10)
    except ValueError:
        return False
    return True


def _rows(path: str, delim: str) -> list[tuple[int, list[str]]]:
    rows = []
    for number, text in text_lines(path):
        text = text.rstrip("\r\n")
        if text.strip():
            rows.append((number, [field.strip() for field in text.split(delim)]))
    return rows


def parse_feature_list(text: str, option: str) -> list[str]:
    names = [name.strip() for name in text.split(",")] if text.strip() else []
    if any(not name for name in names):
        raise KincError(f"cond-test: --{option} {text!r} has an empty name (names are separated by commas)")
    return names


def parse_feature_types(text: str) -> dict[str, str]:
    types: dict[str, str] = {}
    for item in parse_feature_list(text, "feat-types"):
        feature, colon, kind = item.rpartition(":")
        if not colon or not feature or kind.lower() not in TYPES:
            raise KincError(
                f"cond-test: --feat-types item {item!r} must be FEATURE:TYPE with TYPE one of {'|'.join(TYPES)}"
            )
        types[feature] = kind.lower()
    return types


def read_annotations(
    path: str, gem_samples: list[str], feat_tests: list[str], feat_types: dict[str, str], delim: str, nan: str
) -> Annotations:
    rows = _rows(path, delim)
    if not rows:
        raise KincError(
            f"{path}: file is empty (expected a header line naming the sample column and the features)"
        )
    header_line, header = rows[0]
    known = set(gem_samples)
    if header[0] in known:
        raise KincError(
            f"{path}: line {header_line}: header missing: field 1 {header[0]!r} is a sample of the GEM; the "
            "first line must name the columns (the sample column, then the features)"
        )
    columns = {name: index for index, name in enumerate(header) if index}
    if len(columns) != len(header) - 1:
        seen: dict[str, int] = {}
        for index, name in enumerate(header[1:], start=2):
            if name in seen:
                raise KincError(
                    f"{path}: line {header_line}: column {name!r} is named twice, fields {seen[name]} and {index}"
                )
            seen[name] = index
    for option, names in (("feat-tests", feat_tests), ("feat-types", list(feat_types))):
        for name in names:
            if name not in columns:
                raise KincError(
                    f"{path}: line {header_line}: --{option} names feature {name!r}, which is not a column; "
                    f"the features are {', '.join(header[1:]) or '(none)'}"
                )
    if not feat_tests:
        raise KincError("cond-test: --feat-tests names no feature to test")
    by_sample: dict[str, tuple[int, list[str]]] = {}
    for number, fields in rows[1:]:
        if len(fields) != len(header):
            raise KincError(
                f"{path}: line {number}: expected {len(header)} fields (sample and {len(header) - 1} features, "
                f"split on {delim!r}), found {len(fields)}"
            )
        sample = fields[0]
        if sample in by_sample:
            raise KincError(
                f"{path}: line {number}: sample {sample!r} is annotated twice, on lines {by_sample[sample][0]} "
                f"and {number}"
            )
        if sample not in known:
            raise KincError(f"{path}: line {number}: sample {sample!r} is not a sample of the GEM")
        by_sample[sample] = (number, fields)
    missing = [s for s in gem_samples if s not in by_sample]
    if missing:
        shown = ", ".join(repr(s) for s in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise KincError(
            f"{path}: {len(missing)} of the GEM's samples not annotated ({shown}); every sample needs a row"
        )
    ordered = [by_sample[s] for s in gem_samples]
    tests: list[Test] = []
    labels: dict[str, list[str]] = {}
    numbers: dict[str, np.ndarray] = {}
    for feature in header[1:]:
        if feature not in feat_tests:
            continue
        index = columns[feature]
        cells = [(number, fields[index]) for number, fields in ordered]
        present = [value for _, value in cells if value != nan]
        kind = feat_types.get(feature) or _infer(present)
        if kind == "categorical":
            labels[feature] = [value for _, value in cells]
            first_seen: dict[str, int] = {}
            for number, fields in sorted(ordered, key=lambda row: row[0]):
                first_seen.setdefault(fields[index], number)
            tests.extend(Test(f"{feature}__{label}", feature, kind, label) for label in first_seen)
            continue
        values = np.empty(len(cells))
        for i, (number, value) in enumerate(cells):
            parsed = math.nan if value == nan else _number(value)
            if parsed is None or (kind == "ordinal" and value != nan and not _is_integer(value)):
                want = "an integer" if kind == "ordinal" else "a number"
                raise KincError(
                    f"{path}: line {number}, field {index + 1} ({feature!r}): {value!r} is not {want} nor the "
                    f"missing-value token {nan!r}, but {feature!r} is tested as {kind}"
                )
            values[i] = parsed
        numbers[feature] = values
        tests.append(Test(feature, feature, kind, None))
    return Annotations(tests, labels, numbers)


def _infer(values: list[str]) -> str:
    if all(_is_integer(v) for v in values):  # none at all (every value missing) too, as KINC counts
        return "ordinal"
    if values and all(_number(v) is not None for v in values):
        return "quantitative"
    return "categorical"
