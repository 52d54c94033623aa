# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""Connection options shared by the modules that talk to Marathon's REST API."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  marathon_url:
    description:
      - Base URL of Marathon, for example C(http://10.0.0.5:8080).
      - The original system's C(marathon_uri) form ending in C(/v2/apps) is accepted as well.
      - It must start with C(http://) or C(https://) and name a host; anything else (for example
        C(marathon.example:8080)) fails naming this option and the value, before any request is sent.
      - If not set, the environment variable E(MARATHON_URL) is used.
    type: str
    required: true
  url_username:
    description:
      - User name for HTTP basic authentication.
      - If not set, the environment variable E(MARATHON_USERNAME) is used.
    type: str
  url_password:
    description:
      - Password for HTTP basic authentication.
      - If not set, the environment variable E(MARATHON_PASSWORD) is used.
    type: str
  token:
    description:
      - "Token sent as C(Authorization: token=TOKEN), as DC/OS expects. Takes precedence over basic auth."
      - If not set, the environment variable E(MARATHON_TOKEN) (or E(DCOS_TOKEN)) is used.
    type: str
  validate_certs:
    description: Verify the server's TLS certificate for C(https) URLs.
    type: bool
    default: true
  ca_path:
    description: A PEM file of CA certificates to verify the server with (instead of the system store).
    type: path
  request_timeout:
    description: Seconds to wait for each HTTP answer.
    type: float
    default: 30
  retries:
    description:
      - How often a request is retried after a connection error or a 5xx answer, with exponential backoff.
      - Retrying also stops at the module's own deadline, whichever comes first.
    type: int
    default: 5
  retry_delay:
    description: The first backoff delay in seconds; it doubles with every retry (at most 8 seconds).
    type: float
    default: 0.5
requirements:
  - requests
"""
