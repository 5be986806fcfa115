"""Whether an operator action may run on a job: its status, its successors, its source.

A retry or repair never runs on a job that is live or already being replaced, and a job is
only retried once. ETag rule (fail closed): the source is HEADed; a missing object is refused
(`ETL_SOURCE_MISSING`), and an ETag or size that differs from the job's stored version is
refused (`ETL_ETAG_MISMATCH`) unless the request is forced. A job without a stored ETag (a
legacy row) is treated the same way: its version cannot be verified, so acting on it needs
`force`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

from catalog_lib.adapters.storage import ObjectStore, ObjectVersion
from catalog_lib.core.errors import ObjectNotFoundError
from catalog_lib.ingest import jobs
from catalog_lib.models.jobs import EtlJob, JobStatus
from catalog_lib.ops.action_log import ActionCode, ActionKind

ELIGIBLE_STATUSES: dict[ActionKind, tuple[JobStatus, ...]] = {
    ActionKind.RETRY: (JobStatus.FAILED,),
    ActionKind.REPAIR: (JobStatus.COMPLETED, JobStatus.FAILED),
    ActionKind.RECONCILE: (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED),
}


@dataclass(frozen=True)
class Refusal:
    """Why an action is refused, as recorded in its `operator_actions` row."""

    code: ActionCode
    message: str
    live_etag: str | None = None


def check_source(
    store: ObjectStore, job: EtlJob, *, force: bool
) -> tuple[ObjectVersion | None, Refusal | None]:
    """HEAD the job's object; refuse when it is missing, or changed and `force` is not set."""
    stored = job.source_etag
    try:
        live = store.head(job.object_key)
    except ObjectNotFoundError:
        return None, Refusal(
            ActionCode.SOURCE_MISSING,
            f"the source object does not exist: {job.object_key}",
        )
    size_changed = job.source_size is not None and job.source_size != live.size
    if (stored is None or stored != live.etag or size_changed) and not force:
        why = (
            "the job has no stored ETag (legacy row), so its source version cannot be verified"
            if stored is None
            else "the source changed since the job ran"
        )
        return live, Refusal(
            ActionCode.ETAG_MISMATCH,
            f"{why} (stored={stored}, live={live.etag}); force the action (--force) to use "
            "the current object",
            live_etag=live.etag,
        )
    return live, None


def check_eligible(conn: psycopg.Connection[Any], kind: ActionKind, job: EtlJob) -> Refusal | None:
    """Refuse by the job's status, or (retry, repair) when it is already being replaced."""
    if job.status not in ELIGIBLE_STATUSES[kind]:
        return Refusal(ActionCode.NOT_ELIGIBLE, ineligible_message(kind, job.id, job.status))
    if kind is ActionKind.RECONCILE:
        return None
    successors = jobs.list_successors(conn, job.id)
    live = [s for s in successors if s.status.is_open]
    if live:
        return in_progress(job.id, live[0])
    done = [s for s in successors if s.status is JobStatus.COMPLETED]
    if kind is ActionKind.RETRY and done:
        # Retrying a job twice would ingest the same file again: act on the newest job.
        return Refusal(
            ActionCode.NOT_ELIGIBLE,
            f"job {job.id} was already recovered by job {done[0].id} "
            f"({done[0].mode}, completed); repair that job to reprocess the file",
        )
    return None


def ineligible_message(kind: ActionKind, job_id: uuid.UUID, status: JobStatus) -> str:
    """Why `kind` cannot run on a job in `status`, with what to do instead."""
    allowed = " or ".join(ELIGIBLE_STATUSES[kind])
    hint = {
        JobStatus.PENDING: "wait for it to finish",
        JobStatus.RUNNING: "wait for it to finish",
        JobStatus.COMPLETED: "use repair to reprocess it",
        JobStatus.CANCELLED: "trigger the file again with `catalog-etl ingest`",
    }.get(status, "")
    return f"job {job_id} is {status}; {kind} needs a {allowed} job" + (
        f" ({hint})" if hint else ""
    )


def in_progress(job_id: uuid.UUID, successor: EtlJob) -> Refusal:
    """The refusal naming the live job that already replaces `job_id`."""
    return Refusal(
        ActionCode.ALREADY_IN_PROGRESS,
        f"job {job_id} is already being replaced by job {successor.id} "
        f"({successor.mode}, {successor.status})",
    )


def not_found(job_id: uuid.UUID) -> Refusal:
    """The refusal for a job id that does not exist."""
    return Refusal(ActionCode.NOT_FOUND, f"no job {job_id}")
