"""The apply phase: prepare each SKU-hash partition, then publish the whole job at once.

Preparing a partition merges its staged rows per SKU and embeds what changed; it runs in ONE
transaction that writes the merged items to `etl_prepared_items` and completes its ledger row,
so a partition is prepared exactly once across retries and crashes, and its embedding failures
are counted exactly once. Nothing is published there.

Publishing (`publish_job`) is ONE transaction: it completes the job (guarded), upserts every
prepared item into `catalog_items` (version guard, weight rule, provenance), sums the ledger
into the job and deletes the job's staged and prepared rows. Either all of a job's items are
published with the job completed, or none is (a crash rolls it back; a re-run publishes again).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from catalog_lib.adapters.embeddings import EmbeddingProvider
from catalog_lib.adapters.postgres import load_query
from catalog_lib.core.errors import (
    DatabaseQueryError,
    EmbeddingError,
    InvalidArgumentError,
    JobNotRunnableError,
    LedgerIncompleteError,
)
from catalog_lib.core.failpoints import failpoint
from catalog_lib.ingest.jobs import JobTotals, get_job, source_version_of
from catalog_lib.ingest.ledger import get_completed_row, is_completed, lock_ledger_row
from catalog_lib.models.jobs import LedgerPhase
from catalog_lib.rules.embedding_text import build_embedding_text, hash_embedding_text

log = logging.getLogger(__name__)

EMBED_SLICE = 256


@dataclass(frozen=True)
class ApplyResult:
    """What preparing one apply partition did (or had already done, when skipped).

    `items_prepared` is the number of merged items written (0 when skipped: the ledger keeps
    what the publish upserted, `items_upserted`, not what was prepared).
    """

    partition: int
    skipped: bool
    items_prepared: int
    embedding_failures: int


@dataclass(frozen=True)
class _Vector:
    sku: str
    text_hash: str
    values: list[float]


def apply_partition(
    conn: psycopg.Connection[Any],
    job_id: uuid.UUID,
    *,
    partition: int,
    partitions: int,
    source_version: datetime,
    provider: EmbeddingProvider,
) -> ApplyResult:
    """Merge and embed one SKU-hash partition of a job into its prepared items, exactly once.

    Embedding requests run before the write transaction, so a slow provider never holds it
    open; the merge is recomputed inside it (staged rows do not change), and the ledger row is
    locked there, so a partition completed meanwhile is skipped and nothing is prepared twice.
    The job must be running: the transaction share-locks its row, so the job cannot end (and
    drop its prepared items) halfway. `catalog_items` is only read here.
    """
    if not 0 <= partition < partitions:
        raise InvalidArgumentError(
            "partition must be in [0, partitions)", partition=partition, partitions=partitions
        )
    started_at = datetime.now(UTC)
    vectors: list[_Vector] = []
    failures = 0
    if provider.enabled and not _is_completed(conn, job_id, partition):
        with conn.transaction():
            _merge_partition(conn, job_id, partition, partitions)
            pending = _texts_to_embed(conn, provider, source_version)
        vectors, failures = _embed(provider, pending, job_id)
    with conn.transaction():
        if conn.execute(load_query("job_lock_running"), {"id": job_id}).fetchone() is None:
            raise JobNotRunnableError("job is not running; nothing to prepare", job_id=job_id)
        ledger = lock_ledger_row(conn, job_id, LedgerPhase.APPLY, partition)
        if is_completed(ledger):
            return ApplyResult(partition, True, 0, ledger.embedding_failures)
        _merge_partition(conn, job_id, partition, partitions)
        conn.execute(load_query("create_vectors_table"))
        _copy_vectors(conn, vectors)
        row = conn.execute(
            load_query("insert_prepared_items"), {"job_id": job_id, "partition": partition}
        ).fetchone()
        prepared = int(row["prepared"]) if row else 0
        failpoint("apply.in_tx")
        conn.execute(
            load_query("complete_ledger_row"),
            {
                "job_id": job_id,
                "phase": str(LedgerPhase.APPLY),
                "index": partition,
                "processed": 0,
                "valid": 0,
                "invalid": 0,
                # The publish transaction sets how many of them it upserted.
                "upserted": 0,
                "embedding_failures": failures,
                "started_at": started_at,
            },
        )
    failpoint("apply.after_commit")
    return ApplyResult(partition, False, prepared, failures)


def publish_job(conn: psycopg.Connection[Any], job_id: uuid.UUID) -> JobTotals | None:
    """Publish the job's prepared items and complete it, in ONE transaction; None if not running.

    The guarded `running → completed` update comes first and locks the job row, so the job
    cannot be ended meanwhile; every apply partition must be prepared (else
    `LedgerIncompleteError`, nothing changed). Then the version-guarded upsert with provenance,
    the older-file weight rule, the ledger totals, and the deletion of the job's staged and
    prepared rows. A failure anywhere rolls all of it back.
    """
    with conn.transaction():
        if conn.execute(load_query("job_finalize"), {"id": job_id}).fetchone() is None:
            return None
        job = get_job(conn, job_id)
        if job is None:
            raise JobNotRunnableError("job vanished while publishing", job_id=job_id)
        row = conn.execute(load_query("count_completed_partitions"), {"job_id": job_id}).fetchone()
        prepared = int(row["n"]) if row else 0
        if prepared != job.apply_partitions:
            raise LedgerIncompleteError(
                "not every apply partition is prepared",
                job_id=job_id,
                partitions_prepared=prepared,
                partitions_planned=job.apply_partitions,
            )
        params = {"job_id": job_id, "source_version": source_version_of(job)}
        # The upsert reads the prepared rows in their key order (job_id, sku) rather than
        # sorting them (see the query); the ORDER BY still decides the order ids are assigned in.
        with _local_setting(conn, "enable_sort", "off"):
            counts = conn.execute(load_query("upsert_merged_items"), params).fetchone()
        # Every prepared item upserted: no stored row is newer than this file (the rows it
        # wrote carry its version and stay locked until commit), so there is no weight to fill.
        if counts is None or counts["upserted"] != counts["prepared"]:
            conn.execute(load_query("fill_older_weights"), params)
        failpoint("publish.in_tx")
        totals = conn.execute(load_query("aggregate_job_totals"), {"job_id": job_id}).fetchone()
        conn.execute(load_query("delete_staged_items"), {"job_id": job_id})
        conn.execute(load_query("delete_prepared_items"), {"job_id": job_id})
    if totals is None:
        raise JobNotRunnableError("job vanished while publishing", job_id=job_id)
    return JobTotals(**totals)


@contextmanager
def _local_setting(conn: psycopg.Connection[Any], name: str, value: str) -> Iterator[None]:
    """Run the block with server setting `name` at `value`, then put the previous value back.

    Transaction-local (`SET LOCAL`): if the block raises, the transaction's rollback restores it.
    """
    row = conn.execute(load_query("set_local_setting"), {"name": name, "value": value}).fetchone()
    if row is None:
        raise DatabaseQueryError("the server returned no setting", setting=name)
    yield
    conn.execute(load_query("set_local_setting"), {"name": name, "value": row["previous"]})


def _is_completed(conn: psycopg.Connection[Any], job_id: uuid.UUID, partition: int) -> bool:
    row = get_completed_row(conn, job_id, LedgerPhase.APPLY, partition)
    conn.commit()
    return row is not None


def _merge_partition(
    conn: psycopg.Connection[Any], job_id: uuid.UUID, partition: int, partitions: int
) -> None:
    """Fill the transaction's `_merged` table with the partition's merged items."""
    conn.execute(load_query("create_merged_table"))
    conn.execute(
        load_query("merge_staged_partition"),
        {"job_id": job_id, "partitions": partitions, "partition": partition},
    )


def _texts_to_embed(
    conn: psycopg.Connection[Any], provider: EmbeddingProvider, source_version: datetime
) -> list[tuple[str, str, str]]:
    """(sku, text, hash) of merged items whose embedding text differs from the stored one."""
    pending: list[tuple[str, str, str]] = []
    for row in conn.execute(
        load_query("list_items_to_embed"), {"source_version": source_version}
    ).fetchall():
        # The row holds the merged item's embedding-text columns (NULL: no value).
        text = build_embedding_text(row)
        text_hash = hash_embedding_text(text, model=provider.name)
        if text and text_hash != row["stored_hash"]:
            pending.append((row["sku"], text, text_hash))
    return pending


def _embed(
    provider: EmbeddingProvider, pending: list[tuple[str, str, str]], job_id: uuid.UUID
) -> tuple[list[_Vector], int]:
    """Embed in slices; a provider failure only drops that slice's vectors (counted)."""
    vectors: list[_Vector] = []
    failures = 0
    for start in range(0, len(pending), EMBED_SLICE):
        piece = pending[start : start + EMBED_SLICE]
        try:
            values = provider.embed([text for _, text, _ in piece])
        except EmbeddingError as exc:
            failures += len(piece)
            log.warning(
                "embedding provider failed; loading rows without new vectors",
                extra={
                    "event": "etl.embedding.fallback",
                    "job_id": str(job_id),
                    "sku_count": len(piece),
                    "error_name": type(exc).__name__,
                    "error_message": str(exc),
                },
            )
            continue
        vectors.extend(
            _Vector(sku, text_hash, vector)
            for (sku, _, text_hash), vector in zip(piece, values, strict=True)
        )
    return vectors, failures


def _copy_vectors(conn: psycopg.Connection[Any], vectors: Sequence[_Vector]) -> None:
    if not vectors:
        return
    with conn.cursor().copy(load_query("copy_vectors")) as copy:
        for vector in vectors:
            body = ",".join(repr(float(v)) for v in vector.values)
            copy.write_row((vector.sku, f"{{{body}}}", vector.text_hash))
