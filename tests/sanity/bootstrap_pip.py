"""Put pip into a new, pip-less virtual environment: the pip bootstrap script ansible-test runs.

ansible-test creates each sanity test's virtual environment without pip and runs a bootstrap script,
which it would otherwise download, with the environment's Python and get-pip style arguments, e.g.
``--disable-pip-version-check pip==24.2 --no-setuptools --no-wheel``. This one uses the pip that ships
with the interpreter (ensurepip) to install exactly the requested pins from the package index.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

# get-pip options naming a package the environment must be left without; the rest are pip's own.
LEAVE_OUT = {"--no-setuptools": "setuptools", "--no-wheel": "wheel"}


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True)


def installed() -> set[str]:
    return {dist.metadata["Name"].lower() for dist in importlib.metadata.distributions()}


def main(argv: list[str]) -> None:
    subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True, stdout=subprocess.DEVNULL)
    pip("install", *(arg for arg in argv if arg not in LEAVE_OUT))
    # ensurepip brings setuptools along before Python 3.12.
    unwanted = sorted(installed() & {LEAVE_OUT[arg] for arg in argv if arg in LEAVE_OUT})
    if unwanted:
        pip("uninstall", "--yes", *unwanted)


if __name__ == "__main__":
    main(sys.argv[1:])
