"""The benchmark's step timing: overlapping steps count once towards the busy time."""

from __future__ import annotations

import os

import pytest

from bench.timing import busy_seconds


@pytest.mark.parametrize(
    ("spans", "busy"),
    [
        ([], 0.0),
        ([(0.0, 2.0)], 2.0),
        # the source count beside the chunks: the overlap counts once
        ([(0.0, 4.0), (1.0, 3.0), (3.5, 6.0)], 6.0),
        # gaps between steps (orchestration) are not busy, in any order of the spans
        ([(5.0, 6.0), (0.0, 1.0), (2.0, 3.0)], 3.0),
        # touching spans join
        ([(0.0, 1.0), (1.0, 2.5)], 2.5),
    ],
)
def test_busy_seconds_is_the_length_of_the_union(
    spans: list[tuple[float, float]], busy: float
) -> None:
    assert busy_seconds(spans) == pytest.approx(busy)


def test_cores_busy_reads_the_share_of_busy_ticks() -> None:
    from bench.workers import cores_busy, cpu_jiffies

    cores = os.cpu_count() or 1
    assert cores_busy((100, 1000), (150, 1100)) == pytest.approx(cores * 0.5)
    assert cores_busy((100, 1000), (100, 1000)) == 0.0
    # the machine's own counters only grow, and busy never exceeds the total
    first = cpu_jiffies()
    second = cpu_jiffies()
    assert 0 <= first[0] <= first[1]
    assert second[0] >= first[0]
    assert second[1] >= first[1]
