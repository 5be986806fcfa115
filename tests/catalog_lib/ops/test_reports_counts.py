"""The read API's counters: chunk progress of a job and the size of the catalog."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.ingest import steps
from catalog_lib.ops.reports import count_catalog_items, get_job_progress
from tests.factories import catalog_row, local_runtime, to_csv

pytestmark = pytest.mark.postgres


def test_progress_counts_completed_chunks_against_the_plan(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", chunk_size=400)
    rt.store.write("a.csv", to_csv([catalog_row(i) for i in range(24)]))
    job_id = steps.request_ingest(
        rt, source="trailco", uri_or_key="a.csv", scraper_revision="r"
    ).job_id
    with connect(db_url) as conn:
        assert get_job_progress(conn, job_id) == (0, 0)  # not planned yet
        assert get_job_progress(conn, uuid.uuid4()) == (0, 0)  # no such job
    steps.start_job(rt, job_id, None)
    planned = steps.plan_job(rt, job_id)
    steps.run_chunk(rt, job_id, planned.version, planned.header, planned.chunks[0])
    with connect(db_url) as conn:
        assert get_job_progress(conn, job_id) == (1, len(planned.chunks))
        assert count_catalog_items(conn) == 0  # staged, not applied
    for spec in planned.chunks[1:]:
        steps.run_chunk(rt, job_id, planned.version, planned.header, spec)
    for partition in range(planned.apply_partitions):
        steps.run_apply_partition(
            rt, job_id, partition, planned.apply_partitions, planned.source_version
        )
    with connect(db_url) as conn:
        assert count_catalog_items(conn) == 0  # prepared, not published
    steps.finalize_job(rt, job_id)
    with connect(db_url) as conn:
        assert get_job_progress(conn, job_id) == (len(planned.chunks), len(planned.chunks))
        assert count_catalog_items(conn) == 24
