"""The plots of rmt --plot and extract --plot-histogram/--plot-degree, rendered from a small run.

The run's figures are captured as the command line renders them, so the tests count what was drawn
(points of the walk, bars of the histogram, degrees) against the run's own outputs.
"""

import struct
import sys
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from kinc_testdata import write_gem

from kinc import plots
from kinc.cli import main
from kinc.formats import CMX_FORMAT, open_pairs
from kinc.rmt import CHI_POISSON, CHI_STOP, Step, format_log, parse_log

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MODULE, BACKGROUND, SAMPLES = 100, 400, 60


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a well-formed PNG: signature, IHDR first, every chunk's CRC right, IEND last."""
    assert data[:8] == PNG_SIGNATURE
    offset, kinds = 8, []
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        kinds.append(kind)
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        offset += 12 + length
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    return width, height


def assert_plausible_png(path: Path) -> None:
    width, height = png_size(path.read_bytes())
    assert 600 <= width <= 2000 and 300 <= height <= 1500, (width, height)
    assert path.stat().st_size > 10_000


def planted_gem(path: Path) -> Path:
    """A strongly co-expressed module of 100 genes in a weakly correlated background of 400."""
    rng = np.random.default_rng(1)
    module = rng.normal(size=SAMPLES) + rng.uniform(0.1, 0.3, size=(MODULE, 1)) * rng.normal(size=(MODULE, SAMPLES))
    background = rng.normal(size=SAMPLES) + rng.normal(size=(BACKGROUND, SAMPLES))
    return write_gem(path, (np.vstack([module, background]) + 8.0).astype(np.float32))


@dataclass(frozen=True)
class Run:
    directory: Path
    figures: dict[str, Any]  # title -> the figure the command line rendered

    def __truediv__(self, name: str) -> Path:
        return self.directory / name


def _run(*args: object) -> None:
    code = main([str(a) for a in args])
    assert code == 0, args


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    d = tmp_path_factory.mktemp("plots")
    figures: dict[str, Any] = {}
    render = plots.write_png

    def capture(figure: Any, out: Any) -> None:
        figures[figure.axes[0].get_title()] = figure
        render(figure, out)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plots, "write_png", capture)
        _run("run", "import-emx", "--input", planted_gem(d / "gem.txt"), "--output", d / "x.emx")
        _run("run", "similarity", "--input", d / "x.emx", "--ccm", d / "x.ccm", "--cmx", d / "x.cmx")
        _run("run", "rmt", "--input", d / "x.cmx", "--log", d / "rmt.log", "--plot", d / "rmt.png")
        threshold = (d / "rmt.log").read_text().splitlines()[-1]
        _run("run", "extract", "--emx", d / "x.emx", "--ccm", d / "x.ccm", "--cmx", d / "x.cmx",
             "--output", d / "network.txt", "--mincorr", threshold,
             "--plot-histogram", d / "hist.png", "--plot-degree", d / "degree.png")
    yield Run(d, figures)


def lines_by_gid(figure: Any, gid: str) -> list[Any]:
    return [line for line in figure.axes[0].get_lines() if line.get_gid() == gid]


def test_rmt_plot_shows_every_step_with_a_chi_the_cutoffs_and_the_threshold(small_run: Run) -> None:
    assert_plausible_png(small_run / "rmt.png")
    threshold, steps = parse_log((small_run / "rmt.log").read_text())
    measured = [s for s in steps if s.chi is not None]
    assert 0 < len(measured) < len(steps)  # the first, small matrices are skipped
    figure = small_run.figures["RMT threshold walk"]
    (walk,) = lines_by_gid(figure, "walk")
    assert len(walk.get_xdata()) == len(measured)
    np.testing.assert_allclose(walk.get_ydata(), [s.chi for s in measured], rtol=1e-5)
    (marked,) = lines_by_gid(figure, "threshold")
    np.testing.assert_allclose(marked.get_xdata(), [threshold, threshold], rtol=1e-6)
    assert [line.get_ydata()[0] for line in lines_by_gid(figure, "chi-poisson")] == [CHI_POISSON]
    assert [line.get_ydata()[0] for line in lines_by_gid(figure, "chi-stop")] == [CHI_STOP]


def test_similarity_histogram_has_one_bar_per_bin_covering_every_stored_pair(small_run: Run) -> None:
    assert_plausible_png(small_run / "hist.png")
    figure = small_run.figures["Similarity of the stored pairs"]
    bars = [patch for patch in figure.axes[0].patches if patch.get_gid() == "bins"]
    assert len(bars) == plots.HISTOGRAM_BINS
    cmx = open_pairs(str(small_run / "x.cmx"), CMX_FORMAT)
    cmx.close()
    assert sum(bar.get_height() for bar in bars) == cmx.count > 0
    threshold = float((small_run / "rmt.log").read_text().splitlines()[-1])
    marks = sorted(line.get_xdata()[0] for line in lines_by_gid(figure, "threshold"))
    np.testing.assert_allclose(marks, [-threshold, threshold])


def test_degree_plot_has_a_point_per_degree_of_the_network(small_run: Run) -> None:
    assert_plausible_png(small_run / "degree.png")
    rows = [line.split("\t") for line in (small_run / "network.txt").read_text().splitlines()[1:]]
    degrees = Counter(name for row in rows for name in row[:2])
    frequency = Counter(degrees.values())
    (points,) = lines_by_gid(small_run.figures["Degree distribution of the network"], "degrees")
    assert list(points.get_xdata()) == sorted(frequency)
    assert list(points.get_ydata()) == [frequency[k] for k in sorted(frequency)]
    assert sum(k * n for k, n in zip(points.get_xdata(), points.get_ydata(), strict=True)) == 2 * len(rows)


def test_degree_plot_of_an_empty_network_says_so() -> None:
    figure = plots.degree_figure(Counter())
    (points,) = lines_by_gid(figure, "degrees")
    assert len(points.get_xdata()) == 0
    assert [text.get_text() for text in figure.axes[0].texts] == ["no edges"]


def test_equal_figures_render_to_equal_bytes(tmp_path: Path) -> None:
    steps = [Step(np.float32(0.9), 0, 0, None), Step(np.float32(0.89), 60, 60, 80.0),
             Step(np.float32(0.88), 70, 70, 210.0)]
    outputs = [tmp_path / "a.png", tmp_path / "b.png"]
    for path in outputs:
        with path.open("wb") as out:
            plots.write_png(plots.rmt_figure(steps, 0.89), out)
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    assert_plausible_png(outputs[0])


def test_log_parses_back_to_the_walk() -> None:
    steps = [Step(np.float32(0.99), 1, 1, None), Step(np.float32(0.989), 80, 77, 123.456)]
    threshold, parsed = parse_log(format_log(np.float32(0.989), steps))
    assert threshold == pytest.approx(0.989)
    assert [(float(s.threshold), s.size, s.unique, s.chi) for s in parsed] == [
        (pytest.approx(0.99), 1, 1, None), (pytest.approx(0.989), 80, 77, 123.456)]


def test_a_bad_log_line_is_named() -> None:
    with pytest.raises(Exception, match=r"line 2: expected t, size, unique, chi; got '0.98\\t3'"):
        parse_log("0.99\t1\t1\t-1\n0.98\t3\n0.98\n", "rmt.log")


@pytest.mark.parametrize(
    ("analytic", "option", "output"),
    [("rmt", "plot", "log"), ("extract", "plot-histogram", "output"), ("extract", "plot-degree", "output")],
)
def test_missing_matplotlib_names_the_option_and_writes_nothing(
    small_run: Run, tmp_path: Path, kinc, monkeypatch: pytest.MonkeyPatch, analytic: str, option: str, output: str
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    inputs = {"rmt": ["--input", small_run / "x.cmx"],
              "extract": ["--emx", small_run / "x.emx", "--ccm", small_run / "x.ccm", "--cmx", small_run / "x.cmx"]}
    result = kinc("run", analytic, *inputs[analytic], f"--{output}", tmp_path / "out", f"--{option}", tmp_path / "p.png")
    assert result.code == 2
    assert f"--{option} needs matplotlib" in result.err
    assert list(tmp_path.iterdir()) == []


def test_help_lists_the_plot_options(kinc) -> None:
    assert "--plot (default none)" in kinc("help", "rmt").out
    extract = kinc("help", "extract").out
    assert "--plot-histogram (default none)" in extract and "--plot-degree (default none)" in extract
