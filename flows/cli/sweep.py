"""`catalog-etl sweep`: run the job-state sweeper once, now, and say what it closed.

The same sweep the `job-state-sweeper` deployment runs on its schedule: an open job is closed
when its flow run ended without it, or when it is `running` and its liveness lease is free
(the process that ran it is gone: a SIGKILLed `catalog-etl ingest`, an OOM kill, a lost
worker). Afterwards `catalog-etl retry JOB_ID` resumes such a job from its ledger.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from catalog_lib.ops.crash_sweep import MAX_JOBS_PER_SWEEP
from flows.cli.jobs import runtime_ready
from flows.cli.output import JSON_OPTION, emit, handle_errors, load_settings, plural
from flows.cli.startup import start_prefect

LimitOption = Annotated[
    int, typer.Option("--limit", min=1, help="Open jobs to examine at most (oldest first).")
]


def sweep(limit: LimitOption = MAX_JOBS_PER_SWEEP, as_json: bool = JSON_OPTION) -> None:
    """Close open jobs whose flow run ended or whose runner is gone (once, now)."""
    settings = load_settings(as_json)
    with handle_errors(as_json):
        rt = runtime_ready()
        start_prefect(settings)
        from flows.sweeper import sweep_now  # imported late: prefect costs seconds

        document = sweep_now(rt.database_url, limit=limit).to_json()
    emit(document, as_json=as_json, text=lambda: _print_sweep(document))


def _print_sweep(doc: dict[str, Any]) -> None:
    closed = [j for j in doc["jobs"] if j["closed"]]
    typer.echo(f"examined {plural(doc['examined'], 'open job')}, closed {doc['closed']}")
    if not closed:
        return
    for job in closed:
        typer.echo(
            f"  {job['job_id']}  {job['source']}  → failed ({job['error_kind']}); "
            f"flow run {job['flow_run_id'] or '—'} was {job['run_state'] or 'unknown'}"
        )
    typer.echo("Resume a closed job from its ledger with: catalog-etl retry JOB_ID --reason ...")
