"""Bad input: clear message naming file, line and field; exit code 2; no output file left behind."""

import subprocess
import sys
from pathlib import Path

import pytest

KINC_ROOT = Path(__file__).resolve().parents[1]
HEADER = "s1\ts2\ts3\n"


def _leftovers(directory: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def _emx(tmp_path: Path, kinc) -> Path:
    """A two-gene GEM at tmp_path/gem.txt, imported as tmp_path/x.emx."""
    gem = tmp_path / "gem.txt"
    gem.write_text(HEADER + "g1\t1\t2\t3\ng2\t3\t2\t1\n")
    assert kinc("run", "import-emx", "--input", gem, "--output", tmp_path / "x.emx").code == 0
    return tmp_path / "x.emx"


def _similarity(kinc, tmp_path: Path, *args: object):
    """similarity on tmp_path's x.emx, written to a.ccm and a.cmx beside it."""
    outputs = ["--ccm", tmp_path / "a.ccm", "--cmx", tmp_path / "a.cmx"]
    return kinc("run", "similarity", "--input", tmp_path / "x.emx", *outputs, *args)


@pytest.mark.parametrize(
    "text,needles",
    [
        (HEADER + "g1\t1\t2\t3\ng2\t1\t2\n", ["line 3", "expected 4 fields", "found 3"]),
        (HEADER + "g1\t1\t\t3\n", ["line 2", "found 3", "empty cell"]),
        (HEADER + "g1\t1\t2\t3\t4\n", ["line 2", "found 5"]),
        (HEADER + "g1\t1\t2\t3\ng2\t1\tabc\t3\n", ["line 3", "column 3", "'s2'", "'abc'"]),
        (HEADER + "g1\t1\tna\t3\n", ["line 2", "column 3", "'na'", "'NA'"]),
        ("", ["file is empty"]),
        ("\n\n", ["file is empty"]),
        (HEADER, ["no gene rows"]),
        (HEADER + "g1\t1\t\xff\t3\n", ["line 2", "UTF-8"]),
        (HEADER + "g1\t1\t2\t3\ng2\t1\t2\t3\ng1\t4\t5\t6\n", ["line 4", "gene 'g1'", "lines 2 and 4"]),
        ("s1\ts2\ts1\ng1\t1\t2\t3\n", ["line 1", "sample 's1'", "fields 1 and 3", "columns 2 and 4"]),
        ("\n s1 s2 s3 s2\n", ["line 2", "sample 's2'", "fields 2 and 4", "columns 3 and 5"]),
        ("g0\t1\tNA\t3\ng1\t1\t2\t3\n", ["line 1", "header missing", "looks like a gene row"]),
        ("Gene\t" + HEADER + "g1\t1\t2\t3\n", ["line 2", "found 4", "line 1 labels the gene column"]),
    ],
)
def test_bad_gem(tmp_path: Path, kinc, text: str, needles: list[str]) -> None:
    gem = tmp_path / "gem.txt"
    gem.write_bytes(text.encode("latin-1"))
    result = kinc("run", "import-emx", "--input", gem, "--output", tmp_path / "x.emx")
    assert result.code == 2
    for needle in [str(gem), *needles]:
        assert needle in result.err
    assert _leftovers(tmp_path, {"gem.txt"}) == []


def test_good_gem_with_trailing_tabs_and_missing_values(tmp_path: Path, kinc) -> None:
    gem = tmp_path / "gem.txt"
    gem.write_text(HEADER + "g1\t1\tNA\t3\t\ng2\t-1e3\t.5\tinf\n\n")
    assert kinc("run", "import-emx", "--input", gem, "--output", tmp_path / "x.emx").code == 0
    from kinc.formats import read_emx

    emx = read_emx(str(tmp_path / "x.emx"))
    assert emx.genes == ["g1", "g2"] and emx.samples == ["s1", "s2", "s3"]
    assert emx.values.dtype.name == "float32" and str(emx.values[0, 1]) == "nan" and emx.values[1, 0] == -1000


def test_custom_nan_token_and_headerless_gem(tmp_path: Path, kinc) -> None:
    gem = tmp_path / "gem.txt"
    gem.write_text("g1 1 ? 3\ng2 4 5 6\n")
    assert (
        kinc(
            "run",
            "import-emx",
            "--input",
            gem,
            "--output",
            tmp_path / "x.emx",
            "--nan",
            "?",
            "--samples",
            "3",
        ).code
        == 0
    )
    result = kinc("run", "import-emx", "--input", gem, "--output", tmp_path / "y.emx", "--samples", "3")
    assert result.code == 2 and "line 1, column 3" in result.err


def test_missing_input_file(tmp_path: Path, kinc) -> None:
    result = kinc("run", "import-emx", "--input", tmp_path / "nope.txt", "--output", tmp_path / "x.emx")
    assert result.code == 2 and f"{tmp_path / 'nope.txt'}: no such file" in result.err
    result = kinc(
        "run",
        "similarity",
        "--input",
        tmp_path / "nope.emx",
        "--ccm",
        tmp_path / "a.ccm",
        "--cmx",
        tmp_path / "a.cmx",
    )
    assert result.code == 2 and "nope.emx: no such file" in result.err
    assert _leftovers(tmp_path, set()) == []


def test_output_directory_must_exist(tmp_path: Path, kinc) -> None:
    gem = tmp_path / "gem.txt"
    gem.write_text(HEADER + "g1\t1\t2\t3\n")
    result = kinc("run", "import-emx", "--input", gem, "--output", tmp_path / "no" / "x.emx")
    assert result.code == 2 and "does not exist" in result.err


def test_corrupt_and_foreign_matrix_files(tmp_path: Path, kinc) -> None:
    emx, gem = _emx(tmp_path, kinc), tmp_path / "gem.txt"
    emx.write_bytes(emx.read_bytes()[:-3])
    out = ["--ccm", tmp_path / "a.ccm", "--cmx", tmp_path / "a.cmx"]
    result = kinc("run", "similarity", "--input", emx, *out)
    assert result.code == 2 and "truncated" in result.err
    result = kinc("run", "similarity", "--input", gem, *out)
    assert result.code == 2 and "line 1: not a kinc-emx file" in result.err
    assert _leftovers(tmp_path, {"gem.txt", "x.emx"}) == []


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--bogus", "1"], "unknown option --bogus"),
        (["--minsamp"], "--minsamp needs a value"),
        (["--minsamp", "ten"], "--minsamp expects a int, got 'ten'"),
        (["--mincorr", "high"], "--mincorr expects a float, got 'high'"),
        (["--mincorr", "nan"], "NaN is not allowed"),
        (["--preout", "maybe"], "--preout expects a bool, got 'maybe'"),
        (["--corrmethod", "kendall"], "--corrmethod must be one of pearson|spearman"),
        (["--clusmethod", "kmeans"], "--clusmethod must be one of none|gmm"),
        (["--minsamp", "1", "--minsamp", "2"], "--minsamp given twice"),
        (["stray"], "expected an option like --name value, got 'stray'"),
        (["--mincorr", "0.9", "--maxcorr", "0.5"], "--mincorr (0.9) must not exceed --maxcorr (0.5)"),
    ],
)
def test_bad_similarity_options(tmp_path: Path, kinc, args: list[str], needle: str) -> None:
    _emx(tmp_path, kinc)
    result = _similarity(kinc, tmp_path, *args)
    assert result.code == 2 and needle in result.err, result.err
    assert _leftovers(tmp_path, {"gem.txt", "x.emx"}) == []


def test_required_option_and_unknown_commands(tmp_path: Path, kinc) -> None:
    assert "missing required option --output" in kinc("run", "import-emx", "--input", "x").err
    assert "unknown analytic 'cluster'" in kinc("run", "cluster").err
    assert "unknown command 'go'" in kinc("go").err
    assert kinc("run", "cluster").code == 2


def test_number_and_boolean_spellings(tmp_path: Path, kinc) -> None:
    _emx(tmp_path, kinc)
    for preout in ("true", "False", "1", "0", "yes", "NO"):
        spellings = ["--preout", preout, "--minexpr", "-inf", "--maxexpr=inf", "--minsamp", "3", "--mincorr", "0"]
        result = _similarity(kinc, tmp_path, *spellings, "--crit", "AIC")
        assert result.code == 0, result.err
    from kinc.formats import CCM_FORMAT, open_pairs

    pairs = open_pairs(str(tmp_path / "a.ccm"), CCM_FORMAT)
    assert pairs.count == 1 and pairs.read_all()["samples"][0] == b"111"
    pairs.close()


def test_help_and_module_entry_point(kinc) -> None:
    result = kinc("help", "similarity")
    assert result.code == 0 and "--corrmethod [pearson|spearman] (default pearson)" in result.out
    assert "--minsamp (default 30) [at least 1]" in result.out
    assert "--mincorr (default 0.5) [between 0 and 1]" in result.out
    proc = subprocess.run(
        [sys.executable, "-m", "kinc", "run", "rmt", "--input"],
        cwd=KINC_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "kinc: error: rmt: option --input needs a value" in proc.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["run", "similarity"],
        ["chunkrun", "0", "2", "similarity"],
        ["merge", "2", "similarity"],
    ],
    ids=["run", "chunkrun", "merge"],
)
def test_minsamp_is_at_least_one_as_in_kinc(tmp_path: Path, kinc, command: list[str]) -> None:
    emx = _emx(tmp_path, kinc)
    outputs = ["--ccm", tmp_path / "a.ccm", "--cmx", tmp_path / "a.cmx"]
    result = kinc(*command, "--input", emx, *outputs, "--minsamp", "0")
    assert result.code == 2
    assert "similarity: --minsamp must be at least 1 (as in KINC), got '0'" in result.err, result.err
    assert _leftovers(tmp_path, {"gem.txt", "x.emx"}) == []
    result = kinc(*command, "--input", emx, *outputs, "--minsamp", "1")
    assert "--minsamp" not in result.err
    assert result.code == 0 or command[0] == "merge"  # merge: no chunks were made


@pytest.mark.parametrize(
    "analytic,args,needle",
    [
        ("similarity", ["--mincorr", "-0.1"], "--mincorr must be between 0 and 1 (as in KINC), got '-0.1'"),
        ("similarity", ["--maxcorr", "1.5"], "--maxcorr must be between 0 and 1"),
        ("similarity", ["--mincorr", "-inf"], "--mincorr must be between 0 and 1"),
        ("similarity", ["--minclus", "0"], "--minclus must be between 1 and 64"),
        ("similarity", ["--maxclus", "65"], "--maxclus must be between 1 and 64"),
        ("rmt", ["--tstart", "1.5"], "--tstart must be between 0 and 1"),
        ("rmt", ["--tstop", "-0.5"], "--tstop must be between 0 and 1"),
        ("rmt", ["--tstep", "2"], "--tstep must be between 0 and 1"),
        ("rmt", ["--mineigens", "0"], "--mineigens must be at least 1"),
        ("rmt", ["--minpace", "0"], "--minpace must be at least 1"),
        ("rmt", ["--maxpace", "-3"], "--maxpace must be at least 1"),
        ("rmt", ["--bins", "-1"], "--bins must be at least 1"),
        ("extract", ["--mincorr", "2"], "--mincorr must be between 0 and 1"),
        ("extract", ["--maxcorr", "-1"], "--maxcorr must be between 0 and 1"),
        ("import-emx", ["--samples", "-1"], "--samples must be at least 0"),
    ],
)
def test_numeric_options_keep_kincs_ranges(
    tmp_path: Path, kinc, analytic: str, args: list[str], needle: str
) -> None:
    paths = {
        "similarity": ["--input", "x.emx", "--ccm", "a.ccm", "--cmx", "a.cmx"],
        "rmt": ["--input", "a.cmx", "--log", "a.log"],
        "extract": ["--emx", "x.emx", "--ccm", "a.ccm", "--cmx", "a.cmx", "--output", "net.txt"],
        "import-emx": ["--input", "gem.txt", "--output", "x.emx"],
    }[analytic]
    result = kinc("run", analytic, *[tmp_path / p if not p.startswith("--") else p for p in paths], *args)
    assert result.code == 2 and f"{analytic}: {needle}" in result.err, result.err
    assert _leftovers(tmp_path, set()) == []


def _same_gem_names(tmp_path: Path, gem: Path) -> dict[str, Path]:
    """Other names for the GEM file: a path with ./ and .., a symbolic link, a hard link."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.txt").symlink_to(gem)
    (tmp_path / "hard.txt").hardlink_to(gem)
    return {
        "same": gem,
        "dotted": tmp_path / "sub" / ".." / "." / gem.name,
        "symlink": tmp_path / "link.txt",
        "hardlink": tmp_path / "hard.txt",
    }


@pytest.mark.parametrize("name", ["same", "dotted", "symlink", "hardlink"])
def test_import_emx_refuses_to_write_over_its_input(tmp_path: Path, kinc, name: str) -> None:
    gem = tmp_path / "gem.txt"
    gem.write_text(HEADER + "g1\t1\t2\t3\n")
    before = gem.read_bytes()
    output = _same_gem_names(tmp_path, gem)[name]
    result = kinc("run", "import-emx", "--input", gem, "--output", output)
    assert result.code == 2
    assert f"import-emx: --output '{output}' is the file of --input '{gem}'" in result.err, result.err
    assert gem.read_bytes() == before and (tmp_path / "hard.txt").read_bytes() == before
    assert (tmp_path / "link.txt").is_symlink()
    assert _leftovers(tmp_path, {"gem.txt", "sub", "link.txt", "hard.txt"}) == []
    # The other way round too: the GEM given through the other name, written to its real path.
    result = kinc("run", "import-emx", "--input", output, "--output", gem)
    assert result.code == 2 and "writing it would replace that input" in result.err
    assert gem.read_bytes() == before


def test_no_analytic_writes_over_its_inputs(tmp_path: Path, kinc) -> None:
    emx = _emx(tmp_path, kinc)
    before = emx.read_bytes()
    similarity = ["--input", emx, "--ccm", tmp_path / "a.ccm", "--minsamp", "3", "--mincorr", "0"]
    result = kinc("run", "similarity", *similarity, "--cmx", tmp_path / "." / "x.emx")
    assert result.code == 2 and "similarity: --cmx" in result.err and "--input" in result.err
    assert emx.read_bytes() == before
    assert kinc("run", "similarity", *similarity, "--cmx", tmp_path / "a.cmx").code == 0
    cmx = (tmp_path / "a.cmx").read_bytes()
    result = kinc("run", "rmt", "--input", tmp_path / "a.cmx", "--log", tmp_path / "a.cmx")
    assert result.code == 2 and "rmt: --log" in result.err and (tmp_path / "a.cmx").read_bytes() == cmx
    extract = ["--emx", emx, "--ccm", tmp_path / "a.ccm", "--cmx", tmp_path / "a.cmx"]
    for target in ("x.emx", "a.ccm", "a.cmx"):
        result = kinc("run", "extract", *extract, "--output", tmp_path / target)
        assert result.code == 2 and f"extract: --output '{tmp_path / target}'" in result.err, result.err
    assert emx.read_bytes() == before and (tmp_path / "a.cmx").read_bytes() == cmx
    assert _leftovers(tmp_path, {"gem.txt", "x.emx", "a.ccm", "a.cmx"}) == []
