"""Operator actions on jobs: retry, repair-from-scratch and reconcile.

Every action writes exactly one `operator_actions` row, refusals included (`action_log`). A
retry or repair never touches the original job: it creates a new job that supersedes it
(`supersedes_job_id`), which the ingest flow then runs. Whether an action may run (status,
successors, the ETag rule) is decided in `eligibility`. The orchestrator-specific part
(running the ingest flow) lives in `flows/operator_actions.py`; everything here takes a
`Runtime` (the step convention of `catalog_lib.ingest.steps`) and returns an `ActionResult`.

A failure of the action's own database connection is not an action outcome: it propagates
as a `DatabaseError` (transient), so the caller can retry; any other error-tree failure
(storage unreachable, DuckDB cannot count) is recorded as a failed action.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from catalog_lib.adapters.counting import count_records
from catalog_lib.adapters.postgres import connect, load_query, required_row
from catalog_lib.adapters.storage import ObjectStore, ObjectVersion
from catalog_lib.core.errors import (
    CatalogError,
    DatabaseError,
    InvalidArgumentError,
    JobNotFoundError,
)
from catalog_lib.ingest import jobs
from catalog_lib.ingest.steps import Runtime
from catalog_lib.models.jobs import EtlJob, JobMode, JobStatus
from catalog_lib.ops.action_log import (
    MAX_MESSAGE,
    ActionCode,
    ActionKind,
    ActionRequest,
    ActionResult,
    Outcome,
    finish_action,
    record_action,
)
from catalog_lib.ops.eligibility import (
    ELIGIBLE_STATUSES,
    Refusal,
    check_eligible,
    check_source,
    not_found,
)

log = logging.getLogger(__name__)


def start_reingest(rt: Runtime, request: ActionRequest) -> ActionResult:
    """Check a retry/repair and create the superseding job (outcome `started`), or refuse.

    The new job and its `started` action row are written in one transaction. The caller runs
    the ingest flow for `new_job_id` and then calls `finish_reingest`.
    """
    if request.kind is ActionKind.RECONCILE:
        raise InvalidArgumentError("reconcile is not a re-ingest; use reconcile_source")
    try:
        with connect(rt.database_url, autocommit=True) as conn:
            checked = _load_and_check(conn, rt.store, request)
            if isinstance(checked, ActionResult):
                return checked
            return _create_job(conn, rt, request, *checked)
    except DatabaseError:
        raise
    except CatalogError as exc:
        return _record_error(rt, request, exc, ActionCode.ACTION_FAILED)


def finish_reingest(
    rt: Runtime, started: ActionResult, *, flow_run_id: uuid.UUID | None
) -> ActionResult:
    """Record the final outcome of a started retry/repair from its new job's final status."""
    if started.outcome is not Outcome.STARTED or started.new_job_id is None:
        raise InvalidArgumentError("only a started retry/repair can be finished")
    with connect(rt.database_url, autocommit=True) as conn:
        status = _status(conn, started.new_job_id)
        if status is not None and status.is_open:
            # The flow run is over but never closed its job (it did not start, or crashed
            # without hooks): close it, or it would block every later retry of the original.
            jobs.mark_ended(
                conn,
                started.new_job_id,
                JobStatus.FAILED,
                error_kind="crashed",
                error_message="the ingest flow run ended without finishing the job",
            )
        job = jobs.get_job(conn, started.new_job_id)
        if job is None:
            raise JobNotFoundError("the action's new job does not exist", job_id=started.new_job_id)
        run_id = flow_run_id or job.flow_run_id
        if job.status is JobStatus.COMPLETED:
            outcome, code = Outcome.SUCCEEDED, None
            message = f"job {job.id} completed: {job.total_processed} rows"
        else:
            outcome, code = Outcome.FAILED, ActionCode.JOB_FAILED
            message = f"job {job.id} {job.status}: {job.error_kind}: {job.error_message}"
        finish_action(conn, started.action_id, outcome, code, message, flow_run_id=run_id)
    return _replace(started, outcome=outcome, code=code, message=message, flow_run_id=run_id)


def reconcile_source(
    rt: Runtime, request: ActionRequest, *, flow_run_id: uuid.UUID | None = None
) -> ActionResult:
    """Count the source's logical records with DuckDB and store verified count and delta.

    Unforced, the stored object version is counted (and must still be the live one); forced,
    the live version is counted. The delta is always against the job's `total_processed`.
    """
    if request.kind is not ActionKind.RECONCILE:
        raise InvalidArgumentError("reconcile_source handles reconcile requests only")
    try:
        with connect(rt.database_url, autocommit=True) as conn:
            checked = _load_and_check(conn, rt.store, request)
            if isinstance(checked, ActionResult):
                return checked
            return _reconcile(conn, rt, request, *checked, flow_run_id)
    except DatabaseError:
        raise
    except CatalogError as exc:
        return _record_error(rt, request, exc, ActionCode.RECONCILE_FAILED)


def _reconcile(
    conn: psycopg.Connection[Any],
    rt: Runtime,
    request: ActionRequest,
    job: EtlJob,
    live: ObjectVersion,
    flow_run_id: uuid.UUID | None,
) -> ActionResult:
    started = record_action(conn, request, job.id, Outcome.STARTED, flow_run_id=flow_run_id)
    base = _result(request, started, job, live, Outcome.STARTED, "counting", flow_run_id)
    try:
        counted = count_records(rt.store, live)
    except CatalogError as exc:
        message = f"{exc.kind}: {exc}"
        finish_action(conn, started, Outcome.FAILED, ActionCode.RECONCILE_FAILED, message)
        return _replace(
            base, outcome=Outcome.FAILED, code=ActionCode.RECONCILE_FAILED, message=message
        )
    verified_at = datetime.now(UTC)
    delta = jobs.record_reconcile(
        conn,
        job.id,
        verified_row_count=counted.records,
        verified_at=verified_at,
        counter=counted.method,
        note=counted.note,
    )
    actual = counted.records - delta
    message = f"expected {counted.records}, actual {actual}, delta {delta}"
    finish_action(conn, started, Outcome.SUCCEEDED, None, message)
    if delta != 0:
        log.warning(
            "reconcile found a delta",
            extra={"event": "etl.reconcile.mismatch", "job_id": str(job.id), "delta": delta},
        )
    return _replace(
        base,
        outcome=Outcome.SUCCEEDED,
        message=message,
        expected=counted.records,
        actual=actual,
        delta=delta,
        verified_at=verified_at,
    )


def _load_and_check(
    conn: psycopg.Connection[Any], store: ObjectStore, request: ActionRequest
) -> tuple[EtlJob, ObjectVersion] | ActionResult:
    """The target job and its live source version, or the recorded refusal."""
    job = jobs.get_job(conn, request.job_id)
    if job is None:
        return _refuse(conn, request, None, not_found(request.job_id))
    live, refusal = _check(conn, store, request, job)
    if live is None or refusal is not None:
        return _refuse(conn, request, job, refusal or not_found(request.job_id))
    return job, live


def _check(
    conn: psycopg.Connection[Any], store: ObjectStore, request: ActionRequest, job: EtlJob
) -> tuple[ObjectVersion | None, Refusal | None]:
    """Eligibility first (no storage request for an ineligible job), then the ETag rule."""
    refusal = check_eligible(conn, request.kind, job)
    if refusal is not None:
        return None, refusal
    return check_source(store, job, force=request.force)


def _create_job(
    conn: psycopg.Connection[Any],
    rt: Runtime,
    request: ActionRequest,
    job: EtlJob,
    live: ObjectVersion,
) -> ActionResult:
    action_id: int | None = None
    with conn.transaction():
        new_id = jobs.create_superseding_job(
            conn,
            job,
            mode=JobMode(request.kind),
            version=live,
            eligible_statuses=ELIGIBLE_STATUSES[request.kind],
            default_chunk_size=rt.chunk_size,
        )
        if new_id is not None:
            action_id = record_action(conn, request, job.id, Outcome.STARTED, result_job_id=new_id)
    if new_id is None or action_id is None:
        # Lost a race: another retry/repair of this job committed first, or its status moved.
        # Re-read the original: _check_eligible names the live successor that won.
        current = jobs.get_job(conn, job.id) or job
        refusal = check_eligible(conn, request.kind, current) or Refusal(
            ActionCode.NOT_ELIGIBLE, f"job {job.id} is no longer eligible for {request.kind}"
        )
        return _refuse(conn, request, job, refusal)
    changed = job.source_etag != live.etag
    message = f"{request.kind} job {new_id} created" + (
        " for the changed source (forced)" if changed else ""
    )
    return _result(request, action_id, job, live, Outcome.STARTED, message, None, new_job_id=new_id)


def _refuse(
    conn: psycopg.Connection[Any],
    request: ActionRequest,
    job: EtlJob | None,
    refusal: Refusal,
) -> ActionResult:
    target = job.id if job is not None else None
    action_id = record_action(
        conn, request, target, Outcome.REFUSED, code=refusal.code, message=refusal.message
    )
    log.warning(
        "operator action refused",
        extra={
            "event": "etl.action.refused",
            "action": str(request.kind),
            "job_id": str(request.job_id),
            "code": str(refusal.code),
        },
    )
    return ActionResult(
        action=request.kind,
        job_id=request.job_id,
        actor=request.actor,
        outcome=Outcome.REFUSED,
        message=refusal.message,
        action_id=action_id,
        code=refusal.code,
        force=request.force,
        stored_etag=job.source_etag if job is not None else None,
        live_etag=refusal.live_etag,
    )


def last_action_id(database_url: str) -> int:
    """The id of the newest operator action (0 when none): a mark to look for new ones after."""
    with connect(database_url) as conn:
        row = conn.execute(load_query("operator_action_last_id")).fetchone()
    return int(row["id"]) if row is not None else 0


def find_action_after(
    database_url: str, job_id: uuid.UUID, actor: str, after_id: int
) -> dict[str, Any] | None:
    """The first action `actor` took on `job_id` after the mark `after_id`, if recorded yet.

    A UI that started an action flow run polls this to show what the flow recorded.
    """
    with connect(database_url) as conn:
        return conn.execute(
            load_query("operator_action_after"),
            {"job_id": job_id, "actor": actor, "after_id": after_id},
        ).fetchone()


def record_triggered(
    database_url: str,
    *,
    action: str,
    actor: str,
    reason: str,
    target_job_id: uuid.UUID | None,
    result_job_id: uuid.UUID | None,
    flow_run_id: uuid.UUID | None,
    parameters: dict[str, Any],
    refused_because: str | None = None,
) -> int:
    """Record an action a UI carried out by triggering an ingest run itself (not via a flow).

    The action succeeded once its run was created (the job's own status tells the rest); a
    refusal (`refused_because`) is recorded as `refused` with code `ETL_NOT_ELIGIBLE`.
    """
    if not actor.strip():
        raise InvalidArgumentError("an operator action needs an actor")
    if not reason.strip():
        raise InvalidArgumentError("a reason is required")
    message = refused_because or (
        f"{action} job {result_job_id} triggered as flow run {flow_run_id}"
    )
    with connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            load_query("insert_job_operator_action"),
            {
                "actor": actor,
                "action": action,
                "target_job_id": target_job_id,
                "reason": reason,
                "parameters": Jsonb(parameters),
                "result_job_id": result_job_id,
                "flow_run_id": flow_run_id,
                "outcome": str(Outcome.REFUSED if refused_because else Outcome.SUCCEEDED),
                "code": str(ActionCode.NOT_ELIGIBLE) if refused_because else None,
                "message": message[:MAX_MESSAGE],
            },
        ).fetchone()
    return int(required_row(row, "insert_job_operator_action")["id"])


def _record_error(
    rt: Runtime, request: ActionRequest, exc: CatalogError, code: ActionCode
) -> ActionResult:
    """Record an action that could not run (e.g. storage unreachable) as failed."""
    message = f"{exc.kind}: {exc}"
    with connect(rt.database_url, autocommit=True) as conn:
        target = request.job_id if jobs.get_job(conn, request.job_id) is not None else None
        action_id = record_action(conn, request, target, Outcome.FAILED, code=code, message=message)
    return ActionResult(
        action=request.kind,
        job_id=request.job_id,
        actor=request.actor,
        outcome=Outcome.FAILED,
        message=message,
        action_id=action_id,
        code=code,
        force=request.force,
    )


def _status(conn: psycopg.Connection[Any], job_id: uuid.UUID) -> JobStatus | None:
    job = jobs.get_job(conn, job_id)
    return None if job is None else job.status


def _result(
    request: ActionRequest,
    action_id: int,
    job: EtlJob,
    live: ObjectVersion,
    outcome: Outcome,
    message: str,
    flow_run_id: uuid.UUID | None,
    *,
    new_job_id: uuid.UUID | None = None,
) -> ActionResult:
    return ActionResult(
        action=request.kind,
        job_id=request.job_id,
        actor=request.actor,
        outcome=outcome,
        message=message,
        action_id=action_id,
        force=request.force,
        new_job_id=new_job_id,
        flow_run_id=flow_run_id,
        stored_etag=job.source_etag,
        live_etag=live.etag,
    )


def _replace(result: ActionResult, **changes: Any) -> ActionResult:
    return replace(result, **changes)
