"""The `job-state-sweeper` flow: read open jobs' flow-run states from Prefect, close the dead.

The rules live in `catalog_lib.ops.crash_sweep`; this module only reads flow runs through the
Prefect client. A job without a flow run id is matched to an `ingest-catalog` run whose name carries
the job's short id and whose `job_id` parameter is the job (runs are named `label [abcd1234]`
when they start); a run that never started has no such name and is left to its trigger.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterName,
)
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import ObjectNotFound
from prefect.runtime import flow_run as current_flow_run

from catalog_lib.ops import crash_sweep
from catalog_lib.ops.crash_sweep import OpenJob, RunState, RunStateType
from flows.artifacts import minute
from flows.run_logs import configure_flow_observability
from flows.runtime import get_runtime

INGEST_FLOW = "ingest-catalog"
_TERMINAL = {
    RunStateType.COMPLETED,
    RunStateType.FAILED,
    RunStateType.CANCELLED,
    RunStateType.CRASHED,
}


def _run_state(run: FlowRun) -> RunState | None:
    if run.state is None:
        return None
    return RunState(
        flow_run_id=run.id,
        state_type=RunStateType(run.state.type.value),
        message=run.state.message,
    )


def read_run_state(client: SyncPrefectClient, job: OpenJob) -> RunState | None:
    """The state of the job's flow run, or of a started run found for a job without one."""
    if job.flow_run_id is not None:
        try:
            return _run_state(client.read_flow_run(job.flow_run_id))
        except ObjectNotFound:
            return None
    runs = client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[INGEST_FLOW])),
        flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_=f"[{str(job.job_id)[:8]}]")),
        sort=FlowRunSort.EXPECTED_START_TIME_DESC,
        limit=50,
    )
    states = [
        state
        for run in runs
        if str(run.parameters.get("job_id")) == str(job.job_id)
        and (state := _run_state(run)) is not None
    ]
    # A run still in flight owns the job: report it (the verdict leaves the job alone).
    live = [s for s in states if s.state_type not in _TERMINAL]
    candidates = live or states
    return candidates[0] if candidates else None


@task(
    name="sweep-open-jobs",
    task_run_name="sweep open jobs (at most {limit})",
    cache_policy=NO_CACHE,
    persist_result=False,
)
def sweep_task(limit: int) -> dict[str, Any]:
    """Compare every pending/running job with its flow run and close the ones that ended."""
    database_url = get_runtime().database_url
    with get_client(sync_client=True) as client:
        report = crash_sweep.sweep_jobs(
            database_url, lambda job: read_run_state(client, job), limit=limit
        )
    return report.to_json()


def _run_name() -> str:
    return f"sweep {minute(current_flow_run.scheduled_start_time)}"


def describe_sweep(report: dict[str, Any]) -> list[str]:
    """The log lines of one sweep: the counts, then one line per closed job."""
    lines = [f"examined {report['examined']} open jobs, closed {report['closed']}"]
    lines.extend(
        f"closed job {j['job_id']} ({j['source']}): was {j['job_status']}, flow run "
        f"{j['flow_run_id'] or 'none'} {j['run_state'] or 'not found'} → {j['error_kind']}"
        for j in report["jobs"]
        if j["closed"]
    )
    return lines


@flow(name="job-state-sweeper", flow_run_name=_run_name)
def job_state_sweeper(limit: int = crash_sweep.MAX_JOBS_PER_SWEEP) -> dict[str, Any]:
    """Close pending/running jobs whose flow run crashed, failed or was cancelled."""
    configure_flow_observability()
    report = sweep_task(limit)
    logger = get_run_logger()
    for line in describe_sweep(report):
        logger.info("%s", line)
    closed = [j for j in report["jobs"] if j["closed"]]
    if closed:
        create_table_artifact(
            [
                {k: j[k] for k in ("job_id", "source", "flow_run_id", "run_state", "error_kind")}
                for j in closed
            ],
            key="job-state-sweeper",
            description="Jobs closed from their flow-run state",
        )
    return report


def sweep_now(
    database_url: str, *, limit: int = crash_sweep.MAX_JOBS_PER_SWEEP
) -> crash_sweep.SweepReport:
    """One sweep outside a flow run (`catalog-etl sweep`, tests), with this process's client."""
    with get_client(sync_client=True) as client:
        return crash_sweep.sweep_jobs(
            database_url, lambda job: read_run_state(client, job), limit=limit
        )
