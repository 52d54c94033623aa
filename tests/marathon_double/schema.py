"""App-definition validation for the test double of Marathon's API.

Bodies are validated against Marathon 1.4.3's own ``AppDefinition.json``, kept unchanged in
``reference/marathon-1.4.3/`` beside this file with Marathon's LICENSE and a NOTICE saying where it
comes from. For a double answering as 1.5+ the same schema is extended here with what those versions
accept on top (``networks``, ``container.portMappings``, ...), following Marathon 1.10's API reference.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_143 = Path(__file__).resolve().parent / "reference" / "marathon-1.4.3" / "AppDefinition.json"


@functools.cache
def load_schema_143(path: str = "") -> dict[str, Any]:
    schema_path = Path(path) if path else SCHEMA_143
    if not schema_path.is_file():
        raise FileNotFoundError(f"Marathon 1.4.3 AppDefinition.json not found at {schema_path}")
    with schema_path.open(encoding="utf-8") as handle:
        return json.load(handle)


@functools.cache
def schema_for(version: tuple[int, ...]) -> dict[str, Any]:
    """The 1.4.3 schema, extended with 1.5+ fields when ``version`` is 1.5 or later."""
    schema = copy.deepcopy(load_schema_143())
    if version[:2] < (1, 5):
        return schema
    props = schema["properties"]
    props["networks"] = {
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "mode": {"type": "string", "enum": ["container", "container/bridge", "host"]},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
    }
    props["tty"] = {"type": "boolean"}
    props["role"] = {"type": "string"}
    container = props["container"]["properties"]
    mapping = copy.deepcopy(container["docker"]["properties"]["portMappings"])
    mapping["items"]["properties"]["networkNames"] = {"type": "array", "items": {"type": "string"}}
    container["portMappings"] = mapping
    container["linuxInfo"] = {"type": "object"}
    container["docker"]["properties"]["pullConfig"] = {"type": "object"}
    return schema


def schema_default(pointer: str, version: tuple[int, ...]) -> Any:
    """The ``default`` the schema for ``version`` states at ``pointer`` (``/``-separated property names,
    ``[]`` for an array's items, e.g. ``healthChecks/[]/delaySeconds``); KeyError when it states none."""
    node: Any = schema_for(version)
    for part in pointer.split("/"):
        node = node["items"] if part == "[]" else node["properties"][part]
    return copy.deepcopy(node["default"])


def validation_errors(body: Any, version: tuple[int, ...]) -> list[dict[str, Any]]:
    """Marathon-shaped ``details``: ``[{path, errors}]``, empty when the body is valid."""
    validator = jsonschema.Draft4Validator(schema_for(version))
    grouped: dict[str, list[str]] = {}
    for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
        path = "/" + "/".join(str(part) for part in error.absolute_path)
        grouped.setdefault(path, []).append(error.message)
    details = [{"path": path, "errors": errors} for path, errors in grouped.items()]
    if version[:2] >= (1, 5) and isinstance(body, dict):
        docker = (body.get("container") or {}).get("docker") or {}
        if body.get("networks") and docker.get("network"):
            details.append(
                {
                    "path": "/networks",
                    "errors": ["networks may not be combined with container.docker.network"],
                }
            )
        if (body.get("container") or {}).get("portMappings") is not None and docker.get("portMappings"):
            details.append(
                {
                    "path": "/container/portMappings",
                    "errors": [
                        "container.portMappings may not be combined with container.docker.portMappings"
                    ],
                }
            )
    return details
