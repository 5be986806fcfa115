"""Operator actions on jobs: retry, repair-from-scratch and reconcile, and their audit trail.

Every action writes exactly one `operator_actions` row, refusals included. A retry or repair
never touches the original job: it creates a new job that supersedes it (`supersedes_job_id`),
which the ingest flow then runs. The orchestrator-specific part (running that flow) lives in
`flows/actions.py`; everything here takes a `Runtime` and returns an `ActionResult`.

ETag rule (fail closed): the source is HEADed first. A missing object is refused
(`ETL_SOURCE_MISSING`). An ETag or size that differs from the job's stored version is refused
(`ETL_ETAG_MISMATCH`) unless the request is forced. A job without a stored ETag (a legacy row)
is treated the same way: its version cannot be verified, so acting on it needs `force`.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from catalog_lib.adapters.counting import count_records
from catalog_lib.adapters.postgres import connect, load_query
from catalog_lib.adapters.storage import ObjectStore, ObjectVersion
from catalog_lib.core.errors import CatalogError, ObjectNotFoundError
from catalog_lib.ingest import jobs
from catalog_lib.ingest.steps import Runtime

log = logging.getLogger(__name__)

MAX_MESSAGE = 2000


class ActionKind(StrEnum):
    """The operator actions on a job."""

    RETRY = "retry"
    REPAIR = "repair"
    RECONCILE = "reconcile"


class Outcome(StrEnum):
    """The outcome of an operator action (the CHECK of `operator_actions.outcome`)."""

    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUSED = "refused"


class ActionCode(StrEnum):
    """Why an action was refused or failed."""

    NOT_FOUND = "ETL_NOT_FOUND"
    NOT_ELIGIBLE = "ETL_NOT_ELIGIBLE"
    ALREADY_IN_PROGRESS = "ETL_ALREADY_IN_PROGRESS"
    ETAG_MISMATCH = "ETL_ETAG_MISMATCH"
    SOURCE_MISSING = "ETL_SOURCE_MISSING"
    JOB_FAILED = "ETL_JOB_FAILED"
    ACTION_FAILED = "ETL_ACTION_FAILED"
    RECONCILE_FAILED = "ETL_RECONCILE_FAILED"


ELIGIBLE_STATUSES: dict[ActionKind, tuple[str, ...]] = {
    ActionKind.RETRY: ("failed",),
    ActionKind.REPAIR: ("completed", "failed"),
    ActionKind.RECONCILE: ("completed", "failed", "cancelled"),
}
_LIVE = ("pending", "running")


@dataclass(frozen=True)
class ActionRequest:
    """Who asks for which action on which job, why, and whether the ETag check is overridden."""

    kind: ActionKind
    job_id: uuid.UUID
    actor: str
    reason: str | None = None
    force: bool = False
    channel: str = "cli"

    def __post_init__(self) -> None:
        # Only a real boolean forces: upstream coerced the string "false" to true (§9 item 26).
        if type(self.force) is not bool:
            raise TypeError("force must be a bool")
        if not self.actor.strip():
            raise ValueError("an operator action needs an actor")

    def parameters(self) -> dict[str, Any]:
        """The parameters recorded with the action."""
        return {"force": self.force, "job_id": str(self.job_id), "channel": self.channel}


@dataclass(frozen=True)
class ActionResult:
    """What an operator action did (or why it was refused), as recorded in `operator_actions`."""

    action: ActionKind
    job_id: uuid.UUID
    actor: str
    outcome: Outcome
    message: str
    action_id: int | None = None
    code: str | None = None
    force: bool = False
    new_job_id: uuid.UUID | None = None
    flow_run_id: uuid.UUID | None = None
    stored_etag: str | None = None
    live_etag: str | None = None
    expected: int | None = None
    actual: int | None = None
    delta: int | None = None
    verified_at: datetime | None = None

    @property
    def refused(self) -> bool:
        """Whether the action was refused (nothing was run)."""
        return self.outcome is Outcome.REFUSED

    def to_document(self) -> dict[str, Any]:
        """The JSON-ready view the CLI prints and the flows return."""
        document: dict[str, Any] = {
            "action": str(self.action),
            "job_id": self.job_id,
            "new_job_id": self.new_job_id,
            "flow_run_id": self.flow_run_id,
            "refused": self.refused,
            "outcome": str(self.outcome),
            "code": self.code,
            "message": self.message,
            "stored_etag": self.stored_etag,
            "live_etag": self.live_etag,
            "force": self.force,
            "actor": self.actor,
            "action_id": self.action_id,
        }
        if self.action is ActionKind.RECONCILE:
            document.update(
                expected=self.expected,
                actual=self.actual,
                delta=self.delta,
                verified_at=self.verified_at,
            )
        return document


@dataclass(frozen=True)
class _Refusal:
    code: ActionCode
    message: str
    live_etag: str | None = None


def check_source(
    store: ObjectStore, job: dict[str, Any], *, force: bool
) -> tuple[ObjectVersion | None, _Refusal | None]:
    """HEAD the job's object; refuse when it is missing, or changed and `force` is not set."""
    stored = job["source_etag"]
    try:
        live = store.head(job["object_key"])
    except ObjectNotFoundError:
        return None, _Refusal(
            ActionCode.SOURCE_MISSING,
            f"the source object does not exist: {job['object_key']}",
        )
    size_changed = job["source_size"] is not None and job["source_size"] != live.size
    if (stored is None or stored != live.etag or size_changed) and not force:
        why = (
            "the job has no stored ETag (legacy row), so its source version cannot be verified"
            if stored is None
            else "the source changed since the job ran"
        )
        return live, _Refusal(
            ActionCode.ETAG_MISMATCH,
            f"{why} (stored={stored}, live={live.etag}); force the action (--force) to use "
            "the current object",
            live_etag=live.etag,
        )
    return live, None


def start_reingest(rt: Runtime, request: ActionRequest) -> ActionResult:
    """Check a retry/repair and create the superseding job (outcome `started`), or refuse.

    The new job and its `started` action row are written in one transaction. The caller runs
    the ingest flow for `new_job_id` and then calls `finish_reingest`.
    """
    if request.kind is ActionKind.RECONCILE:
        raise ValueError("reconcile is not a re-ingest; use reconcile_source")
    try:
        with connect(rt.database_url, autocommit=True) as conn:
            checked = _load_and_check(conn, rt.store, request)
            if isinstance(checked, ActionResult):
                return checked
            return _create_job(conn, rt, request, *checked)
    except CatalogError as exc:
        return _record_error(rt, request, exc, ActionCode.ACTION_FAILED)


def finish_reingest(
    rt: Runtime, started: ActionResult, *, flow_run_id: uuid.UUID | None
) -> ActionResult:
    """Record the final outcome of a started retry/repair from its new job's final status."""
    if started.outcome is not Outcome.STARTED or started.new_job_id is None:
        raise ValueError("only a started retry/repair can be finished")
    with connect(rt.database_url, autocommit=True) as conn:
        if _status(conn, started.new_job_id) in _LIVE:
            # The flow run is over but never closed its job (it did not start, or crashed
            # without hooks): close it, or it would block every later retry of the original.
            jobs.mark_ended(
                conn,
                started.new_job_id,
                jobs.JobStatus.FAILED,
                error_kind="crashed",
                error_message="the ingest flow run ended without finishing the job",
            )
        job = jobs.get_job(conn, started.new_job_id)
        assert job is not None
        run_id = flow_run_id or job["flow_run_id"]
        if job["status"] == jobs.JobStatus.COMPLETED:
            outcome, code = Outcome.SUCCEEDED, None
            message = f"job {job['id']} completed: {job['total_processed']} rows"
        else:
            outcome, code = Outcome.FAILED, ActionCode.JOB_FAILED
            message = (
                f"job {job['id']} {job['status']}: {job['error_kind']}: {job['error_message']}"
            )
        _finish(conn, started.action_id, outcome, code, message, flow_run_id=run_id)
    return _replace(started, outcome=outcome, code=code, message=message, flow_run_id=run_id)


def reconcile_source(
    rt: Runtime, request: ActionRequest, *, flow_run_id: uuid.UUID | None = None
) -> ActionResult:
    """Count the source's logical records with DuckDB and store verified count and delta.

    Unforced, the stored object version is counted (and must still be the live one); forced,
    the live version is counted. The delta is always against the job's `total_processed`.
    """
    if request.kind is not ActionKind.RECONCILE:
        raise ValueError("reconcile_source handles reconcile requests only")
    try:
        with connect(rt.database_url, autocommit=True) as conn:
            checked = _load_and_check(conn, rt.store, request)
            if isinstance(checked, ActionResult):
                return checked
            return _reconcile(conn, rt, request, *checked, flow_run_id)
    except CatalogError as exc:
        return _record_error(rt, request, exc, ActionCode.RECONCILE_FAILED)


def _reconcile(
    conn: psycopg.Connection[Any],
    rt: Runtime,
    request: ActionRequest,
    job: dict[str, Any],
    live: ObjectVersion,
    flow_run_id: uuid.UUID | None,
) -> ActionResult:
    started = _record(conn, request, job["id"], Outcome.STARTED, flow_run_id=flow_run_id)
    base = _result(request, started, job, live, Outcome.STARTED, "counting", flow_run_id)
    try:
        counted = count_records(rt.store, live)
    except CatalogError as exc:
        message = f"{exc.kind}: {exc}"
        _finish(conn, started, Outcome.FAILED, ActionCode.RECONCILE_FAILED, message)
        return _replace(
            base, outcome=Outcome.FAILED, code=ActionCode.RECONCILE_FAILED, message=message
        )
    verified_at = datetime.now(UTC)
    delta = jobs.record_reconcile(
        conn, job["id"], verified_row_count=counted.records, verified_at=verified_at
    )
    actual = counted.records - delta
    message = f"expected {counted.records}, actual {actual}, delta {delta}"
    _finish(conn, started, Outcome.SUCCEEDED, None, message)
    if delta != 0:
        log.warning(
            "reconcile found a delta",
            extra={"event": "etl.reconcile.mismatch", "job_id": str(job["id"]), "delta": delta},
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
) -> tuple[dict[str, Any], ObjectVersion] | ActionResult:
    """The target job and its live source version, or the recorded refusal."""
    job = jobs.get_job(conn, request.job_id)
    if job is None:
        return _refuse(conn, request, None, _not_found(request.job_id))
    live, refusal = _check(conn, store, request, job)
    if live is None or refusal is not None:
        return _refuse(conn, request, job, refusal or _not_found(request.job_id))
    return job, live


def _check(
    conn: psycopg.Connection[Any], store: ObjectStore, request: ActionRequest, job: dict[str, Any]
) -> tuple[ObjectVersion | None, _Refusal | None]:
    """Eligibility first (no storage request for an ineligible job), then the ETag rule."""
    refusal = _check_eligible(conn, request.kind, job)
    if refusal is not None:
        return None, refusal
    return check_source(store, job, force=request.force)


def _check_eligible(
    conn: psycopg.Connection[Any], kind: ActionKind, job: dict[str, Any]
) -> _Refusal | None:
    status = str(job["status"])
    if status not in ELIGIBLE_STATUSES[kind]:
        return _Refusal(ActionCode.NOT_ELIGIBLE, _ineligible_message(kind, job["id"], status))
    if kind is ActionKind.RECONCILE:
        return None
    successors = jobs.list_successors(conn, job["id"])
    live = [s for s in successors if s["status"] in _LIVE]
    if live:
        return _in_progress(job["id"], live[0])
    done = [s for s in successors if s["status"] == jobs.JobStatus.COMPLETED]
    if kind is ActionKind.RETRY and done:
        # Retrying a job twice would ingest the same file again: act on the newest job.
        return _Refusal(
            ActionCode.NOT_ELIGIBLE,
            f"job {job['id']} was already recovered by job {done[0]['id']} "
            f"({done[0]['mode']}, completed); repair that job to reprocess the file",
        )
    return None


def _ineligible_message(kind: ActionKind, job_id: uuid.UUID, status: str) -> str:
    allowed = " or ".join(ELIGIBLE_STATUSES[kind])
    hint = {
        "pending": "wait for it to finish",
        "running": "wait for it to finish",
        "completed": "use repair to reprocess it",
        "cancelled": "trigger the file again with `catalog-etl ingest`",
    }.get(status, "")
    return f"job {job_id} is {status}; {kind} needs a {allowed} job" + (
        f" ({hint})" if hint else ""
    )


def _in_progress(job_id: uuid.UUID, successor: dict[str, Any]) -> _Refusal:
    return _Refusal(
        ActionCode.ALREADY_IN_PROGRESS,
        f"job {job_id} is already being replaced by job {successor['id']} "
        f"({successor['mode']}, {successor['status']})",
    )


def _not_found(job_id: uuid.UUID) -> _Refusal:
    return _Refusal(ActionCode.NOT_FOUND, f"no job {job_id}")


def _create_job(
    conn: psycopg.Connection[Any],
    rt: Runtime,
    request: ActionRequest,
    job: dict[str, Any],
    live: ObjectVersion,
) -> ActionResult:
    action_id: int | None = None
    with conn.transaction():
        new_id = jobs.create_superseding_job(
            conn,
            job,
            mode=str(request.kind),
            version=live,
            eligible_statuses=ELIGIBLE_STATUSES[request.kind],
            default_chunk_size=rt.chunk_size,
        )
        if new_id is not None:
            action_id = _record(conn, request, job["id"], Outcome.STARTED, result_job_id=new_id)
    if new_id is None or action_id is None:
        # Lost a race: another retry/repair of this job committed first, or its status moved.
        # Re-read the original: _check_eligible names the live successor that won.
        current = jobs.get_job(conn, job["id"]) or job
        refusal = _check_eligible(conn, request.kind, current) or _Refusal(
            ActionCode.NOT_ELIGIBLE, f"job {job['id']} is no longer eligible for {request.kind}"
        )
        return _refuse(conn, request, job, refusal)
    changed = job["source_etag"] != live.etag
    message = f"{request.kind} job {new_id} created" + (
        " for the changed source (forced)" if changed else ""
    )
    return _result(request, action_id, job, live, Outcome.STARTED, message, None, new_job_id=new_id)


def _refuse(
    conn: psycopg.Connection[Any],
    request: ActionRequest,
    job: dict[str, Any] | None,
    refusal: _Refusal,
) -> ActionResult:
    target = job["id"] if job is not None else None
    action_id = _record(
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
        stored_etag=job["source_etag"] if job is not None else None,
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
        raise ValueError("an operator action needs an actor")
    if not reason.strip():
        raise ValueError("a reason is required")
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
    assert row is not None
    return int(row["id"])


def _record_error(
    rt: Runtime, request: ActionRequest, exc: CatalogError, code: ActionCode
) -> ActionResult:
    """Record an action that could not run (e.g. storage unreachable) as failed."""
    message = f"{exc.kind}: {exc}"
    with connect(rt.database_url, autocommit=True) as conn:
        target = request.job_id if jobs.get_job(conn, request.job_id) is not None else None
        action_id = _record(conn, request, target, Outcome.FAILED, code=code, message=message)
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


def _record(
    conn: psycopg.Connection[Any],
    request: ActionRequest,
    target_job_id: uuid.UUID | None,
    outcome: Outcome,
    *,
    code: str | None = None,
    message: str | None = None,
    result_job_id: uuid.UUID | None = None,
    flow_run_id: uuid.UUID | None = None,
) -> int:
    row = conn.execute(
        load_query("insert_job_operator_action"),
        {
            "actor": request.actor,
            "action": str(request.kind),
            "target_job_id": target_job_id,
            "reason": request.reason,
            "parameters": Jsonb(request.parameters()),
            "result_job_id": result_job_id,
            "flow_run_id": flow_run_id,
            "outcome": str(outcome),
            "code": code,
            "message": message[:MAX_MESSAGE] if message else None,
        },
    ).fetchone()
    assert row is not None
    return int(row["id"])


def _finish(
    conn: psycopg.Connection[Any],
    action_id: int | None,
    outcome: Outcome,
    code: str | None,
    message: str,
    *,
    flow_run_id: uuid.UUID | None = None,
) -> None:
    row = conn.execute(
        load_query("finish_job_operator_action"),
        {
            "id": action_id,
            "outcome": str(outcome),
            "code": code,
            "message": message[:MAX_MESSAGE],
            "result_job_id": None,
            "flow_run_id": flow_run_id,
        },
    ).fetchone()
    if row is None:
        raise LookupError(f"operator action {action_id} is not started (already finished?)")


def _status(conn: psycopg.Connection[Any], job_id: uuid.UUID) -> str | None:
    job = jobs.get_job(conn, job_id)
    return None if job is None else str(job["status"])


def _result(
    request: ActionRequest,
    action_id: int,
    job: dict[str, Any],
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
        stored_etag=job["source_etag"],
        live_etag=live.etag,
    )


def _replace(result: ActionResult, **changes: Any) -> ActionResult:
    return replace(result, **changes)
