"""The controller's GEM check: every problem named with its file, line and reason; the figures of a good GEM;
the same verdict as the KINC payload's parser; the file left as it was. The action is tested beside its plugin
(tests/unit/plugins/action/test_kinc_gem.py)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from ansible_collections.cloudflock.htcondor.plugins.module_utils.kinc_gem import GemError, check_gem

from tests.support import REPO
from tests.support.payload import payload_module

MODULE = REPO / "plugins" / "module_utils" / "kinc_gem.py"
HEADER = "s1\ts2\ts3\n"
GOOD = HEADER + "g1\t1\tNA\t3\ng2\t-1e3\t.5\tinf\n"


def gem(tmp_path: Path, content: str | bytes, name: str = "gem.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def problem(path: Path, **options) -> str:
    with pytest.raises(GemError) as caught:
        check_gem(str(path), **options)
    return str(caught.value)


# ------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "content,where,reason",
    [
        (b"", "", "file is empty (0 bytes"),
        ("\n \t\n\n", "", "header missing: the file holds only blank lines"),
        ("g0\t1\tNA\t3\ng1\t1\t2\t3\n", ": line 1", "header missing: it looks like a gene row (a name and 3 values)"),
        (
            "Gene\t" + HEADER + "g1\t1\t2\t3\n",
            ": line 2",
            "expected 5 fields (gene name and 4 samples), found 4 (an empty cell shifts the row, or line 1 labels",
        ),
        (HEADER + "g1\t1\t2\t3\ng2\t1\t\t3\n", ": line 3", "expected 4 fields (gene name and 3 samples), found 3 "
         "(an empty cell shifts the row)"),
        (HEADER + "g1\t1\t2\t3\t4\n", ": line 2", "expected 4 fields (gene name and 3 samples), found 5"),
        (
            HEADER + "g1\t1\t2\t3\ng2\t1\tabc\t3\n",
            ": line 3, column 3 (sample 's2')",
            "'abc' is neither a number nor the missing-value token 'NA'",
        ),
        (HEADER + "g1\t1\tna\t3\n", ": line 2, column 3 (sample 's2')", "'na' is neither a number nor"),
        (
            HEADER + "g1\t1\t2\t3\ng2\t4\t5\t6\n\ng1\t7\t8\t9\n",
            ": line 5",
            "gene 'g1' is listed twice, on lines 2 and 5",
        ),
        (
            "s1\ts2\ts1\ng1\t1\t2\t3\n",
            ": line 1",
            "sample 's1' is named twice in the header, fields 1 and 3 (the values' columns 2 and 4)",
        ),
        (HEADER.encode() + b"g1\t1\t2\t3\ng2\t1\t\xff\t3\n", ": line 3", "not valid UTF-8 text (invalid start byte)"),
        (HEADER + "\n\n", "", "no gene rows found (only the header, line 1)"),
    ],
    ids=[
        "empty", "blank-lines", "header-is-a-gene-row", "header-labels-gene-column", "empty-cell", "extra-field",
        "bad-value", "nan-token-is-case-sensitive", "duplicate-gene", "duplicate-sample", "not-utf8", "no-rows",
    ],
)
def test_each_problem_names_file_line_and_reason(tmp_path: Path, content, where: str, reason: str) -> None:
    path = gem(tmp_path, content)
    message = problem(path, minsamp=1)
    assert message.startswith(f"{path}{where}: {reason}"), message


def test_fewer_samples_than_minsamp_names_kinc_minsamp(tmp_path: Path) -> None:
    path = gem(tmp_path, "\n" + GOOD)
    message = problem(path, minsamp=4)
    assert message.startswith(f"{path}: line 2: 3 samples, fewer than kinc_minsamp (4)"), message
    assert check_gem(str(path), minsamp=3)["samples"] == 3
    # The default is KINC's 30.
    assert "fewer than kinc_minsamp (30)" in problem(path)


def test_missing_file_and_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert problem(tmp_path / "nope.txt") == f"{tmp_path / 'nope.txt'}: no such file"
    assert problem(tmp_path) == f"{tmp_path}: is a directory, expected a GEM file"
    monkeypatch.chdir(tmp_path)
    assert problem(Path("nope.txt")) == f"nope.txt: no such file (looked for {tmp_path / 'nope.txt'})"


def test_not_a_regular_file_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "gem.fifo"
    os.mkfifo(fifo)
    assert problem(fifo) == f"{fifo}: is not a regular file (a GEM is a text file)"


def _interpreter_for(uid: int) -> str:
    """A Python that user ``uid`` may run (the virtualenv's may sit under root's home)."""
    for candidate in (sys.executable, shutil.which("python3", path="/usr/bin:/bin")):
        try:
            if candidate and subprocess.run([candidate, "-c", ""], user=uid, check=False).returncode == 0:
                return candidate
        except PermissionError:
            continue
    pytest.fail(f"no Python interpreter that uid {uid} may run, to read a file it has no permission for")


def test_unreadable_file(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        path = gem(tmp_path, GOOD)
        path.chmod(0)
        assert problem(path, minsamp=1) == f"{path}: cannot read: permission denied"
        return
    # root reads any file: check as an unprivileged user, from a directory that user may enter.
    nobody = 65534
    directory = Path(tempfile.mkdtemp(prefix="kinc-gem-"))
    try:
        directory.chmod(0o755)
        path = gem(directory, GOOD)
        path.chmod(0)
        # A copy of the module that user may read: the checkout itself may sit in a directory it may not enter.
        module_copy = directory / "kinc_gem.py"
        shutil.copyfile(MODULE, module_copy)
        module_copy.chmod(0o644)
        script = (
            "import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('kinc_gem', {str(module_copy)!r})\n"
            "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
            "try:\n"
            f"    module.check_gem({str(path)!r}, minsamp=1)\n"
            "except module.GemError as error:\n"
            "    print(error)\n"
        )
        done = subprocess.run(
            [_interpreter_for(nobody), "-c", script], user=nobody, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"{path}: cannot read: permission denied"
    finally:
        shutil.rmtree(directory)


@pytest.mark.parametrize(
    "nan,minsamp,message",
    [
        ("", 30, "nan: '' must be one word"),
        ("N A", 30, "nan: 'N A' must be one word"),
        ("NA", 0, "minsamp: 0 must be an integer of at least 1"),
        ("NA", True, "minsamp: True must be an integer"),
    ],
)
def test_bad_options(tmp_path: Path, nan: str, minsamp, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_gem(str(gem(tmp_path, GOOD)), nan=nan, minsamp=minsamp)


# ------------------------------------------------------------------------------------- good files


def test_figures_of_a_small_gem_with_missing_values(tmp_path: Path) -> None:
    text = (
        "\n"
        "s1 s2 s3 s4\t\n"
        "g1\t1\tNA\t3\t4\t\n"
        "g2\t-1e3\t.5\tinf\tNA\r\n"
        "\n"
        "g3\tNA\tNA\tnan\t7\n"
        "g4 1 2 3 4"
    )
    path = gem(tmp_path, text)
    found = check_gem(str(path), minsamp=4)
    assert found == {
        "path": str(path),
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "genes": 4,
        "samples": 4,
        "missing": 5,  # four NA cells and one nan
        "size": len(text.encode()),
    }


def test_path_is_returned_absolute_and_another_nan_token_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gem(tmp_path, "a b\nx ? 1\ny 3 2\n")
    gem(tmp_path, "a b\nx ? 1\ny NA 2\n", "bad.txt")
    monkeypatch.chdir(tmp_path)
    found = check_gem("gem.txt", nan="?", minsamp=2)
    assert found["path"] == str(tmp_path / "gem.txt") and found["missing"] == 1
    assert problem(Path("bad.txt"), nan="?", minsamp=2) == (
        "bad.txt: line 3, column 2 (sample 'a'): 'NA' is neither a number nor the missing-value token '?'"
    )


def test_the_reference_gem_shipped_with_the_collection() -> None:
    path = REPO / "images" / "submitter" / "data" / "PRJNA301554.slim.GEM.log2.txt"
    found = check_gem(str(path))
    data = path.read_bytes()
    assert found["genes"] == data.count(b"\n") - 1 and found["samples"] == len(data.split(b"\n", 1)[0].split())
    assert found["missing"] == data.split(b"\n", 1)[1].split().count(b"NA") > 0
    assert found["sha256"] == hashlib.sha256(data).hexdigest() and found["size"] == len(data)


def test_the_file_is_never_modified(tmp_path: Path) -> None:
    good, bad = gem(tmp_path, GOOD, "good.txt"), gem(tmp_path, GOOD + "g1 1 2 3\n", "bad.txt")
    for path in (good, bad):
        os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
        before = (path.read_bytes(), path.stat().st_mtime_ns, stat.S_IMODE(path.stat().st_mode))
        try:
            check_gem(str(path), minsamp=1)
        except GemError:
            assert path is bad
        after = (path.read_bytes(), path.stat().st_mtime_ns, stat.S_IMODE(path.stat().st_mode))
        assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt", "good.txt"]


def test_imports_and_runs_without_numpy(tmp_path: Path) -> None:
    script = (
        "import importlib.util, json, sys\n"
        "sys.modules['numpy'] = None  # any import of numpy now fails\n"
        f"spec = importlib.util.spec_from_file_location('kinc_gem', {str(MODULE)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        f"print(json.dumps(module.check_gem({str(gem(tmp_path, GOOD))!r}, minsamp=3)))\n"
    )
    done = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["genes"] == 2


# ----------------------------------------------------------------------------- same as the payload


@pytest.fixture(scope="module")
def read_gem():
    return payload_module("gem").read_gem, payload_module("errors").KincError


AGREEMENT = {
    "good": GOOD,
    "trailing-tabs-crlf-blank-lines": "\n\ns1 s2\t\r\n\ng1 1 NA\t\r\ng2\t1_0 nan\r\n\n",
    "unicode-names-and-digits": "é ü\nγ ١٢ ０.５\nδ -Infinity +1e-3\n",
    "unicode-whitespace": "s1\u3000s2\ng\u20281 2\ng2 3 4\n",
    "empty-cell": HEADER + "g1\t1\t\t3\n",
    "hex-value": HEADER + "g1\t1\t0x10\t3\n",
    "duplicate-gene": HEADER + "g1 1 2 3\ng1 1 2 3\n",
    "duplicate-sample": "a b a\ng 1 2 3\n",
    "header-is-a-row": "g 1 2\nh 3 4\n",
    "header-labels-gene": "gene a b\ng 1 2\n",
    "only-header": HEADER,
    "blank": "\n\n",
    "not-utf8": b"s1 s2\ng1 1 \xe9\n",
}


@pytest.mark.parametrize("name", AGREEMENT)
def test_accepts_what_the_payload_accepts(tmp_path: Path, read_gem, name: str) -> None:
    read, kinc_error = read_gem
    path = gem(tmp_path, AGREEMENT[name])
    try:
        emx = read(str(path))
    except kinc_error as error:
        payload = str(error)
    else:
        payload = None
    try:
        found = check_gem(str(path), minsamp=1)
    except GemError as error:
        ours = str(error)
    else:
        ours = None
    assert (ours is None) == (payload is None), (ours, payload)
    if ours is None:
        import numpy as np

        assert found["genes"] == len(emx.genes) and found["samples"] == len(emx.samples)
        assert found["missing"] == int(np.isnan(emx.values).sum())
    else:
        # The same place: the file, and the line when the payload names one.
        prefix = payload.split(": ", 2)
        assert ours.startswith(prefix[0] + ": ")
        if prefix[1].startswith("line"):
            assert ours.split(": ", 2)[1] == prefix[1], (ours, payload)
