"""Piece ``planner``: chunk planner and reconcile counters vs ``wc -l`` on one file.

Contenders, each run once per round in the same order: ``wc -l`` (the baseline), a raw read
in 8 MiB blocks (the floor for any Python reader), ``plan_chunks`` (the planner's fast path
with its read-ahead, 8 MiB blocks), ``count_records`` (the reconcile counter: grammar scan and
DuckDB at the same time, local store), the grammar scan alone, and ``count_records_stdlib``
(the per-line parity cross-check). Every count must equal the generator's record count. Then
the planner's heap peak (``tracemalloc``) on a file a quarter of the size and on the full
file: the planner streams, so the two peaks must be about equal.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.context import MIB, Context, iter_blocks, median, timed, wc_lines


def planner_peak(path: Path, chunk_size: int) -> tuple[int, int]:
    """Tracemalloc peak of planning ``path`` (block buffers included) and its chunk count."""
    from catalog_lib.rules.chunking import plan_chunks

    gc.collect()
    tracemalloc.start()
    try:
        plan = plan_chunks(iter_blocks(path), size=path.stat().st_size, chunk_size=chunk_size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, len(plan.chunks)


def bench_planner(ctx: Context) -> dict[str, Any]:
    """Planner (fast path) and reconcile counters vs ``wc -l``; every count checked exactly."""
    from bench.catalog_csv import write_csv
    from catalog_lib.adapters.counting import count_records
    from catalog_lib.adapters.storage import StorageConfig, open_store
    from catalog_lib.rules.chunking import plan_chunks
    from catalog_lib.rules.grammar_scan import count_records_grammar
    from catalog_lib.rules.parity_count import count_records_stdlib

    folder = ctx.root / "planner"
    folder.mkdir()
    path = folder / "catalog.csv"
    records = write_csv(path, ctx.profile.planner_mb * 1_000_000)
    size = path.stat().st_size
    chunk = ctx.profile.chunk_mib * MIB
    store = open_store(StorageConfig(landing_url=str(folder)))
    version = store.head(str(path))  # hashes the file once; count_records reuses the hash
    contenders: dict[str, Callable[[], int]] = {
        "wc -l": lambda: wc_lines(path),
        "raw read, 8 MiB blocks": lambda: sum(len(b) for b in iter_blocks(path)),
        "plan_chunks": lambda: (
            plan_chunks(iter_blocks(path), size=size, chunk_size=chunk).record_count
        ),
        "count_records (reconcile)": lambda: count_records(store, version).records,
        "grammar scan alone": lambda: count_records_grammar(iter_blocks(path)),
        "count_records_stdlib": lambda: count_records_stdlib(iter_blocks(path)),
    }
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    results: dict[str, int] = {}
    for _ in range(ctx.profile.runs):
        for name, run in contenders.items():
            gc.collect()
            took, result = timed(run)
            seconds[name].append(took)
            results[name] = int(result)
    wc_s = median(seconds["wc -l"])
    rows = [
        {
            "name": name,
            "median_s": round(median(runs), 4),
            "mb_per_s": round(size / 1e6 / median(runs), 1),
            "vs_wc": round(wc_s / median(runs), 4),
            "result": results[name],
        }
        for name, runs in seconds.items()
    ]
    counters = ("plan_chunks", "count_records (reconcile)", "grammar scan alone")
    exact = all(results[name] == records for name in (*counters, "count_records_stdlib"))
    small = folder / "catalog-small.csv"
    write_csv(small, max(ctx.profile.planner_mb // 4, 1) * 1_000_000)
    memory = {}
    for label, target in (("small", small), ("large", path)):
        peak, chunks = planner_peak(target, chunk)
        memory[label] = {
            "file_mb": round(target.stat().st_size / 1e6, 1),
            "chunks": chunks,
            "peak_mib": round(peak / MIB, 1),
        }
    return {
        "file_mb": round(size / 1e6, 1),
        "records": records,
        "physical_lines": results["wc -l"],
        "exact": exact,
        "rows": rows,
        "memory": memory,
    }
