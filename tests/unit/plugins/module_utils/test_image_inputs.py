"""The pool images' tag follows their build inputs and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.cloudflock.htcondor.plugins.module_utils.image_inputs import (
    collection_version,
    images_tag,
    tree_digest,
)


def make_tree(root: Path) -> Path:
    (root / "htcondor").mkdir(parents=True)
    (root / "htcondor" / "Dockerfile").write_text("FROM base\n")
    (root / "kinc" / "kinc").mkdir(parents=True)
    (root / "kinc" / "kinc" / "cli.py").write_text("print('kinc')\n")
    return root


def test_tag_is_version_and_digest(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "images")
    tag = images_tag(tree, "0.1.0")
    assert tag.startswith("0.1.0-") and len(tag) == len("0.1.0-") + 12
    assert tag == images_tag(tree, "0.1.0")


def test_a_changed_input_changes_the_digest(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "images")
    before = tree_digest(tree)
    (tree / "kinc" / "kinc" / "cli.py").write_text("print('kinc 2')\n")
    assert tree_digest(tree) != before


def test_a_renamed_input_changes_the_digest(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "images")
    before = tree_digest(tree)
    (tree / "htcondor" / "Dockerfile").rename(tree / "htcondor" / "Containerfile")
    assert tree_digest(tree) != before


def test_caches_and_tests_do_not_count(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "images")
    before = tree_digest(tree)
    (tree / "kinc" / "kinc" / "__pycache__").mkdir()
    (tree / "kinc" / "kinc" / "__pycache__" / "cli.cpython-311.pyc").write_bytes(b"\0\1")
    (tree / "kinc" / "tests").mkdir()
    (tree / "kinc" / "tests" / "test_cli.py").write_text("def test(): pass\n")
    assert tree_digest(tree) == before


def test_version_of_an_installed_collection_comes_from_its_manifest(tmp_path: Path) -> None:
    # A built collection carries MANIFEST.json and no galaxy.yml.
    (tmp_path / "MANIFEST.json").write_text('{"collection_info": {"namespace": "cloudflock", "version": "1.2.3"}}')
    assert collection_version(tmp_path) == "1.2.3"


def test_version_of_a_checkout_comes_from_galaxy_yml(tmp_path: Path) -> None:
    (tmp_path / "galaxy.yml").write_text("namespace: cloudflock\nname: htcondor\nversion: '0.4.0'\n")
    assert collection_version(tmp_path) == "0.4.0"


def test_no_version_source_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="neither MANIFEST.json nor galaxy.yml"):
        collection_version(tmp_path)
