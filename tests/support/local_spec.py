"""The embedded default's pool spec as ansible-playbook sees it: inventory/local's flock variables rendered
(its containers and addresses are Jinja that follow from local_executor_pools), so a test or bench can copy,
edit or compare an ordinary spec."""

from __future__ import annotations

import json
from typing import Any

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from .collection import REPO

LOCAL_FLOCK = REPO / "inventory/local/group_vars/all/flock.yml"


def _trusted(value: Any) -> Any:
    """Inventory files are trusted templates; text read by PyYAML is not until marked so."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [_trusted(item) for item in value]
    if isinstance(value, dict):
        return {key: _trusted(item) for key, item in value.items()}
    return value


def local_spec(pools: int | None = None) -> dict[str, Any]:
    """inventory/local's flock_* variables rendered, with `pools` executor pools (default: the file's)."""
    variables = _trusted(yaml.safe_load(LOCAL_FLOCK.read_text()))
    if pools is not None:
        variables["local_executor_pools"] = pools
    templar = Templar(loader=DataLoader(), variables=variables)
    rendered = {key: templar.template(value) for key, value in variables.items() if key.startswith("flock_")}
    # Plain lists, dicts and strings, as yaml.safe_dump and json.dumps want them.
    return dict(json.loads(json.dumps(rendered)))
