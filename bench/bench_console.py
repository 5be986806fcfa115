"""Latency of every console page's queries on a large seeded database (goal: <= 300 ms each).

Seeds 100k jobs and 1M catalog items (``catalog_lib.demo.history``) into a throwaway embedded
PostgreSQL, runs each page's read functions ``--repeat`` times and prints the best and median
time of each, once with the console's indexes (migration 0004) and once without them.

Run: ``uv run python bench/bench_console.py`` (see bench/README.md); ~5 min on 2 cores.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from catalog_lib.adapters.embedded_postgres import EmbeddedPostgres
from catalog_lib.adapters.postgres import connect, downgrade_schema, upgrade_schema
from catalog_lib.demo.history import HistorySpec, seed_history
from catalog_lib.ops import overview, reports

GOAL_MS = 300.0
Read = Callable[[psycopg.Connection[Any]], object]


def page_reads(conn: psycopg.Connection[Any], now: datetime) -> list[tuple[str, str, Read]]:
    """(page, query, read) for everything a page runs on first load, with realistic inputs."""
    week = now - timedelta(days=7)
    failed = conn.execute(
        "SELECT id FROM etl_jobs WHERE status = 'failed' AND supersedes_job_id IS NULL"
        " ORDER BY created_at DESC LIMIT 1"
    ).fetchone()
    retried = conn.execute(
        "SELECT supersedes_job_id AS id FROM etl_jobs WHERE supersedes_job_id IS NOT NULL"
        " ORDER BY created_at DESC LIMIT 1"
    ).fetchone()
    assert failed is not None
    assert retried is not None
    job_id, chained_id = failed["id"], retried["id"]
    sources = overview.job_filter_options(conn).sources
    keys = conn.execute(
        "SELECT source, object_key, source_etag FROM etl_jobs ORDER BY created_at DESC LIMIT 200"
    ).fetchall()
    objects = [
        overview.LandingObject(
            key=k["object_key"],
            source=k["source"],
            version=_version(k["object_key"], k["source_etag"], now),
        )
        for k in keys
    ]
    everything_but = overview.JobFilter(statuses=overview.NOT_COMPLETED, since=week)
    return [
        ("Health", "status strip", lambda c: overview.health_strip(c, stale_days=30)),
        ("Health", "series 7 d / 6 h", lambda c: overview.job_series(
            c, since=week, until=now, bucket=timedelta(hours=6))),
        ("Health", "series 30 d / 1 d", lambda c: overview.job_series(
            c, since=now - timedelta(days=30), until=now, bucket=timedelta(days=1))),
        ("Health", "latest failures", lambda c: overview.latest_failures(c, since=week)),
        ("Jobs", "filter options", overview.job_filter_options),
        ("Jobs", "page 1, 7 d", lambda c: overview.find_jobs(
            c, overview.JobFilter(since=week))),
        ("Jobs", "page 40, any time", lambda c: overview.find_jobs(
            c, overview.JobFilter(), offset=39 * 50)),
        ("Jobs", "everything but completed", lambda c: overview.find_jobs(c, everything_but)),
        ("Jobs", "one source + revision", lambda c: overview.find_jobs(
            c, overview.JobFilter(sources=(sources[0],), scraper_revision="v1.5.0"))),
        ("Jobs", "resolve prefix", lambda c: overview.resolve_job_ref(c, str(job_id)[:8])),
        ("Jobs", "drill-down (reports)", lambda c: reports.get_job_detail(c, chained_id)),
        ("Jobs", "rejected sample", lambda c: overview.rejected_sample(c, job_id)),
        ("Sources", "one row per source", lambda c: overview.sources_overview(
            c, stale_days=30)),
        ("Sources", "job trend (30 d)", lambda c: overview.source_job_trend(
            c, sources[0], since=now - timedelta(days=30))),
        ("Sources", "snapshot trend", lambda c: overview.source_snapshot_trend(
            c, sources[0], since=now - timedelta(days=30))),
        ("Sources", "current flags", overview.current_flags),
        ("Landing", "state of 200 objects", lambda c: overview.landing_states(c, objects)),
        ("Maintenance", "runs", overview.maintenance_runs),
    ]  # fmt: skip


def _version(uri: str, etag: str, now: datetime) -> Any:
    from catalog_lib.adapters.storage import ObjectVersion

    return ObjectVersion(uri=uri, size=1, etag=etag, last_modified=now)


def measure(url: str, now: datetime, repeat: int) -> dict[tuple[str, str], tuple[float, float]]:
    """(page, query) → (best ms, median ms) over `repeat` runs after one warm-up."""
    results = {}
    with connect(url, autocommit=True) as conn:
        for page, name, read in page_reads(conn, now):
            read(conn)  # warm the cache and the plan
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                read(conn)
                times.append((time.perf_counter() - start) * 1000)
            results[(page, name)] = (min(times), statistics.median(times))
    return results


def main() -> None:
    """Seed, measure with and without the console indexes, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="catalog-bench-console-", dir="/tmp"))
    root.chmod(0o755)
    server = EmbeddedPostgres(root / "pg")
    try:
        server.start()
        url = server.url()
        upgrade_schema(url, embedding_dimensions=8)
        now = datetime.now(UTC).replace(microsecond=0)
        spec = HistorySpec(
            jobs=args.jobs, days=90, sources=12, items=args.items, invalid_logs_per_job=3
        )
        start = time.perf_counter()
        with connect(url) as conn:
            summary = seed_history(conn, spec, now=now)
        seeded_s = time.perf_counter() - start
        with connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        print(
            f"seeded {summary.jobs:,} jobs, {summary.catalog_items:,} items, "
            f"{summary.invalid_logs:,} rejected rows, {summary.audit_snapshots:,} snapshots "
            f"in {seeded_s:.0f} s"
        )
        with_indexes = measure(url, now, args.repeat)
        downgrade_schema(url, revision="0001")
        with connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE")
        without = measure(url, now, args.repeat)
        print(
            "\n| page | query | best ms | median ms | without 0004 (median ms) "
            f"| ≤ {GOAL_MS:.0f} ms |"
        )
        print("|---|---|---:|---:|---:|---|")
        for (page, name), (best, median) in with_indexes.items():
            ok = "yes" if median <= GOAL_MS else "**no**"
            print(
                f"| {page} | {name} | {best:.1f} | {median:.1f} | "
                f"{without[(page, name)][1]:.1f} | {ok} |"
            )
        pages: dict[str, float] = {}
        for (page, _), (_, median) in with_indexes.items():
            pages[page] = pages.get(page, 0.0) + median
        print(
            "\nper page (sum of medians): "
            + ", ".join(f"{p} {ms:.0f} ms" for p, ms in pages.items())
        )
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
