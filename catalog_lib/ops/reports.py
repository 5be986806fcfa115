"""The read API the CLI and the console share: jobs, job detail, actions, audit flag history.

Rows come back as the table models of `catalog_lib.models` (or small views built on them);
`catalog_lib.ops.documents` turns them into the JSON documents the CLI prints.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import psycopg
from pydantic import AwareDatetime, BaseModel, ConfigDict

from catalog_lib.adapters.postgres import load_query
from catalog_lib.ingest.jobs import get_job
from catalog_lib.models.audit import AuditFlag
from catalog_lib.models.jobs import EtlJob, EtlJobChunk, JobMode, JobStatus, LedgerPhase
from catalog_lib.models.operations import OperatorAction
from catalog_lib.rules.mapping import ITEM_FIELDS


class ChainRelation(StrEnum):
    """How a job of a supersession chain relates to the job the chain was read for."""

    REPLACES = "replaces"
    SELF = "self"
    REPLACED_BY = "replaced_by"


class ChainLink(BaseModel):
    """One job of a supersession chain, as seen from the job the chain was read for."""

    model_config = ConfigDict(frozen=True)

    depth: int
    id: uuid.UUID
    status: JobStatus
    mode: JobMode
    created_at: AwareDatetime
    completed_at: AwareDatetime | None
    supersedes_job_id: uuid.UUID | None
    relation: ChainRelation


@dataclass(frozen=True)
class InvalidReason:
    """How many of a job's rows were rejected for one (field, reason)."""

    field: str | None
    reason: str | None
    rows: int


@dataclass(frozen=True)
class JobDetail:
    """One job with its ledger, the reasons its rows were rejected, its chain and actions."""

    job: EtlJob
    duplicate_of: uuid.UUID | None
    ledger: list[EtlJobChunk]
    apply_partitions: list[EtlJobChunk]
    invalid_reasons: list[InvalidReason]
    supersession_chain: list[ChainLink]
    operator_actions: list[OperatorAction]

    @property
    def replaces(self) -> list[uuid.UUID]:
        """The jobs this one replaces, nearest first."""
        return [
            c.id for c in reversed(self.supersession_chain) if c.relation is ChainRelation.REPLACES
        ]

    @property
    def replaced_by(self) -> list[uuid.UUID]:
        """The jobs that replace this one, nearest first."""
        return [c.id for c in self.supersession_chain if c.relation is ChainRelation.REPLACED_BY]


def list_jobs(
    conn: psycopg.Connection[Any],
    *,
    source: str | None = None,
    status: JobStatus | None = None,
    not_replaced: bool = False,
    limit: int = 50,
) -> list[EtlJob]:
    """Jobs, newest first; `not_replaced` keeps only jobs no retry or repair supersedes."""
    rows = conn.execute(
        load_query("list_jobs"),
        {
            "source": source,
            "status": str(status) if status else None,
            "not_replaced": not_replaced,
            "limit": limit,
        },
    ).fetchall()
    return [EtlJob.model_validate(r) for r in rows]


def job_replacements(
    conn: psycopg.Connection[Any], job_ids: list[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """For each given job a retry or repair supersedes: the newest job that does."""
    if not job_ids:
        return {}
    rows = conn.execute(load_query("job_replacements"), {"job_ids": job_ids}).fetchall()
    return {r["job_id"]: r["replaced_by"] for r in rows}


@dataclass(frozen=True)
class JobCandidate:
    """A job whose id starts with a typed prefix."""

    id: uuid.UUID
    source: str
    status: JobStatus
    created_at: datetime


_HEX_DIGITS = frozenset("0123456789abcdef")
MAX_CANDIDATES = 10


def find_jobs_by_prefix(conn: psycopg.Connection[Any], ref: str) -> list[JobCandidate]:
    """The jobs (newest first, at most MAX_CANDIDATES + 1) whose id starts with `ref`.

    `ref` is a full id or any prefix of one, dashes optional; anything that is not hex
    matches nothing.
    """
    text = ref.strip().lower().replace("-", "")
    if not text or len(text) > 32 or not set(text) <= _HEX_DIGITS:
        return []
    rows = conn.execute(
        load_query("job_ids_by_prefix"),
        {
            "low": uuid.UUID(text.ljust(32, "0")),
            "high": uuid.UUID(text.ljust(32, "f")),
            "limit": MAX_CANDIDATES + 1,
        },
    ).fetchall()
    return [
        JobCandidate(
            id=r["id"],
            source=r["source"],
            status=JobStatus(r["status"]),
            created_at=r["created_at"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class RejectedRow:
    """One rejected row: where it was, why, and its mapped values (catalog item fields only)."""

    chunk_index: int
    record_ordinal: int
    errors: list[dict[str, Any]]
    values: dict[str, Any]


def list_rejected_rows(
    conn: psycopg.Connection[Any],
    job_id: uuid.UUID,
    *,
    reason: str | None = None,
    limit: int = 50,
) -> list[RejectedRow]:
    """A job's rejected rows in file order, optionally only those for one field or reason.

    Values keep only the mapped catalog item fields (never other columns of the source row).
    """
    rows = conn.execute(
        load_query("job_rejected_rows"),
        {"job_id": job_id, "reason": reason or None, "limit": limit},
    ).fetchall()
    allowed = set(ITEM_FIELDS)
    return [
        RejectedRow(
            chunk_index=int(r["chunk_index"]),
            record_ordinal=int(r["record_ordinal"]),
            errors=[e for e in r["errors"] if isinstance(e, dict)],
            values={
                k: v
                for k, v in (r["raw_data"] if isinstance(r["raw_data"], dict) else {}).items()
                if k in allowed
            },
        )
        for r in rows
    ]


def get_job_progress(conn: psycopg.Connection[Any], job_id: uuid.UUID) -> tuple[int, int]:
    """(chunks completed, chunks planned) of a job; (0, 0) before it is planned."""
    row = conn.execute(load_query("job_progress"), {"job_id": job_id}).fetchone()
    return (int(row["done"]), int(row["total"])) if row else (0, 0)


def get_job_detail(
    conn: psycopg.Connection[Any], job_id: uuid.UUID, *, duplicate_of: uuid.UUID | None = None
) -> JobDetail | None:
    """One job with its ledger, the reason breakdown of its rejected rows and its chain."""
    job = get_job(conn, job_id)
    if job is None:
        return None
    params = {"job_id": job_id}
    ledger = [
        EtlJobChunk.model_validate(r)
        for r in conn.execute(load_query("job_ledger"), params).fetchall()
    ]
    # Oldest first; `relation` says whether this job replaces an entry or is replaced by it.
    chain = conn.execute(load_query("job_supersession_chain"), params).fetchall()
    reasons = conn.execute(load_query("job_invalid_reasons"), params).fetchall()
    return JobDetail(
        job=job,
        duplicate_of=duplicate_of,
        ledger=[e for e in ledger if e.phase is LedgerPhase.CHUNK],
        apply_partitions=[e for e in ledger if e.phase is LedgerPhase.APPLY],
        invalid_reasons=[InvalidReason(**r) for r in reasons],
        supersession_chain=[ChainLink.model_validate(c) for c in chain],
        operator_actions=list_job_actions(conn, job_id),
    )


def list_job_actions(conn: psycopg.Connection[Any], job_id: uuid.UUID) -> list[OperatorAction]:
    """Operator actions that targeted the job or created it, oldest first."""
    rows = conn.execute(load_query("job_operator_actions"), {"job_id": job_id}).fetchall()
    return [OperatorAction.model_validate(r) for r in rows]


def count_catalog_items(conn: psycopg.Connection[Any]) -> int:
    """How many items the catalog holds."""
    row = conn.execute(load_query("count_catalog_items")).fetchone()
    return int(row["n"]) if row else 0


@dataclass(frozen=True)
class FlagSighting:
    """An audit flag and when the audit that raised it ran."""

    flag: AuditFlag
    generated_at: datetime


def list_flag_history(
    conn: psycopg.Connection[Any], *, source: str | None = None, limit: int = 200
) -> list[FlagSighting]:
    """Flags over time, newest audit first, with first-seen time and state."""
    rows = conn.execute(
        load_query("audit_flag_history"), {"source": source, "limit": limit}
    ).fetchall()
    return [FlagSighting(AuditFlag.model_validate(r), r["generated_at"]) for r in rows]
