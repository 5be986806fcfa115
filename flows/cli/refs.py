"""Job references on the command line: a full id or any unique prefix of one (`3f9c2a1b`)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Annotated

import typer

from catalog_lib.adapters.postgres import Connection
from catalog_lib.ops.reports import MAX_CANDIDATES, find_jobs_by_prefix
from flows.cli.output import ExitCode, fail
from flows.stack.prefect_server import read_managed_server

JobRefArgument = Annotated[
    str,
    typer.Argument(
        metavar="JOB_ID",
        help="The job's id, or any unique prefix of it (e.g. the 8 characters of a run name).",
        show_default=False,
    ),
]


def full_id(ref: str) -> uuid.UUID | None:
    """`ref` as a UUID when it is a complete job id (32 hex digits, dashes optional)."""
    text = ref.strip().replace("-", "")
    if len(text) != 32:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def resolve_job(conn: Connection, ref: str, *, as_json: bool) -> uuid.UUID:
    """The job `ref` names; exit 2 with the candidates when it names none or several."""
    found = find_jobs_by_prefix(conn, ref)
    if len(found) == 1:
        return found[0].id
    if not found:
        fail(f"no job {ref}", code=ExitCode.REFUSED, as_json=as_json, kind="not_found")
    more = " (and more)" if len(found) > MAX_CANDIDATES else ""
    shown = found[:MAX_CANDIDATES]
    listing = "\n".join(
        f"  {c.id}  {c.status}  {c.source}  {c.created_at:%Y-%m-%d %H:%M}" for c in shown
    )
    fail(
        f"{ref} is the start of several job ids{more}; type more of it:\n{listing}",
        code=ExitCode.REFUSED,
        as_json=as_json,
        kind="ambiguous_job_id",
        extra={"candidates": [str(c.id) for c in shown]},
    )


def prefect_ui_url(state_dir: Path) -> str | None:
    """The Prefect UI of the server in use: PREFECT_UI_URL, the API URL's origin, or ours."""
    explicit = os.environ.get("PREFECT_UI_URL")
    if explicit:
        return explicit.rstrip("/")
    api = os.environ.get("PREFECT_API_URL")
    if api:
        api = api.rstrip("/")
        return api[: -len("/api")] if api.endswith("/api") else None
    server = read_managed_server(state_dir)
    return server.ui_url if server else None


def flow_run_link(state_dir: Path, flow_run_id: uuid.UUID | str | None) -> str | None:
    """The Prefect UI page of a flow run, when the run and a UI are known."""
    ui = prefect_ui_url(state_dir)
    if flow_run_id is None or ui is None:
        return None
    return f"{ui}/runs/flow-run/{flow_run_id}"
