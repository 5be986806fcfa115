"""Whether a flow run may (re-)enter its job: the rule behind Prefect's own Retry button.

Prefect's Retry button re-runs the same flow run. It re-enters the run's own job only when
that job is `failed` and nothing replaced it yet (no retry or repair job supersedes it): the
job then resumes from its ledger, exactly like `catalog-etl retry` minus the new job. Every
other case is refused with a message that names what to do instead (docs/runbook.md).
"""

from __future__ import annotations

import uuid

from catalog_lib.adapters.postgres import connect
from catalog_lib.ingest import jobs
from catalog_lib.models.jobs import JobStatus


def refusal(database_url: str, job_id: uuid.UUID, flow_run_id: uuid.UUID | None) -> str | None:
    """Why this flow run may not run the job (None when it may: pending, or its own re-run)."""
    with connect(database_url) as conn:
        job = jobs.get_job(conn, job_id)
        if job is None or job.status is JobStatus.PENDING:
            return None  # a missing job is reported by the start step
        successors = jobs.list_successors(conn, job_id)
    if successors:
        newest = successors[0]
        return (
            f"job {job_id} was already replaced by job {newest.id} ({newest.mode}, "
            f"{newest.status}); a re-run of its old flow run does not ingest it again — "
            f"follow job {newest.id} (`catalog-etl job show {newest.id}`)"
        )
    if job.status is JobStatus.COMPLETED:
        return (
            f"job {job_id} already completed; a re-run does not ingest it again — "
            f"use `catalog-etl repair {job_id}` to re-ingest it from scratch"
        )
    if job.status is JobStatus.CANCELLED:
        return (
            f"job {job_id} was cancelled; a re-run does not resume it — "
            "ingest the file again (`catalog-etl ingest`)"
        )
    if job.flow_run_id is not None and job.flow_run_id != flow_run_id:
        return (
            f"job {job_id} belongs to flow run {job.flow_run_id}; only that run may re-enter it "
            f"— use `catalog-etl retry {job_id}`"
        )
    return None
