# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
# Documentation only: the run_report action plugin does the work on the controller, and Ansible finds an
# action's documentation in the module of the same name.
from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_report
short_description: Draw a KINC run's timeline and write its static report.html
version_added: 0.1.0
description:
  - Reads a run directory fetched back by kinc.yml (C(summary.json), C(network.txt) and the PNGs the
    workflow drew) and writes two files into it, C(timeline.png) and C(report.html).
  - The timeline has a lane per executor pool and a bar per similarity job from its start to its end,
    relative to the run's submission and coloured by pool, so first-come first-served flocking and idle
    slots show at a glance.
  - C(report.html) is one static page with inline CSS and no external assets; it shows the summary, every
    picture present in the run directory (by relative name) and the top edges of the network by absolute
    similarity, and opens from disk.
  - For a GMM run (C(clusmethod=gmm) in the summary's settings, or condition-test or C(Num_Clusters)
    columns in C(network.txt)) the page also shows the gene pairs per number of clusters (their rows in
    C(network.txt), their highest C(Cluster_Index) and, when written, C(Num_Clusters)) and the edges per
    condition test (each label of a categorical feature, each quantitative or ordinal feature) whose p-value
    is below the run's C(pvalue) and, for a regression, whose R-squared is above its C(rsquare).
  - A file is rewritten only when its content would change, so a second run reports C(changed=false).
  - Runs on the controller (an action), where kinc.yml fetches the run directory, whatever host the task
    is for; it needs matplotlib in the controller's Python.
options:
  run_dir:
    description: The run directory, C(<kinc_results_dir>/<run id>).
    type: path
    required: true
  top_edges:
    description: How many edges the report lists, strongest first.
    type: int
    default: 25
attributes:
  action:
    support: full
    description: Runs on the controller; the target needs no Python.
  check_mode:
    support: full
    description: Renders everything in memory, writes nothing, and reports whether a file would change.
  diff_mode:
    support: none
    description: No difference is shown; RV(written) lists the files rewritten.
  idempotent:
    support: full
    description: A file is rewritten only when its content would change.
requirements:
  - matplotlib, in the controller's Python
author:
  - cloudflock developers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Write the run's timeline and report
  cloudflock.htcondor.run_report:
    run_dir: "{{ kinc_results_dir }}/{{ kinc_run_id }}"
    top_edges: 50
"""

RETURN = r"""
files:
  description: The files the module makes, written or not.
  returned: success
  type: list
  elements: str
  sample: [/srv/results/kinc-20261125-082004-527614/timeline.png, /srv/results/kinc-20261125-082004-527614/report.html]
written:
  description: The files actually (re)written; empty in check mode and when everything was up to date.
  returned: success
  type: list
  elements: str
report:
  description: The path of report.html.
  returned: success
  type: str
  sample: /srv/results/kinc-20261125-082004-527614/report.html
"""
