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
            start = time.perf_counter()
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
    }
