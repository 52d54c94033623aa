"""Run the test double of Marathon's REST API standalone.

python -m tests.marathon_double --port 8080 --version 1.4.3 [--docker] [--deployment-delay 1]
    [--agent HOST=DOCKER_URL ...]
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from .server import MarathonApiDouble


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.marathon_double",
        description="A test double of Marathon's REST API (not Marathon) for cloudflock tests.",
    )
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--version", default="1.4.3", help="version GET /v2/info reports (1.4.3, 1.10.17 ...)"
    )
    parser.add_argument(
        "--deployment-delay", type=float, default=1.0, help="seconds a deployment stays listed"
    )
    parser.add_argument("--agent-host", default="agent1.double.invalid", help="host reported for tasks")
    parser.add_argument("--docker", action="store_true", help="start real Docker containers for tasks")
    parser.add_argument(
        "--agent",
        action="append",
        default=[],
        metavar="HOST=DOCKER_URL",
        help="an agent host and its Docker engine (tcp://ADDR:2375, unix:///PATH); repeat for several "
        "agents, which get the tasks in turn (or by a hostname constraint)",
    )
    parser.add_argument("--name-prefix", default="mesos-", help="container name prefix with --docker")
    parser.add_argument("--username", help="require HTTP basic auth with this user")
    parser.add_argument("--password", help="password for --username")
    parser.add_argument("--token", help="require 'Authorization: token=TOKEN'")
    parser.add_argument("--fail-first", type=int, default=0, help="answer the first N requests with 503")
    args = parser.parse_args(argv)

    client: Any = None
    if args.docker:
        import docker

        client = docker.from_env()
    agents: list[tuple[str, Any]] = []
    for entry in args.agent:
        host, sep, url = entry.partition("=")
        if not sep or not host or not url:
            parser.error(f"--agent {entry!r}: expected HOST=DOCKER_URL")
        import docker

        agents.append((host, docker.DockerClient(base_url=url)))
    double = MarathonApiDouble(
        version=args.version,
        deployment_delay=args.deployment_delay,
        bind=args.bind,
        port=args.port,
        agent_host=args.agent_host,
        docker_client=client,
        docker_name_prefix=args.name_prefix,
        username=args.username,
        password=args.password,
        token=args.token,
        agents=agents,
    )
    if args.fail_first:
        double.inject_faults(args.fail_first)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    double.start()
    print(f"test double of Marathon's API {args.version} listening on {double.url}", flush=True)
    stopped.wait()
    double.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
