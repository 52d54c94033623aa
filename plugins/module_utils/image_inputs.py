# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""The version tag of the pool images: the collection version plus a digest of every build input.

Two checkouts with the same images/ tree get the same tag, so an existing image is reused and a changed
Dockerfile, entrypoint or payload yields a new tag and a rebuild.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

_SKIP_DIRS = {"__pycache__", "tests", ".pytest_cache", "build", ".ruff_cache"}
_SKIP_SUFFIXES = (".pyc", ".egg-info")


def build_inputs(images_dir: Path) -> list[Path]:
    files = []
    for root, dirs, names in os.walk(images_dir):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.endswith(_SKIP_SUFFIXES))
        files += [Path(root) / name for name in sorted(names) if not name.endswith(_SKIP_SUFFIXES)]
    return files


def tree_digest(images_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in build_inputs(images_dir):
        digest.update(str(path.relative_to(images_dir)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def images_tag(images_dir: Path, version: str) -> str:
    return f"{version}-{tree_digest(images_dir)[:12]}"


def collection_version(collection_dir: Path) -> str:
    """The collection's version: from MANIFEST.json in an installed collection (which has no galaxy.yml),
    else from galaxy.yml in a checkout."""
    manifest = collection_dir / "MANIFEST.json"
    if manifest.is_file():
        with manifest.open(encoding="utf-8") as handle:
            return str(json.load(handle)["collection_info"]["version"])
    galaxy = collection_dir / "galaxy.yml"
    if galaxy.is_file():
        import yaml  # the controller's PyYAML, which Ansible needs anyway

        with galaxy.open(encoding="utf-8") as handle:
            return str(yaml.safe_load(handle)["version"])
    raise FileNotFoundError(f"{collection_dir} has neither MANIFEST.json nor galaxy.yml to read its version from")
