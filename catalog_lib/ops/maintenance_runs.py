"""The `maintenance_runs` record of scheduled work (retention sweeps, audits)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from catalog_lib.adapters.postgres import load_query, required_row
from catalog_lib.core.logs import describe_error

log = logging.getLogger(__name__)


@dataclass
class MaintenanceRun:
    """A run being recorded; the caller sets `result` before the block ends."""

    id: int
    result: dict[str, Any] | None = None


@contextmanager
def recorded_run(
    conn: psycopg.Connection[Any], kind: str, parameters: dict[str, Any], *, failure_event: str
) -> Iterator[MaintenanceRun]:
    """Record a run: `running` at once, then `succeeded` with its result or `failed`."""
    started = time.monotonic()
    row = required_row(
        conn.execute(
            load_query("maintenance_run_start"),
            {"kind": kind, "parameters": json.dumps(parameters)},
        ).fetchone(),
        "maintenance_run_start",
    )
    conn.commit()
    run = MaintenanceRun(int(row["id"]))
    try:
        yield run
    except Exception as exc:
        error = describe_error(exc)
        _finish(conn, run, status="failed", started=started, error_message=error["error_message"])
        log.error(
            "maintenance run failed",
            extra={"event": failure_event, "run_id": run.id, "kind": kind, **error},
        )
        raise
    _finish(conn, run, status="succeeded", started=started)


def _finish(
    conn: psycopg.Connection[Any],
    run: MaintenanceRun,
    *,
    status: str,
    started: float,
    error_message: str | None = None,
) -> None:
    conn.rollback()
    conn.execute(
        load_query("maintenance_run_finish"),
        {
            "id": run.id,
            "status": status,
            "duration_ms": round((time.monotonic() - started) * 1000),
            "result": json.dumps(run.result) if run.result is not None else None,
            "error_message": error_message,
        },
    )
    conn.commit()
