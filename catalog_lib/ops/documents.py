"""JSON-ready documents of the typed rows: the one place the CLI's and flows' JSON shapes live.

Each function picks and names the fields of one view of a model. Values stay Python values
(UUIDs, datetimes) unless the document is a flow result that must be JSON already (audit flags:
ISO times, float values); enums become their plain string values.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel

from catalog_lib.models.audit import AuditFlag
from catalog_lib.models.jobs import EtlJob, EtlJobChunk
from catalog_lib.models.operations import OperatorAction
from catalog_lib.ops.reports import ChainLink, FlagSighting, InvalidReason, JobDetail

# `jobs --json`: one entry per job, newest first.
JOB_LIST_FIELDS: Final = (
    "status",
    "source",
    "filename",
    "object_key",
    "created_at",
    "started_at",
    "completed_at",
    "chunks_total",
    "total_processed",
    "total_valid",
    "total_invalid",
    "total_embedding_failures",
    "verified_row_count",
    "reconcile_delta",
    "supersedes_job_id",
    "error_kind",
)
# `job show --json` and `ingest --json`: `chunks` is the model's `chunks_total`.
JOB_DETAIL_FIELDS: Final = (
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
LEDGER_FIELDS: Final = (
    "phase",
    "chunk_index",
    "status",
    "byte_start",
    "byte_end",
    "first_record",
    "record_count",
    "attempts",
    "rows_processed",
    "rows_valid",
    "rows_invalid",
    "items_upserted",
    "embedding_failures",
    "started_at",
    "finished_at",
    "error_kind",
    "error_message",
)
CHAIN_FIELDS: Final = (
    "depth",
    "id",
    "status",
    "mode",
    "created_at",
    "completed_at",
    "supersedes_job_id",
    "relation",
)
ACTION_FIELDS: Final = (
    "id",
    "actor",
    "action",
    "target_job_id",
    "result_job_id",
    "flow_run_id",
    "reason",
    "parameters",
    "outcome",
    "code",
    "message",
    "created_at",
    "finished_at",
)
# An audit run's flags (`audit --json` flag_details).
FLAG_FIELDS: Final = (
    "id",
    "code",
    "field",
    "label",
    "value",
    "first_seen_at",
    "state",
    "state_reason",
    "muted_until",
)
# A flag after `audit ack` / `audit mute`.
FLAG_STATE_FIELDS: Final = (
    "id",
    "source",
    "code",
    "field",
    "label",
    "state",
    "state_reason",
    "state_actor",
    "state_changed_at",
    "muted_until",
    "first_seen_at",
)
# `audit history --json`: the flag and when its audit ran.
FLAG_HISTORY_FIELDS: Final = (
    "id",
    "source",
    "code",
    "field",
    "label",
    "value",
    "first_seen_at",
    "state",
    "state_reason",
    "muted_until",
)


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, StrEnum) else value


def _pick(row: BaseModel, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: _plain(getattr(row, name)) for name in fields}


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def job_list_document(
    jobs: list[EtlJob], replaced_by: dict[uuid.UUID, uuid.UUID] | None = None
) -> dict[str, Any]:
    """`{"jobs": [...]}` of a job list; `replaced_by`: the newest job superseding each one."""
    replacements = replaced_by or {}
    return {
        "jobs": [
            {"job_id": j.id, **_pick(j, JOB_LIST_FIELDS), "replaced_by": replacements.get(j.id)}
            for j in jobs
        ]
    }


def job_detail_document(detail: JobDetail) -> dict[str, Any]:
    """One job with its ledger, rejected-row reasons, supersession chain and actions."""
    job = detail.job
    values = {"chunks": job.chunks_total, "duplicate_of": detail.duplicate_of}
    head = {
        name: values[name] if name in values else _plain(getattr(job, name))
        for name in JOB_DETAIL_FIELDS
    }
    return {
        "job_id": job.id,
        **head,
        "ledger": [ledger_entry_document(e) for e in detail.ledger],
        "apply_partitions": [ledger_entry_document(e) for e in detail.apply_partitions],
        "invalid_reasons": [invalid_reason_document(r) for r in detail.invalid_reasons],
        "supersession_chain": [chain_link_document(c) for c in detail.supersession_chain],
        "replaces": detail.replaces,
        "replaced_by": detail.replaced_by,
        "operator_actions": [operator_action_document(a) for a in detail.operator_actions],
    }


def ledger_entry_document(entry: EtlJobChunk) -> dict[str, Any]:
    """One ledger entry (chunk or apply partition) without its job id."""
    return _pick(entry, LEDGER_FIELDS)


def chain_link_document(link: ChainLink) -> dict[str, Any]:
    """One job of a supersession chain."""
    return _pick(link, CHAIN_FIELDS)


def invalid_reason_document(reason: InvalidReason) -> dict[str, Any]:
    """One (field, reason) line of a job's rejected rows."""
    return {"field": reason.field, "reason": reason.reason, "rows": reason.rows}


def operator_action_document(action: OperatorAction) -> dict[str, Any]:
    """One operator action of a job's audit trail."""
    return _pick(action, ACTION_FIELDS)


def flag_document(flag: AuditFlag) -> dict[str, Any]:
    """A flag raised by an audit run (JSON values: ISO times, float value)."""
    return _json_flag(flag, FLAG_FIELDS)


def flag_state_document(flag: AuditFlag) -> dict[str, Any]:
    """A flag after an operator acknowledged or muted it (JSON values)."""
    return _json_flag(flag, FLAG_STATE_FIELDS)


def flag_history_document(sightings: list[FlagSighting]) -> dict[str, Any]:
    """`{"flags": [...]}`: the flag history, newest audit first (JSON values)."""
    return {
        "flags": [
            {
                **_json_flag(s.flag, FLAG_HISTORY_FIELDS),
                "generated_at": _iso(s.generated_at),
            }
            for s in sightings
        ]
    }


def _json_flag(flag: AuditFlag, fields: tuple[str, ...]) -> dict[str, Any]:
    document = _pick(flag, fields)
    for name, value in document.items():
        if isinstance(value, datetime):
            document[name] = _iso(value)
        elif isinstance(value, Decimal):
            document[name] = _number(value)
    return document
