"""The job-state sweeper: close pending/running jobs whose orchestrator run ended without them.

A job is closed only from the state of its flow run as the orchestrator reports it, never by
its age. The orchestrator-specific part (reading flow-run states) is injected by the caller
(`flows/sweeper.py`), so this module stays free of Prefect.

Rules (`decide`):

| flow-run state | job becomes | `error_kind` |
|---|---|---|
| CRASHED | failed | `crashed` |
| FAILED | failed | `failed` |
| CANCELLED | cancelled | `cancelled` |
| COMPLETED (job still pending/running) | failed | `orphaned` |
| SCHEDULED, PENDING, RUNNING, CANCELLING, PAUSED | unchanged | — |
| no run id, or the run is unknown to the orchestrator | unchanged | — |

A COMPLETED run whose job is still open finished without finalizing its job (the flow always
finalizes before it returns, so the run cannot have done the work): the job can never progress
and is closed as `orphaned`. A run the orchestrator does not know (deleted, or another Prefect
server) is left alone: that is not evidence that the run ended.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import psycopg

from catalog_lib.adapters.postgres import connect, database_errors, load_query
from catalog_lib.ingest import jobs
from catalog_lib.models.jobs import JobStatus

log = logging.getLogger(__name__)

# Jobs examined per sweep; the oldest open jobs come first, later sweeps see the rest.
MAX_JOBS_PER_SWEEP = 1000


class RunStateType(StrEnum):
    """Flow-run state types as the orchestrator reports them (Prefect's `StateType` values)."""

    SCHEDULED = "SCHEDULED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    CRASHED = "CRASHED"
    PAUSED = "PAUSED"
    CANCELLING = "CANCELLING"


@dataclass(frozen=True)
class OpenJob:
    """A pending or running job and the flow run it is bound to (if any)."""

    job_id: uuid.UUID
    status: JobStatus
    source: str
    flow_run_id: uuid.UUID | None


@dataclass(frozen=True)
class RunState:
    """A flow run's current state as read from the orchestrator."""

    flow_run_id: uuid.UUID
    state_type: RunStateType
    message: str | None = None


@dataclass(frozen=True)
class Verdict:
    """What the sweeper does with one job: close it (status + kind) or leave it."""

    close: bool
    status: JobStatus | None = None
    error_kind: str | None = None


LEAVE = Verdict(close=False)
_CLOSING: dict[RunStateType, Verdict] = {
    RunStateType.CRASHED: Verdict(True, JobStatus.FAILED, "crashed"),
    RunStateType.FAILED: Verdict(True, JobStatus.FAILED, "failed"),
    RunStateType.CANCELLED: Verdict(True, JobStatus.CANCELLED, "cancelled"),
    RunStateType.COMPLETED: Verdict(True, JobStatus.FAILED, "orphaned"),
}


@dataclass(frozen=True)
class SweptJob:
    """One job the sweeper looked at, the run state it saw and what it did."""

    job_id: uuid.UUID
    source: str
    job_status: JobStatus
    flow_run_id: uuid.UUID | None
    run_state: str | None
    closed: bool
    error_kind: str | None


@dataclass(frozen=True)
class SweepReport:
    """The outcome of one sweep."""

    examined: int
    closed: int
    jobs: tuple[SweptJob, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary (every examined job with the run state seen)."""
        return {
            "examined": self.examined,
            "closed": self.closed,
            "jobs": [
                {
                    "job_id": str(j.job_id),
                    "source": j.source,
                    "job_status": str(j.job_status),
                    "flow_run_id": str(j.flow_run_id) if j.flow_run_id else None,
                    "run_state": j.run_state,
                    "closed": j.closed,
                    "error_kind": j.error_kind,
                }
                for j in self.jobs
            ],
        }


def decide(job_status: JobStatus, run_state: RunStateType | None) -> Verdict:
    """The verdict for an open job given its flow run's state type (None: no known run)."""
    if not job_status.is_open or run_state is None:
        return LEAVE
    return _CLOSING.get(run_state, LEAVE)


def describe_closure(state: RunState, verdict: Verdict) -> str:
    """The operator-facing message stored on a job the sweeper closed (no row data)."""
    reason = {
        "crashed": "its flow run crashed (the process running it died)",
        "failed": "its flow run failed without closing the job",
        "cancelled": "its flow run was cancelled without closing the job",
        "orphaned": "its flow run completed without finishing the job",
    }[str(verdict.error_kind)]
    return f"closed by the job-state sweeper: {reason} (flow run {state.flow_run_id})"


def list_open_jobs(
    conn: psycopg.Connection[Any], *, limit: int = MAX_JOBS_PER_SWEEP
) -> list[OpenJob]:
    """Pending and running jobs, oldest first, with their flow run ids."""
    rows = conn.execute(load_query("list_open_jobs"), {"limit": limit}).fetchall()
    return [
        OpenJob(
            job_id=r["id"],
            status=JobStatus(r["status"]),
            source=r["source"],
            flow_run_id=r["flow_run_id"],
        )
        for r in rows
    ]


def sweep_jobs(
    database_url: str,
    read_run_state: Callable[[OpenJob], RunState | None],
    *,
    limit: int = MAX_JOBS_PER_SWEEP,
) -> SweepReport:
    """Close every open job whose flow run ended without it; leave all others untouched.

    `read_run_state` returns the state of the job's flow run (or, for a job without a run id,
    of a flow run found for it), or None when there is none. A job is ended through the guarded
    `jobs.mark_ended` bound to that run, so a job another run owns, or one that finished in the
    meantime, is never touched.
    """
    with database_errors(), connect(database_url, autocommit=True) as conn:
        open_jobs = list_open_jobs(conn, limit=limit)
    swept = [_sweep_one(database_url, job, read_run_state(job)) for job in open_jobs]
    return SweepReport(
        examined=len(swept), closed=sum(1 for s in swept if s.closed), jobs=tuple(swept)
    )


def _sweep_one(database_url: str, job: OpenJob, state: RunState | None) -> SweptJob:
    verdict = decide(job.status, state.state_type if state else None)
    closed = False
    if verdict.close and state is not None and verdict.status is not None:
        with database_errors(), connect(database_url) as conn:
            closed = jobs.mark_ended(
                conn,
                job.job_id,
                verdict.status,
                error_kind=str(verdict.error_kind),
                error_message=describe_closure(state, verdict),
                flow_run_id=state.flow_run_id,
            )
        if closed:
            log.warning(
                "open job closed from its flow-run state",
                extra={
                    "event": "etl.sweeper.closed",
                    "job_id": str(job.job_id),
                    "source": job.source,
                    "error_kind": verdict.error_kind,
                    "flow_run_id": str(state.flow_run_id),
                    "status": str(verdict.status),
                },
            )
    return SweptJob(
        job_id=job.job_id,
        source=job.source,
        job_status=job.status,
        flow_run_id=state.flow_run_id if state else job.flow_run_id,
        run_state=str(state.state_type) if state else None,
        closed=closed,
        error_kind=verdict.error_kind if closed else None,
    )
