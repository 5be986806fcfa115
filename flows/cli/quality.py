"""`catalog-etl retention | audit [ack | mute | history]`: maintenance from the command line.

These commands only touch the database: they call catalog_lib directly and never import
prefect (the `retention-sweep` and `catalog-audit` flows are for the scheduled deployments).
"""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer
from rich.table import Table

from catalog_lib.adapters.postgres import connect, get_schema_status, resolve_database
from catalog_lib.core.errors import ConfigurationError, FlagNotFoundError
from catalog_lib.core.settings import Settings
from catalog_lib.ops.audit import (
    run_audit,
    set_flag_state,
    thresholds_from_settings,
)
from catalog_lib.ops.documents import flag_history_document, flag_state_document
from catalog_lib.ops.reports import FlagSighting, list_flag_history
from catalog_lib.ops.retention import RetentionPolicy, sweep_invalid_logs
from flows.cli.output import (
    JSON_OPTION,
    ExitCode,
    emit,
    fail,
    handle_errors,
    load_settings,
    make_console,
    plural,
)
from flows.cli.startup import announce_database

audit_app = typer.Typer(
    help="Catalog data-quality audit per source; `ack`/`mute` flags with a reason.",
    invoke_without_command=True,
)

FlagIdArgument = Annotated[int, typer.Argument(help="The flag's id (see `audit --json`).")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (required, recorded).")]
ActorOption = Annotated[
    str | None, typer.Option("--actor", help="Who acts, for the audit trail (default: OS user).")
]


def _database_url(settings: Settings) -> str:
    url = settings.database_url.get_secret_value() if settings.database_url else None
    announce_database(settings)
    target = resolve_database(url, settings.state_dir, settings.pg_bin_dir)
    schema = get_schema_status(target.url)
    if not schema.is_current:
        raise ConfigurationError(
            f"the database schema is at {schema.revision or 'nothing'}, not {schema.head}; "
            "run `catalog-etl db upgrade`"
        )
    return target.url


def _actor(actor: str | None) -> str:
    if actor and actor.strip():
        return actor.strip()
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def retention(
    days: Annotated[
        int | None, typer.Option("--days", min=1, help="Retention in days (default 90).")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", min=1, help="Rows per batch (default 10000).")
    ] = None,
    max_batches: Annotated[
        int | None, typer.Option("--max-batches", min=1, help="Batch cap per run (default 100).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be deleted.")
    ] = False,
    as_json: bool = JSON_OPTION,
) -> None:
    """Delete rejected rows (invalid_item_logs) older than the retention period."""
    settings = load_settings(as_json)
    policy = RetentionPolicy(
        retention_days=days or settings.retention_days,
        batch_size=batch_size or settings.retention_batch_size,
        max_batches=max_batches or settings.retention_max_batches,
    )
    with handle_errors(as_json):
        result = sweep_invalid_logs(_database_url(settings), policy, dry_run=dry_run)
    document = result.to_json()
    verb = "would delete" if dry_run else "deleted"
    emit(
        document,
        as_json=as_json,
        text=lambda: typer.echo(
            f"{verb} {plural(result.deleted, 'rejected row')} older than "
            f"{plural(result.retention_days, 'day')} in "
            f"{plural(result.batches, 'batch', 'batches')}"
            + ("; capped: older rows remain for the next run" if result.capped else "")
            + (
                f"; {verb} {plural(result.staged_deleted, 'stale staged row')} of failed jobs"
                if result.staged_deleted
                else ""
            )
        ),
    )


@audit_app.callback()
def audit(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Audit catalog quality per source, store the snapshot and print its flags."""
    if ctx.invoked_subcommand is not None:
        return
    settings = load_settings(as_json)
    with handle_errors(as_json):
        report = run_audit(
            _database_url(settings), thresholds_from_settings(settings), source=source
        ).to_json()
    emit(report, as_json=as_json, text=lambda: _print_audit(report))


def _print_audit(report: dict[str, Any]) -> None:
    table = Table("source", "items", "median", "last job", "stale", "flags (id: label [state])")
    for s in report["sources"]:
        flags = "\n".join(
            f"{f['id']}: {f['label']}" + ("" if f["state"] == "open" else f" [{f['state']}]")
            for f in s["flag_details"]
        )
        median = "" if s["median_price"] is None else f"{s['median_price']:.2f}"
        table.add_row(
            s["source"],
            str(s["total_items"]),
            median,
            str(s["last_job_id"] or ""),
            "" if s["days_stale"] is None else f"{s['days_stale']}d",
            flags,
        )
    make_console().print(table)


def _change_state(
    flag_id: int, *, reason: str, actor: str | None, mute_days: int | None, as_json: bool
) -> None:
    settings = load_settings(as_json)
    if not reason.strip():
        fail("--reason must not be empty", code=ExitCode.REFUSED, as_json=as_json, kind="usage")
    with handle_errors(as_json):
        try:
            change = set_flag_state(
                _database_url(settings),
                flag_id,
                reason=reason,
                actor=_actor(actor),
                mute_days=mute_days,
            )
        except FlagNotFoundError as exc:
            fail(str(exc), code=ExitCode.REFUSED, as_json=as_json, kind="not_found")
    document = {
        **flag_state_document(change.flag),
        "action": change.action,
        "action_id": change.action_id,
    }
    emit(
        document,
        as_json=as_json,
        text=lambda: typer.echo(
            f"flag {flag_id} ({document['label']}) {document['state']}"
            + (f" until {document['muted_until']}" if document["muted_until"] else "")
        ),
    )


@audit_app.command("ack")
def audit_ack(
    flag_id: FlagIdArgument,
    reason: ReasonOption,
    actor: ActorOption = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Acknowledge a flag: it stays acknowledged while later audits keep raising it."""
    _change_state(flag_id, reason=reason, actor=actor, mute_days=None, as_json=as_json)


@audit_app.command("mute")
def audit_mute(
    flag_id: FlagIdArgument,
    reason: ReasonOption,
    days: Annotated[int, typer.Option("--days", min=1, help="Mute for this many days.")] = 7,
    actor: ActorOption = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Mute a flag for some days; it opens again when the mute expires."""
    _change_state(flag_id, reason=reason, actor=actor, mute_days=days, as_json=as_json)


@audit_app.command("history")
def audit_history(
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 200,
    as_json: bool = JSON_OPTION,
) -> None:
    """Flags over time, newest audit first, with when each was first seen."""
    settings = load_settings(as_json)
    with handle_errors(as_json), connect(_database_url(settings)) as conn:
        rows = list_flag_history(conn, source=source, limit=limit)
    emit(flag_history_document(rows), as_json=as_json, text=lambda: _print_history(rows))


def _print_history(rows: list[FlagSighting]) -> None:
    table = Table("audit", "id", "source", "flag", "first seen", "state")
    for r in rows:
        table.add_row(
            r.generated_at.isoformat()[:19],
            str(r.flag.id),
            r.flag.source,
            r.flag.label,
            r.flag.first_seen_at.isoformat()[:19],
            str(r.flag.state),
        )
    make_console().print(table)
