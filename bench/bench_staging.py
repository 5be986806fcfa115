"""Staging and apply time of one ingest: `stage_chunk` total and apply + publish total.

Run: ``uv run python -m bench.bench_staging --rows 100000`` (see bench/README.md). Every run
ingests the same generated file into an emptied catalog on one throwaway server; the table
shows the median of ``--runs`` runs per step (wall time summed over the job's calls).
"""

from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import psycopg

from bench.catalog_csv import build_csv
from bench.timing import timed_steps
from catalog_lib.adapters.embedded_postgres import EmbeddedPostgres
from catalog_lib.adapters.postgres import upgrade_schema
from catalog_lib.rules.chunking import MIB
from tests.factories import ingest_file, local_runtime

STEPS = ("stage_chunk", "apply_partition", "publish_job")
TABLES = (
    "catalog_item_etl_jobs, catalog_items, invalid_item_logs, etl_staged_items, "
    "etl_prepared_items, etl_job_chunks, etl_jobs"
)


def one_run(url: str, landing: Path, data: bytes, chunk_size: int, run: int) -> dict[str, float]:
    """Ingest `data` into an emptied catalog; the summed wall time of each timed step."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {TABLES} CASCADE")  # bench only: a fixed statement
        conn.execute("CHECKPOINT")
    rt = local_runtime(url, landing, chunk_size=chunk_size, apply_partitions=4)
    gc.collect()
    with timed_steps(STEPS) as steps:
        start = time.perf_counter()
        job = ingest_file(rt, f"bench/catalog-{run}.csv", data, chunk_size=chunk_size)
        total = time.perf_counter() - start
    if job["status"] != "completed":
        raise SystemExit(f"run {run} ended {job['status']}")
    return {**steps, "ingest_file": total}


def main(argv: list[str] | None = None) -> None:
    """Start a throwaway server, ingest the file `--runs` times, print the median per step."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="logical CSV records")
    parser.add_argument("--chunk-mib", type=int, default=4, help="chunk size (MiB)")
    parser.add_argument("--runs", type=int, default=3, help="runs (median reported)")
    args = parser.parse_args(argv)
    data = build_csv(args.rows)
    root = Path(tempfile.mkdtemp(prefix="catalog-bench-staging-", dir="/tmp"))
    root.chmod(0o755)
    server = EmbeddedPostgres(root / "pg")
    try:
        server.start()
        url = server.url()
        upgrade_schema(url, embedding_dimensions=8)
        runs = [
            one_run(url, root / "landing", data, args.chunk_mib * MIB, run)
            for run in range(args.runs)
        ]
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"{args.rows:,} rows, {len(data) / 1e6:.1f} MB, median of {args.runs} runs (s)")
    for name in (*STEPS, "ingest_file"):
        values = [r[name] for r in runs]
        print(f"  {name:<16}{statistics.median(values):>8.2f}   runs: {values}")
    apply_total = [r["apply_partition"] + r["publish_job"] for r in runs]
    print(f"  {'apply+publish':<16}{statistics.median(apply_total):>8.2f}")


if __name__ == "__main__":
    main()
