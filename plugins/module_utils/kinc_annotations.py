# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""Check a GMM run's annotation matrix on the controller, before any container is created.

The rules are those of the KINC payload's cond-test reader (images/kinc/kinc/annotations.py), so a file
`check_annotations` accepts, ``kinc run cond-test`` accepts too: UTF-8 lines split on the delimiter (a tab),
fields stripped, blank lines skipped; a header row naming the sample column and the features; one row per
GEM sample, each once, every GEM sample annotated; each tested or typed feature a column; a column tested as
ordinal holds integers, as quantitative numbers (the missing-value token aside). Standard library only.
"""

from __future__ import annotations

import math
import os

TYPES = ("categorical", "quantitative", "ordinal")


class AnnotationError(Exception):
    """The annotation matrix is not usable; the message starts with the file (and line) and says why."""


def gem_samples(path):
    """The sample names of a GEM (its first non-blank line), as kinc_gem checked it."""
    with open(path, "rb") as stream:
        for raw in stream:
            fields = raw.decode("utf-8").split()
            if fields:
                return fields
    return []


def _number(text):
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _is_integer(text):
    try:
        int(text, 10)
    except ValueError:
        return False
    return True


def _infer(values):
    if all(_is_integer(v) for v in values):  # none at all (every value missing) too, as KINC counts
        return "ordinal"
    if values and all(_number(v) is not None for v in values):
        return "quantitative"
    return "categorical"


def feature_list(value, variable):
    """A list or comma string of feature names, as a list; an empty name is an error naming the variable."""
    items = value if isinstance(value, list) else (str(value).split(",") if str(value).strip() else [])
    names = [str(name).strip() for name in items]
    if any(not name for name in names):
        raise AnnotationError(f"{variable}: {value!r} has an empty name (names are separated by commas)")
    return names


def feature_types(value):
    """A mapping or FEATURE:TYPE comma string, as {feature: type}."""
    if isinstance(value, dict):
        items = [f"{key}:{kind}" for key, kind in value.items()]
    else:
        items = feature_list(value, "kinc_feat_types")
    types = {}
    for item in items:
        feature, colon, kind = item.rpartition(":")
        if not colon or not feature.strip() or kind.strip().lower() not in TYPES:
            raise AnnotationError(f"kinc_feat_types: item {item!r} must be FEATURE:TYPE with TYPE one of "
                                  f"{'|'.join(TYPES)}")
        types[feature.strip()] = kind.strip().lower()
    return types


def _rows(path):
    if not os.path.isfile(path):
        raise AnnotationError(f"{path}: no such file" if not os.path.exists(path) else f"{path}: is not a regular file")
    rows = []
    try:
        stream = open(path, "rb")
    except OSError as error:
        raise AnnotationError(f"{path}: cannot read: {(error.strerror or str(error)).lower()}") from None
    with stream:
        for number, raw in enumerate(stream, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise AnnotationError(f"{path}: line {number}: not valid UTF-8 text ({error.reason})") from None
            text = text.rstrip("\r\n")
            if text.strip():
                rows.append((number, [field.strip() for field in text.split("\t")]))
    return rows


def check_annotations(path, samples, feat_tests=(), feat_types=None, nan="NA"):
    """Check the annotation matrix at ``path`` against the GEM's ``samples``; return what it holds, or raise
    `AnnotationError` naming the file, line and field. Empty ``feat_tests``: every feature is tested."""
    path = os.fspath(path)
    feat_types = dict(feat_types or {})
    rows = _rows(path)
    if not rows:
        raise AnnotationError(f"{path}: file is empty (expected a header line naming the sample column and the "
                              "features)")
    header_line, header = rows[0]
    known = set(samples)
    if header[0] in known:
        raise AnnotationError(f"{path}: line {header_line}: header missing: field 1 {header[0]!r} is a sample of the "
                              "GEM; the first line must name the columns (the sample column, then the features)")
    seen = {}
    for index, name in enumerate(header[1:], start=2):
        if name in seen:
            raise AnnotationError(f"{path}: line {header_line}: column {name!r} is named twice, fields {seen[name]} "
                                  f"and {index}")
        seen[name] = index
    tests = list(feat_tests) or [name for name in header[1:] if name]
    for variable, names in (("kinc_feat_tests", tests), ("kinc_feat_types", list(feat_types))):
        for name in names:
            if name not in seen:
                raise AnnotationError(f"{path}: line {header_line}: {variable} names feature {name!r}, which is not "
                                      f"a column; the features are {', '.join(header[1:]) or '(none)'}")
    if not tests:
        raise AnnotationError(f"{path}: line {header_line}: no feature to test (the header names only the sample "
                              "column)")
    by_sample = {}
    for number, fields in rows[1:]:
        if len(fields) != len(header):
            raise AnnotationError(f"{path}: line {number}: expected {len(header)} fields (sample and "
                                  f"{len(header) - 1} features, split on tabs), found {len(fields)}")
        sample = fields[0]
        if sample in by_sample:
            raise AnnotationError(f"{path}: line {number}: sample {sample!r} is annotated twice, on lines "
                                  f"{by_sample[sample][0]} and {number}")
        if sample not in known:
            raise AnnotationError(f"{path}: line {number}: sample {sample!r} is not a sample of the GEM")
        by_sample[sample] = (number, fields)
    missing = [s for s in samples if s not in by_sample]
    if missing:
        shown = ", ".join(repr(s) for s in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise AnnotationError(f"{path}: {len(missing)} of the GEM's samples not annotated ({shown}); every sample "
                              "needs a row")
    types = {}
    # In the payload's order (header columns, GEM samples), so the first bad value named is the same.
    for feature in [name for name in header[1:] if name in tests]:
        index = seen[feature] - 1
        cells = [(by_sample[s][0], by_sample[s][1][index]) for s in samples]
        kind = feat_types.get(feature) or _infer([cell[1] for cell in cells if cell[1] != nan])
        types[feature] = kind
        if kind == "categorical":
            continue
        for number, value in cells:
            if value == nan:
                continue
            if _number(value) is None or (kind == "ordinal" and not _is_integer(value)):
                want = "an integer" if kind == "ordinal" else "a number"
                raise AnnotationError(f"{path}: line {number}, field {index + 1} ({feature!r}): {value!r} is not "
                                      f"{want} nor the missing-value token {nan!r}, but {feature!r} is tested as "
                                      f"{kind}")
    return {"path": os.path.abspath(path), "samples": len(by_sample), "features": tests, "types": types}
