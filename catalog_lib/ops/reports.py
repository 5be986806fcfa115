"""Read-only views of jobs for the CLI and the console: lists, job detail, reasons, chains."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from catalog_lib.adapters.postgres import load_query
from catalog_lib.ingest.jobs import get_job

JOB_FIELDS = (
    "job_id",
    "status",
    "mode",
    "source",
    "object_key",
    "filename",
    "scraper_revision",
    "source_etag",
    "source_size",
    "source_last_modified",
    "flow_run_id",
    "created_at",
    "started_at",
    "completed_at",
    "chunk_size",
    "chunks",
    "total_processed",
    "total_valid",
    "total_invalid",
    "total_embedding_failures",
    "items_upserted",
    "verified_row_count",
    "verified_at",
    "reconcile_delta",
    "supersedes_job_id",
    "duplicate_of",
    "error_kind",
    "error_message",
)


def list_jobs(
    conn: psycopg.Connection[Any],
    *,
    source: str | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Jobs, newest first."""
    rows = conn.execute(
        load_query("list_jobs"), {"source": source, "status": status, "limit": limit}
    ).fetchall()
    return [{"job_id": r.pop("id"), **r} for r in rows]


def get_job_progress(conn: psycopg.Connection[Any], job_id: uuid.UUID) -> tuple[int, int]:
    """(chunks completed, chunks planned) of a job; (0, 0) before it is planned."""
    row = conn.execute(load_query("job_progress"), {"job_id": job_id}).fetchone()
    return (int(row["done"]), int(row["total"])) if row else (0, 0)


def get_job_detail(
    conn: psycopg.Connection[Any], job_id: uuid.UUID, *, duplicate_of: uuid.UUID | None = None
) -> dict[str, Any] | None:
    """One job with its ledger, the reason breakdown of its rejected rows and its chain."""
    row = get_job(conn, job_id)
    if row is None:
        return None
    params = {"job_id": job_id}
    ledger = conn.execute(load_query("job_ledger"), params).fetchall()
    # Oldest first; `relation` says whether this job replaces an entry or is replaced by it.
    chain = conn.execute(load_query("job_supersession_chain"), params).fetchall()
    document = {key: row.get(key) for key in JOB_FIELDS}
    document.update(
        job_id=row["id"],
        chunks=row["chunks_total"],
        duplicate_of=duplicate_of,
        ledger=[r for r in ledger if r["phase"] == "chunk"],
        apply_partitions=[r for r in ledger if r["phase"] == "apply"],
        invalid_reasons=conn.execute(load_query("job_invalid_reasons"), params).fetchall(),
        supersession_chain=chain,
        replaces=[c["id"] for c in reversed(chain) if c["relation"] == "replaces"],
        replaced_by=[c["id"] for c in chain if c["relation"] == "replaced_by"],
        operator_actions=list_job_actions(conn, job_id),
    )
    return document


def list_job_actions(conn: psycopg.Connection[Any], job_id: uuid.UUID) -> list[dict[str, Any]]:
    """Operator actions that targeted the job or created it, oldest first."""
    return conn.execute(load_query("job_operator_actions"), {"job_id": job_id}).fetchall()


def count_catalog_items(conn: psycopg.Connection[Any]) -> int:
    """How many items the catalog holds."""
    row = conn.execute(load_query("count_catalog_items")).fetchone()
    return int(row["n"]) if row else 0
