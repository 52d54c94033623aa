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


# tests/unit/plugins mirrors plugins/ (as community.docker lays out its unit tests): the unit tests of
# plugins/<kind>/<name>.py are tests/unit/plugins/<kind>/test_<name>.py, and a unit test of a plugin lives
# nowhere else. Directly in tests/unit/plugins: the tests of every plugin's documentation at once.
KINDS = ("action", "filter", "lookup", "module_utils", "modules")
MIRROR = REPO / "tests" / "unit" / "plugins"
ABOUT_ALL_PLUGINS = {"test_filter_docs.py", "test_plugin_docs.py"}
# Plugins without a unit test of their own yet, and where they are tested instead. The list may only shrink:
# a plugin added without its test file fails test_every_plugin_has_its_mirrored_test_file.
NO_UNIT_TEST = {
    "action/kinc_annotations.py": "module_utils/kinc_annotations.py's tests; the kinc role's validation",
    "lookup/images_tag.py": "module_utils/image_inputs.py's tests; the htcondor_images role",
    "modules/flock_credentials.py": "module_utils/flock_credentials.py's tests; the flock role",
    "modules/flock_spec.py": "tests/integration/test_flock_spec_module.py",
}
# Tests in tests/unit that are not about a plugin but use one's code: the constants every part agrees on,
# the local spec the tests deploy, and the workflow's report on a real run.
USE_PLUGIN_CODE = {"test_constants.py", "test_local_spec.py", "test_kincflow_gmm_local.py"}
PLUGIN_PACKAGE = "ansible_collections.cloudflock.htcondor.plugins"


def plugin_files() -> list[str]:
    return sorted(f"{kind}/{path.name}" for kind in KINDS for path in (REPO / "plugins" / kind).glob("*.py")
                  if path.name != "__init__.py")


def documents_an_action(plugin: str) -> bool:
    """A module file that is the documentation of the action of its name: that action's test covers it."""
    kind, name = plugin.split("/")
    return kind == "modules" and (REPO / "plugins" / "action" / name).is_file() and "def main(" not in (
        REPO / "plugins" / plugin).read_text()


def mirrored(plugin: str) -> Path:
    kind, name = plugin.split("/")
    return MIRROR / kind / f"test_{name}"


def test_every_plugin_has_its_mirrored_test_file() -> None:
    missing = [f"plugins/{plugin} has no {mirrored(plugin).relative_to(REPO)}" for plugin in plugin_files()
               if not mirrored(plugin).is_file() and plugin not in NO_UNIT_TEST and not documents_an_action(plugin)]
    assert missing == []


def test_the_plugins_without_a_unit_test_are_still_without() -> None:
    stale = [plugin for plugin in NO_UNIT_TEST
             if not (REPO / "plugins" / plugin).is_file() or mirrored(plugin).is_file()]
    assert stale == [], f"take {stale} out of NO_UNIT_TEST: gone, or tested beside it now"


def test_every_mirrored_test_file_has_its_plugin() -> None:
    strays = []
    for path in sorted(MIRROR.rglob("*")):
        parts = path.relative_to(MIRROR).parts
        if "__pycache__" in parts or path.name == "__init__.py":
            continue
        if path.is_dir():
            ok = len(parts) == 1 and parts[0] in KINDS
        elif len(parts) == 1:
            ok = path.name in ABOUT_ALL_PLUGINS
        else:
            ok = (len(parts) == 2 and parts[0] in KINDS and path.name.startswith("test_")
                  and (REPO / "plugins" / parts[0] / path.name.removeprefix("test_")).is_file())
        if not ok:
            strays.append(str(path.relative_to(REPO)))
    assert strays == [], "tests/unit/plugins holds only <kind>/test_<plugin>.py and the tests of all plugins' docs"


def test_every_mirror_folder_is_a_package() -> None:
    # Test files of one name in two folders (action/test_kinc_gem.py, module_utils/test_kinc_gem.py) need it.
    assert [kind for kind in ("", *KINDS) if not (MIRROR / kind / "__init__.py").is_file()] == []


def unit_tests_outside_the_mirror() -> list[Path]:
    return sorted(path for path in (REPO / "tests" / "unit").rglob("test_*.py") if not path.is_relative_to(MIRROR))


@pytest.mark.parametrize("path", unit_tests_outside_the_mirror(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_unit_test_of_a_plugin_outside_the_mirror(path: Path) -> None:
    plugins = {Path(plugin).stem for plugin in plugin_files()}
    assert path.stem.removeprefix("test_") not in plugins, f"{path.relative_to(REPO)}: move it to tests/unit/plugins"
    uses = sorted(name for name in imported(path) if name.startswith(PLUGIN_PACKAGE + "."))
    assert not uses or path.name in USE_PLUGIN_CODE, (
        f"{path.relative_to(REPO)} imports {uses}: a test of a plugin goes to tests/unit/plugins/<kind>/")


def test_the_tests_that_use_plugin_code_still_do() -> None:
    unit = REPO / "tests" / "unit"
    assert [name for name in sorted(USE_PLUGIN_CODE)
            if not any(n.startswith(PLUGIN_PACKAGE + ".") for n in imported(unit / name))] == []


def test_tests_run_ansible_playbook_and_ansible_only_through_the_support_package() -> None:
    # tests/support/playbook.py runs them on ansible-runner; ansible-doc, ansible-galaxy and ansible-vault are
    # other tools, run where they are used.
    exempt = {REPO / "tests" / "support" / "playbook.py", Path(__file__).resolve()}  # the runner, this test
    found = [f"{path.relative_to(REPO)}:{node.lineno}" for path in sources("tests", "images/kinc/tests")
             if path not in exempt for node in ast.walk(ast.parse(path.read_text(), str(path)))
             if isinstance(node, ast.Constant) and node.value in ("ansible-playbook", "ansible")]
    assert found == [], f"run them with tests.support.playbook.ansible_playbook / ansible_adhoc: {found}"
