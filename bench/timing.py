"""Wall time per ingest step: wrap the step functions (`ingest.steps`, `ingest.reconciling`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def timed_steps(
    names: Iterable[str], spans: list[tuple[float, float]] | None = None
) -> Iterator[dict[str, float]]:
    """Add up the wall time of every call of the named step functions until the block ends.

    With ``spans``, every call's (start, end) ``perf_counter`` pair is appended to it too, so
    a caller can tell when at least one step was running (see ``busy_seconds``).
    """
    from catalog_lib.ingest import reconciling, steps

    totals: dict[str, float] = dict.fromkeys(names, 0.0)
    homes = {name: steps if hasattr(steps, name) else reconciling for name in totals}
    originals = {name: getattr(homes[name], name) for name in totals}

    def wrap(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                end = time.perf_counter()
                totals[name] += end - start
                if spans is not None:
                    spans.append((start, end))

        return timed

    for name, func in originals.items():
        setattr(homes[name], name, wrap(name, func))
    try:
        yield totals
    finally:
        for name, func in originals.items():
            setattr(homes[name], name, func)


def busy_seconds(spans: Iterable[tuple[float, float]]) -> float:
    """Seconds during which at least one span was open (the length of their union).

    Summed step times count overlapping steps twice (chunks beside the source count, apply
    partitions at once); the union does not, so wall time minus it is time no step ran.
    """
    busy = 0.0
    open_start = open_end = None
    for start, end in sorted(spans):
        if open_end is None or start > open_end:
            if open_end is not None and open_start is not None:
                busy += open_end - open_start
            open_start, open_end = start, end
        else:
            open_end = max(open_end, end)
    if open_end is not None and open_start is not None:
        busy += open_end - open_start
    return busy
