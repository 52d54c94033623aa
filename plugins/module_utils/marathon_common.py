# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""The connection options of Marathon modules, defined once (documented in doc_fragments/marathon.py)."""

from __future__ import annotations

from typing import Any

from ansible.module_utils.basic import env_fallback


def marathon_connection_spec() -> dict[str, Any]:
    return {
        "marathon_url": {"type": "str", "required": True, "fallback": (env_fallback, ["MARATHON_URL"])},
        "url_username": {"type": "str", "fallback": (env_fallback, ["MARATHON_USERNAME"])},
        "url_password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["MARATHON_PASSWORD"])},
        "token": {
            "type": "str",
            "no_log": True,
            "fallback": (env_fallback, ["MARATHON_TOKEN", "DCOS_TOKEN"]),
        },
        "validate_certs": {"type": "bool", "default": True},
        "ca_path": {"type": "path"},
        "request_timeout": {"type": "float", "default": 30.0},
        "retries": {"type": "int", "default": 5},
        "retry_delay": {"type": "float", "default": 0.5},
    }


def client_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of MarathonClient from the module's parameters."""
    return {
        "url": params["marathon_url"],
        "username": params.get("url_username"),
        "password": params.get("url_password"),
        "token": params.get("token"),
        "validate_certs": params.get("validate_certs", True),
        "ca_path": params.get("ca_path"),
        "timeout": params.get("request_timeout") or 30.0,
        "retries": params.get("retries", 5),
        "backoff": params.get("retry_delay", 0.5),
    }
