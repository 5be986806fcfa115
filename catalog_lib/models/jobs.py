"""Jobs and their ledger: `etl_jobs`, `etl_job_chunks` (the ledger), staged and prepared items."""

from __future__ import annotations

import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

import sqlalchemy as sa
from pydantic import AwareDatetime
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import Field, SQLModel

from catalog_lib.models.catalog import Availability
from catalog_lib.models.columns import counter, in_values, pg_enum, timestamptz


class JobStatus(StrEnum):
    """The states of an ingest job (PostgreSQL enum `etl_job_status`)."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        """Whether the job has not finished yet (pending or running)."""
        return self in OPEN_STATUSES

    @property
    def is_live(self) -> bool:
        """Whether the job holds its ingest identity (a trigger returns it as a duplicate)."""
        return self in LIVE_STATUSES


# Not finished: a flow run may still work on it, and at most one retry/repair of a job is open.
OPEN_STATUSES: Final = frozenset({JobStatus.PENDING, JobStatus.RUNNING})
# Holds its (source, object key, ETag) identity: a new trigger of it is a duplicate.
LIVE_STATUSES: Final = frozenset({JobStatus.PENDING, JobStatus.RUNNING, JobStatus.COMPLETED})


class JobMode(StrEnum):
    """Why a job exists: a first ingest, or a retry/repair superseding an earlier job."""

    INGEST = "ingest"
    RETRY = "retry"
    REPAIR = "repair"


class ChunkStatus(StrEnum):
    """The states of a ledger entry (PostgreSQL enum `etl_chunk_status`)."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class LedgerPhase(StrEnum):
    """The two kinds of ledger entry: a CSV chunk, or an apply partition."""

    CHUNK = "chunk"
    APPLY = "apply"


def _ordered(statuses: frozenset[JobStatus]) -> list[JobStatus]:
    return [s for s in JobStatus if s in statuses]


class EtlJob(SQLModel, table=True):
    """One ingest attempt of one object version; retries and repairs supersede it."""

    __tablename__ = "etl_jobs"
    __table_args__ = (
        sa.CheckConstraint(in_values("mode", JobMode), name="etl_jobs_mode_check"),
        sa.CheckConstraint("apply_partitions > 0", name="etl_jobs_apply_partitions_check"),
        sa.CheckConstraint(
            "supersedes_job_id IS NULL OR supersedes_job_id <> id",
            name="etl_jobs_no_self_supersede",
        ),
        sa.CheckConstraint(
            "total_processed = total_valid + total_invalid", name="etl_jobs_counters_consistent"
        ),
        sa.CheckConstraint(
            "reconcile_counter IN ('duckdb', 'grammar')", name="etl_jobs_reconcile_counter_check"
        ),
        sa.Index("etl_jobs_supersedes_idx", "supersedes_job_id"),
        # The console's queries (migration 0004): newest first, by state, newest per identity.
        sa.Index("etl_jobs_created_idx", sa.text("created_at DESC")),
        sa.Index("etl_jobs_status_created_idx", "status", sa.text("created_at DESC")),
        sa.Index("etl_jobs_ingest_key_created_idx", "ingest_key", sa.text("created_at DESC")),
        sa.Index("etl_jobs_flow_run_id_idx", "flow_run_id"),
        sa.Index("etl_jobs_scraper_revision_idx", "scraper_revision"),
        sa.Index("etl_jobs_source_created_idx", "source", sa.text("created_at DESC")),
        sa.Index("etl_jobs_status_idx", "status"),
        # One live first ingest per (source, object key, ETag): racing triggers cannot both start.
        sa.Index(
            "etl_jobs_live_ingest_key_uq",
            "ingest_key",
            unique=True,
            postgresql_where=sa.text(
                f"{in_values('status', _ordered(LIVE_STATUSES))} AND supersedes_job_id IS NULL"
            ),
        ),
        # At most one open retry/repair of the same job at a time.
        sa.Index(
            "etl_jobs_live_supersedes_uq",
            "supersedes_job_id",
            unique=True,
            postgresql_where=sa.text(
                f"{in_values('status', _ordered(OPEN_STATUSES))} AND supersedes_job_id IS NOT NULL"
            ),
        ),
    )

    id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    status: JobStatus = Field(
        default=JobStatus.PENDING,
        sa_column=sa.Column(
            pg_enum(JobStatus, "etl_job_status"),
            nullable=False,
            server_default=sa.text("'pending'"),
        ),
    )
    source: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    filename: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    object_key: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    scraper_revision: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    ingest_key: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    mode: JobMode = Field(
        default=JobMode.INGEST,
        sa_column=sa.Column(sa.Text(), nullable=False, server_default=sa.text("'ingest'")),
    )
    created_at: AwareDatetime = Field(sa_column=timestamptz(nullable=False, now=True))
    started_at: AwareDatetime | None = Field(default=None, sa_column=timestamptz())
    completed_at: AwareDatetime | None = Field(default=None, sa_column=timestamptz())
    chunk_size: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger()))
    chunks_total: int = Field(default=0, sa_column=counter(sa.Integer))
    apply_partitions: int | None = Field(default=None, sa_column=sa.Column(sa.Integer()))
    total_processed: int = Field(default=0, sa_column=counter())
    total_valid: int = Field(default=0, sa_column=counter())
    total_invalid: int = Field(default=0, sa_column=counter())
    total_embedding_failures: int = Field(default=0, sa_column=counter())
    items_upserted: int = Field(default=0, sa_column=counter())
    flow_run_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid()))
    source_etag: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    source_last_modified: AwareDatetime | None = Field(default=None, sa_column=timestamptz())
    source_size: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger()))
    verified_at: AwareDatetime | None = Field(default=None, sa_column=timestamptz())
    verified_row_count: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger()))
    reconcile_delta: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger()))
    error_kind: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    error_message: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    supersedes_job_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Uuid(),
            sa.ForeignKey(
                "etl_jobs.id", ondelete="SET NULL", name="etl_jobs_supersedes_job_id_fkey"
            ),
        ),
    )
    # Which counter produced verified_row_count, and why a fallback or no count (migration 0003).
    reconcile_counter: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    reconcile_note: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))


class EtlJobChunk(SQLModel, table=True):
    """A ledger entry: one chunk or apply partition of a job, written with the work it records."""

    __tablename__ = "etl_job_chunks"
    __table_args__ = (
        sa.CheckConstraint(in_values("phase", LedgerPhase), name="etl_job_chunks_phase_check"),
        sa.CheckConstraint("chunk_index >= 0", name="etl_job_chunks_chunk_index_check"),
        sa.CheckConstraint(
            "byte_end IS NULL OR byte_end >= byte_start", name="etl_job_chunks_byte_range"
        ),
        sa.CheckConstraint(
            "rows_processed = rows_valid + rows_invalid", name="etl_job_chunks_rows_consistent"
        ),
    )

    job_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(),
            sa.ForeignKey("etl_jobs.id", ondelete="CASCADE", name="etl_job_chunks_job_id_fkey"),
            primary_key=True,
        )
    )
    phase: LedgerPhase = Field(sa_column=sa.Column(sa.Text(), primary_key=True))
    chunk_index: int = Field(sa_column=sa.Column(sa.Integer(), primary_key=True))
    byte_start: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger()))
    byte_end: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger()))
    first_record: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger()))
    record_count: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger()))
    status: ChunkStatus = Field(
        sa_column=sa.Column(pg_enum(ChunkStatus, "etl_chunk_status"), nullable=False)
    )
    attempts: int = Field(default=0, sa_column=counter(sa.Integer))
    rows_processed: int = Field(default=0, sa_column=counter())
    rows_valid: int = Field(default=0, sa_column=counter())
    rows_invalid: int = Field(default=0, sa_column=counter())
    items_upserted: int = Field(default=0, sa_column=counter())
    embedding_failures: int = Field(default=0, sa_column=counter())
    started_at: AwareDatetime | None = Field(default=None, sa_column=timestamptz())
    finished_at: AwareDatetime | None = Field(default=None, sa_column=timestamptz())
    error_kind: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    error_message: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))


class ItemColumns(SQLModel):
    """A catalog item's columns (all but `sku`) as staged and prepared: NULL means no value.

    Same names and types as `catalog_items`. A staged row never holds an empty value (null,
    '', [] or {} are staged as NULL), so the per-SKU merge keeps, per column, the non-NULL
    value of the highest record ordinal ("later non-empty values win").
    """

    name: str | None = Field(default=None, sa_type=sa.Text())
    product_url: str | None = Field(default=None, sa_type=sa.Text())
    weight: float | None = Field(default=None, sa_type=sa.Double())
    weight_unit: str | None = Field(default=None, sa_type=sa.Text())
    description: str | None = Field(default=None, sa_type=sa.Text())
    categories: Any = Field(default=None, sa_type=pg.JSONB(), nullable=True)
    images: Any = Field(default=None, sa_type=pg.JSONB(), nullable=True)
    brand: str | None = Field(default=None, sa_type=sa.Text())
    model: str | None = Field(default=None, sa_type=sa.Text())
    rating_value: float | None = Field(default=None, sa_type=sa.Double())
    color: str | None = Field(default=None, sa_type=sa.Text())
    size: str | None = Field(default=None, sa_type=sa.Text())
    price: Decimal | None = Field(default=None, sa_type=sa.Numeric())
    availability: Availability | None = Field(
        default=None, sa_type=pg_enum(Availability, "availability")
    )
    seller: str | None = Field(default=None, sa_type=sa.Text())
    product_sku: str | None = Field(default=None, sa_type=sa.Text())
    material: str | None = Field(default=None, sa_type=sa.Text())
    currency: str | None = Field(default=None, sa_type=sa.Text())
    condition: str | None = Field(default=None, sa_type=sa.Text())
    review_count: int | None = Field(default=None, sa_type=sa.Integer())
    variants: Any = Field(default=None, sa_type=pg.JSONB(), nullable=True)
    techs: Any = Field(default=None, sa_type=pg.JSONB(), nullable=True)
    links: Any = Field(default=None, sa_type=pg.JSONB(), nullable=True)
    reviews: Any = Field(default=None, sa_type=pg.JSONB(), nullable=True)
    qas: Any = Field(default=None, sa_type=pg.JSONB(), nullable=True)
    faqs: Any = Field(default=None, sa_type=pg.JSONB(), nullable=True)


# The server computes it as each row is copied in (migration 0006); apply partition p of N
# reads the hash range [p * 2^31 / N, (p + 1) * 2^31 / N) through `etl_staged_items_job_hash_idx`.
SKU_HASH_SQL: Final = "hashtext(sku) & 2147483647"


class EtlStagedItem(ItemColumns, table=True):
    """A valid mapped row of a job, held between its chunk phase and its apply phase."""

    __tablename__ = "etl_staged_items"
    __table_args__ = (
        sa.Index("etl_staged_items_job_chunk_idx", "job_id", "chunk_index"),
        sa.Index("etl_staged_items_job_hash_idx", "job_id", "sku_hash"),
    )

    job_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(),
            sa.ForeignKey("etl_jobs.id", ondelete="CASCADE", name="etl_staged_items_job_id_fkey"),
            primary_key=True,
        )
    )
    record_ordinal: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True))
    chunk_index: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    sku: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    sku_hash: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer(), sa.Computed(SKU_HASH_SQL, persisted=True)),
    )


class EtlPreparedItem(ItemColumns, table=True):
    """A job's merged item of one apply partition, with its new embedding, not yet published.

    Written by an apply partition (exactly once, with its ledger row); the job's publish
    transaction upserts every prepared item into `catalog_items` and deletes them. A job that
    ends failed or cancelled has its prepared items deleted.
    """

    __tablename__ = "etl_prepared_items"

    job_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(),
            sa.ForeignKey("etl_jobs.id", ondelete="CASCADE", name="etl_prepared_items_job_id_fkey"),
            primary_key=True,
        )
    )
    sku: str = Field(sa_column=sa.Column(sa.Text(), primary_key=True))
    apply_partition: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    embedding: list[float] | None = Field(default=None, sa_column=sa.Column(pg.ARRAY(sa.REAL())))
    embedding_text_hash: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
