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

One more rule needs no orchestrator at all: a `running` job whose liveness lease is free
(`catalog_lib.ingest.liveness`: the process running a job holds a PostgreSQL advisory lock on
it until the job is final) has lost its runner, whatever its flow run says — a SIGKILLed
`catalog-etl ingest`, an OOM kill, a lost worker machine. It is closed as `failed` with
`error_kind = runner_lost`, and the lease is re-checked in the closing statement itself.

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

from catalog_lib.adapters.postgres import connect, load_query
from catalog_lib.ingest import jobs, liveness
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
    runner_alive: bool = True


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


RUNNER_LOST = Verdict(True, JobStatus.FAILED, "runner_lost")


def decide(
    job_status: JobStatus, run_state: RunStateType | None, *, runner_alive: bool = True
) -> Verdict:
    """The verdict for an open job given its flow run's state type (None: no known run).

    `runner_alive` is whether a process holds the job's liveness lease; a running job without
    one is closed even when its flow run looks alive (nobody is left to report it).
    """
    if not job_status.is_open:
        return LEAVE
    verdict = _CLOSING.get(run_state, LEAVE) if run_state is not None else LEAVE
    if not verdict.close and job_status is JobStatus.RUNNING and not runner_alive:
        return RUNNER_LOST
    return verdict


def describe_closure(state: RunState | None, verdict: Verdict) -> str:
    """The operator-facing message stored on a job the sweeper closed (no row data)."""
    reason = {
        "crashed": "its flow run crashed (the process running it died)",
        "failed": "its flow run failed without closing the job",
        "cancelled": "its flow run was cancelled without closing the job",
        "orphaned": "its flow run completed without finishing the job",
        "runner_lost": "the process running it is gone (its liveness lease is free)",
    }[str(verdict.error_kind)]
    run = f" (flow run {state.flow_run_id}: {state.state_type})" if state else ""
    return f"closed by the job-state sweeper: {reason}{run}"


def list_open_jobs(
    conn: psycopg.Connection[Any], *, limit: int = MAX_JOBS_PER_SWEEP
) -> list[OpenJob]:
    """Pending and running jobs, oldest first, with their flow run ids."""
    rows = conn.execute(
        load_query("list_open_jobs"), {"limit": limit, "namespace": liveness.LEASE_NAMESPACE}
    ).fetchall()
    return [
        OpenJob(
            job_id=r["id"],
            status=JobStatus(r["status"]),
            source=r["source"],
            flow_run_id=r["flow_run_id"],
            runner_alive=bool(r["runner_alive"]),
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
    with connect(database_url, autocommit=True) as conn:
        open_jobs = list_open_jobs(conn, limit=limit)
    swept = [_sweep_one(database_url, job, read_run_state(job)) for job in open_jobs]
    return SweepReport(
        examined=len(swept), closed=sum(1 for s in swept if s.closed), jobs=tuple(swept)
    )


def _close(database_url: str, job: OpenJob, state: RunState | None, verdict: Verdict) -> bool:
    with connect(database_url) as conn:
        if verdict is RUNNER_LOST:
            return liveness.close_if_runner_lost(conn, job.job_id, describe_closure(state, verdict))
        if state is None or verdict.status is None:
            return False
        return jobs.mark_ended(
            conn,
            job.job_id,
            verdict.status,
            error_kind=str(verdict.error_kind),
            error_message=describe_closure(state, verdict),
            flow_run_id=state.flow_run_id,
        )


def _sweep_one(database_url: str, job: OpenJob, state: RunState | None) -> SweptJob:
    verdict = decide(job.status, state.state_type if state else None, runner_alive=job.runner_alive)
    closed = verdict.close and _close(database_url, job, state, verdict)
    if closed:
        log.warning(
            "open job closed by the sweeper",
            extra={
                "event": "etl.sweeper.closed",
                "job_id": str(job.job_id),
                "source": job.source,
                "error_kind": verdict.error_kind,
                "flow_run_id": str(state.flow_run_id) if state else None,
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
