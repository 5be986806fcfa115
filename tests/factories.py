"""Builders for tests: catalog CSV files, runtimes, and running the ingest steps in order."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg

from catalog_lib.adapters.embeddings import EmbeddingProvider, NoEmbeddings
from catalog_lib.adapters.postgres import connect
from catalog_lib.adapters.storage import StorageConfig, open_store
from catalog_lib.ingest import reconciling, steps
from catalog_lib.ingest.liveness import LEASE_NAMESPACE, lease_key

HEADER = (
    "name",
    "sku",
    "productUrl",
    "brand",
    "description",
    "price",
    "weight",
    "weightUnit",
    "categories",
    "reviewCount",
)


def catalog_row(i: int, **overrides: str) -> dict[str, str]:
    """A valid scraper row whose values are derived from `i`."""
    row = {
        "name": f"Trail Tent {i}",
        "sku": f"SKU-{i:05d}",
        "productUrl": f"https://shop.example.com/p/{i}",
        "brand": "TrailCo",
        "description": f"Two-person tent number {i}.\nLight and dry.",
        "price": f"${100 + i}.95",
        "weight": str(1000 + i),
        "weightUnit": "g",
        "categories": "Tents, Backpacking",
        "reviewCount": str(i % 7),
    }
    row.update(overrides)
    return row


def to_csv(
    rows: Sequence[dict[str, str]],
    *,
    header: Sequence[str] = HEADER,
    crlf: bool = False,
    bom: bool = False,
) -> bytes:
    """Serialise rows as an RFC 4180 CSV file."""
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer,
        fieldnames=list(header),
        lineterminator="\r\n" if crlf else "\n",
        extrasaction="ignore",
    )
    writer.writeheader()
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


def local_runtime(
    db_url: str,
    landing: Path,
    *,
    chunk_size: int = 16 * 1024 * 1024,
    provider: EmbeddingProvider | None = None,
    apply_partitions: int = 3,
) -> steps.Runtime:
    """A runtime on a local landing folder."""
    landing.mkdir(parents=True, exist_ok=True)
    return steps.Runtime(
        database_url=db_url,
        store=open_store(StorageConfig(landing_url=str(landing))),
        provider=provider or NoEmbeddings(),
        chunk_size=chunk_size,
        apply_partitions=apply_partitions,
    )


def run_steps(
    rt: steps.Runtime, job_id: uuid.UUID, *, reverse_chunks: bool = False
) -> dict[str, Any]:
    """Run every ingest step in order, as the flow does, without an orchestrator."""
    steps.start_job(rt, job_id, None)
    planned = steps.plan_job(rt, job_id)
    chunks = reversed(planned.chunks) if reverse_chunks else planned.chunks
    for spec in chunks:
        steps.run_chunk(rt, job_id, planned.version, planned.header, spec)
    steps.aggregate_job(
        rt, job_id, expected_records=planned.record_count, expected_chunks=len(planned.chunks)
    )
    reconciling.reconcile_job(rt, job_id)
    for partition in range(planned.apply_partitions):
        steps.run_apply_partition(
            rt, job_id, partition, planned.apply_partitions, planned.source_version
        )
    steps.finalize_job(rt, job_id)
    return job_row(rt.database_url, job_id)


def ingest_file(
    rt: steps.Runtime,
    key: str,
    data: bytes,
    *,
    source: str = "trailco",
    chunk_size: int | None = None,
    reverse_chunks: bool = False,
) -> dict[str, Any]:
    """Write `data` under the landing root and ingest it."""
    rt.store.write(key, data)
    trigger = steps.request_ingest(
        rt, source=source, uri_or_key=key, scraper_revision="test", chunk_size=chunk_size
    )
    return run_steps(rt, trigger.job_id, reverse_chunks=reverse_chunks)


def partly_loaded_job(rt: steps.Runtime, key: str) -> uuid.UUID:
    """A running job of 30 rows in 600-byte chunks whose first chunk completed, no runner."""
    rt.store.write(key, to_csv([catalog_row(i) for i in range(30)]))
    trigger = steps.request_ingest(
        rt, source="trailco", uri_or_key=key, scraper_revision="t", chunk_size=600
    )
    steps.start_job(rt, trigger.job_id, None)
    planned = steps.plan_job(rt, trigger.job_id)
    steps.run_chunk(rt, trigger.job_id, planned.version, planned.header, planned.chunks[0])
    return trigger.job_id


def job_row(db_url: str, job_id: uuid.UUID) -> dict[str, Any]:
    """The job's row."""
    with connect(db_url) as conn:
        row = conn.execute("SELECT * FROM etl_jobs WHERE id = %s", (job_id,)).fetchone()
    assert row is not None
    return row


def catalog_snapshot(db_url: str) -> list[dict[str, Any]]:
    """catalog_items without ids, timestamps or job references, ordered by SKU."""
    with connect(db_url) as conn:
        rows = conn.execute("SELECT * FROM catalog_items ORDER BY sku").fetchall()
    volatile = {
        "id",
        "created_at",
        "updated_at",
        "last_job_id",
        "source_version",
        "weight_source_version",
    }
    return [{k: v for k, v in r.items() if k not in volatile} for r in rows]


def invalid_snapshot(db_url: str, job_id: uuid.UUID) -> list[tuple[Any, ...]]:
    """The job's rejected rows as (ordinal, errors, raw_data), by ordinal."""
    with connect(db_url) as conn:
        rows = conn.execute(
            "SELECT record_ordinal, errors, raw_data FROM invalid_item_logs WHERE job_id = %s "
            "ORDER BY record_ordinal",
            (job_id,),
        ).fetchall()
    return [(r["record_ordinal"], r["errors"], r["raw_data"]) for r in rows]


def provenance_skus(db_url: str, job_id: uuid.UUID) -> list[str]:
    """SKUs whose provenance names this job."""
    with connect(db_url) as conn:
        rows = conn.execute(
            "SELECT c.sku FROM catalog_item_etl_jobs p JOIN catalog_items c "
            "ON c.id = p.catalog_item_id WHERE p.etl_job_id = %s ORDER BY c.sku",
            (job_id,),
        ).fetchall()
    return [r["sku"] for r in rows]


def kill_lease_session(db_url: str, job_id: uuid.UUID) -> int:
    """Terminate the session holding the job's liveness lease, as a killed runner's would end."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks "
            "WHERE locktype = 'advisory' AND classid = %s::bigint::oid "
            "AND objid = %s::bigint::oid AND objsubid = 2",
            (LEASE_NAMESPACE, lease_key(job_id)),
        ).fetchall()
    return len(rows)


def admin_dsn(conn: Any) -> str:
    """A DSN for a second session as the same user (`info.dsn` leaves the password out)."""
    password = conn.info.password
    return f"{conn.info.dsn} password={password}" if password else conn.info.dsn


# Every table the migrations create (and the models declare), checked from both sides.
SCHEMA_TABLES = frozenset(
    {
        "etl_jobs",
        "etl_job_chunks",
        "etl_staged_items",
        "etl_prepared_items",
        "catalog_items",
        "catalog_item_etl_jobs",
        "invalid_item_logs",
        "operator_actions",
        "audit_snapshots",
        "audit_flags",
        "maintenance_runs",
        "webhook_deliveries",
    }
)
