"""A test double of Marathon's REST API (not Marathon), for testing ``cloudflock.htcondor.marathon_app``.

See ``README.md`` in this directory. Start it in-process::

    with MarathonApiDouble(version="1.10.17", deployment_delay=0.2) as double:
        ...  # talk to double.url, then assert on double.requests / double.writes()

or standalone: ``python -m tests.marathon_double --port 8080 --version 1.4.3 [--docker]``.
"""

from .docker_tasks import DOUBLE_LABEL, DockerTaskLauncher, LaunchError, run_spec
from .schema import validation_errors
from .server import MarathonApiDouble, RecordedRequest

__all__ = [
    "DOUBLE_LABEL",
    "DockerTaskLauncher",
    "LaunchError",
    "MarathonApiDouble",
    "RecordedRequest",
    "run_spec",
    "validation_errors",
]
