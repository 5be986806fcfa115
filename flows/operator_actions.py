"""The operator-action flows `retry-job`, `repair-job` and `reconcile-job` (thin over actions).

Each flow run records exactly one `operator_actions` row through `catalog_lib.ops.actions`, runs
the `ingest-catalog` flow for the new job as a subflow (retry, repair), and returns the action
result as a JSON-ready document. A refusal is a completed run whose result says `refused`.
"""

from __future__ import annotations

import uuid
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run as current_flow_run

from catalog_lib.core.errors import ActionNotStartedError
from catalog_lib.ops import actions
from catalog_lib.ops.action_log import ActionKind, ActionRequest, ActionResult, Outcome
from flows.ingest import configured_flow
from flows.runtime import get_runtime


def _request(
    kind: ActionKind, job_id: str, actor: str, reason: str | None, force: bool, channel: str
) -> ActionRequest:
    return ActionRequest(
        kind=kind,
        job_id=uuid.UUID(str(job_id)),
        actor=actor,
        reason=reason or None,
        force=force,
        channel=channel,
    )


# Actions are never cached or retried by Prefect: each call must re-check and record itself.
@task(name="start-action", cache_policy=NO_CACHE, persist_result=False)
def start_action_task(request: ActionRequest) -> ActionResult:
    """Check eligibility and the source ETag, then create the superseding job (or refuse)."""
    return actions.start_reingest(get_runtime(), request)


@task(name="finish-action", cache_policy=NO_CACHE, persist_result=False)
def finish_action_task(started: ActionResult, flow_run_id: uuid.UUID | None) -> ActionResult:
    """Record the action's final outcome from the new job's final status."""
    return actions.finish_reingest(get_runtime(), started, flow_run_id=flow_run_id)


@task(name="reconcile-source", cache_policy=NO_CACHE, persist_result=False)
def reconcile_source_task(request: ActionRequest, flow_run_id: uuid.UUID | None) -> ActionResult:
    """Count the source's records with DuckDB and store the verified count and delta."""
    return actions.reconcile_source(get_runtime(), request, flow_run_id=flow_run_id)


def _reingest(request: ActionRequest) -> dict[str, Any]:
    started = start_action_task(request)
    if started.outcome is not Outcome.STARTED:
        return started.to_document()
    if started.new_job_id is None:
        raise ActionNotStartedError(
            "a started re-ingest names no new job", action_id=started.action_id
        )
    label = f"{request.kind} of {str(request.job_id)[:8]}"
    state = configured_flow()(job_id=str(started.new_job_id), label=label, return_state=True)
    finished = finish_action_task(started, state.state_details.flow_run_id)
    return finished.to_document()


def _run_name() -> str:
    parameters = current_flow_run.parameters
    return f"{current_flow_run.flow_name} [{str(parameters.get('job_id', ''))[:8]}]"


@flow(name="retry-job", flow_run_name=_run_name, persist_result=True)
def retry_job(
    job_id: str,
    actor: str,
    reason: str | None = None,
    force: bool = False,
    channel: str = "prefect",
) -> dict[str, Any]:
    """Retry a failed job: a new job resumes from its ledger (unless forced onto a new source)."""
    return _reingest(_request(ActionKind.RETRY, job_id, actor, reason, force, channel))


@flow(name="repair-job", flow_run_name=_run_name, persist_result=True)
def repair_job(
    job_id: str,
    actor: str,
    reason: str | None = None,
    force: bool = False,
    channel: str = "prefect",
) -> dict[str, Any]:
    """Repair a completed or failed job from scratch: a new job re-plans every chunk."""
    return _reingest(_request(ActionKind.REPAIR, job_id, actor, reason, force, channel))


@flow(name="reconcile-job", flow_run_name=_run_name, persist_result=True)
def reconcile_job(
    job_id: str,
    actor: str,
    reason: str | None = None,
    force: bool = False,
    channel: str = "prefect",
) -> dict[str, Any]:
    """Count the job's source records with DuckDB; store the verified count and the delta."""
    request = _request(ActionKind.RECONCILE, job_id, actor, reason, force, channel)
    run_id = current_flow_run.id
    result = reconcile_source_task(request, uuid.UUID(run_id) if run_id else None)
    return result.to_document()


ACTION_FLOWS = {
    ActionKind.RETRY: retry_job,
    ActionKind.REPAIR: repair_job,
    ActionKind.RECONCILE: reconcile_job,
}
