"""GMM's per-pair steps in chunks: similarity, corrpower and cond-test run on one chunk's own files
(chunkrun I N ...), then one merge per file; the merged files equal the whole run's, byte for byte."""

from pathlib import Path

import pytest
from kinc_testdata import write_gem
from planted import FEAT_TESTS, amx_rows, planted, write_amx

from kinc.formats import CMX_FORMAT, open_pairs
from kinc.pairs import chunk_path

GMM = ["--clusmethod", "gmm", "--minsamp", "15", "--mincorr", "0"]
POWER = ["--alpha", "0.001", "--power", "0.8"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kinc.cli import main

    base = tmp_path_factory.mktemp("pipeline")
    write_gem(base / "gem.txt", planted())
    assert main(["run", "import-emx", "--input", str(base / "gem.txt"), "--output", str(base / "x.emx")]) == 0
    write_amx(base / "amx.txt", amx_rows(planted()))
    return base


def _similarity(d: Path, stem: str) -> list[object]:
    return ["similarity", "--input", d / "x.emx", "--ccm", d / f"{stem}.ccm", "--cmx", d / f"{stem}.cmx", *GMM]


def _corrpower(d: Path, source: str, stem: str, alpha: str = "0.001", power: str = "0.8") -> list[object]:
    return ["corrpower", "--ccm-in", d / f"{source}.ccm", "--cmx-in", d / f"{source}.cmx",
            "--ccm-out", d / f"{stem}.ccm", "--cmx-out", d / f"{stem}.cmx", "--alpha", alpha, "--power", power]  # fmt: skip


def _condtest(d: Path, cmx: object, ccm: object, output: str) -> list[object]:
    return ["cond-test", "--emx", d / "x.emx", "--ccm", ccm, "--cmx", cmx, "--amx", d / "amx.txt",
            "--output", d / output, "--feat-tests", FEAT_TESTS, *POWER]  # fmt: skip


def _whole(kinc, d: Path) -> None:
    for args in (_similarity(d, "sim"), _corrpower(d, "sim", "net"), _condtest(d, d / "net.cmx", d / "net.ccm", "net.csm")):
        result = kinc("run", *args)
        assert result.code == 0, result.err


def _chunk(kinc, d: Path, index: int, chunks: int) -> None:
    own = [chunk_path(str(d / f"part.{ext}"), index, chunks) for ext in ("cmx", "ccm")]
    for args in (_similarity(d, "psim"), _corrpower(d, "psim", "part"), _condtest(d, *own, "part.csm")):
        result = kinc("chunkrun", index, chunks, *args)
        assert result.code == 0, result.err


@pytest.mark.parametrize("chunks", [1, 3, 7])
def test_per_chunk_steps_merge_to_the_whole_runs_files(tmp_path: Path, kinc, inputs: Path, chunks: int) -> None:
    for name in ("x.emx", "amx.txt"):
        (tmp_path / name).symlink_to(inputs / name)
    _whole(kinc, tmp_path)
    for index in range(chunks):
        _chunk(kinc, tmp_path, index, chunks)
    merges = [_similarity(tmp_path, "psim"), _corrpower(tmp_path, "psim", "part"),
              _condtest(tmp_path, tmp_path / "part.cmx", tmp_path / "part.ccm", "part.csm")]  # fmt: skip
    for args in merges:
        result = kinc("merge", chunks, *args)
        assert result.code == 0, result.err
    for mine, whole in (("psim.cmx", "sim.cmx"), ("psim.ccm", "sim.ccm"), ("part.cmx", "net.cmx"),
                        ("part.ccm", "net.ccm"), ("part.csm", "net.csm")):  # fmt: skip
        assert (tmp_path / mine).read_bytes() == (tmp_path / whole).read_bytes(), mine
    kept, read = open_pairs(str(tmp_path / "net.cmx"), CMX_FORMAT), open_pairs(str(tmp_path / "sim.cmx"), CMX_FORMAT)
    kept.close(), read.close()
    assert 0 < kept.count < read.count  # corrpower dropped some clusters and kept others


def test_chunked_corrpower_refuses_another_chunks_file(tmp_path: Path, kinc, inputs: Path) -> None:
    (tmp_path / "x.emx").symlink_to(inputs / "x.emx")
    assert kinc("chunkrun", 0, 2, *_similarity(tmp_path, "psim")).code == 0
    (tmp_path / chunk_path("psim.cmx", 0, 2)).rename(tmp_path / chunk_path("psim.cmx", 1, 2))
    (tmp_path / chunk_path("psim.ccm", 0, 2)).rename(tmp_path / chunk_path("psim.ccm", 1, 2))
    before = sorted(p.name for p in tmp_path.iterdir())
    result = kinc("chunkrun", 1, 2, *_corrpower(tmp_path, "psim", "part"))
    assert result.code == 2 and "is chunk [0, 2], expected chunk [1, 2]" in result.err, result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_merged_corrpower_refuses_chunks_of_other_options(tmp_path: Path, kinc, inputs: Path) -> None:
    (tmp_path / "x.emx").symlink_to(inputs / "x.emx")
    for index in range(2):
        assert kinc("chunkrun", index, 2, *_similarity(tmp_path, "psim")).code == 0
        power = "0.5" if index else "0.8"
        assert kinc("chunkrun", index, 2, *_corrpower(tmp_path, "psim", "part", power=power)).code == 0
    result = kinc("merge", 2, *_corrpower(tmp_path, "psim", "part"))
    assert result.code == 2 and "part.cmx.chunk-1-of-2: header params" in result.err, result.err
    assert not (tmp_path / "part.cmx").exists()
    result = kinc("merge", 2, *_corrpower(tmp_path, "psim", "part", alpha="0.01"))
    assert result.code == 2 and "made with corrpower --alpha 0.001, not 0.01" in result.err, result.err


def test_merged_corrpower_names_a_missing_chunk(tmp_path: Path, kinc, inputs: Path) -> None:
    (tmp_path / "x.emx").symlink_to(inputs / "x.emx")
    for index in (0, 2):
        assert kinc("chunkrun", index, 3, *_similarity(tmp_path, "psim")).code == 0
        assert kinc("chunkrun", index, 3, *_corrpower(tmp_path, "psim", "part")).code == 0
    result = kinc("merge", 3, *_corrpower(tmp_path, "psim", "part"))
    assert result.code == 2 and "part.cmx.chunk-1-of-3" in result.err, result.err


def test_a_chunks_cond_test_refuses_another_chunks_files(tmp_path: Path, kinc, inputs: Path) -> None:
    for name in ("x.emx", "amx.txt"):
        (tmp_path / name).symlink_to(inputs / name)
    _chunk(kinc, tmp_path, 0, 2)
    own = [chunk_path(str(tmp_path / f"part.{ext}"), 0, 2) for ext in ("cmx", "ccm")]
    result = kinc("chunkrun", 1, 2, *_condtest(tmp_path, *own, "other.csm"))
    assert result.code == 2 and "is chunk [0, 2], merge the chunks first" in result.err, result.err
    result = kinc("run", *_condtest(tmp_path, *own, "other.csm"))
    assert result.code == 2 and "merge the chunks first" in result.err, result.err
