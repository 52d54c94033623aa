"""The tests' layout rule (DEVELOPERS.md): no test module imports another, and bench/ imports from tests/ only
the support package and the Marathon API double."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = ("tests.support", "tests.marathon_double")


def imported(path: Path) -> set[str]:
    """The modules a file imports, relative imports resolved against its package."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def sources(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (REPO / folder).rglob("*.py"))


@pytest.mark.parametrize("path", sources("tests", "images/kinc/tests", "bench"), ids=lambda p: str(p.relative_to(REPO)))
def test_no_module_imports_a_test_module(path: Path) -> None:
    test_modules = [name for name in imported(path) if name.rsplit(".", 1)[-1].startswith("test_")]
    assert test_modules == [], f"{path.relative_to(REPO)} imports {test_modules}: move what they share to tests/support"


@pytest.mark.parametrize("path", sources("bench"), ids=lambda p: str(p.relative_to(REPO)))
def test_benches_use_only_the_shared_test_packages(path: Path) -> None:
    from_tests = [name for name in imported(path)
                  if name == "tests" or (name.startswith("tests.") and not name.startswith(SHARED))]
    assert from_tests == [], f"{path.relative_to(REPO)} imports {from_tests}"
