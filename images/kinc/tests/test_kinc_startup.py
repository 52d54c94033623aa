"""What a kinc process loads before it works: numpy, and no module only some commands need."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1]
THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")

PROBE = (
    "import json, os, sys\n"
    "import kinc.cli\n"
    'loaded = sorted({m.split(".")[0] for m in sys.modules} & {"scipy", "matplotlib", "xml", "urllib"})\n'
    f"print(json.dumps({{'loaded': loaded, 'threads': {{n: os.environ.get(n) for n in {THREADS!r}}}}}))\n"
)


def probe(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in THREADS and k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**clean, "PYTHONPATH": str(PACKAGE), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_the_command_line_loads_neither_scipy_nor_matplotlib_nor_xml() -> None:
    assert probe()["loaded"] == []


def test_one_blas_thread_unless_the_environment_chooses() -> None:
    assert probe()["threads"] == dict.fromkeys(THREADS, "1")


@pytest.mark.parametrize("name", THREADS)
def test_a_thread_setting_of_the_user_is_left_alone(name: str) -> None:
    threads = probe(**{name: "3"})["threads"]
    assert threads == {n: ("3" if n == name else None) for n in THREADS}
