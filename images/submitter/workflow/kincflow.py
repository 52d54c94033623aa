#!/usr/bin/python3
"""The KINC workflow on HTCondor: a DAGMan DAG that splits KINC's similarity over N jobs.

  submit N [GEM] [--threshold T] [--corrmethod pearson|spearman] [--no-plots] [--test-jobs ...]
         [--job-delay S]
      Builds the DAG in ~/runs/<run id>/, submits it and prints the run id (JSON with --json).
      --job-delay makes every similarity job wait S seconds before its work (results unchanged), so a
      fault can be injected while jobs run.
  status RUN_ID [--json]
      Progress: DAG nodes done/failed, jobs idle/running/done, jobs per executor pool, the failing
      node's error output when the run failed, and the jobs' history from the job event log: nodes
      whose job (or, for finish, the node) was started more than once (`reruns`), disconnections and
      reconnections.
  resume RUN_ID
      Submits the run's DAG again when its DAGMan job has left the queue without finishing (removed, or
      stopped by a failure): DAGMan picks up the newest rescue DAG and runs only the nodes not done.
      A DAGMan job that is still queued (for example after a submitter restart, where the schedd restarts
      it and DAGMan recovers from the job event log by itself) is left alone.
  attach RUN_ID
      For a caller that comes back to a run: `done` when it finished, `running` while its DAGMan job is
      queued (also after a submitter restart, where DAGMan recovers by itself), else it resumes the run
      (as `resume`) and answers `resubmitted`. Prints JSON.
  rethreshold RUN_ID T
      Finish a stopped run past its similarity (for example one whose RMT walk found no threshold) with the
      fixed threshold T: a rescue DAG marks every chunk done and the finish node runs without rmt, extract at
      T, so `resume` only merges, extracts and summarizes the similarity the run has.
  runs [--json]
      The runs in ~/runs, newest first.
  pools NAME=ADDRESS ... [--json]
      Which executor pools (central managers) the submitter sees: `state` done when all of them are.
  finish RUN_ID [--logs]
      The DAG's last node (DAGMan runs it as the node's PRE script, with --logs: its own output to
      logs/finish.out and .err): its steps in order; exits 2 when a step's failure is a verdict (bad input,
      no RMT threshold: not retried), 1 for another failure (retried).
  summarize RUN_ID
      The finish node's last step: writes summary.json next to the network.

At submit, KINC's import-emx turns the GEM into the run's input.emx (a GEM it refuses stops the submit, and
no run is left). DAG: chunk0..chunkN-1 (flock to the executor pools) -> finish (no job: DAGMan runs it on the
submitter as the node's PRE script, as soon as the last chunk ends): the finish node runs its steps in order
(run.json's "finish"; each timed in finish.json, its output in logs/STEP.out and .err): merge the chunks, rmt (or
a fixed threshold), extract, and the summary.
GMM mode (submit --clusmethod gmm [--minclus --maxclus --crit --postout --alpha --power --reduction]): each
chunk clusters its pairs into similarity.* and runs corrpower on them (the clusters with power, network.*);
finish merges both and rmt takes --reduction. With --annotations AMX [--feat-tests A,B] [--feat-types A:type]
[--pvalue P] [--rsquare R]: each chunk also runs cond-test on its own powered clusters, finish merges
network.csm and extract keeps the edges with a test passing the filters. Per pair, every step depends on that
pair only: the chunks' merged files are the whole run's. Its settings are recorded in run.json and summary.json.
Each chunk job records where it ran (its pool, host, times, job id, digests of its chunk files) in
chunk-<i>.meta.json, which comes back with its output; the summary counts jobs per pool from those
records and how often each node's job was started from the job event log (run.log).

Faults: a job whose executor vanishes goes back to idle when its job lease ends and runs again elsewhere
(the lease is the pools' JOB_DEFAULT_LEASE_DURATION); only the run that finishes sends its output back,
so each chunk's files appear once. After a submitter restart the schedd reconnects to the jobs still
running within their lease and restarts DAGMan, which recovers the DAG's state from run.log and does not
run finished nodes again.
Unless --no-plots, rmt and extract also draw PNGs in the run directory (PLOTS); the summary lists those
that exist under "plots".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs

# HTCondor's Python bindings (in the submitter image from Debian's condor package): the job event log, the node
# status file's ClassAds and the schedd's and collectors' queries are read through them.
import classad
import htcondor

WORKFLOW = Path(__file__).resolve().parent


def _constants() -> dict:
    """images/constants.json, the paths this workflow shares with the roles: the submitter image installs it
    beside this script, a checkout has it in images/, two directories up."""
    for path in (WORKFLOW / "constants.json", WORKFLOW.parents[1] / "constants.json"):
        if path.is_file():
            with path.open(encoding="utf-8") as handle:
                return json.load(handle)
    raise FileNotFoundError(f"no constants.json beside {WORKFLOW} or two directories up")


CONSTANTS = _constants()
# The runs: the workflow user's (constants.json's runs_dir, which the kinc role fetches from), or runs/ in
# KINCFLOW_HOME (tests).
RUNS = Path(os.environ["KINCFLOW_HOME"]) / "runs" if os.environ.get("KINCFLOW_HOME") else Path(CONSTANTS["runs_dir"])
DEFAULT_GEM = Path(os.environ.get("KINCFLOW_DEFAULT_GEM")
                   or Path(CONSTANTS["example_data_dir"]) / CONSTANTS["example_gem"])
NODE_STATES = {0: "not_ready", 1: "ready", 2: "prerun", 3: "submitted", 4: "postrun", 5: "done", 6: "error",
               7: "futile"}
JOB_STATES = {1: "idle", 2: "running", 3: "removed", 4: "done", 5: "held", 6: "transferring", 7: "suspended"}
# The payload's pictures, by summary key: rmt draws the first, extract the other two.
PLOTS = {"rmt": "rmt.png", "similarity_histogram": "similarity-histogram.png",
         "degree_distribution": "degree-distribution.png"}


# The exit code with which a node says its failure is deterministic, so DAGMan does not retry it: kinc's for
# bad input; the finish node exits with it too when one of its steps failed that way (DETERMINISTIC_STEP_EXIT).
DETERMINISTIC_EXIT = 2
# A finish step's exit codes that are verdicts, not accidents: kinc's 2 (bad input) and rmt's 1 (its walk found
# no threshold). Running them again gives the same answer.
DETERMINISTIC_STEP_EXIT = {"rmt": (1, 2)}
# The submit file DAGMan's syntax wants for the finish node, a NOOP job: nothing reads or writes it.
FINISH_NODE_FILE = "finish.noop"


class FlowError(RuntimeError):
    """A user-facing error: the message says what is wrong and with which value."""


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)


def _kinc() -> str:
    """The payload's command: KINC in the environment (tests) or the image's."""
    return os.environ.get("KINC") or "/usr/local/bin/kinc"


def _chunk_file(name: str, chunk: int | str, chunks: int | str) -> str:
    """The file chunk CHUNK of CHUNKS writes for the output NAME, as kinc chunkrun names it (kinc.pairs.chunk_path);
    "$(chunk)" and "$(chunks)" name it in a submit description."""
    return f"{name}.chunk-{chunk}-of-{chunks}"


def _chunk_outputs(options: argparse.Namespace, annotations: bool) -> list[str]:
    """What a chunk job sends back, as the submit description names it ($(chunk), $(chunks)): its record and
    the chunk files of each analytic it runs (kinc chunkrun's `<output>.chunk-I-of-N`)."""
    if options.mode == "test":
        files = []
    elif _gmm(options):
        files = ["similarity.ccm", "similarity.cmx", "network.ccm", "network.cmx",
                 *(["network.csm"] if annotations else [])]
    else:
        files = ["network.ccm", "network.cmx"]
    return ["chunk-$(chunk).meta.json", *(_chunk_file(name, "$(chunk)", "$(chunks)") for name in files)]


def _chunk_submit(run: Path, inputs: str, outputs: list[str], memory_mb: int, delay_s: float = 0.0,
                  log: str = "chunk") -> str:
    """One submit description for every chunk node; the node passes its index as $(chunk)."""
    return "\n".join([
        "universe = vanilla",
        f"executable = {WORKFLOW / 'chunk-job'}",
        "arguments = \"$(chunk) $(chunks) $(mode) $(job_args)\"",
        f"output = logs/{log}-$(chunk).out",
        f"error = logs/{log}-$(chunk).err",
        "log = run.log",
        "should_transfer_files = YES",
        "when_to_transfer_output = ON_EXIT",
        f"transfer_input_files = {inputs}" if inputs else "",
        # Named, not "whatever changed": with no list the starter waits 1 s after the input transfer before
        # the job starts (so that a file's mtime tells it changed), a second per job on every slot.
        # chunk-job makes sure each of these exists when it exits, so a failed job fails, not holds.
        f"transfer_output_files = {', '.join(outputs)}",
        "job_machine_attrs = CLOUDFLOCK_POOL",
        "request_cpus = 1",
        f"request_memory = {memory_mb}",
        "request_disk = 100000",
        "+CloudflockRun = \"" + run.name + "\"",
        f"environment = \"KINCFLOW_JOB_DELAY={delay_s:g}\"" if delay_s > 0 else "",
        "queue",
    ]) + "\n"


def _gmm(options: argparse.Namespace) -> bool:
    return getattr(options, "clusmethod", "none") == "gmm"


def _similarity_args(options: argparse.Namespace) -> str:
    if _gmm(options):
        # GMM: similarity writes similarity.*; corrpower keeps the clusters with power in network.*, which
        # rmt, extract and rethreshold read as in traditional mode.
        return (f"--input input.emx --ccm similarity.ccm --cmx similarity.cmx --clusmethod gmm "
                f"--corrmethod {options.corrmethod} --minsamp {options.minsamp} --minexpr {options.minexpr} "
                f"--maxexpr {options.maxexpr} --preout {str(options.preout).lower()} --mincorr {options.mincorr} "
                f"--maxcorr {options.maxcorr} --minclus {options.minclus} --maxclus {options.maxclus} "
                f"--crit {options.crit.lower()} --postout {str(options.postout).lower()}")
    return (f"--input input.emx --ccm network.ccm --cmx network.cmx --clusmethod none "
            f"--corrmethod {options.corrmethod} --minsamp {options.minsamp} --minexpr {options.minexpr} "
            f"--maxexpr {options.maxexpr} --preout {str(options.preout).lower()} --mincorr {options.mincorr} "
            f"--maxcorr {options.maxcorr}")


def _corrpower_args(options: argparse.Namespace) -> str:
    return (f"--ccm-in similarity.ccm --cmx-in similarity.cmx --ccm-out network.ccm --cmx-out network.cmx "
            f"--alpha {options.alpha} --power {options.power}")


def _chunk_args(options: argparse.Namespace, chunk: int, condtest: str) -> str:
    """A chunk job's arguments after CHUNK CHUNKS MODE: similarity's options, and in GMM mode corrpower's and
    (with annotations) cond-test's on the chunk's own files, each after a `--`."""
    args = _similarity_args(options)
    if not _gmm(options):
        return args
    args += f" -- {_corrpower_args(options)}"
    if condtest:
        args += " -- " + condtest.format(cmx=_chunk_file("network.cmx", chunk, options.chunks),
                                         ccm=_chunk_file("network.ccm", chunk, options.chunks))
    return args


def gem_facts(gem: Path) -> dict:
    """The GEM's digest and shape, recorded so that a run can be reproduced: sha256 of its bytes, the
    samples in its header line and its gene rows (non-blank lines after the header)."""
    digest, samples, genes = hashlib.sha256(), None, 0
    with gem.open("rb") as handle:
        for line in handle:
            digest.update(line)
            if not line.strip():
                continue
            if samples is None:
                samples = len(line.split())
            else:
                genes += 1
    return {"gem_sha256": digest.hexdigest(), "gem_genes": genes, "gem_samples": samples or 0}


def annotation_features(annotations: Path) -> list[str]:
    """The features of an annotation matrix: its tab-separated header line after the sample column."""
    with annotations.open(encoding="utf-8") as handle:
        header = handle.readline().rstrip("\r\n").split("\t")
    return [name for name in header[1:] if name]


def _condtest_args(options: argparse.Namespace, features: list[str], cmx: str = "network.cmx",
                   ccm: str = "network.ccm") -> str:
    types = f" --feat-types {options.feat_types}" if options.feat_types else ""
    return (f"--emx input.emx --ccm {ccm} --cmx {cmx} --amx annotations.txt --output network.csm "
            f"--feat-tests {','.join(features)}{types} --alpha {options.alpha} --power {options.power} "
            f"--nan {options.nan}")


def gmm_settings(options: argparse.Namespace) -> dict:
    """The GMM mode's settings (recorded only in that mode, so a traditional run's record stays as it was)."""
    return {"clusmethod": "gmm", "minclus": options.minclus, "maxclus": options.maxclus, "crit": options.crit.lower(),
            "postout": str(options.postout).lower() == "true", "alpha": options.alpha, "power": options.power,
            "annotations": bool(options.annotations), "feat_tests": options.feat_tests or "",
            "feat_types": options.feat_types or "", "pvalue": options.pvalue, "rsquare": options.rsquare,
            "reduction": options.reduction}


def settings(options: argparse.Namespace) -> dict:
    """KINC's settings of a run, as given to its commands."""
    if _gmm(options):
        return {**_traditional_settings(options), **gmm_settings(options)}
    return _traditional_settings(options)


def _traditional_settings(options: argparse.Namespace) -> dict:
    return {"jobs": options.chunks, "corrmethod": options.corrmethod, "minsamp": options.minsamp,
            "minexpr": str(options.minexpr), "maxexpr": str(options.maxexpr), "preout": options.preout == "true",
            "mincorr": options.mincorr, "maxcorr": options.maxcorr, "nan": options.nan,
            "threshold": options.threshold}


def _import(run: Path, gem: Path, nan: str) -> None:
    """KINC's import-emx of the GEM into the run's input.emx, at submit: its errors come back at once, and the
    chunks start as soon as the DAG does."""
    try:
        result = subprocess.run([_kinc(), "run", "import-emx", "--input", str(gem), "--output", "input.emx",
                                 "--nan", nan], cwd=run, capture_output=True, text=True, check=False)
    except OSError as error:
        raise FlowError(f"kinc import-emx of GEM {str(gem)!r} could not start: {error}") from error
    (run / "logs" / "import.out").write_text(result.stdout, encoding="utf-8")
    (run / "logs" / "import.err").write_text(result.stderr, encoding="utf-8")
    if result.returncode != 0:
        raise FlowError(f"kinc import-emx of GEM {str(gem)!r} failed: "
                        f"{result.stderr.strip() or result.stdout.strip() or f'exit {result.returncode}'}")


def _extract_step(plots: bool, threshold: float | None, extra: list[str]) -> list[str]:
    return [str(WORKFLOW / "extract-job"), *([] if plots else ["--no-plots"]),
            *([] if threshold is None else [f"{threshold:g}"]), *extra]


def finish_steps(options: argparse.Namespace, features: list[str]) -> list[dict]:
    """The finish node's steps, in order, each a name (its logs are logs/NAME.out and .err) and a command: the
    merges of the chunks' files, rmt (unless a fixed threshold), extract, then the summary (in the node's own
    process: no command)."""
    kinc, chunks, gmm = _kinc(), options.chunks, _gmm(options)
    steps = [{"name": "merge", "argv": [kinc, "merge", str(chunks), "similarity", *_similarity_args(options).split()]}]
    extra: list[str] = []
    if gmm:
        steps.append({"name": "corrpower", "argv": [kinc, "merge", str(chunks), "corrpower",
                                                    *_corrpower_args(options).split()]})
        if features:
            steps.append({"name": "condtest", "argv": [kinc, "merge", str(chunks), "cond-test",
                                                       *_condtest_args(options, features).split()]})
            # The CSM's filters go to extract after its own options: extract-job [--no-plots] [T] -- EXTRA.
            extra = ["--", "--csm", "network.csm", "--filter-pvalue", str(options.pvalue),
                     "--filter-rsquare", str(options.rsquare)]
    if options.threshold is None:
        plot = ["--plot", PLOTS["rmt"]] if options.plots else []
        reduction = ["--reduction", options.reduction] if gmm else []
        steps.append({"name": "rmt", "argv": [kinc, "run", "rmt", "--input", "network.cmx", "--log", "rmt.log",
                                              *reduction, *plot]})
    steps.append({"name": "extract", "argv": _extract_step(options.plots, options.threshold, extra)})
    return [*steps, {"name": "summary", "argv": None}]


def build_run(options: argparse.Namespace) -> Path:
    """Write the run directory: run.json, the submit descriptions and the DAG (chunk0..N-1, then finish), and
    import the GEM (KINC mode). A run that cannot start leaves nothing behind."""
    run_id = time.strftime("kinc-%Y%m%d-%H%M%S-", time.gmtime()) + secrets.token_hex(3)
    run = RUNS / run_id
    if options.job_delay < 0:
        raise FlowError(f"--job-delay {options.job_delay:g}: the delay must not be negative")
    gem = annotations = None
    if options.mode == "kinc":
        gem = Path(options.gem).resolve()
        if not gem.is_file():
            raise FlowError(f"GEM {str(gem)!r} is not a readable file")
        if _gmm(options) and options.annotations:
            annotations = Path(options.annotations).resolve()
            if not annotations.is_file():
                raise FlowError(f"annotations {str(annotations)!r} is not a readable file")
    (run / "logs").mkdir(parents=True)
    try:
        return _build(run, options, gem, annotations)
    except BaseException:
        shutil.rmtree(run, ignore_errors=True)
        raise


def _build(run: Path, options: argparse.Namespace, gem: Path | None, annotations: Path | None) -> Path:
    chunks = options.chunks
    record = {"run_id": run.name, "chunks": chunks, "submitted_at": time.time(), "mode": options.mode,
              "job_delay_s": options.job_delay}
    if options.mode == "test":
        record.update(job_seconds=options.job_seconds, finish=[{"name": "summary", "argv": None}])
        _write(run / "chunk.sub", _chunk_submit(run, "", _chunk_outputs(options, False), options.request_memory,
                                                options.job_delay))
        nodes = [f"JOB chunk{i} chunk.sub\nVARS chunk{i} chunk=\"{i}\" chunks=\"{chunks}\" mode=\"test\" "
                 f"job_args=\"{options.job_seconds}\"" for i in range(chunks)]
    else:
        record.update(gem=options.gem_source or str(gem), gem_path=str(gem), **gem_facts(gem),
                      corrmethod=options.corrmethod, threshold=options.threshold, plots=options.plots,
                      settings=settings(options))
        _import(run, gem, options.nan)
        gmm = _gmm(options)
        features: list[str] = []
        inputs = "input.emx"
        if annotations is not None:
            shutil.copyfile(annotations, run / "annotations.txt")
            features = ([name for name in options.feat_tests.split(",") if name] if options.feat_tests
                        else annotation_features(annotations))
            inputs += ",annotations.txt"
        steps = finish_steps(options, features)
        record["finish"] = steps
        if gmm:
            extract = next(step["argv"] for step in steps if step["name"] == "extract")
            record.update(annotations=str(annotations) if annotations else None, feat_tests=features,
                          extract_extra=extract[extract.index("--"):] if "--" in extract else [])
        _write(run / "chunk.sub", _chunk_submit(run, inputs, _chunk_outputs(options, bool(features)),
                                                options.request_memory, options.job_delay))
        # cond-test's chunk reads the chunk's own corrpower files: {cmx} and {ccm} are filled per chunk.
        condtest = _condtest_args(options, features, "{cmx}", "{ccm}") if features else ""
        mode = "gmm" if gmm else "kinc"
        nodes = [f"JOB chunk{i} chunk.sub\nVARS chunk{i} chunk=\"{i}\" chunks=\"{chunks}\" mode=\"{mode}\" "
                 f"job_args=\"{_chunk_args(options, i, condtest)}\"" for i in range(chunks)]

    chunk_nodes = " ".join(f"chunk{i}" for i in range(chunks))
    # The finish node is no job: DAGMan runs its steps itself, as the node's PRE script, the moment it reads
    # that the last chunk ended. A local universe job waited ~2 s more for the schedd to start it.
    dag = "\n".join(nodes) + "\n" + "\n".join([
        "# finish: no job (NOOP); its PRE script is the finish node's work, run by DAGMan on the submitter.",
        f"JOB finish {FINISH_NODE_FILE} NOOP",
        f"SCRIPT PRE finish {WORKFLOW / 'kincflow.py'} finish {run.name} --logs",
        f"PARENT {chunk_nodes} CHILD finish",
    ]) + "\n"
    # Transient failures are retried; the payload's own verdicts are not (bad input, an RMT walk without a
    # threshold: the finish node exits DETERMINISTIC_EXIT for those): running them again gives the same answer.
    names = [line.split()[1] for line in dag.splitlines() if line.startswith("JOB ")]
    dag += "".join(f"RETRY {name} {options.retries} UNLESS-EXIT {DETERMINISTIC_EXIT}\n" for name in names)
    dag += "NODE_STATUS_FILE run.dag.status 2\nJOBSTATE_LOG run.jobstate.log\n"
    _write(run / "run.dag", dag)
    _write(run / "run.json", json.dumps(record, indent=2) + "\n")
    return run


def _write_json(path: Path, data: object) -> None:
    """Write JSON whole or not at all (a reader never sees half a file)."""
    part = path.with_name(path.name + ".part")
    _write(part, json.dumps(data, indent=2) + "\n")
    part.replace(path)


def _die_with_parent() -> None:
    """In a finish step's process, before it runs: end (SIGTERM) when the finish node's process does. DAGMan
    kills its PRE script when the DAG is removed, and a step should not go on writing the run directory."""
    import ctypes  # noqa: PLC0415 (Linux only; the finish node runs in the submitter)
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


def finish(run_id: str, logs: bool = False) -> int:
    """The DAG's last node: run.json's finish steps in order, each timed in finish.json (with the node's
    attempts: DAGMan's retries and resumed runs); the first failing step stops the node. Exit 0,
    DETERMINISTIC_EXIT when a step's failure is a verdict (bad input, no RMT threshold), else 1 (DAGMan retries
    the node). LOGS: the node's own output goes to logs/finish.out and .err (DAGMan keeps none of a script's)."""
    run = RUNS / run_id
    if logs:
        for fd, name in ((1, "finish.out"), (2, "finish.err")):
            with (run / "logs" / name).open("wb") as handle:
                os.dup2(handle.fileno(), fd)
    record = json.loads((run / "run.json").read_text())
    attempts = _finish_attempts(run) + 1
    done: list[dict] = []
    for step in record.get("finish") or [{"name": "summary", "argv": None}]:
        name = step["name"]
        entry = {"name": name, "start": time.time()}
        done.append(entry)
        _write_json(run / "finish.json", {"attempts": attempts, "steps": done})
        if step["argv"] is None:
            summarize(run_id)
            code = 0
        else:
            with (run / "logs" / f"{name}.out").open("wb") as out, (run / "logs" / f"{name}.err").open("wb") as err:
                code = subprocess.call(step["argv"], cwd=run, stdout=out, stderr=err,
                                       preexec_fn=_die_with_parent if logs else None)
        entry.update(end=time.time(), exit_code=code)
        _write_json(run / "finish.json", {"attempts": attempts, "steps": done})
        if code != 0:
            print(f"kincflow finish: step {name} failed (exit {code}); its errors are logs/{name}.err",
                  file=sys.stderr)
            return DETERMINISTIC_EXIT if code in DETERMINISTIC_STEP_EXIT.get(name, (2,)) else 1
    return 0


def _finish_attempts(run: Path) -> int:
    """How often the finish node has started (finish.json's attempts; 0 before its first)."""
    try:
        return int(json.loads((run / "finish.json").read_text()).get("attempts", 1))
    except (OSError, ValueError):
        return 0


def _submit_dag(run: Path, *flags: str) -> int | None:
    """Submit the run's DAG; the cluster of its DAGMan job, from the line condor_submit_dag prints
    ("N job(s) submitted to cluster C."), or None when it prints none.

    The CLI stays: condor_submit_dag writes the DAGMan job's submit description from its options (-update_submit
    included) and DAGMan's configuration, with the run directory as the job's working directory; the bindings'
    Submit.from_dag would have to reproduce that."""
    result = subprocess.run(
        ["condor_submit_dag", *flags, "-batch-name", run.name, "-MaxIdle", "1000", "run.dag"],
        cwd=run, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise FlowError(f"condor_submit_dag failed in {run}: {result.stderr.strip() or result.stdout.strip()}")
    match = re.search(r"submitted to cluster (\d+)", result.stdout)
    return int(match.group(1)) if match else None


def _events(log: Path) -> list:
    """The complete events of a job event log (none when it does not exist). An event still being written is
    left for the next read; the log's readable events before a malformed one are kept."""
    if not log.exists():
        return []
    events = []
    with htcondor.JobEventLog(str(log)) as reader:
        try:
            for event in reader.events(stop_after=0):
                events.append(event)
        except htcondor.HTCondorIOError:
            pass
    return events


def submit(options: argparse.Namespace) -> dict:
    run = build_run(options)
    cluster = _submit_dag(run)
    record = json.loads((run / "run.json").read_text())
    record["dagman_cluster"] = cluster
    _write(run / "run.json", json.dumps(record, indent=2) + "\n")
    return {"run_id": run.name, "run_dir": str(run), "dagman_cluster": record["dagman_cluster"]}


def resume(run_id: str) -> dict:
    """Submit a stopped run's DAG again; DAGMan runs the newest rescue DAG, so finished nodes stay done."""
    run = RUNS / run_id
    if not (run / "run.json").exists():
        raise FlowError(f"run {run_id!r} does not exist in {RUNS}")
    record = json.loads((run / "run.json").read_text())
    if (run / "summary.json").exists():
        raise FlowError(f"run {run_id!r} is done (summary.json exists): nothing to resume")
    cluster = record.get("dagman_cluster")
    if cluster is not None:
        try:
            queued = _schedd_jobs(f"ClusterId == {int(cluster)}", ["JobStatus"])
        except htcondor.HTCondorException as error:
            raise FlowError(f"condor_q {cluster} failed: {error}") from error
        if queued:
            status = queued[0].get("JobStatus")
            state = JOB_STATES.get(status, str(status))
            raise FlowError(f"DAGMan job {cluster} of run {run_id!r} is still queued ({state}): it resumes by "
                            f"itself; condor_rm {cluster} first to restart it from its rescue DAG")
    rescues = sorted(path.name for path in run.glob("run.dag.rescue[0-9][0-9][0-9]"))
    record["dagman_cluster"] = _submit_dag(run, "-update_submit")
    record.setdefault("resumed", []).append(
        {"at": time.time(), "previous_cluster": cluster, "rescue": rescues[-1] if rescues else None})
    _write(run / "run.json", json.dumps(record, indent=2) + "\n")
    return {"run_id": run.name, "dagman_cluster": record["dagman_cluster"], "rescue": rescues[-1] if rescues else None}


def attach(run_id: str) -> dict:
    """Come back to a run: say it is done or still queued, or resume it from its rescue DAG."""
    run = RUNS / run_id
    if not (run / "run.json").exists():
        raise FlowError(f"run {run_id!r} does not exist in {RUNS}")
    record = json.loads((run / "run.json").read_text())
    queued = _dagman_queued(record.get("dagman_cluster"))
    if (run / "summary.json").exists() and not queued:
        return {"run_id": run_id, "action": "done"}
    if queued:
        return {"run_id": run_id, "action": "running", "dagman_cluster": record.get("dagman_cluster")}
    return {**resume(run_id), "action": "resubmitted"}


def rethreshold(run_id: str, threshold: float) -> dict:
    """Finish a run whose RMT step failed (or any stopped run past its similarity) with a fixed threshold: the
    similarity stays as it is; extract and summary run again. Writes a rescue DAG that marks every node before
    extract done and points extract at the threshold; `resume` (or `attach`) then submits it."""
    run = RUNS / run_id
    if not (run / "run.json").exists():
        raise FlowError(f"run {run_id!r} does not exist in {RUNS}")
    if not 0 <= threshold <= 1:
        raise FlowError(f"threshold {threshold:g} must be from 0 to 1")
    record = json.loads((run / "run.json").read_text())
    if record.get("mode") != "kinc":
        raise FlowError(f"run {run_id!r} is a test run: it has no network to threshold")
    if (run / "summary.json").exists():
        raise FlowError(f"run {run_id!r} is done (summary.json exists): start a new run with the threshold")
    if _dagman_queued(record.get("dagman_cluster")):
        raise FlowError(f"run {run_id!r} is still running (DAGMan job {record.get('dagman_cluster')}): wait for it "
                        f"to stop, or condor_rm it first")
    missing = [name for name in ("network.cmx", "network.ccm") if not (run / name).is_file()]
    if missing:
        raise FlowError(f"run {run_id!r} has no merged similarity ({', '.join(missing)} missing): resume it instead")
    if "finish" not in record:
        raise FlowError(f"run {run_id!r} was written by an older kincflow (no finish steps in run.json): start a new "
                        f"run with the threshold")
    # The finish node runs again without rmt and with extract at the threshold; every chunk stays done.
    steps = [step for step in record.get("finish", []) if step["name"] != "rmt"]
    for step in steps:
        if step["name"] == "extract":
            step["argv"] = _extract_step(record.get("plots", True), threshold, record.get("extract_extra", []))
    names = [line.split()[1] for line in (run / "run.dag").read_text().splitlines() if line.startswith("JOB ")]
    done = [name for name in names if name != "finish"]
    rescues = sorted(run.glob("run.dag.rescue[0-9][0-9][0-9]"))
    number = int(rescues[-1].name[-3:]) + 1 if rescues else 1
    rescue = run / f"run.dag.rescue{number:03d}"
    _write(rescue, f"# Written by kincflow rethreshold {threshold:g}: the similarity is done; the finish node runs "
                   f"extract with a fixed threshold.\n" + "".join(f"DONE {name}\n" for name in done))
    record.update(threshold=threshold, finish=steps)
    record.setdefault("rethresholded", []).append({"at": time.time(), "threshold": threshold})
    # The finish node's attempts count again from here: running it with a threshold is no retry.
    if (run / "finish.json").exists():
        _write_json(run / "finish.json", {**json.loads((run / "finish.json").read_text()), "attempts": 0})
    _write(run / "run.json", json.dumps(record, indent=2) + "\n")
    return {"run_id": run_id, "threshold": threshold, "rescue": rescue.name, "done_nodes": len(done)}


def runs() -> list[dict]:
    """The runs, newest first, with what they are."""
    found = []
    for path in RUNS.glob("*/run.json"):
        record = json.loads(path.read_text())
        found.append({"run_id": path.parent.name, "mode": record.get("mode"), "gem": record.get("gem"),
                      "submitted_at": record.get("submitted_at"), "done": (path.parent / "summary.json").exists()})
    return sorted(found, key=lambda run: run.get("submitted_at") or 0, reverse=True)


def visible_pools(targets: list[str]) -> dict:
    """Which of the executor pools NAME=ADDRESS answer a startd query from here."""
    visible, missing = [], []
    for target in targets:
        name, _, address = target.partition("=")
        # As condor_status -pool ADDRESS -startd: the address is a host, host:port or <ip:port>; a pool that does
        # not answer (within QUERY_TIMEOUT) is missing.
        try:
            startds = htcondor.Collector(address or name).query(htcondor.AdTypes.Startd, projection=["Name"])
        except htcondor.HTCondorException:
            startds = []
        (visible if startds else missing).append(name)
    progress = (f"executor pools visible {len(visible)}/{len(targets)}: {', '.join(visible) or 'none'}"
                + (f"; waiting for {', '.join(missing)}" if missing else ""))
    return {"state": "done" if not missing else "running", "visible": visible, "missing": missing,
            "progress": progress}


def _classads(text: str) -> list[classad.ClassAd]:
    """The ClassAds of a NODE_STATUS_FILE, which DAGMan writes in the new ClassAd syntax ([ Key = value; ... ],
    /* comments */); the values are typed (NodeStatus an int, Node a str). An ad cut short ends the list."""
    return list(classad.parseAds(text, classad.Parser.New))


def _chunk_records(run: Path) -> list[dict]:
    records = []
    for path in sorted(run.glob("chunk-*.meta.json")):
        try:
            records.append(json.loads(path.read_text()))
        except ValueError:
            continue  # still being written back by the shadow
    return records


def _schedd_jobs(constraint: str, projection: list[str]) -> list[classad.ClassAd]:
    """The local schedd's jobs matching constraint, as condor_q -constraint (every job in the submitter's queue
    is the workflow user's); raises htcondor.HTCondorException when the schedd does not answer."""
    return htcondor.Schedd().query(constraint=constraint, projection=projection)


def _queue(dagman_cluster: int | None) -> list[classad.ClassAd]:
    """The queued jobs of the run's DAG (none when the schedd does not answer)."""
    if dagman_cluster is None:
        return []
    try:
        return _schedd_jobs(f"DAGManJobId == {int(dagman_cluster)}",
                            ["ClusterId", "JobStatus", "DAGNodeName", "MachineAttrCLOUDFLOCK_POOL0", "RemoteHost"])
    except htcondor.HTCondorException:
        return []


# The job events this driver counts, by the name each count has in job_history.
_TYPES = htcondor.JobEventType
EVENTS = {_TYPES.SUBMIT: "submitted", _TYPES.EXECUTE: "executed", _TYPES.JOB_EVICTED: "evicted",
          _TYPES.JOB_TERMINATED: "terminated", _TYPES.SHADOW_EXCEPTION: "shadow_exceptions",
          _TYPES.JOB_ABORTED: "aborted", _TYPES.JOB_HELD: "held", _TYPES.JOB_RELEASED: "released",
          _TYPES.JOB_DISCONNECTED: "disconnected", _TYPES.JOB_RECONNECTED: "reconnected",
          _TYPES.JOB_RECONNECT_FAILED: "reconnect_failed"}
# Events that open an attempt (the job was placed), and those that close it.
_ATTEMPT_OPENS = (_TYPES.EXECUTE, _TYPES.JOB_DISCONNECTED)
_ATTEMPT_CLOSES = (_TYPES.JOB_EVICTED, _TYPES.JOB_TERMINATED, _TYPES.SHADOW_EXCEPTION, _TYPES.JOB_ABORTED,
                   _TYPES.JOB_RECONNECT_FAILED)
# DAGMan's note in its node jobs' submit events: "DAG Node: NAME".
_DAG_NODE_NOTE = "DAG Node:"


def _host_alias(address: str) -> str:
    """The host an execute event names: the alias in its sinful string (<ip:port?addrs=...&alias=NAME&...>),
    else the address as written."""
    query = address.strip().strip("<>").partition("?")[2]
    return parse_qs(query).get("alias", [address])[0]


def job_history(run: Path) -> dict[str, dict]:
    """Per DAG node, what the job event log (run.log) says happened to its jobs.

    Each node maps to its job ids (one per DAGMan submission: retries get new clusters), the count of each
    event in EVENTS, and the hosts its job started on in order. `executed` above 1 means the node's work
    started more than once: a retry, or a job that went back to idle (lost executor, failed reconnect)
    and was matched again. A reconnect after a submitter restart is no new start. `started` counts the
    attempts: an attempt lost before its execute event was logged (killed in input transfer; its disconnect
    event shows it had been placed) counts too, so `started` above 1 means the node's work was placed more
    than once."""
    nodes: dict[str, dict] = {}
    cluster_node: dict[str, str] = {}
    attempt_open: dict[str, bool] = {}
    for event in _events(run / "run.log"):
        if event.type not in EVENTS:
            continue
        job_id = f"{event.cluster}.{event.proc}"
        if event.type == _TYPES.SUBMIT:
            notes = [str(event.get(key, "")) for key in ("LogNotes", "UserNotes")]
            node = next((note[len(_DAG_NODE_NOTE):].strip() for note in notes if note.startswith(_DAG_NODE_NOTE)),
                        None)
            if node is None:
                continue
            cluster_node[job_id] = node
            entry = nodes.setdefault(node, {"jobs": [], "hosts": [], "started": 0,
                                            **{name: 0 for name in EVENTS.values()}})
            entry["jobs"].append(job_id)
        node = cluster_node.get(job_id)
        if node is None:
            continue
        entry = nodes[node]
        entry[EVENTS[event.type]] += 1
        if event.type in _ATTEMPT_OPENS and not attempt_open.get(job_id):
            attempt_open[job_id] = True
            entry["started"] += 1
        elif event.type in _ATTEMPT_CLOSES:
            attempt_open[job_id] = False
        if event.type == _TYPES.EXECUTE:
            entry["hosts"].append(_host_alias(str(event.get("ExecuteHost", ""))))
    return nodes


def _dagman_queued(dagman_cluster: int | None) -> bool:
    """Whether the run's DAGMan job is still in the queue (it writes its last lines as it leaves)."""
    if dagman_cluster is None:
        return False
    try:
        return bool(_schedd_jobs(f"ClusterId == {int(dagman_cluster)}", ["ClusterId"]))
    except htcondor.HTCondorException:
        return True  # the schedd does not answer: the job may still be queued


def _tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def status(run_id: str) -> dict:
    run = RUNS / run_id
    if not (run / "run.json").exists():
        raise FlowError(f"run {run_id!r} does not exist in {RUNS}")
    record = json.loads((run / "run.json").read_text())
    node_status = run / "run.dag.status"
    # A resumed run's node status file is the stopped DAGMan's until the new one rewrites it: not this run's.
    resumed_at = max((entry["at"] for entry in record.get("resumed", [])), default=0.0)
    current = node_status.exists() and node_status.stat().st_mtime >= resumed_at
    ads = _classads(node_status.read_text()) if current else []
    dag_ad = next((ad for ad in ads if ad.get("Type") == "DagStatus"), {})
    node_ads = [ad for ad in ads if ad.get("Type") == "NodeStatus"]
    nodes = {ad["Node"]: NODE_STATES.get(int(ad.get("NodeStatus", 0)), "unknown") for ad in node_ads}
    queue = _queue(record.get("dagman_cluster"))
    dag_status = int(dag_ad.get("DagStatus", 3)) if dag_ad else 3
    ended = _dagman_ended(run)
    dagman_queued = _dagman_queued(record.get("dagman_cluster"))
    if ended is not None and ended[0] != 0 and not dagman_queued:
        # DAGMan stopped on a failure without writing the node status file once more (it throttles the file:
        # a PRE script that fails within 2 s of the last write leaves it saying PRERUN). Its job state log is
        # written as things happen: the nodes whose last event there is a failure failed.
        dag_status = 6
        nodes.update({node: "error" for node in ended[1]})
    running_by_pool: dict[str, int] = {}
    for job in queue:
        if job.get("JobStatus") == 2:
            pool = job.get("MachineAttrCLOUDFLOCK_POOL0") or str(job.get("RemoteHost", "?")).split("@")[-1]
            running_by_pool[pool] = running_by_pool.get(pool, 0) + 1
    done_by_pool: dict[str, int] = {}
    for chunk in _chunk_records(run):
        if chunk.get("exit_code") == 0:
            done_by_pool[chunk["pool"]] = done_by_pool.get(chunk["pool"], 0) + 1
    summary_exists = (run / "summary.json").exists()
    failed = [name for name, state in nodes.items() if state in ("error", "futile")]
    history = job_history(run)
    if summary_exists and not failed and not dagman_queued:
        # Done once DAGMan itself has left the queue: until then it still writes to the run directory.
        state = "done"
    elif failed and not any(job.get("JobStatus") in (1, 2) for job in queue):
        state = "failed"
    elif dag_status == 6 and not queue:
        state = "failed"
    else:
        state = "running"
    result = {
        "run_id": run_id,
        "state": state,
        "nodes_total": len(nodes),
        "nodes_done": sum(1 for s in nodes.values() if s == "done"),
        "nodes_failed": len(failed),
        "jobs_total": record["chunks"],
        "jobs_done": sum(done_by_pool.values()),
        "jobs_idle": sum(1 for job in queue if job.get("JobStatus") == 1),
        "jobs_running": sum(1 for job in queue if job.get("JobStatus") == 2),
        "running_by_pool": running_by_pool,
        "jobs_by_pool": done_by_pool,
        "dagman_cluster": record.get("dagman_cluster"),
        # Chunks by their jobs' starts in the job event log; the finish node, no job, by its attempts.
        "reruns": {node: started for node, started in sorted(
            [*((node, entry["started"]) for node, entry in history.items()), ("finish", _finish_attempts(run))])
            if started > 1},
        "disconnects": sum(entry["disconnected"] for entry in history.values()),
        "reconnects": sum(entry["reconnected"] for entry in history.values()),
        "reconnect_failures": sum(entry["reconnect_failed"] for entry in history.values()),
        "evictions": sum(entry["evicted"] for entry in history.values()),
    }
    if failed:
        # The node that failed itself, not one of the nodes it left futile.
        node = next((name for name in failed if nodes[name] == "error"), failed[0])
        result["failed_node"] = node
        if node == "finish":
            step = failed_step(run)
            result["failed_step"] = step
            logs = [*([run / "logs" / f"{step}.err"] if step else []), run / "logs" / "finish.err"]
        else:
            logs = [run / "logs" / (f"chunk-{node[5:]}.err" if node.startswith("chunk") else f"{node}.err")]
        result["error"] = next((text for text in map(_tail, logs) if text), "") or _tail(run / "run.dag.dagman.out")
        if result.get("failed_step") == "rmt":
            result["hint"] = ("RMT found no threshold: its walk (threshold, pruned size, unique eigenvalues, chi) is "
                              "rmt.log in the run directory; choose a threshold there and finish the run with it "
                              "(the similarity is kept): rethreshold RUN_ID T")
    return result


# A node's job state log events (JOBSTATE_LOG) that end its attempt with a failure.
_NODE_FAILURES = {"JOB_FAILURE", "PRE_SCRIPT_FAILURE", "POST_SCRIPT_FAILURE"}


def _dagman_ended(run: Path) -> tuple[int, list[str]] | None:
    """How the run's latest DAGMan ended, from the DAG's job state log (run.jobstate.log): its exit code and
    the nodes whose last event was a failure; None while it runs (or never started)."""
    try:
        lines = (run / "run.jobstate.log").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    last: dict[str, str] = {}
    code = None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        if fields[1] == "INTERNAL" and "DAGMAN_STARTED" in line:
            last, code = {}, None
        elif fields[1] == "INTERNAL" and "DAGMAN_FINISHED" in line:
            code = int(fields[4]) if len(fields) > 4 and fields[4].lstrip("-").isdigit() else 1
        elif fields[1] != "INTERNAL":
            last[fields[1]] = fields[2]
    if code is None:
        return None
    return code, [node for node, event in last.items() if event in _NODE_FAILURES]


def finish_record(run: Path) -> list[dict]:
    """The finish node's steps so far (finish.json): name, start, end and exit code of each."""
    try:
        return json.loads((run / "finish.json").read_text()).get("steps", [])
    except (OSError, ValueError):
        return []


def failed_step(run: Path) -> str | None:
    """The finish step that failed last (None when none has)."""
    failed = [step["name"] for step in finish_record(run) if step.get("exit_code") not in (0, None)]
    return failed[-1] if failed else None


def _count_network(run: Path) -> tuple[int, int]:
    network = run / "network.txt"
    if not network.exists():
        return 0, 0
    edges, genes = 0, set()
    with network.open(encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        source, target = header.index("Source"), header.index("Target")
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if len(fields) > max(source, target):
                edges += 1
                genes.update((fields[source], fields[target]))
    return edges, len(genes)


def summarize(run_id: str) -> dict:
    run = RUNS / run_id
    record = json.loads((run / "run.json").read_text())
    chunks = [c for c in _chunk_records(run) if c.get("exit_code") == 0]
    by_pool: dict[str, int] = {}
    for chunk in chunks:
        by_pool[chunk["pool"]] = by_pool.get(chunk["pool"], 0) + 1
    history = job_history(run)
    for chunk in chunks:
        chunk["executions"] = history.get(f"chunk{chunk['chunk']}", {}).get("started", 1)
    finished = time.time()
    summary = {
        "run_id": run_id,
        "mode": record["mode"],
        "jobs_total": record["chunks"],
        "jobs_done": len({c["chunk"] for c in chunks}),
        "jobs_by_pool": dict(sorted(by_pool.items())),
        "submitted_at": record["submitted_at"],
        "finished_at": finished,
        "makespan_s": round(finished - record["submitted_at"], 3),
        "job_runtime_s": round(sum(c["end"] - c["start"] for c in chunks), 3),
        "jobs_rerun": sum(1 for c in chunks if c["executions"] > 1),
        "resumed": len(record.get("resumed", [])),
        "jobs": sorted(chunks, key=lambda c: c["chunk"]),
        # The finish node's steps before this summary, each with its seconds since the run was submitted.
        "steps": [{"name": step["name"], "start_s": round(step["start"] - record["submitted_at"], 3),
                   "end_s": round(step["end"] - record["submitted_at"], 3)}
                  for step in finish_record(run) if step.get("exit_code") == 0],
    }
    if record["mode"] == "kinc":
        threshold_file = run / "threshold.txt"
        edges, genes = _count_network(run)
        summary.update(
            gem=record["gem"], gem_sha256=record.get("gem_sha256"), gem_genes=record.get("gem_genes"),
            gem_samples=record.get("gem_samples"), settings=record.get("settings", {}),
            corrmethod=record["corrmethod"],
            threshold=float(threshold_file.read_text().strip()) if threshold_file.exists() else None,
            threshold_source="fixed" if record.get("threshold") is not None else "rmt",
            edges=edges, genes=genes, network="network.txt",
            plots={key: name for key, name in PLOTS.items() if (run / name).is_file()},
        )
    _write(run / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kincflow", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sub = commands.add_parser("submit", help="build and submit a run")
    sub.add_argument("chunks", type=int, nargs="?", help="number of similarity jobs (the seed's ./submit N)")
    sub.add_argument("gem", nargs="?", default=str(DEFAULT_GEM), help="gene expression matrix")
    sub.add_argument("--threshold", type=float, help="fixed similarity threshold instead of RMT")
    sub.add_argument("--corrmethod", choices=("pearson", "spearman"), default="pearson")
    sub.add_argument("--minsamp", type=int, default=30)
    sub.add_argument("--minexpr", default="-inf")
    sub.add_argument("--maxexpr", default="inf")
    sub.add_argument("--preout", choices=("true", "false"), default="true")
    sub.add_argument("--mincorr", type=float, default=0.5)
    sub.add_argument("--maxcorr", type=float, default=1.0)
    sub.add_argument("--nan", default="NA")
    sub.add_argument("--clusmethod", choices=("none", "gmm"), default="none")
    sub.add_argument("--minclus", type=int, default=1)
    sub.add_argument("--maxclus", type=int, default=5)
    sub.add_argument("--crit", choices=("icl", "bic", "aic", "ICL", "BIC", "AIC"), default="icl")
    sub.add_argument("--postout", choices=("true", "false"), default="true")
    sub.add_argument("--alpha", type=float, default=0.001, help="gmm: corrpower's and cond-test's alpha")
    sub.add_argument("--power", type=float, default=0.8, help="gmm: corrpower's and cond-test's power")
    sub.add_argument("--annotations", default="", help="gmm: annotation matrix; cond-test runs when given")
    sub.add_argument("--feat-tests", dest="feat_tests", default="", help="features to test (empty: all)")
    sub.add_argument("--feat-types", dest="feat_types", default="", help="FEATURE:TYPE,... for cond-test")
    sub.add_argument("--pvalue", type=float, default=0.001, help="extract --filter-pvalue with annotations")
    sub.add_argument("--rsquare", type=float, default=0.3, help="extract --filter-rsquare with annotations")
    sub.add_argument("--reduction", choices=("first", "maxcorr", "random"), default="first")
    sub.add_argument("--no-plots", dest="plots", action="store_false",
                     help=f"skip the PNGs rmt and extract draw by default ({', '.join(PLOTS.values())})")
    sub.add_argument("--request-memory", type=int, default=512, help="MB per similarity job")
    sub.add_argument("--retries", type=int, default=2, help="DAGMan retries per node")
    sub.add_argument("--test-jobs", dest="test_jobs", type=int,
                     help="instead of KINC, run this many jobs that only sleep (for tests and benchmarks)")
    sub.add_argument("--job-seconds", type=float, default=2.0, help="with --test-jobs: seconds each job sleeps")
    sub.add_argument("--job-delay", type=float, default=0.0,
                     help="seconds each similarity job waits before its work (fault tests; results unchanged)")
    sub.add_argument("--gem-source", default="", help="where the GEM came from (recorded in run.json and the summary)")
    sub.add_argument("--json", action="store_true")
    ret = commands.add_parser("rethreshold", help="finish a stopped run with a fixed threshold, keeping its similarity")
    ret.add_argument("run_id")
    ret.add_argument("threshold", type=float)
    att = commands.add_parser("attach", help="come back to a run: done, running, or resumed from its rescue DAG")
    att.add_argument("run_id")
    lst = commands.add_parser("runs", help="list the runs, newest first")
    lst.add_argument("--json", action="store_true")
    pls = commands.add_parser("pools", help="which executor pools the submitter sees")
    pls.add_argument("targets", nargs="+", metavar="NAME=ADDRESS")
    pls.add_argument("--json", action="store_true")
    res = commands.add_parser("resume", help="submit a stopped run's DAG again (from its rescue DAG)")
    res.add_argument("run_id")
    stat = commands.add_parser("status", help="report a run's progress")
    stat.add_argument("run_id")
    stat.add_argument("--json", action="store_true")
    summ = commands.add_parser("summarize", help="write summary.json (the finish node's last step)")
    summ.add_argument("run_id")
    fin = commands.add_parser("finish", help="the DAG's last node: merge, rmt, extract, summary")
    fin.add_argument("run_id")
    fin.add_argument("--logs", action="store_true",
                     help="write this node's own output to logs/finish.out and .err (as the DAG runs it)")
    return parser


def main(argv: list[str]) -> int:
    options = _parser().parse_args(argv)
    try:
        if options.command == "submit":
            if options.test_jobs is not None:
                options.mode, options.chunks = "test", options.test_jobs
            elif options.chunks is None:
                raise FlowError("N is missing: submit N [GEM], N the number of similarity jobs")
            else:
                options.mode = "kinc"
            if options.chunks < 1:
                raise FlowError(f"N={options.chunks}: the number of jobs must be at least 1")
            result = submit(options)
            print(json.dumps(result) if options.json else result["run_id"])
        elif options.command == "resume":
            print(json.dumps(resume(options.run_id)))
        elif options.command == "rethreshold":
            print(json.dumps(rethreshold(options.run_id, options.threshold)))
        elif options.command == "finish":
            return finish(options.run_id, logs=options.logs)
        elif options.command == "attach":
            print(json.dumps(attach(options.run_id)))
        elif options.command == "runs":
            found = runs()
            print(json.dumps(found) if options.json else
                  "\n".join(f"{r['run_id']}\t{r['mode']}\t{'done' if r['done'] else 'not done'}" for r in found))
        elif options.command == "pools":
            result = visible_pools(options.targets)
            print(json.dumps(result) if options.json else result["progress"])
        elif options.command == "status":
            result = status(options.run_id)
            if options.json:
                print(json.dumps(result))
            else:
                pools = ", ".join(f"{pool}: {count}" for pool, count in sorted(result["jobs_by_pool"].items()))
                print(f"{result['run_id']}: {result['state']}; jobs {result['jobs_done']}/{result['jobs_total']} "
                      f"done, {result['jobs_running']} running, {result['jobs_idle']} idle; by pool: {pools}")
        else:
            summary = summarize(options.run_id)
            print(json.dumps({k: v for k, v in summary.items() if k != "jobs"}))
    except FlowError as error:
        print(f"kincflow: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
