"""The JSON documents built from the typed rows keep the CLI's field names, order and values."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from catalog_lib.models.audit import AuditFlag, FlagState
from catalog_lib.models.jobs import EtlJob, EtlJobChunk, JobStatus
from catalog_lib.models.operations import OperatorAction
from catalog_lib.ops import documents
from catalog_lib.ops.reports import ChainLink, FlagSighting, InvalidReason, JobDetail

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
JOB_ID, OLDER_ID, NEWER_ID = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def _job(**changes: object) -> EtlJob:
    row = {
        "id": JOB_ID,
        "status": "completed",
        "source": "trailco",
        "filename": "a.csv",
        "object_key": "file:///landing/a.csv",
        "scraper_revision": "r1",
        "ingest_key": "k",
        "mode": "retry",
        "created_at": NOW,
        "chunks_total": 3,
        "total_processed": 10,
        "total_valid": 9,
        "total_invalid": 1,
        "supersedes_job_id": OLDER_ID,
        **changes,
    }
    return EtlJob.model_validate(row)


def _chunk(phase: str, index: int) -> EtlJobChunk:
    return EtlJobChunk.model_validate(
        {"job_id": JOB_ID, "phase": phase, "chunk_index": index, "status": "completed"}
    )


def _link(job_id: uuid.UUID, depth: int, relation: str) -> ChainLink:
    return ChainLink.model_validate(
        {
            "depth": depth,
            "id": job_id,
            "status": "completed",
            "mode": "ingest",
            "created_at": NOW,
            "completed_at": None,
            "supersedes_job_id": None,
            "relation": relation,
        }
    )


def _flag() -> AuditFlag:
    return AuditFlag.model_validate(
        {
            "id": 7,
            "snapshot_id": 3,
            "source": "trailco",
            "code": "decimal_bug",
            "field": "price",
            "label": "decimal_bug (1)",
            "value": Decimal("1.5"),
            "first_seen_at": NOW,
            "state": "muted",
            "muted_until": NOW,
        }
    )


def test_job_list_document_keeps_the_jobs_fields() -> None:
    (entry,) = documents.job_list_document([_job()])["jobs"]
    assert list(entry) == ["job_id", *documents.JOB_LIST_FIELDS, "replaced_by"]
    assert (entry["job_id"], entry["status"], entry["chunks_total"]) == (JOB_ID, "completed", 3)
    assert entry["replaced_by"] is None
    assert type(entry["status"]) is str


def test_job_list_document_names_the_replacing_job() -> None:
    newer = uuid.uuid4()
    (entry,) = documents.job_list_document([_job()], replaced_by={JOB_ID: newer})["jobs"]
    assert entry["replaced_by"] == newer


def test_job_detail_document_keeps_every_section() -> None:
    detail = JobDetail(
        job=_job(),
        duplicate_of=JOB_ID,
        ledger=[_chunk("chunk", 0), _chunk("chunk", 1)],
        apply_partitions=[_chunk("apply", 0)],
        invalid_reasons=[InvalidReason("price", "invalid price", 1)],
        supersession_chain=[
            _link(OLDER_ID, -1, "replaces"),
            _link(JOB_ID, 0, "self"),
            _link(NEWER_ID, 1, "replaced_by"),
        ],
        operator_actions=[
            OperatorAction.model_validate(
                {
                    "id": 1,
                    "actor": "ana",
                    "action": "retry",
                    "outcome": "started",
                    "created_at": NOW,
                }
            )
        ],
    )
    document = documents.job_detail_document(detail)
    assert list(document) == [
        "job_id",
        *documents.JOB_DETAIL_FIELDS,
        "ledger",
        "apply_partitions",
        "invalid_reasons",
        "supersession_chain",
        "replaces",
        "replaced_by",
        "operator_actions",
    ]
    assert (document["chunks"], document["duplicate_of"], document["mode"]) == (3, JOB_ID, "retry")
    assert [list(c) for c in document["ledger"]] == [list(documents.LEDGER_FIELDS)] * 2
    assert [c["phase"] for c in document["apply_partitions"]] == ["apply"]
    assert document["invalid_reasons"] == [{"field": "price", "reason": "invalid price", "rows": 1}]
    assert [c["relation"] for c in document["supersession_chain"]] == [
        "replaces",
        "self",
        "replaced_by",
    ]
    assert (document["replaces"], document["replaced_by"]) == ([OLDER_ID], [NEWER_ID])
    (action,) = document["operator_actions"]
    assert list(action) == list(documents.ACTION_FIELDS)
    assert action["outcome"] == "started"


def test_flag_documents_are_json_values() -> None:
    flag = _flag()
    assert documents.flag_document(flag) == {
        "id": 7,
        "code": "decimal_bug",
        "field": "price",
        "label": "decimal_bug (1)",
        "value": 1.5,
        "first_seen_at": NOW.isoformat(),
        "state": "muted",
        "state_reason": None,
        "muted_until": NOW.isoformat(),
    }
    state = documents.flag_state_document(flag)
    assert list(state) == list(documents.FLAG_STATE_FIELDS)
    (entry,) = documents.flag_history_document([FlagSighting(flag, NOW)])["flags"]
    assert list(entry) == [*documents.FLAG_HISTORY_FIELDS, "generated_at"]
    assert json.loads(json.dumps(entry))["generated_at"] == NOW.isoformat()


def test_rows_are_validated_into_enums_and_aware_times() -> None:
    job = _job(status="failed")
    assert job.status is JobStatus.FAILED
    assert not job.status.is_open
    assert not job.status.is_live
    assert _flag().state is FlagState.MUTED
    with pytest.raises(ValidationError):
        _job(status="exploded")
    with pytest.raises(ValidationError):
        _job(created_at=datetime(2026, 12, 1, 12, 0))  # naive on purpose
