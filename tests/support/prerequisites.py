"""A missing prerequisite (Docker engine, a Python package) skips a test, except under `make test`."""

from __future__ import annotations

import os

import pytest


def missing(message: str) -> None:
    """Skip for a missing prerequisite, except under `make test` (CLOUDFLOCK_REQUIRE_DOCKER=1): fail there."""
    if os.environ.get("CLOUDFLOCK_REQUIRE_DOCKER") == "1":
        pytest.fail(message + " (make test provides it; CLOUDFLOCK_REQUIRE_DOCKER=1 forbids skipping)")
    pytest.skip(message)
