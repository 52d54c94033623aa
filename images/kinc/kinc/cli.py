"""``kinc`` command line, with KINC's vocabulary:

kinc run import-emx --input GEM --output X.emx [--nan NA] [--samples 0]
kinc run similarity --input X.emx --ccm X.ccm --cmx X.cmx [options]
kinc chunkrun I N similarity <similarity options>     (chunk I of N, 0-based)
kinc merge N similarity <similarity options>
kinc run corrpower --ccm-in X.ccm --cmx-in X.cmx --ccm-out Y.ccm --cmx-out Y.cmx [--alpha 0.001] [--power 0.8]
kinc run cond-test --emx X.emx --ccm X.ccm --cmx X.cmx --amx AMX.txt --output X.csm --feat-tests A,B [options]
kinc chunkrun I N corrpower <corrpower options>   (chunk I's similarity files into chunk I's outputs)
kinc merge N corrpower <corrpower options>
kinc chunkrun I N cond-test <cond-test options>    (merge N cond-test joins the chunks; --cmx/--ccm
                                                     the whole files or chunk I's own)
kinc run rmt --input X.cmx --log X.log [options]
kinc run extract --emx X.emx --ccm X.ccm --cmx X.cmx --output NET [--format text] [options]
"""

import sys
from collections.abc import Callable
from typing import Any

from kinc import __version__, commands
from kinc.errors import EXIT_USAGE, KincError
from kinc.options import ANALYTICS, describe, parse_options

USAGE = (__doc__ or "").strip() + "\n\n`kinc help ANALYTIC` lists an analytic's options and defaults.\n"

_RUN: dict[str, Callable[[dict[str, Any]], str]] = {
    "import-emx": commands.import_emx,
    "similarity": commands.similarity,
    "corrpower": commands.corrpower,
    "cond-test": commands.cond_test,
    "rmt": commands.rmt,
    "extract": commands.extract,
}


_CHUNKED = ("similarity", "corrpower", "cond-test")


def _count(text: str, what: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise KincError(f"{what} must be an integer, got {text!r}") from None


def _chunked(analytic: str, verb: str) -> None:
    if analytic not in _CHUNKED:
        raise KincError(f"{verb}: only {', '.join(_CHUNKED)} run in chunks, got {analytic!r}")


def dispatch(argv: list[str]) -> str:
    if not argv:
        raise KincError("missing command; try `kinc help`")
    verb, rest = argv[0], argv[1:]
    if verb == "run":
        if not rest:
            raise KincError(f"run: missing analytic; choose one of {', '.join(_RUN)}")
        if rest[0] not in _RUN:
            raise KincError(f"run: unknown analytic {rest[0]!r}; choose one of {', '.join(_RUN)}")
        return _RUN[rest[0]](parse_options(rest[0], rest[1:]))
    if verb == "chunkrun":
        if len(rest) < 3:
            raise KincError("usage: kinc chunkrun I N similarity|corrpower|cond-test <options>")
        index, chunks = _count(rest[0], "chunkrun: chunk index I"), _count(rest[1], "chunkrun: chunk count N")
        _chunked(rest[2], "chunkrun")
        if rest[2] == "cond-test":
            return commands.cond_test(parse_options(rest[2], rest[3:]), (index, chunks))
        if rest[2] == "corrpower":
            return commands.corrpower(parse_options(rest[2], rest[3:]), (index, chunks))
        return commands.similarity(parse_options(rest[2], rest[3:]), (index, chunks))
    if verb == "merge":
        if len(rest) < 2:
            raise KincError("usage: kinc merge N similarity|corrpower|cond-test <options>")
        chunks = _count(rest[0], "merge: chunk count N")
        _chunked(rest[1], "merge")
        if rest[1] == "cond-test":
            return commands.merge_cond_test(parse_options(rest[1], rest[2:]), chunks)
        if rest[1] == "corrpower":
            return commands.merge_corrpower(parse_options(rest[1], rest[2:]), chunks)
        return commands.merge(parse_options(rest[1], rest[2:]), chunks)
    raise KincError(f"unknown command {verb!r}; expected run, chunkrun, merge or help")


def _help(argv: list[str]) -> str | None:
    if not argv or argv[0] in ("help", "-h", "--help"):
        topic = argv[1] if len(argv) > 1 else None
        return describe(topic) if topic in ANALYTICS else USAGE
    if argv[0] == "--version":
        return f"kinc {__version__}"
    if "--help" in argv or "-h" in argv:
        named = [a for a in argv if a in ANALYTICS]
        return describe(named[0]) if named else USAGE
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = _help(args)
    if text is not None:
        print(text)
        return 0
    try:
        print(dispatch(args))
    except KincError as exc:
        print(f"kinc: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"kinc: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0
