"""The retention sweep: old rejected rows and stale staged rows, bounded batches, a run record.

Two kinds of old job data go: `invalid_item_logs` rows older than the cutoff, and the staged
rows (`etl_staged_items`) still held by failed or cancelled jobs that ended before it (a job
that completes drops its own staged rows when it publishes).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import psycopg

from catalog_lib.adapters.postgres import connect, load_query
from catalog_lib.core.errors import DatabaseQueryError, InvalidArgumentError
from catalog_lib.ops.maintenance_runs import recorded_run

log = logging.getLogger(__name__)

RETENTION_KIND = "retention"


@dataclass(frozen=True)
class RetentionPolicy:
    """How old a rejected row may get, and how much one run may delete."""

    retention_days: int = 90
    batch_size: int = 10_000
    max_batches: int = 100

    def __post_init__(self) -> None:
        if self.retention_days < 1 or self.batch_size < 1 or self.max_batches < 1:
            raise InvalidArgumentError(
                "retention_days, batch_size and max_batches must be positive"
            )


@dataclass(frozen=True)
class RetentionResult:
    """What one sweep did (or, in a dry run, would do).

    `deleted`, `batches` and `capped` are about rejected rows: `capped` is true exactly when
    rows older than the cutoff remain after the last batch. `staged_deleted` counts the staged
    rows of failed or cancelled jobs that ended before the cutoff (the same batch size and cap
    apply); `staged_capped` says some of those remain.
    """

    deleted: int
    batches: int
    capped: bool
    retention_days: int
    dry_run: bool
    cutoff: datetime
    run_id: int | None = None
    staged_deleted: int = 0
    staged_capped: bool = False

    def to_json(self) -> dict[str, Any]:
        """The result object stored in `maintenance_runs.result` and printed by the CLI."""
        document = asdict(self)
        document["cutoff"] = self.cutoff.isoformat()
        return document


def sweep_invalid_logs(
    database_url: str, policy: RetentionPolicy, *, dry_run: bool = False
) -> RetentionResult:
    """Delete rejected rows older than the cutoff in bounded batches and record the run.

    Each batch is its own short transaction. The run is stored in `maintenance_runs`
    (running → succeeded/failed, parameters, result, duration).
    """
    parameters = {**asdict(policy), "dry_run": dry_run}
    with (
        connect(database_url, autocommit=True) as conn,
        recorded_run(conn, RETENTION_KIND, parameters, failure_event="retention.failed") as run,
    ):
        cutoff = _cutoff(conn, policy.retention_days)
        sweep = _dry_run if dry_run else _sweep
        result = RetentionResult(**{**asdict(sweep(conn, policy, cutoff)), "run_id": run.id})
        run.result = result.to_json()
    _log_result(result)
    return result


def _cutoff(conn: psycopg.Connection[Any], days: int) -> datetime:
    # The database clock decides, once per run, so every batch uses the same cutoff.
    row = conn.execute(load_query("retention_cutoff"), {"days": days}).fetchone()
    if row is None:
        raise DatabaseQueryError("the retention cutoff query returned no row")
    cutoff: datetime = row["cutoff"]
    return cutoff


def _sweep(
    conn: psycopg.Connection[Any], policy: RetentionPolicy, cutoff: datetime
) -> RetentionResult:
    deleted, batches = _delete_in_batches(
        conn, load_query("retention_delete_batch"), policy, cutoff
    )
    remaining = conn.execute(load_query("retention_has_expired"), {"cutoff": cutoff}).fetchone()
    staged, _ = _delete_in_batches(
        conn, load_query("retention_delete_stale_staging"), policy, cutoff
    )
    return RetentionResult(
        deleted=deleted,
        batches=batches,
        capped=bool(remaining and remaining["remaining"]),
        retention_days=policy.retention_days,
        dry_run=False,
        cutoff=cutoff,
        staged_deleted=staged,
        staged_capped=_stale_staged_rows(conn, cutoff) > 0,
    )


def _delete_in_batches(
    conn: psycopg.Connection[Any], statement: str, policy: RetentionPolicy, cutoff: datetime
) -> tuple[int, int]:
    """Run a bounded-batch delete until a batch comes back short or the cap is reached."""
    deleted = batches = 0
    for _ in range(policy.max_batches):
        with conn.transaction():
            cursor = conn.execute(statement, {"cutoff": cutoff, "batch_size": policy.batch_size})
        batches += 1
        deleted += cursor.rowcount
        if cursor.rowcount < policy.batch_size:
            break
    return deleted, batches


def _stale_staged_rows(conn: psycopg.Connection[Any], cutoff: datetime) -> int:
    row = conn.execute(load_query("retention_count_stale_staging"), {"cutoff": cutoff}).fetchone()
    return int(row["n"]) if row else 0


def _dry_run(
    conn: psycopg.Connection[Any], policy: RetentionPolicy, cutoff: datetime
) -> RetentionResult:
    row = conn.execute(load_query("retention_count_expired"), {"cutoff": cutoff}).fetchone()
    expired = int(row["n"]) if row else 0
    limit = policy.batch_size * policy.max_batches
    would_delete = min(expired, limit)
    # A real run stops after the first short batch; a full last batch is followed by one
    # more (empty) batch only while the cap allows it.
    batches = min(policy.max_batches, would_delete // policy.batch_size + 1)
    staged = _stale_staged_rows(conn, cutoff)
    return RetentionResult(
        deleted=would_delete,
        batches=batches,
        capped=expired > limit,
        retention_days=policy.retention_days,
        dry_run=True,
        cutoff=cutoff,
        staged_deleted=min(staged, limit),
        staged_capped=staged > limit,
    )


def _log_result(result: RetentionResult) -> None:
    fields = {
        "run_id": result.run_id,
        "deleted": result.deleted,
        "batches": result.batches,
        "capped": result.capped,
        "retention_days": result.retention_days,
        "dry_run": result.dry_run,
        "staged_deleted": result.staged_deleted,
    }
    log.info("retention sweep finished", extra={"event": "retention.completed", **fields})
    if result.capped:
        log.warning(
            "rows older than the cutoff remain; the next run continues",
            extra={"event": "retention.capped", **fields},
        )
