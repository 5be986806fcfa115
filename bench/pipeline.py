"""Piece ``pipeline``: the ingest steps on one process, without Prefect, vs a raw COPY.

Contenders on the same generated rows and the same server: (a) raw ``COPY … (FORMAT csv)`` of
the bytes into an UNLOGGED all-text table (the ceiling: no parsing, no validation); (b) parse +
map + validate of every planned chunk in memory, no database; (b') the same plus planning;
(c) every ingest step on one process (``tests.factories.ingest_file``, local runtime, no
embeddings), with the time of each step. It shows where the time of an ingest goes.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from typing import Any

from bench.context import MIB, Context, median
from bench.timing import timed_steps

COPY_PIECE = MIB
# The steps tests.factories.run_steps calls (steps and reconciling), timed in place;
# reconcile_job counts the source itself here (no count task beside the chunks).
STEPS = (
    "request_ingest",
    "start_job",
    "plan_job",
    "run_chunk",
    "aggregate_job",
    "reconcile_job",
    "run_apply_partition",
    "finalize_job",
)


def blocks_of(data: bytes, size: int = 8 * MIB) -> Iterator[bytes]:
    """``data`` in blocks, as object storage streams it."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def raw_copy(url: str, data: bytes) -> tuple[float, int]:
    """COPY the CSV as text into an UNLOGGED staging table (no parsing, no validation)."""
    import psycopg
    from psycopg import sql

    from bench.catalog_csv import HEADER

    columns = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(name)) for name in HEADER)
    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_raw_stage")
        conn.execute(sql.SQL("CREATE UNLOGGED TABLE bench_raw_stage ({})").format(columns))
        conn.commit()
        start = time.perf_counter()
        with conn.cursor().copy(
            "COPY bench_raw_stage FROM STDIN (FORMAT csv, HEADER true)"
        ) as copy:
            for offset in range(0, len(data), COPY_PIECE):
                copy.write(data[offset : offset + COPY_PIECE])
        conn.commit()
        elapsed = time.perf_counter() - start
        row = conn.execute("SELECT count(*) FROM bench_raw_stage").fetchone()
        conn.execute("DROP TABLE bench_raw_stage")
    return elapsed, int(row[0]) if row else 0


def parse_only(data: bytes, chunk_size: int) -> tuple[float, float, int]:
    """Plan, then parse + map + validate every chunk in memory: (plan s, parse s, rows)."""
    from catalog_lib.rules.chunking import plan_chunks
    from catalog_lib.rules.rows import parse_chunk

    gc.collect()
    start = time.perf_counter()
    plan = plan_chunks(blocks_of(data), size=len(data), chunk_size=chunk_size)
    planned = time.perf_counter()
    rows = 0
    for spec in plan.chunks:
        body = data[spec.byte_start : spec.byte_end + 1]
        parsed = parse_chunk(body, header=plan.header, spec=spec)
        rows += len(parsed.valid) + len(parsed.invalid)
    return planned - start, time.perf_counter() - planned, rows


# Inside the steps: the chunk's database write, a partition's prepare and the publish.
INNER = ("stage_chunk", "apply_partition", "publish_job")


def one_process(
    ctx: Context, data: bytes, chunk_size: int, rows: int
) -> tuple[float, dict[str, float]]:
    """Every ingest step on one process into a fresh database, timed per step."""
    from tests.factories import ingest_file, local_runtime

    url = ctx.fresh_database(migrated=True)
    rt = local_runtime(url, ctx.root / f"landing-{ctx._databases}", chunk_size=chunk_size)
    gc.collect()
    with timed_steps(STEPS) as steps, timed_steps(INNER) as inner:
        start = time.perf_counter()
        job = ingest_file(rt, "bench/catalog.csv", data, chunk_size=chunk_size)
        elapsed = time.perf_counter() - start
    if job["status"] != "completed" or job["total_processed"] != rows:
        raise SystemExit(f"the one-process ingest ended {job['status']}, {job['total_processed']}")
    return elapsed, {**steps, **{f"{name} (inside)": took for name, took in inner.items()}}


def bench_pipeline(ctx: Context) -> dict[str, Any]:
    """Raw COPY, parse only, plan + parse, and all steps on one process; interleaved rounds."""
    path, planted = ctx.catalog_file(ctx.profile.rows)
    rows = planted["rows"]
    data = path.read_bytes()
    chunk = ctx.profile.chunk_mib * MIB
    copy_url = ctx.fresh_database(migrated=False)
    seconds: dict[str, list[float]] = {"copy": [], "parse": [], "plan_parse": [], "steps": []}
    step_times: dict[str, float] = {}
    for _ in range(ctx.profile.runs):
        copy_s, copied = raw_copy(copy_url, data)
        plan_s, parse_s, parsed = parse_only(data, chunk)
        total_s, step_times = one_process(ctx, data, chunk, rows)
        if copied != rows or parsed != rows:
            raise SystemExit(f"COPY loaded {copied}, the parser saw {parsed} of {rows} rows")
        seconds["copy"].append(copy_s)
        seconds["parse"].append(parse_s)
        seconds["plan_parse"].append(plan_s + parse_s)
        seconds["steps"].append(total_s)
    copy_s = median(seconds["copy"])
    out: dict[str, Any] = {
        "rows": rows,
        "file_mb": round(len(data) / 1e6, 1),
        "chunk_mib": chunk / MIB,
    }
    for name, runs in seconds.items():
        took = median(runs)
        out[name] = {
            "median_s": round(took, 3),
            "rows_per_s": round(rows / took),
            "vs_copy": round(copy_s / took, 4),
        }
    out["steps_s"] = {name: round(took, 3) for name, took in step_times.items()}
    return out
