"""bench/large_gem.py's seeded GEM (same seed, same bytes; its shape, missing values and planted modules) and
the figures bench/report.py reads from bench/large_gem_makespan.py."""

from __future__ import annotations

import sys

import numpy as np

from tests.support import REPO

sys.path.insert(0, str(REPO / "bench"))
import large_gem  # noqa: E402
import report  # noqa: E402

GENES, SAMPLES = 400, 60
LINE = ("large GEM makespan_s 30.1 (4 slots, 2 cores)  single-process pipeline_s 60.2  ratio 0.50 (goal <= 0.7)  "
        "parallel efficiency 0.50  networks the same\n")


def test_the_same_seed_writes_the_same_bytes_and_another_seed_others(tmp_path) -> None:
    one = large_gem.write_gem(tmp_path / "a.gem", GENES, SAMPLES, seed=5).read_bytes()
    assert large_gem.write_gem(tmp_path / "b.gem", GENES, SAMPLES, seed=5).read_bytes() == one
    assert large_gem.write_gem(tmp_path / "c.gem", GENES, SAMPLES, seed=6).read_bytes() != one


def test_the_gem_has_its_shape_and_missing_values_as_the_token(tmp_path) -> None:
    lines = large_gem.write_gem(tmp_path / "a.gem", GENES, SAMPLES, seed=5, na=0.1).read_text().splitlines()
    rows = [line.split("\t") for line in lines]
    assert len(rows[0]) == SAMPLES and len(set(rows[0])) == SAMPLES
    assert len(rows) == GENES + 1 and all(len(row) == SAMPLES + 1 for row in rows[1:])
    assert len({row[0] for row in rows[1:]}) == GENES
    values = [v for row in rows[1:] for v in row[1:]]
    missing = values.count(large_gem.NA) / len(values)
    assert 0.08 < missing < 0.12
    assert all(v == large_gem.NA or float(v) == float(v) for v in values)


def test_planted_modules_correlate_far_above_the_background() -> None:
    values = large_gem.expression(GENES, SAMPLES, seed=5, na=0.0)
    r = np.corrcoef(values)
    module = np.array([large_gem.module_of(g) for g in range(GENES)], dtype=object)
    within = [r[i, j] for i in range(GENES) for j in range(i) if module[i] is not None and module[i] == module[j]]
    others = [r[i, j] for i in range(GENES) for j in range(i) if module[i] is None or module[i] != module[j]]
    assert len(within) == large_gem.MODULES * large_gem.MODULE_GENES * (large_gem.MODULE_GENES - 1) // 2
    assert min(within) > 0.6 and np.median(within) > 0.8
    assert np.median(np.abs(others)) < 0.3 and np.quantile(np.abs(others), 0.99) < np.median(within)


def test_the_report_reads_the_large_gem_figures() -> None:
    rows = {row["name"]: row for row in report.large_gem_figures(LINE)}
    assert rows["large GEM makespan / pipeline"]["value"] == 0.5
    assert rows["large GEM makespan / pipeline"]["goal"] == {"op": "<=", "value": 0.7}
    assert rows["large GEM makespan / pipeline"]["met"] is True
    assert rows["large GEM parallel efficiency, 2 cores (4 slots)"]["value"] == 0.5
    assert rows["large GEM network differs from the pipeline's"]["value"] == 0
    assert report.large_gem_figures("nothing printed") == []
