"""The chunk parse (parse + map + validate) row-wise vs columnar, interleaved on one file.

Run: ``uv run python -m bench.bench_parse --rows 50000`` (see docs/benchmarks.md, "Vectorised
chunk path"). Both paths parse the same planned chunks of one `catalog_csv.write_rows` file,
alternating round by round; the table shows the median CPU µs per row (process time, so other
load on a shared machine skews it less than wall time) and the median wall µs per row, plus how
much of the file the columnar path could not take: chunks that fell back to the row-wise path
and rows that went through the exact validator. Every round checks both results are identical.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.catalog_csv import write_rows
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


def measure(rows: int, chunk_mib: int, runs: int) -> dict[str, Any]:
    """Generate the file, time both paths interleaved ``runs`` times, return the medians."""
    with tempfile.TemporaryDirectory(prefix="catalog-bench-parse-") as folder:
        path = Path(folder) / "catalog.csv"
        write_rows(path, rows)
        data = path.read_bytes()
    plan = plan_chunks([data], size=len(data), chunk_size=chunk_mib * MIB)
    _run(parse_chunk, data, plan)  # warm-up: imports, first allocations
    times: dict[str, list[tuple[float, float]]] = {"rowwise": [], "columnar": []}
    for _ in range(runs):
        cpu, wall, reference = _run(parse_chunk_rowwise, data, plan)
        times["rowwise"].append((cpu, wall))
        cpu, wall, fast = _run(parse_chunk, data, plan)
        times["columnar"].append((cpu, wall))
        if repr(fast) != repr(reference):
            raise SystemExit("columnar and row-wise results differ")
    result: dict[str, Any] = {"rows": rows, "bytes": len(data), "chunk_mib": chunk_mib}
    for name, samples in times.items():
        result[name] = {
            "cpu_us_per_row": statistics.median(c for c, _ in samples) / rows * 1e6,
            "wall_us_per_row": statistics.median(w for _, w in samples) / rows * 1e6,
        }
    result["speedup_cpu"] = (
        result["rowwise"]["cpu_us_per_row"] / result["columnar"]["cpu_us_per_row"]
    )
    result["coverage"] = _coverage(data, plan)
    return result


def main() -> None:
    """Parse arguments, measure, print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--chunk-mib", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.rows, args.chunk_mib, args.runs)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.rows:,} rows, {result['bytes'] / 1e6:.1f} MB, {args.chunk_mib} MiB chunks")
    print(f"{'path':<10}{'CPU µs/row':>12}{'wall µs/row':>13}")
    for name in ("rowwise", "columnar"):
        row = result[name]
        print(f"{name:<10}{row['cpu_us_per_row']:>12.1f}{row['wall_us_per_row']:>13.1f}")
    print(f"speed-up (CPU): {result['speedup_cpu']:.1f}x; coverage: {result['coverage']}")


if __name__ == "__main__":
    main()
