# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""Check a user's GEM (gene expression matrix) on the controller, before any container is created.

The rules are those of the KINC payload's parser (images/kinc/kinc/gem.py), so a file `check_gem` accepts,
``kinc run import-emx`` accepts too:

- lines end at ``\\n`` and are UTF-8; each splits on runs of whitespace (as Python's ``str.split()``), so
  trailing tabs and ``\\r`` are harmless and blank lines are skipped;
- the first non-blank line names the samples, each once; every other non-blank line is a gene name, used
  once, then one field per sample: a number (as Python's ``float()`` reads it) or the missing-value token;
- an empty cell does not make an empty field: it shifts the rest of the row, which then has a field too few.

`check_gem` also refuses a GEM with fewer samples than ``minsamp``: no pair could keep that many, so the
network would be empty. It reads the file once, never writes it, and needs only the standard library.
"""

from __future__ import annotations

import hashlib
import math
import os
import stat


class GemError(Exception):
    """The GEM is not usable; the message starts with the file (and line) and says why."""


def _is_value(field, nan):
    if field == nan:
        return True
    try:
        float(field)
    except ValueError:
        return False
    return True


class _Checker:
    """The state of one pass over the lines of a GEM."""

    def __init__(self, shown, nan, minsamp):
        self.shown = shown
        self.nan = nan
        self.minsamp = minsamp
        self.header = None  # (line number, sample names)
        self.genes = {}  # gene name -> line number
        self.missing = 0

    def error(self, line, reason):
        where = self.shown if line is None else f"{self.shown}: line {line}"
        return GemError(f"{where}: {reason}")

    def line(self, number, fields):
        if self.header is None:
            self.take_header(number, fields)
        else:
            self.take_row(number, fields)

    def take_header(self, number, names):
        seen = {}
        for field, name in enumerate(names, start=1):
            if name in seen:
                raise self.error(
                    number,
                    f"sample {name!r} is named twice in the header, fields {seen[name]} and {field} "
                    f"(the values' columns {seen[name] + 1} and {field + 1})",
                )
            seen[name] = field
        self.header = (number, names)

    def take_row(self, number, fields):
        samples = self.header[1]
        width = len(samples) + 1
        if len(fields) != width:
            self.wrong_width(number, fields, width)
        if not self.genes and len(samples) < self.minsamp:
            # Only now is the first line known to be a header (rather than a gene row where it belongs).
            raise self.error(
                self.header[0],
                f"{len(samples)} samples, fewer than kinc_minsamp ({self.minsamp}): no gene pair could keep "
                f"{self.minsamp} samples, so the network would be empty (lower kinc_minsamp or add samples)",
            )
        gene = fields[0]
        if gene in self.genes:
            raise self.error(number, f"gene {gene!r} is listed twice, on lines {self.genes[gene]} and {number}")
        self.genes[gene] = number
        values = fields[1:]
        try:
            numbers = [float(value) for value in values if value != self.nan]
        except ValueError:
            for column, value in enumerate(values):
                if not _is_value(value, self.nan):
                    raise GemError(
                        f"{self.shown}: line {number}, column {column + 2} (sample {samples[column]!r}): "
                        f"{value!r} is neither a number nor the missing-value token {self.nan!r}"
                    ) from None
            raise self.error(number, "cannot parse values") from None
        self.missing += len(values) - len(numbers) + sum(1 for x in numbers if math.isnan(x))

    def wrong_width(self, number, fields, width):
        line, names = self.header
        # The first gene row exactly as long as the header: the header is a gene row itself, or it labels
        # the gene column too.
        first = not self.genes and len(fields) == len(names)
        if first and len(names) > 1 and all(_is_value(name, self.nan) for name in names[1:]):
            raise self.error(
                line,
                f"header missing: it looks like a gene row (a name and {len(names) - 1} values); a GEM starts "
                "with a line of sample names only",
            )
        hint = ""
        if first:
            hint = (
                f" (an empty cell shifts the row, or line {line} labels the gene column: the header names the "
                "samples only)"
            )
        elif len(fields) < width:
            hint = " (an empty cell shifts the row)"
        raise self.error(
            number,
            f"expected {width} fields (gene name and {width - 1} samples), found {len(fields)}{hint}",
        )


def _open(path, shown):
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        absolute = os.path.abspath(path)
        also = "" if absolute == path else f" (looked for {absolute})"
        raise GemError(f"{shown}: no such file{also}") from None
    except OSError as error:
        raise GemError(f"{shown}: cannot read: {_reason(error)}") from None
    if stat.S_ISDIR(mode):
        raise GemError(f"{shown}: is a directory, expected a GEM file")
    if not stat.S_ISREG(mode):
        raise GemError(f"{shown}: is not a regular file (a GEM is a text file)")
    try:
        return open(path, "rb")
    except OSError as error:
        raise GemError(f"{shown}: cannot read: {_reason(error)}") from None


def _reason(error):
    return (error.strerror or str(error)).lower()


def check_gem(path, nan="NA", minsamp=30):
    """Check the GEM at ``path`` in one pass; return what it holds, or raise `GemError` naming the problem.

    Returns ``{"path": absolute path, "sha256": hex digest of the file's bytes, "genes": gene rows,
    "samples": samples, "missing": missing cells (the ``nan`` token, or a number that reads as NaN),
    "size": bytes}``. ``nan`` must be one non-empty word and ``minsamp`` at least 1 (KINC's minimum), or
    `ValueError`.
    """
    path = os.fspath(path)
    if not isinstance(nan, str) or nan.split() != [nan]:
        raise ValueError(f"nan: {nan!r} must be one word (the token of a missing value)")
    if isinstance(minsamp, bool) or not isinstance(minsamp, int) or minsamp < 1:
        raise ValueError(f"minsamp: {minsamp!r} must be an integer of at least 1 (KINC's --minsamp minimum)")
    checker = _Checker(path, nan, minsamp)
    digest = hashlib.sha256()
    size = 0
    with _open(path, path) as stream:
        for number, raw in enumerate(stream, start=1):
            digest.update(raw)
            size += len(raw)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise checker.error(number, f"not valid UTF-8 text ({error.reason})") from None
            fields = text.split()
            if fields:
                checker.line(number, fields)
    if size == 0:
        raise checker.error(None, "file is empty (0 bytes; expected a header line of sample names, then gene rows)")
    if checker.header is None:
        raise checker.error(None, "header missing: the file holds only blank lines (expected a line of sample names)")
    if not checker.genes:
        raise checker.error(None, f"no gene rows found (only the header, line {checker.header[0]})")
    return {
        "path": os.path.abspath(path),
        "sha256": digest.hexdigest(),
        "genes": len(checker.genes),
        "samples": len(checker.header[1]),
        "missing": checker.missing,
        "size": size,
    }
