"""ansible-test sanity, every test, for every plugin of the collection, in a throw-away
``ansible_collections/cloudflock/htcondor`` tree holding only plugins/, galaxy.yml and meta/runtime.yml.

Several sanity tests (validate-modules, pylint, pep8, yamllint, import, ansible-doc, runtime-metadata) run in
virtual environments of their own, which ansible-test keeps under ``~/.ansible/test`` and bootstraps with a pip
script it downloads from its CI file host. Here ansible-test gets a HOME of its own in the repository's
``.cache`` (kept between runs, so the environments are built once) holding tests/sanity/bootstrap_pip.py in
place of that script and a pip configuration carrying the caller's pip settings, since ansible-test runs pip
with an environment of its own.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest
from ansible.release import __version__ as ansible_version

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_TEST = Path(sys.executable).parent / "ansible-test"
ANSIBLE_TEST_HOME = REPO / ".cache" / "ansible-test"
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
ANSIBLE_MINOR = ".".join(ansible_version.split(".")[:2])
IGNORE_FILE = f"tests/sanity/ignore-{ANSIBLE_MINOR}.txt"
# Every file of plugins/, less the bytecode caches Python leaves behind when the plugins are imported.
FILES = [
    str(path.relative_to(REPO))
    for path in sorted((REPO / "plugins").rglob("*"))
    if path.is_file() and "__pycache__" not in path.parts
]
# The sanity tests run in virtual environments: each must have run and passed. changelog needs one too,
# but applies only to a collection with a changelogs/ directory, which this one (CHANGELOG.md) has not.
IN_VIRTUALENVS = ("ansible-doc", "import", "pep8", "pylint", "runtime-metadata", "validate-modules", "yamllint")
NOT_APPLICABLE = "No tests applicable."


def build_tree(tmp_path: Path) -> Path:
    root = tmp_path / "ansible_collections" / "cloudflock" / "htcondor"
    for relative in [*FILES, "galaxy.yml", "meta/runtime.yml"]:
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / relative, target)
    # Only the entries for the files copied: entries for files left out would fail the "ignores" test.
    # The repository keeps the newest ansible-core's list; older ones accept the same entries.
    source = REPO / IGNORE_FILE
    if not source.exists():
        lists = (REPO / "tests/sanity").glob("ignore-*.txt")
        source = max(lists, key=lambda path: [int(n) for n in path.stem.removeprefix("ignore-").split(".")])
    ignores = [line for line in source.read_text().splitlines() if line.split(" ")[0] in FILES]
    (root / IGNORE_FILE).parent.mkdir(parents=True)
    (root / IGNORE_FILE).write_text("".join(f"{line}\n" for line in ignores))
    subprocess.run(["git", "init", "-q", "."], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    return root


def bootstrap_script_name() -> str:
    """The file name under which ansible-test looks for its cached pip bootstrap script."""
    from ansible_test._internal.python_requirements import get_venv_packages

    pip_version = get_venv_packages(SimpleNamespace(version=PYTHON))["pip"]
    return f"get_pip_{pip_version.replace('.', '_')}.py"


def pip_config() -> str:
    """The caller's pip settings (PIP_* variables) as a pip.conf.

    ansible-test hands the pip runs it starts only PATH, HOME and LC_ALL. ``cert`` defaults to the CA bundle the
    interpreter trusts: the pip that ensurepip ships trusts only the bundle it carries itself.
    """
    settings = {"cert": ssl.get_default_verify_paths().cafile}
    settings.update(
        (name.removeprefix("PIP_").lower().replace("_", "-"), value)
        for name, value in os.environ.items()
        if name.startswith("PIP_")
    )
    return "[global]\n" + "".join(f"{key} = {value}\n" for key, value in sorted(settings.items()) if value)


def prepare_home() -> Path:
    cache = ANSIBLE_TEST_HOME / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO / "tests/sanity/bootstrap_pip.py", cache / bootstrap_script_name())
    pip_conf = ANSIBLE_TEST_HOME / ".config" / "pip" / "pip.conf"
    pip_conf.parent.mkdir(parents=True, exist_ok=True)
    pip_conf.write_text(pip_config())
    pip_conf.chmod(0o600)  # PIP_INDEX_URL may carry credentials
    return ANSIBLE_TEST_HOME


def outcomes(junit_dir: Path) -> dict[str, str]:
    """Each sanity test's outcome, by name without the Python version: "passed", or why it did not pass."""
    found = {}
    for report in junit_dir.glob("*.xml"):
        for case in ET.parse(report).iter("testcase"):
            name = case.get("name").removesuffix(f"-python-{PYTHON}")
            problem = next((child for child in case if child.tag in ("failure", "error", "skipped")), None)
            found[name] = "passed" if problem is None else (problem.text or problem.get("message") or problem.tag)
    return found


@pytest.mark.skipif(not ANSIBLE_TEST.exists(), reason="ansible-test is not installed next to this Python")
def test_ansible_test_sanity(tmp_path: Path) -> None:
    root = build_tree(tmp_path)
    env = {"PATH": f"{ANSIBLE_TEST.parent}:/usr/bin:/bin", "HOME": str(prepare_home()), "LC_ALL": "C.UTF-8"}
    done = subprocess.run(
        [str(ANSIBLE_TEST), "sanity", "--local", "--python", PYTHON, "--junit"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    found = outcomes(root / "tests" / "output" / "junit")
    assert {name: found.get(name) for name in IN_VIRTUALENVS} == dict.fromkeys(IN_VIRTUALENVS, "passed"), output
    assert {name: outcome for name, outcome in found.items() if outcome not in ("passed", NOT_APPLICABLE)} == {}
    assert found["compile"] == "passed"
