"""The operator-action flows `retry-job`, `repair-job` and `reconcile-job` (thin over actions).

Each flow run records exactly one `operator_actions` row through `catalog_lib.ops.actions`, runs
the `ingest-catalog` flow for the new job as a subflow (retry, repair), and returns the action
result as a JSON-ready document. Its final state tells the outcome (docs/runbook.md):
`Completed` when the action succeeded, `Failed` when it failed, and a `Completed`-type state
named `Refused` when it was refused (nothing ran; the refusal is recorded). Every run logs its
outcome and publishes a markdown artifact (`<action>-<job id>`) describing it.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from prefect import flow, get_run_logger, tags, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run as current_flow_run
from prefect.states import Completed, Failed

from catalog_lib.core.errors import ActionNotStartedError
from catalog_lib.ops import actions
from catalog_lib.ops.action_log import ActionKind, ActionRequest, ActionResult, Outcome
from flows.artifacts import TRIGGER_TAG, artifact_key, flow_run_link, markdown_fields
from flows.ingest import configured_flow
from flows.run_logs import configure_flow_observability
from flows.runtime import get_runtime

REFUSED = "Refused"


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


def _short(job_id: uuid.UUID | str) -> str:
    return str(job_id)[:8]


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


def _reingest(request: ActionRequest) -> State[Any]:
    short = _short(request.job_id)
    started = start_action_task.with_options(task_run_name=f"check {request.kind} of {short}")(
        request
    )
    if started.outcome is not Outcome.STARTED:
        return _final_state(request, started)
    if started.new_job_id is None:
        raise ActionNotStartedError(
            "a started re-ingest names no new job", action_id=started.action_id
        )
    label = f"{request.kind} of {short}"
    # The ingest subflow is tagged with the channel the action came from.
    with tags(f"{TRIGGER_TAG}{request.channel}"):
        state = configured_flow()(job_id=str(started.new_job_id), label=label, return_state=True)
    finished = finish_action_task.with_options(
        task_run_name=f"record {request.kind} outcome of {short}"
    )(started, state.state_details.flow_run_id)
    return _final_state(request, finished)


def _final_state(request: ActionRequest, result: ActionResult) -> State[Any]:
    """The run's final state for the action's outcome, after logging it and its artifact."""
    document = result.to_document()
    headline = _headline(result)
    level = {
        Outcome.SUCCEEDED: logging.INFO,
        Outcome.REFUSED: logging.WARNING,
    }.get(result.outcome, logging.ERROR)
    get_run_logger().log(level, "%s", headline)
    create_markdown_artifact(
        _markdown(request, result),
        key=artifact_key(str(result.action), str(result.job_id)),
        description=headline,
    )
    if result.outcome is Outcome.SUCCEEDED:
        return Completed(message=headline, data=document)
    if result.outcome is Outcome.REFUSED:
        return Completed(name=REFUSED, message=headline, data=document)
    return Failed(message=headline, data=document)


def _headline(result: ActionResult) -> str:
    head = f"{result.action} of job {result.job_id}: {result.outcome}"
    if result.new_job_id is not None:
        head += f" (new job {result.new_job_id})"
    if result.outcome is not Outcome.SUCCEEDED and result.code:
        head += f" — {result.code}: {result.message}"
    return head


def _markdown(request: ActionRequest, result: ActionResult) -> str:
    link = flow_run_link(result.flow_run_id)
    new_job = str(result.new_job_id) if result.new_job_id else None
    if new_job and link:
        new_job = f"{new_job} ([ingest run]({link}))"
    rows: list[tuple[str, Any]] = [
        ("outcome", str(result.outcome)),
        ("target job", str(result.job_id)),
        ("new job", new_job),
        ("actor", result.actor),
        ("reason", request.reason),
        ("channel", request.channel),
        ("force", result.force),
        ("refusal" if result.refused else "code", result.code),
        ("message", result.message),
        ("stored ETag", result.stored_etag),
        ("live ETag", result.live_etag),
    ]
    if result.action is ActionKind.RECONCILE:
        rows += [
            ("expected (processed)", result.expected),
            ("actual (verified)", result.actual),
            ("delta", result.delta),
        ]
    return markdown_fields(f"{result.action} of job {result.job_id}", rows)


def _run_name() -> str:
    parameters = current_flow_run.parameters
    kind = current_flow_run.flow_name.removesuffix("-job")
    return f"{kind} {_short(parameters.get('job_id', ''))} by {parameters.get('actor', '?')}"


@flow(name="retry-job", flow_run_name=_run_name, persist_result=True)
def retry_job(
    job_id: str,
    actor: str,
    reason: str | None = None,
    force: bool = False,
    channel: str = "prefect",
) -> State[Any]:
    """Retry a failed job: a new job resumes from its ledger (unless forced onto a new source)."""
    configure_flow_observability()
    return _reingest(_request(ActionKind.RETRY, job_id, actor, reason, force, channel))


@flow(name="repair-job", flow_run_name=_run_name, persist_result=True)
def repair_job(
    job_id: str,
    actor: str,
    reason: str | None = None,
    force: bool = False,
    channel: str = "prefect",
) -> State[Any]:
    """Repair a completed or failed job from scratch: a new job re-plans every chunk."""
    configure_flow_observability()
    return _reingest(_request(ActionKind.REPAIR, job_id, actor, reason, force, channel))


@flow(name="reconcile-job", flow_run_name=_run_name, persist_result=True)
def reconcile_job(
    job_id: str,
    actor: str,
    reason: str | None = None,
    force: bool = False,
    channel: str = "prefect",
) -> State[Any]:
    """Count the job's source records with DuckDB; store the verified count and the delta."""
    configure_flow_observability()
    request = _request(ActionKind.RECONCILE, job_id, actor, reason, force, channel)
    run_id = current_flow_run.id
    result = reconcile_source_task.with_options(task_run_name=f"reconcile {_short(job_id)}")(
        request, uuid.UUID(run_id) if run_id else None
    )
    return _final_state(request, result)


def action_document(state: State[Any]) -> dict[str, Any]:
    """The action's result document from its flow run's final state, whatever the outcome.

    Raises the run's error when it failed without a document (e.g. the database was down).
    """
    document = state.result(raise_on_failure=False)
    if isinstance(document, dict):
        return document
    state.result()  # re-raises the failure that left no document
    raise ActionNotStartedError("the action run returned no result", state=state.name)


ACTION_FLOWS = {
    ActionKind.RETRY: retry_job,
    ActionKind.REPAIR: repair_job,
    ActionKind.RECONCILE: reconcile_job,
}
