"""images/constants.json is the one place for the paths and names the pool images and the roles share: the
images install it and their scripts read it, the roles read it from the collection, and the Dockerfile and
entrypoint lines that must spell a path agree with it."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from ansible_collections.cloudflock.htcondor.plugins.module_utils.flock_credentials import RESERVED_IDS
from ansible_collections.cloudflock.htcondor.plugins.module_utils.image_inputs import build_inputs

from tests.support import COLLECTIONS, REPO, collections_env

IMAGES = REPO / "images"
CONSTANTS_FILE = IMAGES / "constants.json"
CONSTANTS = json.loads(CONSTANTS_FILE.read_text())
# The constants that are paths in the containers.
PATHS = {key: value for key, value in CONSTANTS.items() if isinstance(value, str) and value.startswith("/")}


def _load(name: str, path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


def _copies(path: Path) -> dict[str, str]:
    """A Dockerfile's COPY lines: source in the build context -> destination in the image."""
    copies = {}
    for line in path.read_text().splitlines():
        words = [word for word in line.split() if not word.startswith("--")]
        if words and words[0] == "COPY":
            copies[words[1]] = words[2]
    return copies


def _changed() -> dict[str, str]:
    """constants.json with every value changed, so a reader that still spells one shows."""
    return {key: (f"{value}-changed" if key != "_comment" else value) for key, value in CONSTANTS.items()}


def test_the_paths_are_absolute_and_the_names_plain() -> None:
    assert set(PATHS) == {"secrets_dir", "renderer", "flock_to_file", "workflow_dir", "inputs_dir", "runs_dir",
                          "example_data_dir"}
    assert all(not value.endswith("/") and "//" not in value for value in PATHS.values())
    assert re.fullmatch(r"[a-z_][a-z0-9_]*", CONSTANTS["workflow_user"])
    assert (IMAGES / "submitter" / "data" / CONSTANTS["example_gem"]).is_file()


def test_the_file_is_a_build_input_of_the_images() -> None:
    # In the build context (images/, copied whole to the Docker host) and in the images' tag digest.
    assert CONSTANTS_FILE in build_inputs(IMAGES)
    ignored = (IMAGES / ".dockerignore").read_text().split()
    assert not any(Path("constants.json").match(pattern) for pattern in ignored)


def test_the_htcondor_image_installs_the_renderer_and_the_constants_beside_it() -> None:
    copies = _copies(IMAGES / "htcondor" / "Dockerfile")
    assert copies["htcondor/cloudflock_condor.py"] == CONSTANTS["renderer"]
    assert copies["constants.json"] == str(Path(CONSTANTS["renderer"]).parent / "constants.json")
    assert f"useradd --create-home --uid 1000 --shell /bin/bash {CONSTANTS['workflow_user']}" in (
        IMAGES / "htcondor" / "Dockerfile").read_text()


def test_the_submitter_image_installs_the_workflow_its_data_and_directories_where_the_constants_say() -> None:
    dockerfile = (IMAGES / "submitter" / "Dockerfile").read_text()
    copies = _copies(IMAGES / "submitter" / "Dockerfile")
    assert copies["submitter/data/"] == CONSTANTS["example_data_dir"] + "/"
    assert copies["submitter/workflow/"] == CONSTANTS["workflow_dir"] + "/"
    assert copies["constants.json"] == CONSTANTS["workflow_dir"] + "/constants.json"
    user = CONSTANTS["workflow_user"]
    assert f"--chown={user}:{user} submitter/workflow/" in dockerfile
    assert f"install -d -o {user} -g {user} {CONSTANTS['runs_dir']} " in dockerfile
    assert f"install -d -m 0755 {CONSTANTS['inputs_dir']}\n" in dockerfile
    # Every path under the workflow user's home it names is one of the constants or inside the workflow.
    home = str(Path(CONSTANTS["workflow_dir"]).parent)
    named = set(re.findall(re.escape(home) + r"/[\w.-]+", dockerfile))
    assert named == {CONSTANTS["workflow_dir"], CONSTANTS["runs_dir"], CONSTANTS["inputs_dir"]}


def test_the_entrypoint_runs_the_renderer_and_mounts_the_secrets_where_the_constants_say() -> None:
    entrypoint = (IMAGES / "htcondor" / "entrypoint.sh").read_text()
    assert f"\nrenderer={CONSTANTS['renderer']}\n" in entrypoint
    assert f"\nsecrets=${{CLOUDFLOCK_SECRETS_DIR:-{CONSTANTS['secrets_dir']}}}\n" in entrypoint


def test_the_renderer_reads_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    condor = _load("cloudflock_condor_constants", IMAGES / "htcondor" / "cloudflock_condor.py", monkeypatch)
    assert (condor.FLOCK_TO_FILE, condor.SECRETS_DIR, condor.WORKFLOW_USER) == (
        CONSTANTS["flock_to_file"], CONSTANTS["secrets_dir"], CONSTANTS["workflow_user"])


def test_the_renderer_in_the_image_reads_the_file_beside_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As the htcondor image lays them out: the renderer and constants.json in one directory.
    installed = tmp_path / "lib"
    installed.mkdir()
    shutil.copy(IMAGES / "htcondor" / "cloudflock_condor.py", installed)
    changed = _changed()
    (installed / "constants.json").write_text(json.dumps(changed))
    condor = _load("cloudflock_condor_installed", installed / "cloudflock_condor.py", monkeypatch)
    assert condor.FLOCK_TO_FILE == changed["flock_to_file"]
    assert condor.SECRETS_DIR == changed["secrets_dir"]
    assert condor.WORKFLOW_USER == changed["workflow_user"]
    assert changed["workflow_user"] in condor.RESERVED_NAMES


def test_the_renderer_without_the_file_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lib").mkdir()
    shutil.copy(IMAGES / "htcondor" / "cloudflock_condor.py", tmp_path / "lib")
    with pytest.raises(FileNotFoundError, match="constants.json"):
        _load("cloudflock_condor_bare", tmp_path / "lib" / "cloudflock_condor.py", monkeypatch)


def test_the_workflow_reads_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KINCFLOW_HOME", raising=False)
    monkeypatch.delenv("KINCFLOW_DEFAULT_GEM", raising=False)
    kincflow = _load("kincflow_constants", IMAGES / "submitter" / "workflow" / "kincflow.py", monkeypatch)
    assert kincflow.RUNS == Path(CONSTANTS["runs_dir"])
    assert kincflow.DEFAULT_GEM == Path(CONSTANTS["example_data_dir"]) / CONSTANTS["example_gem"]


def test_the_workflow_in_the_image_reads_the_file_beside_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KINCFLOW_HOME", raising=False)
    monkeypatch.delenv("KINCFLOW_DEFAULT_GEM", raising=False)
    # As the submitter image lays it out: the workflow directory with constants.json in it.
    workflow = tmp_path / "home" / "user" / "workflow"
    shutil.copytree(IMAGES / "submitter" / "workflow", workflow)
    changed = _changed()
    (workflow / "constants.json").write_text(json.dumps(changed))
    kincflow = _load("kincflow_installed", workflow / "kincflow.py", monkeypatch)
    assert kincflow.RUNS == Path(changed["runs_dir"])
    assert kincflow.DEFAULT_GEM == Path(changed["example_data_dir"]) / changed["example_gem"]


# The roles' variables rendered as a play renders them, with role_path the role in the installed collection
# (through .collections, as ansible-playbook finds it). In a child process: the plugin loader is set up once
# per process, for the whole process.
_RENDER = """
import json, sys
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar, trust_as_template
collections, role, names = sys.argv[1], sys.argv[2], sys.argv[3:]
init_plugin_loader([collections])
loader = DataLoader()
variables = {key: trust_as_template(value) if isinstance(value, str) else value
             for key, value in loader.load_from_file(role + "/vars/main.yml").items()}
variables["role_path"] = role
templar = Templar(loader=loader, variables=variables)
print(json.dumps({name: templar.template(variables[name]) for name in names}))
"""


def _role_vars(role: str, *names: str) -> dict[str, str]:
    role_path = COLLECTIONS / "ansible_collections" / "cloudflock" / "htcondor" / "roles" / role
    done = subprocess.run([sys.executable, "-c", _RENDER, str(COLLECTIONS), str(role_path), *names],
                          env=collections_env(), cwd=REPO, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_the_flock_role_reads_the_file() -> None:
    rendered = _role_vars("flock", "__flock_flock_to_file", "__flock_renderer", "__flock_secrets_mount")
    assert rendered == {"__flock_flock_to_file": CONSTANTS["flock_to_file"],
                        "__flock_renderer": CONSTANTS["renderer"],
                        "__flock_secrets_mount": CONSTANTS["secrets_dir"]}


def test_the_kinc_role_reads_the_file() -> None:
    rendered = _role_vars("kinc", "__kinc_workflow", "__kinc_inputs", "__kinc_runs_dir", "__kinc_user",
                          "__kinc_example_gem")
    assert {key: rendered[key] for key in ("__kinc_workflow", "__kinc_inputs", "__kinc_runs_dir", "__kinc_user")} == {
        "__kinc_workflow": CONSTANTS["workflow_dir"], "__kinc_inputs": CONSTANTS["inputs_dir"],
        "__kinc_runs_dir": CONSTANTS["runs_dir"], "__kinc_user": CONSTANTS["workflow_user"]}
    example = Path(rendered["__kinc_example_gem"])
    assert example.name == CONSTANTS["example_gem"]
    assert example.resolve() == (IMAGES / "submitter" / "data" / CONSTANTS["example_gem"]).resolve()


@pytest.mark.parametrize("role", ["flock", "kinc"])
def test_the_roles_spell_none_of_the_paths(role: str) -> None:
    spelled = {
        str(path.relative_to(REPO)): value
        for path in sorted((REPO / "roles" / role).glob("*/*.yml"))
        for value in [*PATHS.values(), CONSTANTS["example_gem"]]
        if value in path.read_text()
    }
    assert spelled == {}


def test_the_credentials_module_reserves_the_names_the_renderer_does(monkeypatch: pytest.MonkeyPatch) -> None:
    # flock_credentials runs as a module (shipped without images/), so it keeps its own list; they must agree.
    condor = _load("cloudflock_condor_reserved", IMAGES / "htcondor" / "cloudflock_condor.py", monkeypatch)
    assert tuple(RESERVED_IDS) == tuple(condor.RESERVED_NAMES)
    assert CONSTANTS["workflow_user"] in RESERVED_IDS


@pytest.mark.parametrize("role", ["flock", "kinc"])
def test_no_task_of_the_role_registers_a_name_its_vars_hold(role: str) -> None:
    # A registered result or set_fact outranks role vars: one named like __kinc_runs_dir would replace the path.
    held = set(yaml.safe_load((REPO / "roles" / role / "vars" / "main.yml").read_text()))
    files = sorted((REPO / "roles" / role / "tasks").glob("*.yml"))
    registered = {name for path in files
                  for name in re.findall(r"^\s*register:\s*(\w+)", path.read_text(), re.MULTILINE)}
    facts = {name for path in files for name in _facts(yaml.safe_load(path.read_text()))}
    assert registered and held & (registered | facts) == set()


def _facts(tasks: object) -> set[str]:
    """The names set_fact sets anywhere in a task list (blocks included)."""
    names: set[str] = set()
    for task in tasks if isinstance(tasks, list) else []:
        if not isinstance(task, dict):
            continue
        facts = task.get("ansible.builtin.set_fact") or task.get("set_fact")
        if isinstance(facts, dict):
            names.update(key for key in facts if key != "cacheable")
        for nested in ("block", "rescue", "always"):
            names |= _facts(task.get(nested))
    return names
