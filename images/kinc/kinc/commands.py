"""The analytics behind ``kinc run``, ``kinc chunkrun`` and ``kinc merge``."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from kinc import plots
from kinc.atomic import atomic_outputs
from kinc.corrpower import write_corrpower
from kinc.errors import KincError
from kinc.extract import write_network
from kinc.formats import CCM_FORMAT, CMX_FORMAT, PairFile, open_pairs, read_emx, read_emx_header, write_emx
from kinc.gem import read_gem
from kinc.pairs import chunk_path, chunk_range, pair_count
from kinc.reduction import check_reduction, reduce_clusters
from kinc.rmt import NoThreshold, PrunedMatrices, RmtParams, find_threshold, format_log, format_walk
from kinc.similarity import SimilarityParams, pair_header, write_header, write_similarity

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_COPY_BYTES = 1 << 20


def _same_file(a: str, b: str) -> bool:
    """One file under two names: the same path once resolved, or (both existing) the same inode."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def refuse_overwriting_inputs(analytic: str, inputs: dict[str, str], outputs: dict[str, str]) -> None:
    """Fail, before any output is opened, when an output (option name: path) is one of the input files:
    the output's rename would replace the input."""
    for out, target in outputs.items():
        for name, source in inputs.items():
            if target and source and _same_file(target, source):
                raise KincError(
                    f"{analytic}: --{out} {target!r} is the file of --{name} {source!r}; writing it would "
                    f"replace that input (choose another --{out})"
                )


def import_emx(opts: dict[str, Any]) -> str:
    refuse_overwriting_inputs("import-emx", {"input": opts["input"]}, {"output": opts["output"]})
    emx = read_gem(opts["input"], nan=opts["nan"], samples=opts["samples"])
    with atomic_outputs(opts["output"]) as (out,):
        write_emx(out, emx)
    return f"import-emx: {len(emx.genes)} genes x {len(emx.samples)} samples -> {opts['output']}"


def similarity_params(opts: dict[str, Any]) -> SimilarityParams:
    if opts["minclus"] > opts["maxclus"]:
        raise KincError(
            f"similarity: --minclus ({opts['minclus']}) must not exceed --maxclus ({opts['maxclus']})"
        )
    return SimilarityParams(
        clusmethod=opts["clusmethod"],
        minclus=opts["minclus"],
        maxclus=opts["maxclus"],
        crit=opts["crit"],
        postout=opts["postout"],
        corrmethod=opts["corrmethod"],
        minsamp=opts["minsamp"],
        minexpr=opts["minexpr"],
        maxexpr=opts["maxexpr"],
        preout=opts["preout"],
        mincorr=opts["mincorr"],
        maxcorr=opts["maxcorr"],
    )


def similarity(opts: dict[str, Any], chunk: tuple[int, int] | None = None) -> str:
    params = similarity_params(opts)
    emx = read_emx(opts["input"])
    pairs = pair_count(len(emx.genes))
    span = chunk_range(*chunk, pairs) if chunk else (0, pairs)
    cmx, ccm = opts["cmx"], opts["ccm"]
    if chunk:
        cmx, ccm = chunk_path(cmx, *chunk), chunk_path(ccm, *chunk)
    refuse_overwriting_inputs("similarity", {"input": opts["input"]}, {"cmx": cmx, "ccm": ccm})
    with atomic_outputs(cmx, ccm) as (cmx_out, ccm_out):
        stored = write_similarity(emx.values, params, span, chunk, cmx_out, ccm_out)
    return (
        f"similarity: pairs {span[0]}..{span[1] - 1} ({span[1] - span[0]}), stored {stored} -> {cmx}, {ccm}"
    )


def _check_chunk(part: PairFile, expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        if part.header.get(key) != value:
            raise KincError(
                f"{part.path}: header {key} is {part.header.get(key)!r}, expected {value!r} "
                "(chunk made from other input or options?)"
            )


def _copy_body(part: PairFile, out: BinaryIO) -> None:
    left = part.count * part.dtype.itemsize
    while left:
        data = part.file.read(min(_COPY_BYTES, left))
        if not data:
            raise KincError(f"{part.path}: truncated while reading")
        out.write(data)
        left -= len(data)


def merge(opts: dict[str, Any], chunks: int) -> str:
    """Concatenate the chunk files into the --cmx/--ccm outputs, checking each chunk's header."""
    params = similarity_params(opts)
    refuse_overwriting_inputs("merge", {"input": opts["input"]}, {"cmx": opts["cmx"], "ccm": opts["ccm"]})
    header = read_emx_header(opts["input"])
    genes, samples = len(header["genes"]), len(header["samples"])
    pairs = pair_count(genes)
    chunk_range(0, chunks, pairs)
    stored = 0
    with atomic_outputs(opts["cmx"], opts["ccm"]) as outputs:
        for kind, path, out in ((CMX_FORMAT, opts["cmx"], outputs[0]), (CCM_FORMAT, opts["ccm"], outputs[1])):
            write_header(out, pair_header(kind, genes, samples, params, (0, pairs), None))
            total = 0
            for index in range(chunks):
                part = open_pairs(chunk_path(path, index, chunks), kind)
                try:
                    _check_chunk(
                        part,
                        {
                            "genes": genes,
                            "samples": samples,
                            "pairs": pairs,
                            "params": params.as_header(),
                            "chunk": [index, chunks],
                            "range": list(chunk_range(index, chunks, pairs)),
                        },
                    )
                    _copy_body(part, out)
                    total += part.count
                finally:
                    part.close()
            if kind == CMX_FORMAT:
                stored = total
            elif total != stored:
                raise KincError(
                    f"chunks of {opts['cmx']} hold {stored} pairs but chunks of {path} hold {total}"
                )
    return f"merge: {chunks} chunks, stored {stored} -> {opts['cmx']}, {opts['ccm']}"


def _corrpower_paths(opts: dict[str, Any], chunk: tuple[int, int] | None) -> dict[str, str]:
    names = ("cmx-in", "ccm-in", "cmx-out", "ccm-out")
    return {name: chunk_path(opts[name], *chunk) if chunk else opts[name] for name in names}


def _check_alpha(analytic: str, alpha: float) -> None:
    if not 0 < alpha < 1:
        raise KincError(f"{analytic}: --alpha must be above 0 and below 1, got {alpha!r}")


def corrpower(opts: dict[str, Any], chunk: tuple[int, int] | None = None) -> str:
    """corrpower of the whole run's files or, with chunk (I, N), of chunk I's files into chunk I's outputs."""
    _check_alpha("corrpower", opts["alpha"])
    if chunk:
        chunk_range(*chunk, 0)
    paths = _corrpower_paths(opts, chunk)
    inputs = {name: paths[name] for name in ("cmx-in", "ccm-in")}
    outputs = {name: paths[name] for name in ("cmx-out", "ccm-out")}
    refuse_overwriting_inputs("corrpower", inputs, outputs)
    with atomic_outputs(paths["cmx-out"], paths["ccm-out"]) as (cmx_out, ccm_out):
        total, kept = write_corrpower(
            paths["cmx-in"], paths["ccm-in"], opts["alpha"], opts["power"], cmx_out, ccm_out, chunk
        )
    return f"corrpower: kept {kept} of {total} clusters -> {paths['cmx-out']}, {paths['ccm-out']}"


def merge_corrpower(opts: dict[str, Any], chunks: int) -> str:
    """Concatenate corrpower's chunk outputs (chunkrun I N corrpower) into --cmx-out/--ccm-out: the file one
    corrpower of the merged similarity writes. Each chunk's header is checked against the first's and the
    options given."""
    _check_alpha("merge", opts["alpha"])
    inputs = {name: opts[name] for name in ("cmx-in", "ccm-in")}
    refuse_overwriting_inputs("merge", inputs, {name: opts[name] for name in ("cmx-out", "ccm-out")})
    stored = 0
    with atomic_outputs(opts["cmx-out"], opts["ccm-out"]) as outputs:
        for kind, path, out in ((CMX_FORMAT, opts["cmx-out"], outputs[0]), (CCM_FORMAT, opts["ccm-out"], outputs[1])):
            first = open_pairs(chunk_path(path, 0, chunks), kind)
            first.close()
            pairs = first.header.get("pairs")
            if not isinstance(pairs, int) or pairs < 0:
                raise KincError(f"{first.path}: header field 'pairs' must be a count, got {pairs!r}")
            chunk_range(0, chunks, pairs)
            params = first.header.get("params") or {}
            for name in ("alpha", "power"):
                if params.get(f"corrpower_{name}") != repr(opts[name]):
                    raise KincError(
                        f"{first.path}: made with corrpower --{name} {params.get(f'corrpower_{name}')}, "
                        f"not {opts[name]!r}"
                    )
            write_header(out, {**first.header, "range": [0, pairs], "chunk": None})
            total = 0
            for index in range(chunks):
                part = open_pairs(chunk_path(path, index, chunks), kind)
                try:
                    expected = {key: first.header.get(key) for key in ("genes", "samples", "pairs", "params")}
                    expected.update(chunk=[index, chunks], range=list(chunk_range(index, chunks, pairs)))
                    _check_chunk(part, expected)
                    _copy_body(part, out)
                    total += part.count
                finally:
                    part.close()
            if kind == CMX_FORMAT:
                stored = total
            elif total != stored:
                raise KincError(
                    f"chunks of {opts['cmx-out']} hold {stored} clusters but chunks of {path} hold {total}"
                )
    return f"merge: {chunks} corrpower chunks, {stored} clusters -> {opts['cmx-out']}, {opts['ccm-out']}"


def rmt(opts: dict[str, Any]) -> str:
    check_reduction(opts["reduction"])
    _plot_options(opts, ("plot",))
    refuse_overwriting_inputs("rmt", {"input": opts["input"]}, {"log": opts["log"], "plot": opts["plot"]})
    params = RmtParams(
        tstart=opts["tstart"],
        tstep=opts["tstep"],
        tstop=opts["tstop"],
        epsilon=opts["epsilon"],
        mineigens=opts["mineigens"],
        spline=opts["spline"],
        minpace=opts["minpace"],
        maxpace=opts["maxpace"],
        bins=opts["bins"],
    )
    corr = open_pairs(opts["input"], CMX_FORMAT)
    try:
        if corr.header.get("chunk") is not None:
            raise KincError(f"{opts['input']}: is chunk {corr.header['chunk']}, merge the chunks first")
        genes = corr.header.get("genes")
        if not isinstance(genes, int) or genes < 0:
            raise KincError(f"{opts['input']}: header field 'genes' must be a count, got {genes!r}")
        records = corr.read_all()
    finally:
        corr.close()
    if records.size and (records["x"].max() >= genes or records["y"].min() < 0):
        raise KincError(f"{opts['input']}: pair indices outside 0..{genes - 1}")
    records = reduce_clusters(records, opts["reduction"])
    pruned = PrunedMatrices(genes, records["x"].astype("int64"), records["y"].astype("int64"), records["r"])
    try:
        threshold, steps = find_threshold(pruned, params)
    except NoThreshold as failed:
        # The walk is what a user needs to choose a threshold by hand: write it, one line per step, without
        # the threshold line a successful walk ends with.
        with atomic_outputs(opts["log"]) as outputs:
            outputs[0].write(format_walk(failed.steps).encode())
        raise NoThreshold(params, failed.candidate, failed.steps, log=opts["log"]) from None
    plot = opts["plot"]
    with atomic_outputs(opts["log"], *([plot] if plot else [])) as outputs:
        outputs[0].write(format_log(threshold, steps).encode())
        if plot:
            plots.write_png(plots.rmt_figure(steps, float(threshold)), outputs[1])
    drawn = f", walk drawn in {plot}" if plot else ""
    return f"rmt: threshold {float(threshold):.6g} after {len(steps)} steps -> {opts['log']}{drawn}"


def _plot_options(opts: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    """The plot options given, each checked to have matplotlib before any work is done."""
    given = [name for name in names if opts[name]]
    for name in given:
        plots.require_matplotlib(name)
    return given


def _r_blocks(cmx: str) -> Iterator[np.ndarray]:
    corr = open_pairs(cmx, CMX_FORMAT)
    try:
        for block in corr.blocks():
            yield block["r"]
    finally:
        corr.close()


def extract(opts: dict[str, Any]) -> str:
    wanted = _plot_options(opts, ("plot-histogram", "plot-degree"))
    refuse_overwriting_inputs(
        "extract",
        {name: opts[name] for name in ("emx", "ccm", "cmx", "csm")},
        {name: opts[name] for name in ("output", "plot-histogram", "plot-degree")},
    )
    paths = [opts["output"], *(opts[name] for name in wanted)]
    degrees: Counter[str] = Counter()
    with atomic_outputs(*paths) as outputs:
        count = write_network(
            outputs[0], opts["format"], opts["emx"], opts["cmx"], opts["ccm"], opts["mincorr"], opts["maxcorr"],
            degrees, opts["csm"], opts["filter-pvalue"], opts["filter-rsquare"],
        )
        for name, out in zip(wanted, outputs[1:], strict=True):
            plots.write_png(_extract_figure(name, opts, degrees), out)
    drawn = "".join(f", {name.removeprefix('plot-')} drawn in {opts[name]}" for name in wanted)
    return f"extract: {count} edges ({opts['format']}) -> {opts['output']}{drawn}"


def _extract_figure(name: str, opts: dict[str, Any], degrees: Counter[str]) -> Figure:
    if name == "plot-degree":
        return plots.degree_figure(degrees)
    counts, edges = plots.similarity_counts(_r_blocks(opts["cmx"]))
    return plots.histogram_figure(counts, edges, opts["mincorr"])


def _condtest_setup(opts: dict[str, Any]) -> tuple[Any, Any, dict[str, str]]:
    from kinc.annotations import parse_feature_list, parse_feature_types, read_annotations

    _check_alpha("cond-test", opts["alpha"])
    delim = "\t" if opts["delim"].lower() in ("tab", "\\t", "\t") else opts["delim"]
    if len(delim) != 1:
        raise KincError(f"cond-test: --delim must be 'tab' or one character, got {opts['delim']!r}")
    tests = parse_feature_list(opts["feat-tests"], "feat-tests")
    types = parse_feature_types(opts["feat-types"])
    emx = read_emx(opts["emx"])
    notes = read_annotations(opts["amx"], emx.samples, tests, types, delim, opts["nan"])
    options = {
        "condtest_amx": os.path.basename(opts["amx"]),
        "condtest_feat_tests": ",".join(tests),
        "condtest_feat_types": ",".join(f"{k}:{v}" for k, v in types.items()),
        "condtest_alpha": repr(opts["alpha"]),
        "condtest_power": repr(opts["power"]),
        "condtest_nan": opts["nan"],
    }
    return emx, notes, options


def cond_test(opts: dict[str, Any], chunk: tuple[int, int] | None = None) -> str:
    from kinc.condtest import write_condtest

    inputs = {name: opts[name] for name in ("emx", "ccm", "cmx", "amx")}
    output = chunk_path(opts["output"], *chunk) if chunk else opts["output"]
    refuse_overwriting_inputs("cond-test", inputs, {"output": output})
    if chunk:
        chunk_range(*chunk, 0)
    emx, notes, options = _condtest_setup(opts)

    def span_of(pairs: int) -> tuple[int, int]:
        return chunk_range(*chunk, pairs) if chunk else (0, pairs)

    with atomic_outputs(output) as (out,):
        written, span = write_condtest(
            emx.values, opts["emx"], opts["cmx"], opts["ccm"], notes, options,
            opts["alpha"], opts["power"], span_of, chunk, out,
        )
    return (
        f"cond-test: pairs {span[0]}..{span[1] - 1}, {written} clusters x {len(notes.tests)} tests -> {output}"
    )


def merge_cond_test(opts: dict[str, Any], chunks: int) -> str:
    """Join the cond-test chunk files into --output, checking each chunk's header."""
    from kinc.condtest import csm_header
    from kinc.formats import CSM_FORMAT

    inputs = {name: opts[name] for name in ("emx", "ccm", "cmx", "amx")}
    refuse_overwriting_inputs("merge", inputs, {"output": opts["output"]})
    _, notes, options = _condtest_setup(opts)
    corr = open_pairs(opts["cmx"], CMX_FORMAT)
    corr.close()
    pairs = int(corr.header["pairs"])
    chunk_range(0, chunks, pairs)
    whole = csm_header(corr.header, notes, options, (0, pairs), None)
    total = 0
    with atomic_outputs(opts["output"]) as (out,):
        write_header(out, whole)
        for index in range(chunks):
            part = open_pairs(chunk_path(opts["output"], index, chunks), CSM_FORMAT)
            try:
                expected = {**whole, "chunk": [index, chunks], "range": list(chunk_range(index, chunks, pairs))}
                _check_chunk(part, expected)
                _copy_body(part, out)
                total += part.count
            finally:
                part.close()
    return f"merge: {chunks} cond-test chunks, {total} clusters -> {opts['output']}"
