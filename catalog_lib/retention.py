"""The retention sweep of `invalid_item_logs`: bounded batches, an honest `capped`, a run record."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import psycopg

from catalog_lib.db import connect, load_query
from catalog_lib.logs import describe_error

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
            raise ValueError("retention_days, batch_size and max_batches must be positive")


@dataclass(frozen=True)
class RetentionResult:
    """What one sweep did (or, in a dry run, would do).

    `capped` is true exactly when rows older than the cutoff remain after the last batch.
    """

    deleted: int
    batches: int
    capped: bool
    retention_days: int
    dry_run: bool
    cutoff: datetime
    run_id: int | None = None

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
    started = time.monotonic()
    parameters = {**asdict(policy), "dry_run": dry_run}
    with connect(database_url, autocommit=True) as conn:
        run_id = start_maintenance_run(conn, RETENTION_KIND, parameters)
        try:
            cutoff = _cutoff(conn, policy.retention_days)
            sweep = _dry_run if dry_run else _sweep
            result = sweep(conn, policy, cutoff)
        except Exception as exc:
            finish_maintenance_run(
                conn,
                run_id,
                status="failed",
                started=started,
                error_message=describe_error(exc)["error_message"],
            )
            log.error(
                "retention sweep failed",
                extra={"event": "retention.failed", "run_id": run_id, **describe_error(exc)},
            )
            raise
        result = RetentionResult(**{**asdict(result), "run_id": run_id})
        finish_maintenance_run(
            conn, run_id, status="succeeded", started=started, result=result.to_json()
        )
    _log_result(result)
    return result


def _cutoff(conn: psycopg.Connection[Any], days: int) -> datetime:
    # The database clock decides, once per run, so every batch uses the same cutoff.
    row = conn.execute("SELECT now() - make_interval(days => %s) AS cutoff", (days,)).fetchone()
    assert row is not None
    cutoff: datetime = row["cutoff"]
    return cutoff


def _sweep(
    conn: psycopg.Connection[Any], policy: RetentionPolicy, cutoff: datetime
) -> RetentionResult:
    deleted = batches = 0
    for _ in range(policy.max_batches):
        with conn.transaction():
            cursor = conn.execute(
                load_query("retention_delete_batch"),
                {"cutoff": cutoff, "batch_size": policy.batch_size},
            )
        batches += 1
        deleted += cursor.rowcount
        if cursor.rowcount < policy.batch_size:
            break
    remaining = conn.execute(load_query("retention_has_expired"), {"cutoff": cutoff}).fetchone()
    return RetentionResult(
        deleted=deleted,
        batches=batches,
        capped=bool(remaining and remaining["remaining"]),
        retention_days=policy.retention_days,
        dry_run=False,
        cutoff=cutoff,
    )


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
    return RetentionResult(
        deleted=would_delete,
        batches=batches,
        capped=expired > limit,
        retention_days=policy.retention_days,
        dry_run=True,
        cutoff=cutoff,
    )


def _log_result(result: RetentionResult) -> None:
    fields = {
        "run_id": result.run_id,
        "deleted": result.deleted,
        "batches": result.batches,
        "capped": result.capped,
        "retention_days": result.retention_days,
        "dry_run": result.dry_run,
    }
    log.info("retention sweep finished", extra={"event": "retention.completed", **fields})
    if result.capped:
        log.warning(
            "rows older than the cutoff remain; the next run continues",
            extra={"event": "retention.capped", **fields},
        )


def start_maintenance_run(
    conn: psycopg.Connection[Any], kind: str, parameters: dict[str, Any]
) -> int:
    """Insert a `running` maintenance run and return its id (committed at once)."""
    row = conn.execute(
        load_query("maintenance_run_start"),
        {"kind": kind, "parameters": json.dumps(parameters)},
    ).fetchone()
    conn.commit()
    assert row is not None
    return int(row["id"])


def finish_maintenance_run(
    conn: psycopg.Connection[Any],
    run_id: int,
    *,
    status: str,
    started: float,
    result: dict[str, Any] | None = None,
    error_message: str | None = None,
) -> None:
    """Close a maintenance run as succeeded or failed with its result and duration."""
    conn.rollback()
    conn.execute(
        load_query("maintenance_run_finish"),
        {
            "id": run_id,
            "status": status,
            "duration_ms": round((time.monotonic() - started) * 1000),
            "result": json.dumps(result) if result is not None else None,
            "error_message": error_message,
        },
    )
    conn.commit()
