"""GMM mode's DAG run node by node on this machine with the KINC payload (no HTCondor): the arguments the
DAG gives each node fit the payload's commands and the files they pass along."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

# The bindings kincflow imports, in their null configuration (no HTCondor here), without their warning about it.
os.environ.setdefault("CONDOR_CONFIG", os.devnull)

from ansible_collections.cloudflock.htcondor.plugins.module_utils.run_report import write_report

from tests.support import REPO
from tests.support.payload import kinc_command

_WORKFLOW = REPO / "images" / "submitter" / "workflow"


@pytest.fixture()
def kincflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KINCFLOW_HOME", str(tmp_path))
    (tmp_path / "payload").mkdir()
    monkeypatch.setenv("KINC", str(kinc_command(tmp_path / "payload")))  # the image's /usr/local/bin/kinc
    spec = importlib.util.spec_from_file_location("kincflow", _WORKFLOW / "kincflow.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["kincflow"] = module
    spec.loader.exec_module(module)
    return module


def _inputs(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(7)
    samples = [f"s{i}" for i in range(40)]
    base = rng.normal(size=40)
    rows = ["\t".join(samples)]
    for gene in range(6):
        values = base * (1 if gene % 2 else -1) + rng.normal(scale=0.3, size=40)
        rows.append("\t".join([f"g{gene}", *(f"{v:.4f}" for v in values)]))
    gem = tmp_path / "gem.txt"
    gem.write_text("\n".join(rows) + "\n")
    amx = tmp_path / "amx.txt"
    amx.write_text("Sample\tTreatment\tAge\n" + "".join(
        f"{s}\t{'AB'[i % 2]}\t{20 + i}\n" for i, s in enumerate(samples)))
    return gem, amx


def _run_dag(kincflow, tmp_path: Path) -> Path:
    """Build a GMM run with annotations and run its nodes in the DAG's order: each chunk as chunk-job runs it
    (in a scratch directory of its own, with the transferred inputs), then the finish node."""
    gem, amx = _inputs(tmp_path)
    options = kincflow._parser().parse_args(
        ["submit", "2", str(gem), "--clusmethod", "gmm", "--minsamp", "10", "--maxclus", "2", "--annotations",
         str(amx), "--threshold", "0.5", "--no-plots", "--pvalue", "1", "--rsquare", "0"])
    options.mode = "kinc"
    run = kincflow.build_run(options)
    dag = (run / "run.dag").read_text()
    assert [line.split()[1] for line in dag.splitlines() if line.startswith("JOB ")] == ["chunk0", "chunk1", "finish"]
    submit = dict(line.split(" = ", 1) for line in (run / "chunk.sub").read_text().splitlines() if " = " in line)
    inputs = submit["transfer_input_files"].split(",")
    env = {**os.environ, "PYTHONPATH": str(REPO / "images" / "kinc")}
    for name in ("chunk0", "chunk1"):
        values = dict(re.findall(r'(\w+)="([^"]*)"', next(line for line in dag.splitlines()
                                                          if line.startswith(f"VARS {name} "))))
        scratch = tmp_path / f"scratch-{name}"
        scratch.mkdir()
        for item in inputs:
            shutil.copyfile(run / item, scratch / item)
        argv = [sys.executable, str(_WORKFLOW / "chunk-job"), values["chunk"], values["chunks"], values["mode"],
                *shlex.split(values["job_args"])]
        # What HTCondor sends back: the outputs the submit description names, every one of them.
        outputs = [item.strip().replace("$(chunk)", values["chunk"]).replace("$(chunks)", values["chunks"])
                   for item in submit["transfer_output_files"].split(",")]
        (scratch / ".job.ad").write_text(f'TransferOutput = "{",".join(outputs)}"\n')
        result = subprocess.run(argv, cwd=scratch, env={**env, "_CONDOR_JOB_AD": str(scratch / ".job.ad")},
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, (name, argv, result.stderr)
        written = {made.name for made in scratch.iterdir()} - set(inputs) - {".job.ad"}
        assert written == set(outputs), (written, outputs)  # nothing written is left behind, nothing is missing
        for output in outputs:
            assert (scratch / output).stat().st_size > 0, output
            shutil.copyfile(scratch / output, run / output)
    assert kincflow.finish(run.name) == 0, (run / "finish.json").read_text()
    return run


def test_the_gmm_dag_runs_node_by_node_with_the_payload(kincflow, tmp_path: Path) -> None:
    run = _run_dag(kincflow, tmp_path)
    lines = (run / "network.txt").read_text().splitlines()
    header = lines[0].split("\t")
    assert len(lines) > 1  # the correlated genes' edges pass the open filters
    assert header[:2] == ["Source", "Target"] and "Age_pVal" in header and "Treatment__A_pVal" in header
    assert (run / "network.csm").is_file() and (run / "threshold.txt").read_text() == "0.5\n"
    # Each chunk tested its own powered clusters: the merged CSM holds a row per cluster of network.cmx.
    meta = [json.loads((run / f"chunk-{i}.meta.json").read_text()) for i in range(2)]
    assert all(any(name.startswith("network.csm.chunk-") for name in m["outputs"]) for m in meta)
    assert [step["name"] for step in json.loads((run / "summary.json").read_text())["steps"]] == [
        "merge", "corrpower", "condtest", "extract"]


def test_the_report_of_a_gmm_run_counts_its_clusters_and_condition_edges(kincflow, tmp_path: Path) -> None:
    run = _run_dag(kincflow, tmp_path)
    assert json.loads((run / "summary.json").read_text())["settings"]["clusmethod"] == "gmm"
    write_report(run)
    page = (run / "report.html").read_text(encoding="utf-8")
    # What network.txt holds, read here on its own: rows per pair and, at the run's filters (--pvalue 1
    # --rsquare 0), the edges passing each test.
    with (run / "network.txt").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    per_pair = Counter((row["Source"], row["Target"]) for row in rows)
    for size, pairs in Counter(per_pair.values()).items():
        assert re.search(rf'<tr><td class="num">{size}</td><td class="num">{pairs}</td>', page), (size, pairs)
    counts = {name: sum(float(row[f"Treatment__{name}_pVal"]) < 1 for row in rows) for name in "AB"}
    age = sum(float(row["Age_pVal"]) < 1 and float(row["Age_RSqr"]) > 0 for row in rows)
    assert counts["B"] > 0  # the inputs give the correlated pairs' clusters a Treatment B p below 1
    for label, count in counts.items():
        assert f"<tr><td>Treatment</td><td>{label}</td><td>p &lt; 1</td><td class=\"num\">{count}</td></tr>" in page
    assert f"<tr><td>Age</td><td></td><td>p &lt; 1, R² &gt; 0</td><td class=\"num\">{age}</td></tr>" in page
    assert f"{len(per_pair)} gene pairs with {len(rows)} edges" in page
