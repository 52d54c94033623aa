#!/usr/bin/python
# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: flock_spec
short_description: Validate and normalise a cloudflock pool spec (clusters, containers, network)
version_added: 0.1.0
description:
  - Reads the declarative spec of a federation of HTCondor pools, either given as three options or as the
    original system's JSON config file (a YAML file with the same keys works too), validates it and returns
    one canonical form that the roles consume.
  - Every problem is reported with the field it is in and the bad value; the module fails without
    returning a spec when any is found, so nothing is created from an invalid spec.
  - Accepts the seed's key names C(n_cpus), C(marathon_uri) and C(ip_addr) as well as C(cpus),
    C(marathon_url) and C(ip).
extends_documentation_fragment:
  - cloudflock.htcondor.changes_nothing
options:
  clusters:
    description:
      - Clusters, each with C(id) and C(type). A C(docker) cluster names its C(docker_host) (an inventory
        host, default C(localhost)); a C(marathon) cluster its C(marathon_url) and optionally its Mesos
        C(agents) (inventory hosts; empty means the group C(mesos_agents)).
    type: list
    elements: dict
  containers:
    description:
      - Pool containers with C(id), C(cluster), C(role), C(image), C(cpus), C(mem), C(disk), C(ports),
        C(args) and C(env).
    type: list
    elements: dict
  network:
    description: >-
      The pool network, C(cidr), C(name), optional C(gateway) and C(ip_range) (the block Docker allocates
      from by itself; it must hold no pinned address), and C(containers) mapping ids to C(ip).
    type: dict
  config_file:
    description: A JSON or YAML file holding C(clusters), C(containers) and C(network); used instead of the options.
    type: path
attributes:
  check_mode:
    support: full
    description: The module changes nothing in either mode; it validates and returns the spec.
requirements:
  - PyYAML, only to read a O(config_file) that is not JSON
author:
  - cloudflock developers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Validate the seed's JSON config as it is
  cloudflock.htcondor.flock_spec:
    config_file: files/config.json
  delegate_to: localhost
  register: spec

- name: Validate a spec from inventory variables
  cloudflock.htcondor.flock_spec:
    clusters: "{{ flock_clusters }}"
    containers: "{{ flock_containers }}"
    network: "{{ flock_network }}"
"""

RETURN = r"""
spec:
  description: The canonical spec.
  returned: success
  type: dict
  contains:
    clusters:
      description: >-
        Clusters with C(id), C(type) and C(docker_host); a marathon cluster also has C(marathon_url) and
        C(agents).
      type: list
      elements: dict
    containers:
      description: Containers with their C(role) and pinned C(ip).
      type: list
      elements: dict
    network:
      description: >-
        C(cidr), C(prefix), C(name), C(gateway), C(driver), C(addresses), and C(ip_range): the block Docker
        allocates from by itself (swarm load-balancer endpoints), the spec's or else the largest block of
        C(cidr) holding no pinned address.
      type: dict
    submitter:
      description: The submitter container.
      type: dict
    executors:
      description: The executor containers.
      type: list
      elements: dict
    flock_to:
      description: Addresses of the executor pools, in spec order.
      type: list
      elements: str
"""

import json
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.cloudflock.htcondor.plugins.module_utils.flock_spec import (
    SpecError,
    from_seed_config,
    normalize_spec,
)

# PyYAML comes with Ansible on the controller, not on every target: a JSON config_file needs no more than
# the standard library.
try:
    import yaml
except ImportError:
    HAS_YAML = False
    YAML_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_YAML = True
    YAML_IMPORT_ERROR = None


def _load(module, path):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        return json.loads(text)
    except ValueError:
        if not HAS_YAML:
            module.fail_json(
                msg=missing_required_lib("PyYAML", reason="to read a config_file that is not JSON"),
                exception=YAML_IMPORT_ERROR,
            )
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ValueError(f"neither JSON nor YAML ({error})") from error


def main():
    module = AnsibleModule(
        argument_spec=dict(
            clusters=dict(type="list", elements="dict"),
            containers=dict(type="list", elements="dict"),
            network=dict(type="dict"),
            config_file=dict(type="path"),
        ),
        mutually_exclusive=[("config_file", "clusters"), ("config_file", "containers"), ("config_file", "network")],
        required_one_of=[("config_file", "clusters")],
        required_together=[("clusters", "containers", "network")],
        supports_check_mode=True,
    )
    try:
        if module.params["config_file"]:
            spec = from_seed_config(_load(module, module.params["config_file"]))
        else:
            spec = normalize_spec(module.params["clusters"], module.params["containers"], module.params["network"])
    except SpecError as error:
        module.fail_json(msg=str(error), problems=error.problems)
    except (OSError, ValueError) as error:
        module.fail_json(msg=f"config_file {module.params['config_file']!r}: {error}")
    module.exit_json(changed=False, spec=spec)


if __name__ == "__main__":
    main()
