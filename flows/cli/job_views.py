"""How `catalog-etl job show` prints one job: fields, chunk ledger, rejections, chain, actions."""

from __future__ import annotations

import uuid
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from catalog_lib.models.operations import OperatorAction
from catalog_lib.ops.reports import JobDetail
from flows.cli.output import make_console, shown


def print_job_detail(detail: JobDetail, doc: dict[str, Any]) -> None:
    """The job's fields, then its ledger, rejections, supersession chain and actions."""
    console = make_console()
    for key in (
        "job_id",
        "status",
        "source",
        "object_key",
        "source_etag",
        "flow_run_id",
        "flow_run_url",
        "created_at",
        "completed_at",
        "total_processed",
        "total_valid",
        "total_invalid",
        "total_embedding_failures",
        "verified_row_count",
        "reconcile_delta",
        "supersedes_job_id",
        "error_kind",
        "error_message",
    ):
        console.print(f"[bold]{key:>24}[/bold]: {escape(shown(doc[key]))}", highlight=False)
    ledger = Table(
        "chunk", "bytes", "records", "status", "attempts", "valid", "invalid", title="chunk ledger"
    )
    for c in detail.ledger:
        ledger.add_row(
            str(c.chunk_index),
            f"{c.byte_start}-{c.byte_end}",
            str(c.record_count),
            str(c.status),
            str(c.attempts),
            str(c.rows_valid),
            str(c.rows_invalid),
        )
    console.print(ledger)
    if detail.invalid_reasons:
        reasons = Table("field", "reason", "rows", title="rejected rows by reason")
        for r in detail.invalid_reasons:
            reasons.add_row(r.field, r.reason, str(r.rows))
        console.print(reasons)
    if len(detail.supersession_chain) > 1:
        _print_chain(console, detail)
    if detail.operator_actions:
        _print_actions(console, detail.operator_actions)


_RELATION = {
    "replaces": "replaced by this job",
    "self": "this job",
    "replaced_by": "replaces this job",
}


def _print_chain(console: Console, detail: JobDetail) -> None:
    """The chain oldest first, and in words: what this job replaces, what replaced it."""
    console.print(f"[bold]{'replaces':>24}[/bold]: {_ids(detail.replaces)}")
    console.print(f"[bold]{'replaced by':>24}[/bold]: {_ids(detail.replaced_by)}")
    chain = Table("job", "relation", "mode", "status", "created", title="supersession chain")
    for c in detail.supersession_chain:
        chain.add_row(
            str(c.id),
            _RELATION.get(c.relation, ""),
            str(c.mode),
            str(c.status),
            str(c.created_at),
        )
    console.print(chain)


def _ids(ids: list[uuid.UUID]) -> str:
    return ", ".join(str(i) for i in ids) if ids else "-"


def _print_actions(console: Console, rows: list[OperatorAction]) -> None:
    table = Table(
        "when", "actor", "action", "outcome", "code", "result job", title="operator actions"
    )
    for a in rows:
        table.add_row(
            a.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            a.actor,
            a.action,
            str(a.outcome),
            a.code or "",
            str(a.result_job_id or ""),
        )
    console.print(table)
