"""Write the network: the stored pairs with mincorr <= |r| <= maxcorr, as text, minimal or GraphML."""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from kinc.errors import KincError
from kinc.formats import CCM_FORMAT, CMX_FORMAT, PairFile, open_pairs, read_emx_header

if TYPE_CHECKING:
    from kinc.csmfilter import CsmTests

FORMATS = ("text", "tidy", "minimal", "graphml")
TEXT_COLUMNS = (
    "Source",
    "Target",
    "Similarity_Score",
    "Interaction",
    "Cluster_Index",
    "Cluster_Size",
    "Samples",
)
MINIMAL_COLUMNS = ("Source", "Target", "Similarity_Score", "Cluster_Index", "Num_Clusters")
_GRAPHML_KEYS = (
    ("Similarity_Score", "double"),
    ("Interaction", "string"),
    ("Cluster_Index", "int"),
    ("Cluster_Size", "int"),
    ("Samples", "string"),
)


@dataclass(slots=True)  # not frozen: a frozen dataclass is several times slower to make, per edge
class Edge:
    source: str
    target: str
    score: str
    samples: str
    cluster_index: int = 1  # 1-based, among the pair's clusters in the files
    num_clusters: int = 1
    record: int = 0  # the record's place in the .cmx (its .csm row)
    xy: tuple[int, int] = (0, 0)

    @property
    def cluster_size(self) -> int:
        return self.samples.count("1")


def _check_pair_file(pairs: PairFile, genes: int, samples: int, emx: str) -> None:
    header = pairs.header
    if header.get("genes") != genes or header.get("samples") != samples:
        raise KincError(
            f"{pairs.path}: made for {header.get('genes')} genes x {header.get('samples')} samples, "
            f"but {emx} has {genes} x {samples}"
        )
    if header.get("chunk") is not None:
        raise KincError(f"{pairs.path}: is chunk {header['chunk']}, merge the chunks first")


def edges(emx: str, cmx: str, ccm: str, mincorr: float, maxcorr: float) -> Iterator[Edge]:
    """Stream the kept edges in stored order, checking the .cmx and .ccm agree pair by pair."""
    if mincorr > maxcorr:
        raise KincError(f"--mincorr ({mincorr}) must not exceed --maxcorr ({maxcorr})")
    header = read_emx_header(emx)
    names: list[str] = header["genes"]
    corr, clus = open_pairs(cmx, CMX_FORMAT), None
    try:
        clus = open_pairs(ccm, CCM_FORMAT)
        for pairs in (corr, clus):
            _check_pair_file(pairs, len(names), len(header["samples"]), emx)
        if corr.count != clus.count:
            raise KincError(f"{cmx} holds {corr.count} pairs but {ccm} holds {clus.count}")
        low, high = np.float32(mincorr), np.float32(maxcorr)
        offset = 0
        for r_block, c_block in _whole_pairs(corr, clus):
            yield from _block_edges(r_block, c_block, names, low, high, cmx, ccm, offset)
            offset += r_block.size
    finally:
        corr.close()
        if clus is not None:
            clus.close()


def _whole_pairs(corr: PairFile, clus: PairFile) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The records in blocks that never split a pair's clusters (consecutive records of one pair, in GMM
    mode): the last pair of a .cmx block waits for the next one, and the .ccm is read to the same record
    (its records are the large ones: read once, never copied)."""
    held: np.ndarray | None = None
    for r_block in corr.blocks():
        if held is not None:
            r_block = np.concatenate([held, r_block])
        same = (r_block["x"] == r_block["x"][-1]) & (r_block["y"] == r_block["y"][-1])
        tail = r_block.size - int(np.argmin(same[::-1])) if not same.all() else 0
        held = r_block[tail:]
        if tail:
            yield r_block[:tail], clus.read(tail)
    if held is not None and held.size:
        yield held, clus.read(held.size)


def _block_edges(
    r_block: np.ndarray,
    c_block: np.ndarray,
    names: list[str],
    low: np.float32,
    high: np.float32,
    cmx: str,
    ccm: str,
    offset: int = 0,
) -> Iterator[Edge]:
    x, y = r_block["x"], r_block["y"]
    mismatch = np.flatnonzero((x != c_block["x"]) | (y != c_block["y"]))
    if mismatch.size:
        i = mismatch[0]
        raise KincError(f"{cmx} and {ccm} disagree: pair ({x[i]}, {y[i]}) vs ({c_block['x'][i]}, {c_block['y'][i]})")
    bad = np.flatnonzero((x >= len(names)) | (y < 0) | (x <= y))
    if bad.size:
        i = bad[0]
        raise KincError(f"{cmx}: invalid pair ({x[i]}, {y[i]}) for {len(names)} genes")
    magnitude = np.abs(r_block["r"])
    kept = np.flatnonzero((magnitude >= low) & (magnitude <= high))
    if not kept.size:
        return
    # A pair's clusters are its run of consecutive records: a kept record's index in its run, and the
    # run's length.
    starts = np.flatnonzero(np.concatenate([[True], (x[1:] != x[:-1]) | (y[1:] != y[:-1])]))
    run = np.searchsorted(starts, kept, side="right") - 1
    index = kept - starts[run] + 1
    count = np.diff(np.append(starts, r_block.size))[run]
    columns = (
        x[kept].tolist(),
        y[kept].tolist(),
        r_block["r"][kept].tolist(),
        c_block["samples"][kept].tolist(),
        index.tolist(),
        count.tolist(),
        (kept + offset).tolist(),
    )
    for gx, gy, r, samples, i, n, record in zip(*columns, strict=True):
        yield Edge(names[gx], names[gy], f"{r:.8g}", samples.decode("ascii"), i, n, record, (gx, gy))


def _filtered(edge_iter: Iterator[Edge], csm: "CsmTests | None") -> Iterator[Edge]:
    for e in edge_iter:
        if csm is None:
            yield e
            continue
        csm.check(e.record, *e.xy)
        if csm.passed(e.record):
            yield e


def write_text(out: BinaryIO, edge_iter: Iterator[Edge], csm: "CsmTests | None" = None) -> int:
    extra = csm.columns() if csm else []
    out.write(("\t".join([*TEXT_COLUMNS, *extra]) + "\n").encode())
    count = 0
    for e in edge_iter:
        tests = "".join(f"\t{v}" for v in csm.values(e.record)) if csm else ""
        out.write(
            f"{e.source}\t{e.target}\t{e.score}\tco\t{e.cluster_index}\t{e.cluster_size}\t{e.samples}{tests}\n".encode()
        )
        count += 1
    return count


def write_tidy(out: BinaryIO, edge_iter: Iterator[Edge], csm: "CsmTests") -> int:
    out.write(("\t".join([*TEXT_COLUMNS, "Test_Name", "p_value", "r_squared"]) + "\n").encode())
    count = 0
    for e in edge_iter:
        row = csm.rows[e.record]
        out.writelines(
            f"{e.source}\t{e.target}\t{e.score}\tco\t{e.cluster_index}\t{e.cluster_size}\t{e.samples}"
            f"\t{csm.names[i]}\t{float(row['p'][i]):.8g}\t{float(row['r2'][i]):.8g}\n".encode()
            for i in csm.passed(e.record)
        )
        count += 1
    return count


def write_minimal(out: BinaryIO, edge_iter: Iterator[Edge]) -> int:
    out.write(("\t".join(MINIMAL_COLUMNS) + "\n").encode())
    count = 0
    for e in edge_iter:
        out.write(f"{e.source}\t{e.target}\t{e.score}\t{e.cluster_index}\t{e.num_clusters}\n".encode())
        count += 1
    return count


def write_graphml(
    out: BinaryIO, edge_iter: Iterator[Edge], genes: list[str], csm: "CsmTests | None" = None
) -> int:
    from xml.sax.saxutils import escape, quoteattr  # here: it loads urllib, which no other command needs

    tests = csm.columns() if csm else []
    out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(b'<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n')
    out.writelines(
        f'  <key id="{name}" for="edge" attr.name="{name}" attr.type="{kind}"/>\n'.encode()
        for name, kind in _GRAPHML_KEYS
    )
    out.writelines(
        f'  <key id="t{i}" for="edge" attr.name={quoteattr(name)} attr.type="double"/>\n'.encode()
        for i, name in enumerate(tests)
    )
    out.write(b'  <graph id="G" edgedefault="undirected">\n')
    out.writelines(f"    <node id={quoteattr(gene)}/>\n".encode() for gene in genes)
    count = 0
    for e in edge_iter:
        values = (e.score, "co", str(e.cluster_index), str(e.cluster_size), e.samples)
        data = "".join(f'<data key="{k}">{escape(v)}</data>' for (k, _), v in zip(_GRAPHML_KEYS, values))
        if csm:
            data += "".join(f'<data key="t{i}">{v}</data>' for i, v in enumerate(csm.values(e.record)))
        out.write(
            f"    <edge source={quoteattr(e.source)} target={quoteattr(e.target)}>{data}</edge>\n".encode()
        )
        count += 1
    out.write(b"  </graph>\n</graphml>\n")
    return count


def _counting(edge_iter: Iterator[Edge], degrees: Counter[str]) -> Iterator[Edge]:
    for edge in edge_iter:
        degrees[edge.source] += 1
        degrees[edge.target] += 1
        yield edge


def write_network(
    out: BinaryIO,
    fmt: str,
    emx: str,
    cmx: str,
    ccm: str,
    mincorr: float,
    maxcorr: float,
    degrees: Counter[str] | None = None,
    csm_path: str = "",
    filter_pvalue: str = "",
    filter_rsquare: str = "",
) -> int:
    """Write the network in ``fmt``; return the number of edges. ``degrees``, if given, counts each gene's edges.
    With ``csm_path`` only the edges passing a condition test (see kinc.csmfilter) are written, with their
    tests."""
    csm = None
    if csm_path:
        from kinc.csmfilter import CsmTests

        corr = open_pairs(cmx, CMX_FORMAT)
        corr.close()
        csm = CsmTests(csm_path, corr.header, corr.count, filter_pvalue, filter_rsquare)
    elif filter_pvalue or filter_rsquare:
        raise KincError("extract: --filter-pvalue and --filter-rsquare need --csm")
    edge_iter = _filtered(edges(emx, cmx, ccm, mincorr, maxcorr), csm)
    if degrees is not None:
        edge_iter = _counting(edge_iter, degrees)
    if fmt == "tidy" and csm is not None:
        return write_tidy(out, edge_iter, csm)
    if fmt in ("text", "tidy"):
        return write_text(out, edge_iter, csm)
    if fmt == "minimal":
        return write_minimal(out, edge_iter)
    if fmt == "graphml":
        return write_graphml(out, edge_iter, read_emx_header(emx)["genes"], csm)
    raise KincError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
