"""KINC-style options: ``--name value`` (or ``--name=value``), each analytic with its own set."""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kinc.errors import KincError
from kinc.reduction import DEFAULT_REDUCTION, REDUCTIONS

TRUE_WORDS = ("true", "1", "yes", "on")
FALSE_WORDS = ("false", "0", "no", "off")


def parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"expected one of {'/'.join(TRUE_WORDS + FALSE_WORDS)}")


def parse_float(text: str) -> float:
    value = float(text)
    if math.isnan(value):
        raise ValueError("NaN is not allowed")
    return value


def parse_int(text: str) -> int:
    return int(text.strip(), 10)


@dataclass(frozen=True)
class Option:
    parse: Callable[[str], Any]
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""
    low: float | None = None  # KINC's range for the option, both ends included
    high: float | None = None

    def convert(self, analytic: str, name: str, text: str) -> Any:
        if self.choices:
            if text.lower() not in self.choices:
                raise KincError(f"{analytic}: --{name} must be one of {'|'.join(self.choices)}, got {text!r}")
            return text.lower()
        try:
            value = self.parse(text)
        except ValueError as exc:
            kind = getattr(self.parse, "__name__", "value").removeprefix("parse_")
            raise KincError(f"{analytic}: --{name} expects a {kind}, got {text!r} ({exc})") from None
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise KincError(f"{analytic}: --{name} must be {self.range()} (as in KINC), got {text!r}")
        return value

    def range(self) -> str:
        """The accepted range in words ("at least 1", "between 0 and 1"), or "" for any value."""
        if self.low is not None and self.high is not None:
            return f"between {self.low:g} and {self.high:g}"
        if self.low is not None:
            return f"at least {self.low:g}"
        if self.high is not None:
            return f"at most {self.high:g}"
        return ""


def _text(value: str) -> str:
    return value


# The most clusters a pair may have in KINC (Pairwise::Index::MAX_CLUSTER_SIZE).
MAX_CLUSTERS = 64


_SIMILARITY: dict[str, Option] = {
    "input": Option(_text, required=True, help="expression matrix (.emx)"),
    "ccm": Option(_text, required=True, help="output cluster matrix (.ccm)"),
    "cmx": Option(_text, required=True, help="output correlation matrix (.cmx)"),
    "clusmethod": Option(_text, "none", choices=("none", "gmm"), help="none: traditional; gmm: Gaussian mixtures per pair"),
    "corrmethod": Option(_text, "pearson", choices=("pearson", "spearman")),
    "minexpr": Option(parse_float, float("-inf"), help="drop samples below this value (code 6)"),
    "maxexpr": Option(parse_float, float("inf"), help="drop samples above this value (code 6)"),
    "minsamp": Option(parse_int, 30, help="minimum samples left for a correlation", low=1),
    "preout": Option(parse_bool, True, help="remove Tukey outliers before correlating (code 7)"),
    "postout": Option(parse_bool, True, help="gmm: remove Tukey outliers within each cluster (code 8)"),
    "minclus": Option(
        parse_int,
        1,
        help="gmm: fewest clusters fitted",
        low=1,
        high=MAX_CLUSTERS,
    ),
    "maxclus": Option(
        parse_int,
        5,
        help="gmm: most clusters fitted",
        low=1,
        high=MAX_CLUSTERS,
    ),
    "crit": Option(_text, "icl", choices=("aic", "bic", "icl"), help="gmm: criterion choosing the number of clusters"),
    "mincorr": Option(parse_float, 0.5, help="store pairs with |r| >= this", low=0, high=1),
    "maxcorr": Option(parse_float, 1.0, help="store pairs with |r| <= this", low=0, high=1),
}

ANALYTICS: dict[str, dict[str, Option]] = {
    "import-emx": {
        "input": Option(_text, required=True, help="plain-text GEM"),
        "output": Option(_text, required=True, help="expression matrix to write (.emx)"),
        "nan": Option(_text, "NA", help="token marking a missing value"),
        "samples": Option(
            parse_int, 0, help="0: first line names the samples; N: no header, N samples", low=0
        ),
    },
    "similarity": _SIMILARITY,
    "corrpower": {
        "ccm-in": Option(_text, required=True, help="cluster matrix (.ccm) of similarity"),
        "cmx-in": Option(_text, required=True, help="correlation matrix (.cmx) of similarity"),
        "ccm-out": Option(_text, required=True, help="cluster matrix to write, the powered clusters"),
        "cmx-out": Option(_text, required=True, help="correlation matrix to write, the powered clusters"),
        "alpha": Option(parse_float, 0.001, help="significance level of the power test", low=0, high=1),
        "power": Option(parse_float, 0.8, help="keep clusters with at least this power", low=0, high=1),
    },
    "cond-test": {
        "emx": Option(_text, required=True, help="expression matrix (.emx)"),
        "ccm": Option(_text, required=True, help="cluster matrix (.ccm)"),
        "cmx": Option(_text, required=True, help="correlation matrix (.cmx)"),
        "amx": Option(_text, required=True, help="annotation matrix: a header row, then a row per sample"),
        "output": Option(_text, required=True, help="condition-specific matrix to write (.csm)"),
        "feat-tests": Option(_text, required=True, help="comma-separated features to test"),
        "feat-types": Option(
            _text, "", help="FEATURE:categorical|quantitative|ordinal,... overriding the inferred types"
        ),
        "alpha": Option(parse_float, 0.001, help="significance level of the regression power check", low=0, high=1),
        "power": Option(parse_float, 0.8, help="regression results with less power are NaN", low=0, high=1),
        "delim": Option(_text, "tab", help="field separator of the annotation matrix (tab or a character)"),
        "nan": Option(_text, "NA", help="token marking a missing annotation"),
    },
    "rmt": {
        "input": Option(_text, required=True, help="correlation matrix (.cmx)"),
        "log": Option(_text, required=True, help="log to write; its last line is the threshold"),
        "reduction": Option(
            _text,
            DEFAULT_REDUCTION,
            choices=REDUCTIONS,
            help="a pair's one value among its clusters: first, cluster 0's r; maxcorr, the largest |r|; random, "
            "a cluster drawn per pair (maxsize: unsupported, as in KINC)",
        ),
        "tstart": Option(parse_float, 0.99, low=0, high=1),
        "tstep": Option(parse_float, 0.001, low=0, high=1),
        "tstop": Option(parse_float, 0.5, low=0, high=1),
        "epsilon": Option(parse_float, 1e-6, help="eigenvalues closer than this are one"),
        "mineigens": Option(parse_int, 50, help="fewer unique eigenvalues: skip the threshold", low=1),
        "spline": Option(parse_bool, True, help="unfold with Akima splines"),
        "minpace": Option(parse_int, 10, low=1),
        "maxpace": Option(parse_int, 40, low=1),
        "bins": Option(parse_int, 60, help="histogram bins over [0, 3)", low=1),
        "plot": Option(_text, "", help="also draw the walk (chi-square against t) as a PNG here"),
    },
    "extract": {
        "emx": Option(_text, required=True, help="expression matrix (.emx)"),
        "ccm": Option(_text, required=True, help="cluster matrix (.ccm)"),
        "cmx": Option(_text, required=True, help="correlation matrix (.cmx)"),
        "format": Option(_text, "text", choices=("text", "tidy", "minimal", "graphml")),
        "output": Option(_text, required=True, help="network file to write"),
        "mincorr": Option(parse_float, 0.85, low=0, high=1),
        "maxcorr": Option(parse_float, 1.0, low=0, high=1),
        "plot-histogram": Option(
            _text, "", help="also draw the histogram of the stored pairs' r as a PNG here"
        ),
        "plot-degree": Option(_text, "", help="also draw the network's degree distribution as a PNG here"),
        "csm": Option(_text, "", help="condition-specific matrix (.csm) of cond-test: keep edges passing a test"),
        "filter-pvalue": Option(
            _text, "", help="VALUE, or [Feature[,Label],]VALUE[,gt|lt] joined by '::': keep p below (lt)"
        ),
        "filter-rsquare": Option(
            _text, "", help="VALUE, or [Feature[,Label],]VALUE[,gt|lt] joined by '::': keep R^2 above (gt)"
        ),
    },
}


def parse_options(analytic: str, args: list[str]) -> dict[str, Any]:
    """Parse ``args`` against the analytic's options; every option gets a value or a default."""
    specs = ANALYTICS.get(analytic)
    if specs is None:
        raise KincError(f"unknown analytic {analytic!r}; choose one of {', '.join(ANALYTICS)}")
    given: dict[str, str] = {}
    i = 0
    while i < len(args):
        token = args[i]
        if not token.startswith("--") or token == "--":
            raise KincError(f"{analytic}: expected an option like --name value, got {token!r}")
        name, eq, inline = token[2:].partition("=")
        if name not in specs:
            raise KincError(f"{analytic}: unknown option --{name}; valid options: {_names(specs)}")
        if name in given:
            raise KincError(f"{analytic}: option --{name} given twice")
        if eq:
            given[name], i = inline, i + 1
        elif i + 1 < len(args):
            given[name], i = args[i + 1], i + 2
        else:
            raise KincError(f"{analytic}: option --{name} needs a value")
    values: dict[str, Any] = {}
    for name, spec in specs.items():
        if name in given:
            values[name] = spec.convert(analytic, name, given[name])
        elif spec.required:
            raise KincError(f"{analytic}: missing required option --{name}")
        else:
            values[name] = spec.default
    return values


def _names(specs: dict[str, Option]) -> str:
    return " ".join(f"--{name}" for name in specs)


def describe(analytic: str) -> str:
    lines = [f"options of {analytic}:"]
    for name, spec in ANALYTICS[analytic].items():
        default = (
            "(required)" if spec.required else f"(default {'none' if spec.default == '' else spec.default})"
        )
        choices = f" [{'|'.join(spec.choices)}]" if spec.choices else ""
        bounds = f" [{spec.range()}]" if spec.range() else ""
        lines.append(f"  --{name}{choices} {default}{bounds}  {spec.help}".rstrip())
    return "\n".join(lines)
