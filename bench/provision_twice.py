"""site.yml on inventory/local twice in a row: the first run's seconds, the second's, and the second's changed
count. A second provisioning of an unchanged machine should change nothing (goal changed=0) and take a
fraction of the first (goal <= 10 %).

The first run is a real provisioning: by default the pool images are built under a fresh tag of this bench's
(so site.yml must build them; Docker's layer cache may serve unchanged layers), with pruning off so the
tags that `make provision` and the tests use stay; the fresh tag and its build context are removed
afterwards. With --as-is both runs use inventory/local unchanged, and the output says whether the first
one built the images or found them.

Usage: python bench/provision_twice.py [--as-is] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

# The repository, for tests.support (which makes the collection importable).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from figures import figure, goal_text, write_json  # noqa: E402

from tests.support import REPO  # noqa: E402
from tests.support.playbook import PlaybookRun, ansible_playbook  # noqa: E402

GOAL_CHANGED = 0
GOAL_TIME_RATIO = 0.10  # second run / first run, at most
IMAGES = ("htcondor", "submitter", "executor")
BUILD_DIR = Path("/var/lib/cloudflock/build")  # the htcondor_images role's default htcondor_images_build_dir


def built_images(run: PlaybookRun) -> bool:
    """Whether the run built the pool images (the build task changed) rather than finding them."""
    task = re.search(r"TASK \[[^\]]*Build the HTCondor layer[^\n]*\n(.*?)(?=\n(?:TASK|PLAY|RUNNING) )",
                     run.output, flags=re.S)
    return bool(task and re.search(r"^changed:", task.group(1), flags=re.M))


def timed_site(extra: list[str]) -> tuple[PlaybookRun, float]:
    start = time.monotonic()
    run = ansible_playbook(str(REPO / "site.yml"), "-i", str(REPO / "inventory/local"), *extra)
    return run, round(time.monotonic() - start, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-is", action="store_true", help="inventory/local unchanged, images as they are")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    options = parser.parse_args()
    tag = None if options.as_is else f"bench-twice-{int(time.time())}"
    extra = [] if tag is None else ["-e", json.dumps({"htcondor_images_tag": tag, "htcondor_images_prune": False})]
    try:
        first, first_s = timed_site(extra)
        if first.rc != 0:
            print(first.output[-3000:])
            return 1
        second, second_s = timed_site(extra)
        if second.rc != 0:
            print(second.output[-3000:])
            return 1
    finally:
        if tag is not None:  # only this bench's tag; the layers stay with the tags that share them
            subprocess.run(["docker", "rmi", *(f"cloudflock/{image}:{tag}" for image in IMAGES)],
                           capture_output=True, check=False)
            subprocess.run(["rm", "-rf", str(BUILD_DIR / tag)], check=False)
    built = built_images(first)
    state = (f"images built under the fresh tag {tag}" if tag else "inventory/local as it is") + \
            (", the build ran" if built else ", the images were already there (nothing built)")
    changed = second.recap.get("changed", 0)
    figures = [
        figure("site.yml first run", first_s, "s"),
        figure("site.yml second run", second_s, "s"),
        figure("site.yml second run changed", changed, "tasks", ("<=", GOAL_CHANGED)),
        figure("site.yml second / first run time", round(second_s / first_s, 3), "", ("<=", GOAL_TIME_RATIO)),
    ]
    print(f"first run: {state}; changed={first.recap.get('changed', 0)}")
    for row in figures:
        print(f"{row['name']}: {row['value']}{' ' + row['unit'] if row['unit'] else ''}{goal_text(row)}")
    write_json(options.json, "provision_twice", figures, first_run=state, images_built=built,
               first_recap=first.recap, second_recap=second.recap)
    return 0


if __name__ == "__main__":
    sys.exit(main())
