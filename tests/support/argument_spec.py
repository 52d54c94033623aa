"""Documented options (a module's DOCUMENTATION, a doc fragment) against an argument spec: where they disagree."""

from __future__ import annotations

from typing import Any


def mismatches(documented: dict[str, Any], spec: dict[str, Any], where: str = "") -> list[str]:
    """Where documented options and an argument spec disagree: names, type, required, default, choices,
    elements and, recursively, suboptions."""
    found = []
    for name in sorted(set(documented) ^ set(spec)):
        found.append(f"{where}{name}: " + ("documented only" if name in documented else "in the spec only"))
    for name in sorted(set(documented) & set(spec)):
        doc, arg = documented[name], spec[name]
        pairs = {
            "type": (doc.get("type", "str"), arg.get("type", "str")),
            "required": (bool(doc.get("required", False)), bool(arg.get("required", False))),
            "default": (doc.get("default"), arg.get("default")),
            "choices": (doc.get("choices"), arg.get("choices")),
            "elements": (doc.get("elements"), arg.get("elements")),
        }
        for key, (left, right) in pairs.items():
            if left != right or isinstance(left, bool) != isinstance(right, bool):
                found.append(f"{where}{name}.{key}: documented {left!r}, spec {right!r}")
        found += mismatches(doc.get("suboptions") or {}, arg.get("options") or {}, f"{where}{name}.")
    return found
