"""Piece ``workers``: the chunk phase of one job with 1 and 2 worker processes."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from bench.context import MIB, Context, median


def _chunk_worker(
    url: str, landing: str, chunk_size: int, job_id: str, version: Any, header: bytes, spec: Any
) -> int:
    """Worker process: run one chunk task body (parse, stage, ledger) against the database."""
    import uuid

    from catalog_lib.ingest import steps
    from tests.factories import local_runtime

    rt = local_runtime(url, Path(landing), chunk_size=chunk_size)
    return steps.run_chunk(rt, uuid.UUID(job_id), version, header, spec).rows_processed


def cpu_jiffies() -> tuple[int, int]:
    """The machine's (busy, total) CPU time so far, in clock ticks, from ``/proc/stat``."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is in user)
    return total - idle, total


def cores_busy(before: tuple[int, int], after: tuple[int, int]) -> float:
    """How many of the machine's cores were busy on average between two ``cpu_jiffies``."""
    busy, total = after[0] - before[0], after[1] - before[1]
    return (os.cpu_count() or 1) * busy / total if total else 0.0


def bench_workers(ctx: Context) -> dict[str, Any]:
    """The chunk phase of one job with 1 and 2 worker processes (interleaved, median)."""
    import uuid
    from concurrent.futures import ProcessPoolExecutor

    from catalog_lib.ingest import steps
    from tests.factories import local_runtime

    path, planted = ctx.catalog_file(ctx.profile.rows)
    # At least 8 chunks, so two workers are never left waiting on an odd last chunk.
    chunk_size = max(min(ctx.profile.chunk_mib * MIB, path.stat().st_size // 8), 256 * 1024)
    seconds: dict[int, list[float]] = {1: [], 2: []}
    # Cores busy while the phase ran (the client processes AND the PostgreSQL backends they
    # feed, on the same machine): one worker already keeps more than one core busy, which
    # caps what a second worker can add on a 2-core machine at cores / cores_busy(1).
    busy: dict[int, list[float]] = {1: [], 2: []}
    chunks = 0
    for _ in range(ctx.profile.runs):
        for workers in (1, 2):
            url = ctx.fresh_database(migrated=True)
            landing = ctx.root / f"landing-{ctx._databases}"
            (landing / "bench").mkdir(parents=True)
            os.link(path, landing / "bench" / "catalog.csv")
            rt = local_runtime(url, landing, chunk_size=chunk_size)
            trigger = steps.request_ingest(
                rt, source="bench", uri_or_key="bench/catalog.csv", scraper_revision="b"
            )
            steps.start_job(rt, trigger.job_id, None)
            planned = steps.plan_job(rt, trigger.job_id)
            header = steps.read_header(rt, planned.version, planned.data_start)
            chunks = len(planned.chunks)
            start, jiffies = time.perf_counter(), cpu_jiffies()
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = [
                    pool.submit(
                        _chunk_worker,
                        url,
                        str(landing),
                        chunk_size,
                        str(trigger.job_id),
                        planned.version,
                        header,
                        spec,
                    )
                    for spec in planned.chunks
                ]
                processed = sum(future.result() for future in futures)
            if processed != planned.record_count:
                raise SystemExit(f"the chunk phase processed {processed} of {planned.record_count}")
            seconds[workers].append(time.perf_counter() - start)
            busy[workers].append(cores_busy(jiffies, cpu_jiffies()))
            steps.aggregate_job(
                rt,
                uuid.UUID(str(trigger.job_id)),
                expected_records=planned.record_count,
                expected_chunks=chunks,
            )
    one, two = median(seconds[1]), median(seconds[2])
    return {
        "rows": planted["rows"],
        "chunks": chunks,
        "chunk_mib": chunk_size / MIB,
        "one_worker": {"median_s": round(one, 3), "rows_per_s": round(planted["rows"] / one)},
        "two_workers": {"median_s": round(two, 3), "rows_per_s": round(planted["rows"] / two)},
        "speedup": round(one / two, 3),
        "cores": os.cpu_count(),
        "cores_busy": {
            "one_worker": round(median(busy[1]), 2),
            "two_workers": round(median(busy[2]), 2),
        },
        # What a second worker can add at most when one already keeps cores_busy cores busy.
        "ceiling": round((os.cpu_count() or 1) / max(median(busy[1]), 1e-9), 3),
    }
