"""Ingest throughput against a raw COPY of the same CSV into the same throwaway PostgreSQL.

Run: ``uv run python bench/bench_ingest.py --rows 200000`` (see bench/README.md).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.catalog_csv import HEADER, build_csv
from bench.timing import timed_steps
from catalog_lib.adapters.embedded_postgres import EmbeddedPostgres
from catalog_lib.adapters.postgres import upgrade_schema
from catalog_lib.rules.chunking import MIB, plan_chunks
from catalog_lib.rules.rows import parse_chunk
from tests.factories import ingest_file, local_runtime

COPY_PIECE = MIB
# The steps tests.factories.run_steps calls through the pipeline module, timed in place.
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
    loaded = int(row[0]) if row else 0
    return elapsed, loaded


def parse_only(data: bytes, chunk_size: int) -> tuple[float, float, int, int]:
    """Plan, then parse + map + validate every chunk in memory; returns timings and counts."""
    gc.collect()
    start = time.perf_counter()
    plan = plan_chunks(blocks_of(data), size=len(data), chunk_size=chunk_size)
    planned = time.perf_counter()
    valid = invalid = 0
    for spec in plan.chunks:
        body = data[spec.byte_start : spec.byte_end + 1]
        parsed = parse_chunk(body, header=plan.header, spec=spec)
        valid += len(parsed.valid)
        invalid += len(parsed.invalid)
    done = time.perf_counter()
    return planned - start, done - planned, valid, invalid


def full_pipeline(
    url: str, landing: Path, data: bytes, chunk_size: int
) -> tuple[float, dict[str, float], dict[str, Any]]:
    """Every ingest step on one process (tests.factories.ingest_file), timed per step."""
    rt = local_runtime(url, landing, chunk_size=chunk_size)
    gc.collect()
    with timed_steps(STEPS) as steps:
        start = time.perf_counter()
        job = ingest_file(rt, "bench/catalog.csv", data, chunk_size=chunk_size)
        elapsed = time.perf_counter() - start
    return elapsed, dict(steps), job


def print_table(rows: list[tuple[str, float, int]], copy_rate: float) -> None:
    """Rows/s per contender and its throughput relative to the raw COPY baseline."""
    print(f"{'contender':<44}{'seconds':>9}{'rows/s':>11}{'ours/COPY':>11}")
    for name, seconds, records in rows:
        rate = records / seconds
        print(f"{name:<44}{seconds:>9.2f}{rate:>11,.0f}{rate / copy_rate:>10.2f}x")


def print_load(when: str) -> None:
    """The 1-minute load average: above the core count, other work skewed the timings."""
    print(f"load average {when}: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


def main() -> None:
    """Start a throwaway server, run the three contenders side by side, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000, help="logical CSV records")
    parser.add_argument("--chunk-mib", type=int, default=4, help="chunk size (MiB)")
    args = parser.parse_args()
    chunk_size = args.chunk_mib * MIB

    start = time.perf_counter()
    data = build_csv(args.rows)
    print(
        f"generated {args.rows:,} rows, {len(data) / 1e6:.1f} MB "
        f"({len(data) / args.rows:.0f} B/row) in {time.perf_counter() - start:.1f} s"
    )

    # As root the server runs as a service user, who must be able to enter this folder.
    root = Path(tempfile.mkdtemp(prefix="catalog-bench-ingest-", dir="/tmp"))
    root.chmod(0o755)
    server = EmbeddedPostgres(root / "pg")
    try:
        server.start()
        url = server.url()
        upgrade_schema(url, embedding_dimensions=8)

        print_load("before")
        copy_s, copied = raw_copy(url, data)
        if copied != args.rows:
            raise SystemExit(f"raw COPY loaded {copied} rows, expected {args.rows}")
        plan_s, parse_s, valid, invalid = parse_only(data, chunk_size)
        if valid + invalid != args.rows:
            raise SystemExit(f"parser saw {valid + invalid} rows, expected {args.rows}")
        total_s, steps, job = full_pipeline(url, root / "landing", data, chunk_size)
        if job["status"] != "completed" or job["total_processed"] != args.rows:
            raise SystemExit(f"pipeline ended {job['status']} with {job['total_processed']} rows")

        print_load("after")
        print(f"valid {valid:,}, invalid {invalid:,}, chunk size {args.chunk_mib} MiB\n")
        copy_rate = args.rows / copy_s
        print_table(
            [
                ("(a) raw COPY -> UNLOGGED text table", copy_s, args.rows),
                ("(b) parse + map + validate (no DB)", parse_s, args.rows),
                ("(b') plan + parse + map + validate", plan_s + parse_s, args.rows),
                ("(c) full pipeline, one process", total_s, args.rows),
            ],
            copy_rate,
        )
        print("\nfull pipeline by step (seconds, share of the total):")
        other = total_s - sum(steps.values())
        for name, seconds in [*steps.items(), ("write object + other", other)]:
            print(f"  {name:<22}{seconds:>8.2f}{seconds / total_s:>8.0%}")
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
