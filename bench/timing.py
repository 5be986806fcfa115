"""Wall time per ingest step: wrap the step functions (`ingest.steps`, `ingest.reconciling`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def timed_steps(names: Iterable[str]) -> Iterator[dict[str, float]]:
    """Add up the wall time of every call of the named step functions until the block ends."""
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
                totals[name] += time.perf_counter() - start

        return timed

    for name, func in originals.items():
        setattr(homes[name], name, wrap(name, func))
    try:
        yield totals
    finally:
        for name, func in originals.items():
            setattr(homes[name], name, func)
