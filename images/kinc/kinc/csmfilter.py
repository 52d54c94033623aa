"""extract --csm: condition-test columns and the --filter-pvalue / --filter-rsquare filters (KINC 3.4).

A filter is a list joined by ``::`` of ``VALUE``, ``Feature,VALUE`` or ``Feature,Label,VALUE``, each
optionally followed by ``,gt`` or ``,lt`` (p-values default to lt: keep p below; R^2 to gt: keep above).
A bare value applies to every test, ``Feature`` to the feature's tests, ``Feature,Label`` to
``Feature__Label``. A test passes when at least one filter applies to it, its p is a number, and its p
and (regression tests) its R^2 pass every filter that applies; an edge is kept when any of its tests passes
(KINC's code; its documentation says all). Without filters every edge is kept.
"""

import math
from dataclasses import dataclass

import numpy as np

from kinc.errors import KincError
from kinc.formats import CSM_FORMAT, open_pairs


@dataclass(frozen=True)
class Rule:
    test: str | None  # None: every test; "F": feature F's tests; "F__L": that label
    value: float
    greater: bool


def parse_filter(text: str, option: str, greater_default: bool) -> list[Rule]:
    rules = []
    for item in text.split("::") if text else []:
        parts = [p.strip() for p in item.split(",")]
        greater = greater_default
        if parts and parts[-1].lower() in ("gt", "lt"):
            greater = parts.pop().lower() == "gt"
        try:
            value = float(parts[-1]) if parts and 1 <= len(parts) <= 3 else None
        except ValueError:
            value = None
        if value is None or math.isnan(value):
            raise KincError(
                f"extract: --{option} item {item!r} must be VALUE, Feature,VALUE or Feature,Label,VALUE "
                "(optionally ,gt or ,lt)"
            )
        rules.append(Rule("__".join(parts[:-1]) or None, value, greater))
    return rules


class CsmTests:
    def __init__(self, path: str, corr_header: dict, count: int, pvalue: str, rsquare: str) -> None:
        csm = open_pairs(path, CSM_FORMAT)
        try:
            self.header, self.rows = csm.header, csm.read_all()
        finally:
            csm.close()
        if self.header.get("chunk") is not None:
            raise KincError(f"{path}: is chunk {self.header['chunk']}, merge the chunks first")
        for key in ("genes", "samples", "pairs"):
            if self.header.get(key) != corr_header.get(key):
                raise KincError(
                    f"{path}: header {key} is {self.header.get(key)!r}, the .cmx's {corr_header.get(key)!r}"
                )
        if self.rows.size != count:
            raise KincError(f"{path} holds {self.rows.size} clusters but the .cmx holds {count}")
        self.tests = self.header["tests"]
        self.names = [t["name"] for t in self.tests]
        self.regression = [t.get("type") in ("quantitative", "ordinal") for t in self.tests]
        self.p_rules = parse_filter(pvalue, "filter-pvalue", False)
        self.r_rules = parse_filter(rsquare, "filter-rsquare", True)
        for rule in (*self.p_rules, *self.r_rules):
            if rule.test is not None and not any(self._applies(rule, t) for t in self.tests):
                raise KincError(
                    f"extract: filter names {rule.test!r}, which is no test of {path} ({', '.join(self.names)})"
                )

    @staticmethod
    def _applies(rule: Rule, test: dict) -> bool:
        return rule.test is None or rule.test in (test["name"], test["feature"])

    def check(self, record: int, x: int, y: int) -> None:
        row = self.rows[record]
        if (int(row["x"]), int(row["y"])) != (x, y):
            raise KincError(
                f"the .csm and .cmx disagree at record {record}: ({row['x']}, {row['y']}) vs ({x}, {y})"
            )

    def passed(self, record: int) -> list[int]:
        """The tests of the record's cluster that pass the filters (all tests when there are none)."""
        row = self.rows[record]
        if not self.p_rules and not self.r_rules:
            return list(range(len(self.tests)))
        out = []
        for i, test in enumerate(self.tests):
            p_rules = [rule for rule in self.p_rules if self._applies(rule, test)]
            r_rules = (
                [rule for rule in self.r_rules if self._applies(rule, test)] if self.regression[i] else []
            )
            ok = bool(p_rules or r_rules) and not np.isnan(row["p"][i])
            for rule in p_rules:
                ok &= bool(row["p"][i] > rule.value if rule.greater else row["p"][i] < rule.value)
            for rule in r_rules:
                ok &= bool(row["r2"][i] > rule.value if rule.greater else row["r2"][i] < rule.value)
            if ok:
                out.append(i)
        return out

    def columns(self) -> list[str]:
        cols = []
        for name, regression in zip(self.names, self.regression, strict=True):
            cols.append(f"{name}_pVal")
            if regression:
                cols.append(f"{name}_RSqr")
        return cols

    def values(self, record: int) -> list[str]:
        row, out = self.rows[record], []
        for i, regression in enumerate(self.regression):
            out.append(f"{float(row['p'][i]):.8g}")
            if regression:
                out.append(f"{float(row['r2'][i]):.8g}")
        return out
