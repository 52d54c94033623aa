"""chunkrun over N chunks then merge equals one whole run, byte for byte."""

from pathlib import Path

import pytest
from kinc_testdata import messy_matrix, write_gem

from kinc.pairs import chunk_path

OPTIONS = ["--minsamp", "20", "--mincorr", "0.3"]


@pytest.fixture
def emx(tmp_path: Path, kinc) -> Path:
    write_gem(tmp_path / "gem.txt", messy_matrix(8, genes=40))  # 780 pairs
    assert (
        kinc("run", "import-emx", "--input", tmp_path / "gem.txt", "--output", tmp_path / "x.emx").code == 0
    )
    return tmp_path / "x.emx"


def _similarity(kinc, emx: Path, stem: Path, *extra: str) -> list[str]:
    return [
        "similarity",
        "--input",
        str(emx),
        "--ccm",
        f"{stem}.ccm",
        "--cmx",
        f"{stem}.cmx",
        *OPTIONS,
        *extra,
    ]


@pytest.mark.parametrize("chunks", [1, 7, 780, 1000])
@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_chunks_merge_to_the_whole_run(tmp_path: Path, kinc, emx: Path, chunks: int, method: str) -> None:
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    args = ("--corrmethod", method)
    assert kinc("run", *_similarity(kinc, emx, whole, *args)).code == 0
    for index in range(chunks):
        result = kinc("chunkrun", index, chunks, *_similarity(kinc, emx, parts, *args))
        assert result.code == 0, result.err
    assert (
        Path(chunk_path(f"{parts}.cmx", chunks - 1, chunks)).name
        == f"parts.cmx.chunk-{chunks - 1}-of-{chunks}"
    )
    assert kinc("merge", chunks, *_similarity(kinc, emx, parts, *args)).code == 0
    for ext in ("cmx", "ccm"):
        merged, reference = Path(f"{parts}.{ext}").read_bytes(), Path(f"{whole}.{ext}").read_bytes()
        assert merged == reference
    assert len(Path(f"{whole}.cmx").read_bytes()) > 12 * 100


def test_merge_refuses_a_missing_chunk(tmp_path: Path, kinc, emx: Path) -> None:
    parts = tmp_path / "parts"
    for index in (0, 2):
        assert kinc("chunkrun", index, 3, *_similarity(kinc, emx, parts)).code == 0
    result = kinc("merge", 3, *_similarity(kinc, emx, parts))
    assert result.code == 2
    assert "parts.cmx.chunk-1-of-3: no such file" in result.err
    assert not Path(f"{parts}.cmx").exists() and not Path(f"{parts}.ccm").exists()


def test_merge_refuses_chunks_made_with_other_options(tmp_path: Path, kinc, emx: Path) -> None:
    parts = tmp_path / "parts"
    for index in range(2):
        assert kinc("chunkrun", index, 2, *_similarity(kinc, emx, parts)).code == 0
    result = kinc("merge", 2, *_similarity(kinc, emx, parts, "--corrmethod", "spearman"))
    assert result.code == 2
    assert "params" in result.err and "chunk-0-of-2" in result.err
    assert not Path(f"{parts}.cmx").exists()


@pytest.mark.parametrize("index,count", [("3", "3"), ("-1", "3"), ("0", "0"), ("x", "3")])
def test_chunkrun_rejects_bad_chunk_numbers(tmp_path: Path, kinc, emx: Path, index: str, count: str) -> None:
    result = kinc("chunkrun", index, count, *_similarity(kinc, emx, tmp_path / "p"))
    assert result.code == 2 and "chunk" in result.err
    assert list(tmp_path.glob("p.*")) == []


def test_only_similarity_runs_in_chunks(tmp_path: Path, kinc) -> None:
    result = kinc("chunkrun", 0, 2, "rmt", "--input", tmp_path / "x.cmx", "--log", tmp_path / "l")
    assert result.code == 2 and "only similarity" in result.err


def test_rmt_and_extract_refuse_a_chunk(tmp_path: Path, kinc, emx: Path) -> None:
    parts = tmp_path / "parts"
    assert kinc("chunkrun", 0, 2, *_similarity(kinc, emx, parts)).code == 0
    chunk = chunk_path(f"{parts}.cmx", 0, 2)
    result = kinc("run", "rmt", "--input", chunk, "--log", tmp_path / "l")
    assert result.code == 2 and "merge the chunks first" in result.err
