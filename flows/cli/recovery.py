"""`catalog-etl retry | repair | reconcile`: operator actions on one job, with an audit row each.

Each command runs the matching Prefect flow (`retry-job`, `repair-job`, `reconcile-job`) in
this process against the local or configured Prefect server. Exit codes: 0 succeeded, 1 the
action ran and failed, 2 refused (not eligible, ETag mismatch, missing source) or usage error.
"""

from __future__ import annotations

import getpass
import os
import sys
import uuid
from typing import Annotated, Any

import typer

from catalog_lib.adapters.postgres import Connection, connect
from catalog_lib.core.settings import get_settings
from catalog_lib.ingest import steps
from catalog_lib.ingest.jobs import list_successors
from catalog_lib.ops.action_log import ActionKind
from catalog_lib.ops.documents import job_detail_document
from catalog_lib.ops.reports import get_job_detail
from flows.cli.jobs import runtime_ready
from flows.cli.output import (
    JSON_OPTION,
    ExitCode,
    emit,
    handle_errors,
    load_settings,
    plural,
    shown,
)
from flows.cli.progress import JobLocator, chunk_progress
from flows.cli.refs import JobRefArgument, full_id, resolve_job
from flows.cli.startup import announce, start_prefect

# A plain flag: absent means False, and no environment variable or config can turn it on.
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Act even though the source's ETag differs from the job's (or is unknown).",
        show_default=False,
    ),
]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", help="Why; stored in the audit trail.")
]
ActorOption = Annotated[
    str | None,
    typer.Option("--actor", help="Who acts, for the audit trail (default: the OS user)."),
]

_EXIT = {"succeeded": ExitCode.OK, "failed": ExitCode.FAILED, "refused": ExitCode.REFUSED}


def retry(
    job_id: JobRefArgument,
    force: ForceOption = False,
    reason: ReasonOption = None,
    actor: ActorOption = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Retry a failed job: a new job resumes from the ledger (completed chunks are not redone)."""
    _act(ActionKind.RETRY, job_id, force=force, reason=reason, actor=actor, as_json=as_json)


def repair(
    job_id: JobRefArgument,
    force: ForceOption = False,
    reason: ReasonOption = None,
    actor: ActorOption = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Repair a completed or failed job from scratch: a new job reprocesses every chunk."""
    _act(ActionKind.REPAIR, job_id, force=force, reason=reason, actor=actor, as_json=as_json)


def reconcile(
    job_id: JobRefArgument,
    force: ForceOption = False,
    reason: ReasonOption = None,
    actor: ActorOption = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Count the job's source records with DuckDB; store and print expected / actual / delta."""
    _act(ActionKind.RECONCILE, job_id, force=force, reason=reason, actor=actor, as_json=as_json)


def default_actor() -> str:
    """The OS user running the command."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _act(
    kind: ActionKind,
    job_ref: str,
    *,
    force: bool,
    reason: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    load_settings(as_json)
    with handle_errors(as_json):
        rt = runtime_ready()
        # A complete id goes to the action as typed, so an unknown one is refused and recorded
        # in the audit trail (ETL_NOT_FOUND); a prefix must name exactly one job.
        job_id = full_id(job_ref)
        if job_id is None:
            with connect(rt.database_url) as conn:
                job_id = resolve_job(conn, job_ref, as_json=as_json)
        document = _run_action_flow(
            rt,
            kind,
            job_id,
            actor=(actor or "").strip() or default_actor(),
            reason=reason,
            force=force is True,
            show_progress=not as_json and sys.stderr.isatty(),
        )
        if document.get("new_job_id") is not None:
            with connect(rt.database_url) as conn:
                detail = get_job_detail(conn, document["new_job_id"])
            document["new_job"] = None if detail is None else job_detail_document(detail)
    emit(document, as_json=as_json, text=lambda: _print_action(document))
    raise typer.Exit(int(_EXIT.get(document["outcome"], ExitCode.FAILED)))


def _run_action_flow(
    rt: steps.Runtime,
    kind: ActionKind,
    job_id: uuid.UUID,
    *,
    actor: str,
    reason: str | None,
    force: bool,
    show_progress: bool,
) -> dict[str, Any]:
    start_prefect(get_settings())
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    if "flows.operator_actions" not in sys.modules:
        announce("loading Prefect…")
    from flows.operator_actions import (  # imported late: prefect costs seconds
        ACTION_FLOWS,
        action_document,
    )

    enabled = show_progress and kind != ActionKind.RECONCILE
    with chunk_progress(
        rt.database_url,
        f"{kind} of {str(job_id)[:8]}",
        new_successor(rt.database_url, job_id) if enabled else _nothing,
        enabled=enabled,
    ):
        state = ACTION_FLOWS[kind](
            job_id=str(job_id),
            actor=actor,
            reason=reason,
            force=force,
            channel="cli",
            return_state=True,
        )
    # A failed action ends Failed (and a refused one `Refused`): the document is still there.
    return action_document(state)


def new_successor(database_url: str, job_id: uuid.UUID) -> JobLocator:
    """Find the job an action creates for `job_id` (one that did not exist when it started).

    Earlier retries of the same job are known now and never taken for the new one, and the new
    job is found whatever its status (a short retry can finish between two polls).
    """
    with connect(database_url) as conn:
        before = {s.id for s in list_successors(conn, job_id)}

    def locate(conn: Connection) -> uuid.UUID | None:
        fresh = [s for s in list_successors(conn, job_id) if s.id not in before]
        return fresh[0].id if fresh else None

    return locate


def _nothing(_conn: Connection) -> uuid.UUID | None:
    return None


def _print_action(doc: dict[str, Any]) -> None:
    """The outcome and the new job on stdout; why it failed or was refused on stderr."""
    head = f"{doc['action']} of job {doc['job_id']}: {doc['outcome']}"
    if doc["refused"] or doc["outcome"] == "failed":
        typer.echo(f"{head} ({doc['code']})")
        typer.secho(f"error: {doc['message']}", err=True, fg=typer.colors.RED)
        if doc["code"] == "ETL_ETAG_MISMATCH":
            typer.secho(f"  stored ETag: {shown(doc['stored_etag'])}", err=True)
            typer.secho(f"  live ETag:   {shown(doc['live_etag'])}", err=True)
    else:
        typer.echo(head)
    if doc["action"] == "reconcile" and doc.get("expected") is not None:
        typer.echo(f"  expected {doc['expected']}")
        typer.echo(f"  actual   {shown(doc['actual'])}")
        typer.echo(f"  delta    {shown(doc['delta'])}")
    job = doc.get("new_job")
    if job:
        resumed = sum(1 for c in job["ledger"] if c["attempts"] == 0)
        typer.echo(
            f"  new job {job['job_id']} {job['status']} (mode {job['mode']}, "
            f"flow run {shown(doc['flow_run_id'])})"
        )
        typer.echo(
            f"  rows {job['total_processed']} = {job['total_valid']} valid + "
            f"{job['total_invalid']} invalid in {plural(job['chunks'] or 0, 'chunk')} "
            f"({resumed} resumed from the ledger); "
            f"reconcile delta {shown(job['reconcile_delta'])}"
        )
