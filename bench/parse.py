"""Piece ``parse``: the chunk parse (parse + map + validate) row-wise vs columnar, interleaved.

Run: ``uv run python -m bench --only parse`` (see docs/benchmarks.md, "Vectorised chunk
path"). Both paths parse the same planned chunks of one `catalog_csv.write_rows` file,
alternating round by round; the table shows the median CPU µs per row (process time, so other
load on a shared machine skews it less than wall time) and the median wall µs per row, plus how
much of the file the columnar path could not take: chunks that fell back to the row-wise path
and rows that went through the exact validator. Every round checks both results are identical.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.context import Context
from catalog_lib.rules.chunking import MIB, ChunkPlan, plan_chunks
from catalog_lib.rules.columnar_items import COLUMNS, map_columns
from catalog_lib.rules.columnar_read import read_columns
from catalog_lib.rules.records import header_cells
from catalog_lib.rules.rows import ParsedChunk, parse_chunk, parse_chunk_rowwise

Parser = Callable[..., ParsedChunk]


def _run(parser: Parser, data: bytes, plan: ChunkPlan) -> tuple[float, float, list[ParsedChunk]]:
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    out = [
        parser(data[s.byte_start : s.byte_end + 1], header=plan.header, spec=s) for s in plan.chunks
    ]
    return time.process_time() - cpu, time.perf_counter() - wall, out


def _coverage(data: bytes, plan: ChunkPlan) -> dict[str, int]:
    """Chunks the columnar reader refused, and rows sent to the exact validator."""
    names = header_cells(plan.header)
    index = {name.strip(): i for i, name in enumerate(names)}
    wanted = {name: index[name] for name in COLUMNS if name in index}
    fallback_chunks = fallback_rows = checked_rows = 0
    for spec in plan.chunks:
        body = data[spec.byte_start : spec.byte_end + 1]
        cells = read_columns(body, width=len(names), columns=wanted, record_count=spec.record_count)
        if cells is None:
            fallback_chunks += 1
            fallback_rows += spec.record_count
            continue
        _, check = map_columns(cells, spec.record_count)
        checked_rows += int(check.sum())
    return {
        "chunks": len(plan.chunks),
        "fallback_chunks": fallback_chunks,
        "fallback_rows": fallback_rows,
        "exactly_validated_rows": checked_rows,
    }


def bench_parse(ctx: Context) -> dict[str, Any]:
    """Time both paths on the profile's catalog file, interleaved, and return the medians."""
    path, _ = ctx.catalog_file(ctx.profile.rows)
    data = path.read_bytes()
    rows = ctx.profile.rows
    plan = plan_chunks([data], size=len(data), chunk_size=ctx.profile.chunk_mib * MIB)
    _run(parse_chunk, data, plan)  # warm-up: imports, first allocations
    times: dict[str, list[tuple[float, float]]] = {"rowwise": [], "columnar": []}
    for _ in range(ctx.profile.runs):
        cpu, wall, reference = _run(parse_chunk_rowwise, data, plan)
        times["rowwise"].append((cpu, wall))
        cpu, wall, fast = _run(parse_chunk, data, plan)
        times["columnar"].append((cpu, wall))
        if repr(fast) != repr(reference):
            raise SystemExit("columnar and row-wise results differ")
    result: dict[str, Any] = {"rows": rows, "bytes": len(data), "chunk_mib": ctx.profile.chunk_mib}
    for name, samples in times.items():
        result[name] = {
            "cpu_us_per_row": round(statistics.median(c for c, _ in samples) / rows * 1e6, 2),
            "wall_us_per_row": round(statistics.median(w for _, w in samples) / rows * 1e6, 2),
        }
    result["speedup_cpu"] = round(
        result["rowwise"]["cpu_us_per_row"] / result["columnar"]["cpu_us_per_row"], 2
    )
    result["coverage"] = _coverage(data, plan)
    return result
