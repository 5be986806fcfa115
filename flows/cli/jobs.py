"""`catalog-etl ingest | jobs | job show`: trigger ingests, run the flow, inspect jobs."""

from __future__ import annotations

import os
import sys
import uuid
from typing import Annotated, Any

import typer
from rich.table import Table

from catalog_lib.adapters.postgres import connect, get_schema_status, resolve_database
from catalog_lib.core.errors import CatalogError, ConfigurationError, JobNotFoundError
from catalog_lib.core.settings import get_settings
from catalog_lib.core.sizes import parse_size
from catalog_lib.ingest import steps
from catalog_lib.models.jobs import EtlJob, JobStatus
from catalog_lib.ops.documents import job_detail_document, job_list_document
from catalog_lib.ops.reports import (
    RejectedRow,
    get_job_detail,
    job_replacements,
    list_jobs,
    list_rejected_rows,
)
from catalog_lib.rules.intake import validate_source
from flows.cli.job_views import print_job_detail
from flows.cli.output import (
    JSON_OPTION,
    ExitCode,
    emit,
    fail,
    handle_errors,
    load_settings,
    make_console,
    plural,
    shown,
)
from flows.cli.progress import chunk_progress
from flows.cli.refs import JobRefArgument, flow_run_link, resolve_job
from flows.cli.startup import announce, announce_database, start_prefect
from flows.runtime import get_runtime, secret_value

job_app = typer.Typer(help="Inspect one job.", no_args_is_help=True)


def _require_current_schema(url: str) -> str:
    schema = get_schema_status(url)
    if not schema.is_current:
        raise ConfigurationError(
            f"the database schema is at {schema.revision or 'nothing'}, not {schema.head}; "
            "run `catalog-etl db upgrade`"
        )
    return url


def database_ready() -> str:
    """The database URL for read-only commands (no storage or embedding provider is built)."""
    settings = get_settings()
    announce_database(settings)
    target = resolve_database(
        secret_value(settings.database_url), settings.state_dir, settings.pg_bin_dir
    )
    return _require_current_schema(target.url)


def runtime_ready() -> steps.Runtime:
    """The full runtime, refusing to work on a database whose schema is not current."""
    announce_database(get_settings())
    rt = get_runtime()
    _require_current_schema(rt.database_url)
    return rt


def ingest(
    source: Annotated[str, typer.Argument(help="Scraper/brand slug, e.g. `trailco`.")],
    uris: Annotated[
        list[str],
        typer.Argument(
            help="Local paths, file:// or s3:// URLs, or keys relative to CATALOG_LANDING_URL."
        ),
    ],
    scraper_revision: Annotated[
        str, typer.Option(help="Scraper revision that wrote the file.")
    ] = "cli",
    chunk_size: Annotated[
        str | None, typer.Option(help="Target chunk size, e.g. 4MiB (default: CATALOG_CHUNK_SIZE).")
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Ingest one job per file and wait for it (progress bar on a terminal)."""
    load_settings(as_json)
    try:
        source = validate_source(source)
        size = parse_size(chunk_size) if chunk_size else None
    except ValueError as exc:
        fail(str(exc), code=ExitCode.REFUSED, as_json=as_json, kind="usage")
    with handle_errors(as_json):
        rt = runtime_ready()
        outcomes = [
            ingest_one(rt, source, uri, scraper_revision, size, show_progress=not as_json)
            for uri in uris
        ]
    documents = [doc for doc, _ in outcomes]
    emit(
        documents[0] if len(documents) == 1 else {"jobs": documents},
        as_json=as_json,
        text=lambda: _print_ingest(documents),
    )
    if not all(ok for _, ok in outcomes):
        raise typer.Exit(int(ExitCode.FAILED))


def ingest_one(
    rt: steps.Runtime,
    source: str,
    uri: str,
    scraper_revision: str,
    chunk_size: int | None,
    *,
    show_progress: bool,
) -> tuple[dict[str, Any], bool]:
    """Trigger one file, run its flow unless it is a duplicate, and return its job document."""
    try:
        trigger = steps.request_ingest(
            rt,
            source=source,
            uri_or_key=uri,
            scraper_revision=scraper_revision,
            chunk_size=chunk_size,
        )
    except CatalogError as exc:
        return {
            "uri": uri,
            "status": "failed",
            "error_kind": exc.kind,
            "error_message": str(exc),
        }, False
    if trigger.created:
        _run_flow(rt, trigger.job_id, label=uri, show_progress=show_progress)
    with connect(rt.database_url) as conn:
        detail = get_job_detail(conn, trigger.job_id, duplicate_of=trigger.duplicate_of)
    if detail is None:
        raise JobNotFoundError("the triggered job does not exist", job_id=trigger.job_id)
    return job_detail_document(detail), detail.job.status is not JobStatus.FAILED


def _run_flow(rt: steps.Runtime, job_id: uuid.UUID, *, label: str, show_progress: bool) -> None:
    start_prefect(get_settings())
    # The CLI shows its own progress; Prefect's INFO lines still reach the UI via the API.
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    if "flows.ingest" not in sys.modules:
        announce("loading Prefect…")
    from prefect import tags

    from flows.ingest import configured_flow  # imported late: prefect costs seconds

    enabled = show_progress and sys.stderr.isatty()
    # Tagged `trigger:cli`; the flow adds `source:<name>` when it starts.
    with (
        chunk_progress(rt.database_url, label, lambda _conn: job_id, enabled=enabled),
        tags("trigger:cli"),
    ):
        configured_flow()(job_id=str(job_id), label=label, return_state=True)


def _print_ingest(documents: list[dict[str, Any]]) -> None:
    for doc in documents:
        if "job_id" not in doc:
            typer.secho(
                f"error: {doc['uri']}: {doc['error_kind']}: {doc['error_message']}",
                err=True,
                fg=typer.colors.RED,
            )
            continue
        note = f" (duplicate of an existing {doc['status']} job)" if doc["duplicate_of"] else ""
        typer.echo(f"job {doc['job_id']} {doc['status']}{note}: {doc['object_key']}")
        typer.echo(
            f"  rows {doc['total_processed']} = {doc['total_valid']} valid + "
            f"{doc['total_invalid']} invalid in {plural(doc['chunks'] or 0, 'chunk')}; "
            f"reconcile delta {shown(doc['reconcile_delta'])}"
        )
        if doc["error_kind"]:
            typer.secho(
                f"error: job {doc['job_id']} {doc['error_kind']}: {doc['error_message']}",
                err=True,
                fg=typer.colors.RED,
            )


def jobs(
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    status: Annotated[JobStatus | None, typer.Option(help="Only this status.")] = None,
    unresolved: Annotated[
        bool,
        typer.Option(
            "--unresolved",
            help="Only failed jobs no retry or repair has replaced yet (what still needs you).",
            show_default=False,
        ),
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 50,
    as_json: bool = JSON_OPTION,
) -> None:
    """List jobs, newest first, with the job that replaced each (a retry or repair)."""
    load_settings(as_json)
    if unresolved and status not in (None, JobStatus.FAILED):
        fail(
            f"--unresolved lists failed jobs; it cannot be combined with --status {status}",
            code=ExitCode.REFUSED,
            as_json=as_json,
            kind="usage",
        )
    with handle_errors(as_json), connect(database_ready()) as conn:
        rows = list_jobs(
            conn,
            source=source,
            status=JobStatus.FAILED if unresolved else status,
            not_replaced=unresolved,
            limit=limit,
        )
        replaced = job_replacements(conn, [r.id for r in rows])
    emit(
        job_list_document(rows, replaced_by=replaced),
        as_json=as_json,
        text=lambda: _print_jobs(rows, replaced),
    )


def _print_jobs(rows: list[EtlJob], replaced: dict[uuid.UUID, uuid.UUID]) -> None:
    if not rows:
        typer.echo("no jobs")
        return
    table = Table(
        "job",
        "status",
        "source",
        "file",
        "created",
        "processed",
        "valid",
        "invalid",
        "delta",
        "replaced by",
    )
    for r in rows:
        table.add_row(
            str(r.id),
            str(r.status),
            r.source,
            r.filename,
            r.created_at.strftime("%Y-%m-%d %H:%M"),
            str(r.total_processed),
            str(r.total_valid),
            str(r.total_invalid),
            shown(r.reconcile_delta),
            shown(str(replaced[r.id])[:8] if r.id in replaced else None),
        )
    make_console().print(table)


@job_app.command("show")
def job_show(job_ref: JobRefArgument, as_json: bool = JSON_OPTION) -> None:
    """Show a job: totals, the chunk ledger, why rows were rejected, the supersession chain."""
    settings = load_settings(as_json)
    with handle_errors(as_json), connect(database_ready()) as conn:
        detail = get_job_detail(conn, resolve_job(conn, job_ref, as_json=as_json))
    if detail is None:
        fail(f"no job {job_ref}", code=ExitCode.REFUSED, as_json=as_json, kind="not_found")
    document = job_detail_document(detail)
    document["flow_run_url"] = flow_run_link(settings.state_dir, detail.job.flow_run_id)
    emit(document, as_json=as_json, text=lambda: print_job_detail(detail, document))


@job_app.command("rows")
def job_rows(
    job_ref: JobRefArgument,
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason",
            help="Only rows rejected for this field (e.g. productUrl) or a reason containing "
            "this text.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many rows.")] = 50,
    as_json: bool = JSON_OPTION,
) -> None:
    """List a job's rejected rows: where they were, why, and their mapped values."""
    load_settings(as_json)
    with handle_errors(as_json), connect(database_ready()) as conn:
        job_id = resolve_job(conn, job_ref, as_json=as_json)
        rows = list_rejected_rows(conn, job_id, reason=reason, limit=limit)
    document = {
        "job_id": job_id,
        "reason": reason,
        "rows": [
            {
                "chunk_index": r.chunk_index,
                "record_ordinal": r.record_ordinal,
                "errors": r.errors,
                "values": r.values,
            }
            for r in rows
        ],
    }
    emit(document, as_json=as_json, text=lambda: _print_rejected(job_id, rows, reason))


def _print_rejected(job_id: uuid.UUID, rows: list[RejectedRow], reason: str | None) -> None:
    if not rows:
        suffix = f" for {reason!r}" if reason else ""
        typer.echo(f"no rejected rows{suffix} in job {job_id}")
        return
    table = Table("row", "chunk", "field", "reason", "values", title=f"rejected rows of {job_id}")
    for r in rows:
        values = ", ".join(f"{k}={v}" for k, v in r.values.items() if v not in (None, ""))
        table.add_row(
            str(r.record_ordinal),
            str(r.chunk_index),
            "\n".join(shown(e.get("field")) for e in r.errors),
            "\n".join(shown(e.get("reason")) for e in r.errors),
            values,
        )
    make_console().print(table)
