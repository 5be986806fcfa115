"""Wall time per ingest step: wrap `catalog_lib.ingest.steps` functions while a run is measured."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def timed_steps(names: Iterable[str]) -> Iterator[dict[str, float]]:
    """Add up the wall time of every call of the named step functions until the block ends."""
    from catalog_lib.ingest import steps

    totals: dict[str, float] = dict.fromkeys(names, 0.0)
    originals = {name: getattr(steps, name) for name in totals}

    def wrap(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                totals[name] += time.perf_counter() - start

        return timed

    for name, func in originals.items():
        setattr(steps, name, wrap(name, func))
    try:
        yield totals
    finally:
        for name, func in originals.items():
            setattr(steps, name, func)
