"""The KINC payload's own modules, from the image's source (images/kinc/kinc), for the tests that hold the
controller's checks to the payload's verdicts."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

from .collection import REPO

PAYLOAD = REPO / "images" / "kinc"


def payload_module(name: str) -> ModuleType:
    """The payload's module ``kinc.<name>``; sys.path is left as it was."""
    sys.path.insert(0, str(PAYLOAD))
    try:
        return importlib.import_module(f"kinc.{name}")
    finally:
        sys.path.remove(str(PAYLOAD))


def kinc_command(directory: Path) -> Path:
    """A ``kinc`` command in directory that runs the payload from the image's source with this Python, as the
    image's /usr/local/bin/kinc runs the installed one (the workflow takes it from $KINC)."""
    command = directory / "kinc"
    command.write_text(f"#!/bin/sh\nPYTHONPATH={PAYLOAD} exec {sys.executable} -m kinc \"$@\"\n", encoding="utf-8")
    command.chmod(0o755)
    return command
