"""The maintenance page's reads: retention and audit runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from catalog_lib.adapters.postgres import load_query


# --- Maintenance ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MaintenanceRunRow:
    """One retention or audit run: when, how long, how it ended and what it did."""

    run_id: int
    kind: str
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    status: str
    parameters: dict[str, Any]
    result: dict[str, Any] | None
    error_message: str | None

    @property
    def capped(self) -> bool:
        """Whether a retention run stopped at its batch limit with old rows left."""
        return bool(self.result and self.result.get("capped"))

    @property
    def summary(self) -> str:
        """What the run did, in a few words."""
        if self.status == "failed":
            return f"failed: {self.error_message or 'no message'}"
        if self.result is None:
            return "running" if self.status == "running" else "no result recorded"
        r = self.result
        if self.kind == "retention":
            text = f"deleted {r.get('deleted', 0):,} rows in {r.get('batches', 0)} batches"
            if r.get("dry_run"):
                text = f"dry run: would delete {r.get('deleted', 0):,} rows"
            return text + (" — capped, old rows remain" if r.get("capped") else "")
        if self.kind == "audit":
            return (
                f"{r.get('sources', 0)} sources, {r.get('flags', 0)} flags "
                f"({r.get('open_flags', 0)} open)"
            )
        return ", ".join(f"{k}={v}" for k, v in sorted(r.items()))


def maintenance_runs(
    conn: psycopg.Connection[Any], *, kind: str | None = None, limit: int = 60
) -> list[MaintenanceRunRow]:
    """Maintenance runs (or one kind), newest first."""
    rows = conn.execute(
        load_query("console_maintenance_runs"), {"kind": kind, "limit": limit}
    ).fetchall()
    return [
        MaintenanceRunRow(
            run_id=int(r["id"]),
            kind=r["kind"],
            started_at=r["started_at"],
            finished_at=r["finished_at"],
            duration_ms=r["duration_ms"],
            status=r["status"],
            parameters=r["parameters"] or {},
            result=r["result"],
            error_message=r["error_message"],
        )
        for r in rows
    ]
