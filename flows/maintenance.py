"""Scheduled maintenance flows: `retention-sweep` (daily 09:00 UTC) and `catalog-audit`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run as current_flow_run

from catalog_lib.adapters.home import prune_old_files
from catalog_lib.core.settings import get_settings
from catalog_lib.ops.audit import run_audit, thresholds_from_settings
from catalog_lib.ops.retention import RetentionPolicy, sweep_invalid_logs
from flows.artifacts import minute
from flows.run_logs import configure_flow_observability
from flows.runtime import get_runtime


@task(
    name="sweep-invalid-logs",
    task_run_name="sweep rejected rows older than {policy.retention_days} days",
)
def sweep_task(policy: RetentionPolicy, dry_run: bool) -> dict[str, Any]:
    """Delete (or count) rejected rows older than the cutoff, in bounded batches."""
    return sweep_invalid_logs(get_runtime().database_url, policy, dry_run=dry_run).to_json()


@task(name="prune-task-results", task_run_name="prune task results", persist_result=False)
def prune_results_task(dry_run: bool) -> int:
    """Delete persisted task results older than the chunk cache expiration (7 days)."""
    from prefect.settings import get_current_settings

    from flows.ingest import CACHE_EXPIRATION

    if dry_run:
        return 0
    folder = get_current_settings().results.local_storage_path
    return prune_old_files(Path(folder), older_than=CACHE_EXPIRATION)


def _audit_target(source: str | None) -> str:
    return source or "all sources"


def _retention_run_name() -> str:
    dry = " (dry run)" if current_flow_run.parameters.get("dry_run") else ""
    return f"retention {minute(current_flow_run.scheduled_start_time)}{dry}"


def _audit_run_name() -> str:
    target = _audit_target(current_flow_run.parameters.get("source"))
    return f"audit {target} {minute(current_flow_run.scheduled_start_time)}"


@task(name="audit-catalog")
def audit_task(source: str | None) -> dict[str, Any]:
    """Audit every source (or one) and store snapshots and flags."""
    thresholds = thresholds_from_settings(get_settings())
    return run_audit(get_runtime().database_url, thresholds, source=source).to_json()


@flow(name="retention-sweep", flow_run_name=_retention_run_name)
def retention_sweep(
    retention_days: int | None = None,
    batch_size: int | None = None,
    max_batches: int | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Prune `invalid_item_logs` older than the retention period (settings when unset).

    Also deletes persisted Prefect task results past the chunk cache expiration.
    """
    configure_flow_observability()
    settings = get_settings()
    policy = RetentionPolicy(
        retention_days=retention_days or settings.retention_days,
        batch_size=batch_size or settings.retention_batch_size,
        max_batches=max_batches or settings.retention_max_batches,
    )
    result = sweep_task(policy, dry_run)
    result["result_files_deleted"] = prune_results_task(dry_run)
    get_run_logger().info(
        "retention sweep: %s",
        ", ".join(f"{k}={v}" for k, v in result.items()),
    )
    create_table_artifact(
        [{k: v for k, v in result.items() if k != "cutoff"}],
        key="retention-sweep",
        description=f"Rejected rows older than {result['cutoff']}",
    )
    return result


@flow(name="catalog-audit", flow_run_name=_audit_run_name)
def catalog_audit(source: str | None = None) -> dict[str, Any]:
    """Audit catalog quality per source; flags are stored with their history."""
    configure_flow_observability()
    report = audit_task.with_options(task_run_name=f"audit {_audit_target(source)}")(source)
    create_table_artifact(
        [
            {"source": s["source"], "total_items": s["total_items"], "flags": ", ".join(s["flags"])}
            for s in report["sources"]
        ],
        key="catalog-audit",
        description="Catalog audit flags per source",
    )
    return report
