"""An ingest job's rows in its source's artifact history (`ingest-<source>`) in Prefect's UI.

A completed job publishes its summary; a failed one its error kind, message and the step that
failed. Rejections are counted per field and reason — never row content.
"""

from __future__ import annotations

import uuid
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import create_table_artifact

from catalog_lib.adapters.postgres import connect
from catalog_lib.models.jobs import ChunkStatus
from catalog_lib.ops.reports import JobDetail, get_job_detail
from flows.artifacts import artifact_key
from flows.runtime import get_runtime


def _job_detail(job_id: uuid.UUID) -> JobDetail | None:
    with connect(get_runtime().database_url) as conn:
        return get_job_detail(conn, job_id)


def rejections(detail: JobDetail) -> str:
    """`sku: missing (3); price: not a number (1)` — counts only, never row content."""
    return "; ".join(
        f"{r.field or 'row'}: {r.reason or 'invalid'} ({r.rows})" for r in detail.invalid_reasons
    )


def failed_step(detail: JobDetail) -> str | None:
    """The ledger entry that failed: `chunk 2` (bytes when known) or `apply partition 1 of 4`."""
    for entry in detail.ledger:
        if entry.status is ChunkStatus.FAILED:
            where = f"chunk {entry.chunk_index}"
            if entry.byte_start is not None and entry.byte_end is not None:
                where += f" (bytes {entry.byte_start}–{entry.byte_end})"
            return where
    total = len(detail.apply_partitions)
    for entry in detail.apply_partitions:
        if entry.status is ChunkStatus.FAILED:
            return f"apply partition {entry.chunk_index + 1} of {total}"
    return None


def publish_summary_artifact(
    job_id: uuid.UUID, source: str, object_key: str, summary: dict[str, Any]
) -> None:
    """A completed job's summary row, with its rejection counts."""
    detail = _job_detail(job_id)
    rejected = rejections(detail) if detail is not None else ""
    create_table_artifact(
        [{"status": "completed", **summary, "rejections": rejected or "–"}],
        key=artifact_key("ingest", source),
        description=f"Ingest of {object_key}",
    )


def publish_failure_artifact(job_id: uuid.UUID) -> None:
    """A failed job's row: error kind, message, failed step; never fails the caller."""
    try:
        detail = _job_detail(job_id)
        if detail is None:
            return
        job = detail.job
        create_table_artifact(
            [
                {
                    "job_id": str(job.id),
                    "status": "failed",
                    "object_key": job.object_key,
                    "error_kind": job.error_kind,
                    "error_message": job.error_message,
                    "failed_step": failed_step(detail) or "–",
                    "total_processed": job.total_processed,
                    "total_invalid": job.total_invalid,
                    "rejections": rejections(detail) or "–",
                }
            ],
            key=artifact_key("ingest", job.source),
            description=f"Ingest of {job.object_key} failed: {job.error_kind}",
        )
    except Exception:  # noqa: BLE001 - an artifact never changes the job's outcome
        get_run_logger().warning("could not publish the failure artifact of job %s", job_id)
