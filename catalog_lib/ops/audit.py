"""The audit's database side: measure sources, store snapshots and flags, ack/mute flags.

Every run stores one `audit_snapshots` row per source and its `audit_flags`; a flag raised
again keeps its `first_seen_at` and acknowledgement. Acknowledging or muting a flag writes an
`operator_actions` row (`audit.ack` / `audit.mute`) in the same transaction.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from catalog_lib.adapters.postgres import connect, load_query, required_row
from catalog_lib.core.errors import FlagNotFoundError, InvalidArgumentError
from catalog_lib.core.settings import Settings
from catalog_lib.models.audit import AuditFlag, FlagState
from catalog_lib.models.operations import ActionOutcome
from catalog_lib.ops.documents import flag_document
from catalog_lib.ops.maintenance_runs import recorded_run
from catalog_lib.rules.audit_flags import NULL_FIELDS, AuditThresholds, SourceStats, evaluate_flags

log = logging.getLogger(__name__)

AUDIT_KIND = "audit"
ACK_ACTION = "audit.ack"
MUTE_ACTION = "audit.mute"


@dataclass(frozen=True)
class AuditReport:
    """One audit run: when, with which thresholds, and the report of every source."""

    generated_at: datetime
    thresholds: dict[str, Any]
    sources: list[dict[str, Any]]
    run_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON document (the CLI's and the flow's result)."""
        return {
            "generated_at": self.generated_at.isoformat(),
            "run_id": self.run_id,
            "thresholds": self.thresholds,
            "sources": [{**s, "median_price": _float(s["median_price"])} for s in self.sources],
        }


def list_source_stats(
    conn: psycopg.Connection[Any], thresholds: AuditThresholds, *, source: str | None = None
) -> list[SourceStats]:
    """Measure every source (or one) with `sql/queries/audit_source_stats.sql`."""
    rows = conn.execute(
        load_query("audit_source_stats"),
        {
            "source": source,
            "decimal_bug_price": thresholds.decimal_bug_price_threshold,
            "weight_min_grams": thresholds.weight_too_light_grams,
            "weight_max_grams": thresholds.weight_too_heavy_grams,
        },
    ).fetchall()
    return [_stats_from_row(r) for r in rows]


def _stats_from_row(row: dict[str, Any]) -> SourceStats:
    def opt_int(key: str) -> int | None:
        return None if row[key] is None else int(row[key])

    return SourceStats(
        source=row["source"],
        total_items=int(row["total_items"]),
        median_price=row["median_price"],
        min_price=row["min_price"],
        max_price=row["max_price"],
        null_counts={f: int(row[f"null_{f}"]) for f in NULL_FIELDS},
        decimal_bug_count=int(row["decimal_bug_count"]),
        bad_weight_count=int(row["bad_weight_count"]),
        empty_name_count=int(row["empty_name_count"]),
        last_job_id=str(row["last_job_id"]) if row["last_job_id"] else None,
        days_stale=opt_int("days_stale"),
        last_valid=opt_int("last_valid"),
        last_processed=opt_int("last_processed"),
        last_invalid=opt_int("last_invalid"),
        last_reconcile_delta=opt_int("last_reconcile_delta"),
        last_unverified=bool(row["last_unverified"]),
        previous_job_id=str(row["previous_job_id"]) if row["previous_job_id"] else None,
        previous_valid=opt_int("previous_valid"),
        previous_processed=opt_int("previous_processed"),
        previous_invalid=opt_int("previous_invalid"),
        last_completed_at=row["last_completed_at"],
    )


def run_audit(
    database_url: str, thresholds: AuditThresholds, *, source: str | None = None
) -> AuditReport:
    """Audit every source (or one), store a snapshot and flags per source, record the run."""
    with (
        connect(database_url) as conn,
        recorded_run(conn, AUDIT_KIND, {"source": source}, failure_event="audit.failed") as run,
    ):
        report = _audit(conn, thresholds, source)
        summary = {
            "sources": len(report.sources),
            "flags": sum(len(s["flags"]) for s in report.sources),
            "open_flags": sum(
                1 for s in report.sources for f in s["flag_details"] if f["state"] == FlagState.OPEN
            ),
        }
        run.result = summary
    run_id = run.id
    log.info(
        "catalog audit finished", extra={"event": "audit.completed", "run_id": run_id, **summary}
    )
    return AuditReport(report.generated_at, report.thresholds, report.sources, run_id)


def _audit(
    conn: psycopg.Connection[Any], thresholds: AuditThresholds, source: str | None
) -> AuditReport:
    generated_at = datetime.now(UTC)
    sources = []
    with conn.transaction():
        for stats in list_source_stats(conn, thresholds, source=source):
            sources.append(_store_source(conn, stats, thresholds, generated_at))
    return AuditReport(generated_at, thresholds.to_json(), sources)


def _store_source(
    conn: psycopg.Connection[Any],
    stats: SourceStats,
    thresholds: AuditThresholds,
    generated_at: datetime,
) -> dict[str, Any]:
    flags = evaluate_flags(stats, thresholds)
    report = {
        "source": stats.source,
        "total_items": stats.total_items,
        "last_job_id": stats.last_job_id,
        "last_completed_at": _iso(stats.last_completed_at),
        "days_stale": stats.days_stale,
        "median_price": stats.median_price,
        "min_price": _num(stats.min_price),
        "max_price": _num(stats.max_price),
        "null_rates": stats.null_rates(),
        "suspicious_decimal_count": stats.decimal_bug_count,
        "suspicious_weight_count": stats.bad_weight_count,
        "empty_name_count": stats.empty_name_count,
        "baseline": {
            "previous_job_id": stats.previous_job_id,
            "last_valid": stats.last_valid,
            "previous_valid": stats.previous_valid,
            "last_invalid": stats.last_invalid,
            "last_processed": stats.last_processed,
            "previous_invalid": stats.previous_invalid,
            "previous_processed": stats.previous_processed,
            "last_reconcile_delta": stats.last_reconcile_delta,
            "last_unverified": stats.last_unverified,
        },
    }
    snapshot = conn.execute(
        load_query("audit_insert_snapshot"),
        {
            "generated_at": generated_at,
            "source": stats.source,
            "total_items": stats.total_items,
            "median_price": stats.median_price,
            "min_price": stats.min_price,
            "max_price": stats.max_price,
            "null_rates": json.dumps(report["null_rates"]),
            "last_job_id": stats.last_job_id,
            "last_completed_at": stats.last_completed_at,
            "days_stale": stats.days_stale,
            "thresholds": json.dumps(thresholds.to_json()),
            "report": json.dumps({**report, "flags": [f.label for f in flags]}),
        },
    ).fetchone()
    snapshot = required_row(snapshot, "audit_insert_snapshot")
    stored = [
        conn.execute(
            load_query("audit_insert_flag"),
            {
                "snapshot_id": snapshot["id"],
                "source": stats.source,
                "code": str(flag.code),
                "field": flag.field,
                "label": flag.label,
                "value": flag.value,
                "generated_at": generated_at,
            },
        ).fetchone()
        for flag in flags
    ]
    return {
        **report,
        "snapshot_id": snapshot["id"],
        "flags": [f.label for f in flags],
        "flag_details": [
            flag_document(AuditFlag.model_validate(row)) for row in stored if row is not None
        ],
    }


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True)
class FlagStateChange:
    """The flag after an ack or mute, and the operator action that recorded it."""

    flag: AuditFlag
    action_id: int
    action: str


def set_flag_state(
    database_url: str,
    flag_id: int,
    *,
    reason: str,
    actor: str,
    mute_days: int | None = None,
) -> FlagStateChange:
    """Acknowledge a flag (or mute it for `mute_days`) and record the operator action.

    The state change and its `operator_actions` row commit together. An unknown flag is
    refused and the refusal is recorded too.
    """
    if not reason.strip():
        raise InvalidArgumentError("a reason is required")
    if mute_days is not None and mute_days < 1:
        raise InvalidArgumentError("mute_days must be at least 1")
    action = ACK_ACTION if mute_days is None else MUTE_ACTION
    muted_until = datetime.now(UTC) + timedelta(days=mute_days) if mute_days else None
    parameters = {"mute_days": mute_days} if mute_days else {}
    with connect(database_url) as conn, conn.transaction():
        row = conn.execute(
            load_query("audit_set_flag_state"),
            {
                "flag_id": flag_id,
                "state": str(FlagState.MUTED if mute_days else FlagState.ACKNOWLEDGED),
                "reason": reason,
                "actor": actor,
                "muted_until": muted_until,
            },
        ).fetchone()
        action_row = _record_action(
            conn,
            actor=actor,
            action=action,
            flag_id=flag_id,
            reason=reason,
            parameters=parameters,
            outcome=ActionOutcome.SUCCEEDED if row else ActionOutcome.REFUSED,
            code=None if row else "FLAG_NOT_FOUND",
        )
    if row is None:
        raise FlagNotFoundError("no audit flag with this id", flag_id=flag_id)
    log.info(
        "audit flag state changed",
        extra={"event": action, "flag_id": flag_id, "action_id": action_row, "actor": actor},
    )
    return FlagStateChange(flag=AuditFlag.model_validate(row), action_id=action_row, action=action)


def _record_action(
    conn: psycopg.Connection[Any],
    *,
    actor: str,
    action: str,
    flag_id: int,
    reason: str,
    parameters: dict[str, Any],
    outcome: ActionOutcome,
    code: str | None,
) -> int:
    # target_flag_id has no foreign key: a refused action may name a flag that does not exist.
    row = conn.execute(
        load_query("insert_audit_operator_action"),
        {
            "actor": actor,
            "action": action,
            "target_job_id": None,
            "target_flag_id": flag_id,
            "reason": reason,
            "parameters": json.dumps(parameters),
            "outcome": str(outcome),
            "code": code,
            "message": None,
        },
    ).fetchone()
    return int(required_row(row, "insert_audit_operator_action")["id"])


def thresholds_from_settings(settings: Settings) -> AuditThresholds:
    """The audit thresholds configured in `settings`."""
    return AuditThresholds(
        decimal_bug_price_threshold=settings.audit_decimal_bug_price,
        low_median_price_threshold=settings.audit_low_median_price,
        min_fill_rate=Decimal(str(settings.audit_min_fill_rate)),
        stale_days_threshold=settings.audit_stale_days,
        row_drop_pct=Decimal(str(settings.audit_row_drop_pct)),
        invalid_spike_points=Decimal(str(settings.audit_invalid_spike_points)),
        low_price_allowlist=frozenset(settings.audit_low_price_allowlist),
    )
