"""bench/gmm_makespan.py's comparison of the federation's network with the single process's."""

from __future__ import annotations

import sys

from tests.support import REPO

sys.path.insert(0, str(REPO / "bench"))
from gmm_makespan import same_networks  # noqa: E402

HEAD = "g2\tg1\t0.91\tco\t1\t40\t" + "1" * 40
EDGE = HEAD + "\t2.2320194e-10\t0.58506008\tnan"


def test_the_last_digits_of_a_test_may_differ_between_numpy_builds() -> None:
    assert same_networks([EDGE], [HEAD + "\t2.232019e-10\t0.58506008\tnan"])
    assert same_networks([HEAD + "\t8.1528132e-17\t0.5\tnan"], [HEAD + "\t0\t0.5\tnan"])


def test_another_edge_cluster_or_test_value_is_a_difference() -> None:
    assert not same_networks([EDGE], [EDGE.replace("\t0.91\t", "\t0.92\t")])
    assert not same_networks([EDGE], [EDGE.replace("\t1\t40\t", "\t2\t40\t")])
    assert not same_networks([EDGE], [HEAD + "\t2.2320194e-10\t0.5851\tnan"])
    assert not same_networks([EDGE], [HEAD + "\t2.2320194e-10\t0.58506008\t0.3"])
    assert not same_networks([EDGE], [EDGE, EDGE])
