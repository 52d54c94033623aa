"""PNG pictures of a run: the RMT walk, the similarity histogram and the network's degree distribution.

matplotlib is imported only when a plot is asked for, with the Agg backend (no display needed). Each
``*_figure`` function builds and returns a figure without saving it, so tests can inspect its artists;
:func:`write_png` renders one into an open binary file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from kinc.errors import KincError
from kinc.rmt import CHI_POISSON, CHI_STOP, Step

if TYPE_CHECKING:
    from matplotlib.figure import Figure

HISTOGRAM_BINS = 100  # over [-1, 1]: bins of 0.02
_SIZE = (6.4, 4.0)  # inches; 640 x 400 pixels at _DPI
_DPI = 100
_COLOR = "#1f77b4"
_THRESHOLD_COLOR = "#d62728"


def require_matplotlib(option: str) -> Any:
    """Import matplotlib with the Agg backend, or fail naming the option that asked for a plot."""
    try:
        import matplotlib
    except ImportError as exc:
        raise KincError(
            f"--{option} needs matplotlib, which is not installed ({exc}); install python3-matplotlib "
            f"or `pip install matplotlib`, or leave out --{option}"
        ) from None
    matplotlib.use("Agg")
    return matplotlib


def _figure() -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=_SIZE, dpi=_DPI, layout="constrained")


def _finish(ax: Any, xlabel: str, ylabel: str, title: str, legend: str) -> None:
    """The axis labels, title, a light grid and a small legend at ``legend``: the walk's and the histogram's."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc=legend, fontsize="small")


def write_png(figure: Figure, out: BinaryIO) -> None:
    """Render the figure as PNG into ``out``; no timestamp or version, so equal figures give equal bytes."""
    figure.savefig(out, format="png", dpi=_DPI, metadata={"Software": None})


# --------------------------------------------------------------------------------------------- rmt


def rmt_figure(steps: list[Step], threshold: float) -> Figure:
    """Chi-square against threshold for the steps that had one; the cutoffs and the chosen threshold."""
    walk = [(float(step.threshold), float(step.chi)) for step in steps if step.chi is not None]
    figure = _figure()
    ax = figure.add_subplot()
    t, chi = (list(values) for values in zip(*walk, strict=True)) if walk else ([], [])
    ax.plot(t, chi, marker="o", markersize=3, linewidth=1, color=_COLOR, gid="walk",
            label=f"chi-square ({len(walk)} of {len(steps)} steps)")
    ax.axhline(CHI_POISSON, color="#2ca02c", linestyle="--", linewidth=1, gid="chi-poisson",
               label=f"{CHI_POISSON:g} (Poisson, df 60, alpha 0.001)")
    ax.axhline(CHI_STOP, color="#ff7f0e", linestyle="--", linewidth=1, gid="chi-stop", label=f"{CHI_STOP:g} (stop)")
    ax.axvline(threshold, color=_THRESHOLD_COLOR, linewidth=1.5, gid="threshold",
               label=f"threshold {threshold:.6g}")
    if chi and max(chi) > 5 * CHI_STOP:
        ax.set_yscale("log")
    ax.invert_xaxis()  # the walk goes from tstart down
    _finish(ax, "similarity threshold t", "chi-square of NN spacings vs Poisson", "RMT threshold walk", "upper left")
    return figure


# --------------------------------------------------------------------------------------- histogram


def similarity_counts(r_blocks: Iterable[np.ndarray], bins: int = HISTOGRAM_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Counts of r over ``bins`` equal bins of [-1, 1], accumulated block by block; (counts, edges)."""
    edges = np.linspace(-1.0, 1.0, bins + 1)
    counts = np.zeros(bins, dtype=np.int64)
    for block in r_blocks:
        counts += np.histogram(np.clip(block.astype(np.float64), -1.0, 1.0), bins=edges)[0]
    return counts, edges


def histogram_figure(counts: np.ndarray, edges: np.ndarray, threshold: float) -> Figure:
    """One bar per bin of the stored pairs' r; the threshold marked at +t and -t."""
    figure = _figure()
    ax = figure.add_subplot()
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color=_COLOR, edgecolor="white",
           linewidth=0.3, gid="bins", label=f"stored pairs ({int(counts.sum())})")
    for sign in (1, -1):
        ax.axvline(sign * threshold, color=_THRESHOLD_COLOR, linewidth=1.5, gid="threshold",
                   label=f"|r| = {threshold:.6g}" if sign > 0 else None)
    if counts.any():
        ax.set_yscale("log")
    ax.set_xlim(-1.0, 1.0)
    _finish(ax, "similarity r", "pairs", "Similarity of the stored pairs", "upper center")
    return figure


# ------------------------------------------------------------------------------------------ degree


def degree_figure(degrees: Counter[str]) -> Figure:
    """Log-log: how many genes have each degree (genes without edges are not in the network)."""
    figure = _figure()
    ax = figure.add_subplot()
    frequency = Counter(degrees.values())
    k = sorted(frequency)
    ax.plot(k, [frequency[d] for d in k], marker="o", linestyle="none", color=_COLOR, gid="degrees",
            label=f"{len(degrees)} genes, {sum(degrees.values()) // 2} edges")
    if k:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.legend(loc="upper right", fontsize="small")
    else:
        ax.text(0.5, 0.5, "no edges", transform=ax.transAxes, ha="center", va="center")
    ax.set_xlabel("degree k")
    ax.set_ylabel("genes with degree k")
    ax.set_title("Degree distribution of the network")
    ax.grid(alpha=0.3, which="both")
    return figure
