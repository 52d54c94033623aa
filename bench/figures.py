"""One shape for a bench's figures, so that bench/report.py can gather every bench into one JSON file: each
figure its name, value and unit, its goal ({"op": "<=" or ">=", "value": ...} or none) and whether it was met."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def figure(name: str, value: float | int | None, unit: str = "", goal: tuple[str, float] | None = None
           ) -> dict[str, Any]:
    """A figure beside its goal; met is None when there is no goal or no value."""
    met = None
    if goal is not None and value is not None:
        op, target = goal
        met = bool(value <= target) if op == "<=" else bool(value >= target)
    return {"name": name, "value": value, "unit": unit,
            "goal": None if goal is None else {"op": goal[0], "value": goal[1]}, "met": met}


def goal_text(row: dict[str, Any]) -> str:
    """' (goal <= 15 s: met)', or nothing for a figure without a goal."""
    goal = row["goal"]
    if goal is None:
        return ""
    unit = f" {row['unit']}" if row["unit"] else ""
    return f" (goal {goal['op']} {goal['value']:g}{unit}: {'met' if row['met'] else 'NOT met'})"


def write_json(path: str | None, bench: str, figures: list[dict[str, Any]], **details: Any) -> None:
    """The bench's figures (and whatever else it measured, under details) as JSON, when asked for a file."""
    if path:
        Path(path).write_text(json.dumps({"bench": bench, "figures": figures, "details": details}, indent=2) + "\n")
