"""Shared helpers: make the package importable from the source tree, run the CLI in-process."""

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kinc.cli import main


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def kinc(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``kinc ARGS`` in-process; return exit code, stdout and stderr."""

    def run(*args: object) -> Result:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
