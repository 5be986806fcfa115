"""The `ingest-catalog` flow: plan → chunk tasks → aggregate → reconcile → apply → finalize."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun, State, TaskRun
from prefect.context import TaskRunContext
from prefect.futures import as_completed
from prefect.runtime import flow_run as current_flow_run
from prefect.tasks import Task, exponential_backoff

from catalog_lib.adapters.storage import ObjectVersion
from catalog_lib.core.errors import CatalogError, JobNotRunnableError, TransientError
from catalog_lib.core.failpoints import failpoint
from catalog_lib.core.settings import get_settings
from catalog_lib.ingest import reconciling, steps
from catalog_lib.ingest.applying import ApplyResult
from catalog_lib.ingest.jobs import JobStatus, JobTotals
from catalog_lib.ingest.ledger import ChunkResult
from catalog_lib.ingest.liveness import JobLease, acquire_lease
from catalog_lib.models.jobs import EtlJob
from catalog_lib.ops import rerun
from catalog_lib.rules.chunking import ChunkSpec
from catalog_lib.rules.records import PARSER_VERSION
from flows.artifacts import merge_tags, run_tags
from flows.job_artifacts import publish_failure_artifact, publish_summary_artifact
from flows.run_logs import configure_flow_observability
from flows.runtime import get_runtime
from flows.task_runners import deployed_task_runner, task_runner

CACHE_EXPIRATION = timedelta(days=7)
P = ParamSpec("P")
R = TypeVar("R")


def _is_transient(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:  # noqa: ARG001 - Prefect's signature
    """Retry only errors a retry can fix (connection lost, throttling, serialization)."""
    try:
        state.result()
    except TransientError:
        return True
    except Exception:  # noqa: BLE001 - any other error is terminal for retries
        return False
    return False


# Every task retries transient errors only, with jittered exponential backoff; the configured
# retry count and backoff base are applied per run by `_with_retry_policy`, which the flow
# applies to every task it runs (plan, chunks, count, aggregate, reconcile, apply partitions,
# publish).
TRANSIENT_RETRIES: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(2),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": _is_transient,
}


def _chunk_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:  # noqa: ARG001 - Prefect's
    """(job, ETag, byte range, parser version): a finished chunk is never recomputed."""
    spec: ChunkSpec = parameters["spec"]
    version: ObjectVersion = parameters["version"]
    return (
        f"ingest-chunk-{parameters['job_id']}-{version.etag}-"
        f"{spec.byte_start}-{spec.byte_end}-p{PARSER_VERSION}"
    )


@task(
    name="plan-chunks",
    **TRANSIENT_RETRIES,
)
def plan_task(job_id: str) -> steps.PlannedJob:
    """HEAD the object and plan record-aligned chunks.

    The result is persisted: it holds ids, offsets and counts, never the header (row content).
    """
    return steps.plan_job(get_runtime(), uuid.UUID(job_id)).without_header()


@task(
    name="load-chunk",
    **TRANSIENT_RETRIES,
    cache_key_fn=_chunk_cache_key,
    cache_expiration=CACHE_EXPIRATION,
    persist_result=True,
)
def chunk_task(job_id: str, version: ObjectVersion, header: bytes, spec: ChunkSpec) -> ChunkResult:
    """Parse, validate and stage one chunk in one transaction (skipped if already done).

    Its persisted result is a `ChunkResult` (counts only); `header` is an input, which Prefect
    does not store, and is left out of the cache key.
    """
    return steps.run_chunk(get_runtime(), uuid.UUID(job_id), version, header, spec)


@task(
    name="apply-partition",
    **TRANSIENT_RETRIES,
)
def apply_task(
    job_id: str, partition: int, partitions: int, source_version: datetime
) -> ApplyResult:
    """Merge and embed one SKU-hash partition into prepared items (skipped if already done)."""
    return steps.run_apply_partition(
        get_runtime(), uuid.UUID(job_id), partition, partitions, source_version
    )


@task(
    name="publish",
    **TRANSIENT_RETRIES,
)
def publish_task(job_id: str) -> JobTotals | None:
    """Publish every prepared item and complete the job in ONE transaction (None: not running)."""
    return steps.finalize_job(get_runtime(), uuid.UUID(job_id))


@task(
    name="aggregate",
    **TRANSIENT_RETRIES,
)
def aggregate_task(job_id: str, expected_records: int, expected_chunks: int) -> JobTotals:
    """Sum the ledger into the job row and check it covers the plan."""
    return steps.aggregate_job(
        get_runtime(),
        uuid.UUID(job_id),
        expected_records=expected_records,
        expected_chunks=expected_chunks,
    )


@task(
    name="count",
    **TRANSIENT_RETRIES,
)
def count_task(job_id: str) -> reconciling.SourceCount:
    """Count the source's records independently (DuckDB) while the chunks load."""
    return reconciling.count_source(get_runtime(), uuid.UUID(job_id))


@task(
    name="reconcile",
    **TRANSIENT_RETRIES,
)
def reconcile_task(job_id: str, source: reconciling.SourceCount) -> reconciling.ReconcileReport:
    """Store the independent count against what the job processed, or why it is unverified."""
    return reconciling.reconcile_job(get_runtime(), uuid.UUID(job_id), source)


def _run_name() -> str:
    parameters = current_flow_run.parameters
    label = parameters.get("label") or "catalog"
    return f"{label} [{str(parameters.get('job_id', ''))[:8]}]"


# Liveness leases held by this process, by flow run id: taken before the job starts, given
# back by the hooks below only once the job is final (see catalog_lib.ingest.liveness).
_leases: dict[uuid.UUID, JobLease] = {}
_leases_lock = threading.Lock()


def _hold_lease(flow_run_id: uuid.UUID | None, job_id: uuid.UUID) -> None:
    with _leases_lock:
        # A re-run of the same flow run in this process gives its earlier lease back first.
        previous = _leases.pop(flow_run_id, None) if flow_run_id else None
    if previous is not None:
        previous.release()
    lease = acquire_lease(get_runtime().database_url, job_id)
    if flow_run_id is None:
        # Outside a flow run nothing would give the lease back; the process exit does.
        return
    with _leases_lock:
        _leases[flow_run_id] = lease


def _release_lease(flow_run: FlowRun) -> None:
    with _leases_lock:
        lease = _leases.pop(flow_run.id, None)
    if lease is not None:
        lease.release()


def _end_job(flow_run: FlowRun, state: State[Any], status: JobStatus) -> None:
    job_id = flow_run.parameters.get("job_id")
    try:
        if not job_id:
            return
        kind, message = "cancelled", "the flow run was cancelled"
        if status is JobStatus.FAILED:
            kind, message = _describe_failure(state)
        ended = steps.end_job(
            get_runtime(),
            uuid.UUID(str(job_id)),
            status,
            error_kind=kind,
            error_message=message,
            flow_run_id=flow_run.id,
        )
        if ended and status is JobStatus.FAILED:
            publish_failure_artifact(uuid.UUID(str(job_id)))
    finally:
        _release_lease(flow_run)


def _describe_failure(state: State[Any]) -> tuple[str, str]:
    """Error kind and message of a failed state; never the text of arbitrary exceptions."""
    try:
        state.result()
    except CatalogError as exc:
        return exc.kind, str(exc)
    except Exception as exc:  # noqa: BLE001 - classify, never re-raise inside a hook
        return "internal", f"{type(exc).__name__} (see the flow run logs)"
    return "crashed", state.message or "the flow run crashed"


def _on_failure(flow: Any, flow_run: FlowRun, state: State[Any]) -> None:  # noqa: ARG001 - hook
    _end_job(flow_run, state, JobStatus.FAILED)


def _on_cancellation(flow: Any, flow_run: FlowRun, state: State[Any]) -> None:  # noqa: ARG001
    _end_job(flow_run, state, JobStatus.CANCELLED)


def _on_completion(flow: Any, flow_run: FlowRun, state: State[Any]) -> None:  # noqa: ARG001
    _release_lease(flow_run)


@flow(
    name="ingest-catalog",
    flow_run_name=_run_name,
    on_failure=[_on_failure],
    on_crashed=[_on_failure],
    on_cancellation=[_on_cancellation],
    on_completion=[_on_completion],
    task_runner=deployed_task_runner(),
    persist_result=True,
)
def ingest_catalog(job_id: str, label: str | None = None) -> dict[str, Any]:  # noqa: ARG001 - run name
    """Ingest one job's object: every chunk exactly once, aggregate, reconcile, then publish.

    Apply partitions only prepare; `publish` is the one step that publishes, in one
    transaction that also completes the job. Reconcile records a mismatch instead of failing
    (docs/ingest.md).
    """
    configure_flow_observability()
    logger = get_run_logger()
    rt = get_runtime()
    run_id = uuid.UUID(current_flow_run.id) if current_flow_run.id else None
    # A re-run of this flow run (Prefect's Retry button) re-enters its own failed job only
    # while nothing replaced it (docs/runbook.md); anything else is refused with the reason.
    refusal = rerun.refusal(rt.database_url, uuid.UUID(job_id), run_id)
    if refusal is not None:
        raise JobNotRunnableError(refusal, job_id=job_id)
    # The lease comes first: a running job whose lease is free is one nobody runs any more.
    _hold_lease(run_id, uuid.UUID(job_id))
    failpoint("ingest.after_lease")
    job = steps.start_job(rt, uuid.UUID(job_id), run_id)
    _tag_run(run_id, job)
    source = job.source
    planned = _with_retry_policy(plan_task).with_options(task_run_name=f"plan {source}")(job_id)
    logger.info(
        "planned %d chunks (%d adopted from the superseded job)",
        len(planned.chunks),
        planned.adopted_chunks,
    )
    # The header is read here, in the flow, so no persisted task result ever holds it.
    header = steps.read_header(rt, planned.version, planned.data_start)
    # The independent count reads the file beside the chunk tasks (one more runner worker).
    counting = (
        _with_retry_policy(count_task).with_options(task_run_name=f"count {source}").submit(job_id)
    )
    _load_chunks(job_id, planned, header)
    totals = _with_retry_policy(aggregate_task).with_options(task_run_name=f"aggregate {source}")(
        job_id, planned.record_count, len(planned.chunks)
    )
    report = _with_retry_policy(reconcile_task).with_options(task_run_name=f"reconcile {source}")(
        job_id, counting.result()
    )
    count = planned.apply_partitions
    partitions = [
        _with_retry_policy(apply_task)
        .with_options(task_run_name=f"apply-partition {p + 1} of {count}")
        .submit(job_id, p, count, planned.source_version)
        for p in range(count)
    ]
    applied = [f.result() for f in partitions]
    failpoint("ingest.before_finalize")
    published = _with_retry_policy(publish_task).with_options(task_run_name=f"publish {source}")(
        job_id
    )
    if published is None:
        raise JobNotRunnableError("job left the running state before finalize", job_id=job_id)
    failpoint("ingest.after_finalize")
    summary = {
        "job_id": job_id,
        "source": job.source,
        "object_key": job.object_key,
        "chunks": len(planned.chunks),
        "total_processed": totals.total_processed,
        "total_valid": totals.total_valid,
        "total_invalid": totals.total_invalid,
        "items_upserted": published.items_upserted,
        "total_embedding_failures": sum(a.embedding_failures for a in applied),
        "verified_row_count": report.expected,
        "reconcile_delta": report.delta,
        "reconcile_counter": report.counter,
        "reconcile_note": report.note,
    }
    publish_summary_artifact(uuid.UUID(job_id), job.source, job.object_key, summary)
    logger.info(
        "job %s completed: %d rows (%d valid, %d rejected), reconcile delta %s",
        job_id,
        totals.total_processed,
        totals.total_valid,
        totals.total_invalid,
        report.delta,
    )
    return summary


def _tag_run(run_id: uuid.UUID | None, job: EtlJob) -> None:
    """Tag the flow run `source:<name>` and, unless its trigger tagged it, `trigger:<how>`.

    Runs created by the webhook, the console and the CLI carry their `trigger:` tag from
    creation; a run without one was scheduled (`trigger:schedule`) or started from Prefect
    itself — the UI's Run button, `prefect deployment run`, Python (`trigger:prefect`).
    """
    if run_id is None:
        return
    try:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(run_id)
            trigger = "schedule" if run.auto_scheduled else "prefect"
            wanted = merge_tags(run.tags, run_tags(job.source, trigger))
            if wanted != list(run.tags):
                client.update_flow_run(run_id, tags=wanted)
    except Exception:  # noqa: BLE001 - tags help filtering; they never fail an ingest
        get_run_logger().warning("could not tag flow run %s", run_id)


def _load_chunks(job_id: str, planned: steps.PlannedJob, header: bytes) -> list[ChunkResult]:
    """Run one task per chunk, at most CATALOG_CHUNK_CONCURRENCY at a time, with progress.

    The window is kept here, not only by the task runner's size, so the setting also bounds
    deployment runs (whose task runner is fixed when the flow is defined).
    """
    progress: uuid.UUID = create_progress_artifact(  # type: ignore[assignment]
        0.0, key=f"ingest-progress-{job_id}", description="chunks loaded"
    )
    task = _with_retry_policy(chunk_task)
    waiting = list(planned.chunks)
    in_flight: list[Any] = []
    results: list[ChunkResult] = []
    window = get_settings().chunk_concurrency
    while waiting or in_flight:
        while waiting and len(in_flight) < window:
            spec = waiting.pop(0)
            in_flight.append(
                task.with_options(task_run_name=spec.label()).submit(
                    job_id, planned.version, header, spec
                )
            )
        finished = next(as_completed(in_flight))
        in_flight.remove(finished)
        results.append(finished.result())
        update_progress_artifact(progress, 100.0 * len(results) / len(planned.chunks))
    if not planned.chunks:
        update_progress_artifact(progress, 100.0)
    return results


def _with_retry_policy(task: Task[P, R]) -> Task[P, R]:
    """The task with the configured retry count and backoff base (transient errors only)."""
    settings = get_settings()
    return task.with_options(
        retries=settings.task_retries,
        retry_delay_seconds=exponential_backoff(settings.task_retry_delay_s),
    )


def configured_flow() -> Any:
    """The flow with the configured task runner, concurrency and retry policy applied."""
    return ingest_catalog.with_options(task_runner=task_runner(get_settings()))
