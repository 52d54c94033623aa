"""Time to bring up N pool apps with cloudflock.htcondor.marathon_app (wait: true) through the test double
of Marathon's API, against the original system's create_containers.py approach (POST each app, then
sleep 10 s). The seed's sleeps are simulated: its POSTs are really sent to the double and timed, the
10 s per app are added, not slept.

    python bench/marathon_bringup.py [--counts 3 12] [--deployment-delay 1.0] [--version 1.4.3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.marathon_double import MarathonApiDouble
from tests.marathon_double.seed import seed_app_options
from tests.support import collections_env, ensure_collection_link
from tests.support.playbook import ansible_playbook

SEED_SLEEP_S = 10.0
MODULE = "cloudflock.htcondor.marathon_app"


def app_options(count: int) -> list[dict[str, Any]]:
    """``count`` executor pools shaped like the seed's runner1, at 172.16.0.2 onwards."""
    return [
        seed_app_options("runner1", id=f"runner{index + 1}", ip_address=f"172.16.0.{index + 2}")
        for index in range(count)
    ]


def seed_body(options: dict[str, Any]) -> dict[str, Any]:
    """The body create_containers.py posted (1.4-style, Weave proxy env)."""
    return {
        "id": options["id"],
        "cpus": options["cpus"],
        "mem": options["mem"],
        "disk": options["disk"],
        "instances": 1,
        "args": options["args"],
        "env": {"WEAVE_CIDR": f"ip:{options['ip_address']}/24"},
        "container": {
            "type": "DOCKER",
            "docker": {"image": options["image"], "network": "BRIDGE", "portMappings": []},
        },
    }


def run_module(url: str, tasks: list[dict[str, Any]]) -> float:
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    with tempfile.TemporaryDirectory(prefix="cfmt-bench-") as tmp:
        path = Path(tmp) / "play.yml"
        path.write_text(json.dumps(play))
        env = collections_env()
        env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
        started = time.monotonic()
        done = ansible_playbook(
            "-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}",
            "-e", f"url={url}", str(path), env=env,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    if done.rc != 0:
        raise RuntimeError(f"ansible-playbook failed ({done.rc}): {done.stdout[-2000:]}{done.stderr}")
    return elapsed


def module_task(name: str, count: int, wait: bool) -> dict[str, Any]:
    options = {key: f"{{{{ item.{key} }}}}" for key in ("id", "image", "cpus", "mem", "disk", "args")}
    options.update(
        marathon_url="{{ url }}",
        ip_address="{{ item.ip_address }}",
        network_cidr="{{ item.network_cidr }}",
        wait=wait,
        poll_interval=0.1,
    )
    return {"name": name, MODULE: options, "loop": app_options(count)}


def bench(count: int, version: str, delay: float) -> dict[str, float]:
    with MarathonApiDouble(version=version, deployment_delay=delay) as server:
        sequential = run_module(server.url, [module_task("Create and wait, one by one", count, True)])
    with MarathonApiDouble(version=version, deployment_delay=delay) as server:
        batched = run_module(
            server.url,
            [module_task("Create all", count, False), module_task("Wait for all", count, True)],
        )
    with MarathonApiDouble(version=version, deployment_delay=delay) as server:
        client_only = bench_client(server.url, count)
    with MarathonApiDouble(version=version, deployment_delay=delay) as server:
        started = time.monotonic()
        for options in app_options(count):
            requests.post(server.url + "/v2/apps", json=seed_body(options), timeout=30).raise_for_status()
        posts = time.monotonic() - started
    seed = posts + count * SEED_SLEEP_S
    return {
        "sequential": sequential,
        "batched": batched,
        "client": client_only,
        "seed": seed,
        "seed_posts": posts,
    }


def bench_client(url: str, count: int) -> float:
    """The module's own logic without Ansible's per-task start-up: build, create all, wait for all."""
    ensure_collection_link()
    from ansible_collections.cloudflock.htcondor.plugins.module_utils import marathon_appdef as ad
    from ansible_collections.cloudflock.htcondor.plugins.module_utils.marathon_client import MarathonClient

    started = time.monotonic()
    client = MarathonClient(url, poll_interval=0.1)
    version = ad.parse_version(client.version())
    for options in app_options(count):
        client.create_app(ad.build_app_definition(options, version))
    deadline = client.clock() + 600
    for options in app_options(count):
        client.wait_for_app(options["id"], deadline, ad.pending_reasons)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[3, 12])
    parser.add_argument("--deployment-delay", type=float, default=1.0)
    parser.add_argument("--version", default="1.4.3")
    args = parser.parse_args(argv)

    print(f"test double of Marathon's API {args.version}, deployment delay {args.deployment_delay:.1f} s")
    print("seed = real POSTs + 10 s per app, simulated (not slept); module = ansible-playbook wall time")
    columns = [
        ("apps", "{:>4}"),
        ("module_wait_each_s", "{:>18.1f}"),
        ("module_create_all_then_wait_s", "{:>29.1f}"),
        ("client_create_all_then_wait_s", "{:>29.1f}"),
        ("seed_post_sleep10_s", "{:>19.1f}"),
        ("seed/module_each", "{:>16.2f}"),
        ("seed/module_all", "{:>15.2f}"),
        ("seed/client", "{:>11.2f}"),
    ]
    print("  ".join(name for name, _ in columns))
    for count in args.counts:
        f = bench(count, args.version, args.deployment_delay)
        values = [
            count,
            f["sequential"],
            f["batched"],
            f["client"],
            f["seed"],
            f["seed"] / f["sequential"],
            f["seed"] / f["batched"],
            f["seed"] / f["client"],
        ]
        print("  ".join(fmt.format(value) for (_, fmt), value in zip(columns, values, strict=True)))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
