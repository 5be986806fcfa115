"""`catalog-etl logs [serve|prefect|console|postgres|JOB_ID] [--follow]`: the stack's logs.

A service name shows that process's log file under $CATALOG_HOME; a job id (or a unique prefix)
shows its flow run's logs from the Prefect API.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from catalog_lib.adapters.postgres import connect
from catalog_lib.adapters.prefect_logs import TERMINAL_STATES, RunLogLine, RunLogReader
from catalog_lib.core.settings import Settings
from catalog_lib.ingest.jobs import get_job
from flows.cli.jobs import database_ready
from flows.cli.output import JSON_OPTION, ExitCode, emit, fail, handle_errors, load_settings
from flows.cli.refs import resolve_job
from flows.cli.startup import start_prefect
from flows.stack.console_process import log_path as console_log_path
from flows.stack.serve_process import log_path as serve_log_path

POLL_S = 0.5


def log_files(state_dir: Path) -> dict[str, Path]:
    """The log file of each local service under $CATALOG_HOME."""
    return {
        "serve": serve_log_path(state_dir),
        "prefect": state_dir / "logs" / "prefect.log",
        "console": console_log_path(state_dir),
        "postgres": state_dir / "pg" / "postgres.log",
    }


def logs(
    target: Annotated[
        str,
        typer.Argument(
            metavar="SERVICE_OR_JOB",
            help="serve (deployments and the webhook), prefect, console, postgres, or a job id "
            "(or unique prefix) for its flow run's logs.",
        ),
    ] = "serve",
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            "-f",
            help="Keep printing new lines (a job: until its run ends).",
            show_default=False,
        ),
    ] = False,
    lines: Annotated[
        int, typer.Option("--lines", "-n", min=1, help="Lines of a log file shown first.")
    ] = 50,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a local service's log, or the flow-run logs of a job."""
    settings = load_settings(as_json)
    if follow and as_json:
        fail(
            "--follow prints text; leave out --json",
            code=ExitCode.REFUSED,
            as_json=True,
            kind="usage",
        )
    files = log_files(settings.state_dir)
    if target in files:
        _file_log(target, files[target], lines=lines, follow=follow, as_json=as_json)
    else:
        _job_log(settings, target, follow=follow, as_json=as_json)


def _tail(path: Path, count: int) -> list[str]:
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        return [line.rstrip("\n") for line in deque(handle, maxlen=count)]


def _file_log(name: str, path: Path, *, lines: int, follow: bool, as_json: bool) -> None:
    if not path.is_file():
        fail(
            f"no {name} log yet at {path} (it is written once `catalog-etl up` starts {name})",
            code=ExitCode.REFUSED,
            as_json=as_json,
            kind="not_found",
        )
    shown_lines = _tail(path, lines)

    def text() -> None:
        for line in shown_lines:
            typer.echo(line)

    emit({"service": name, "file": str(path), "lines": shown_lines}, as_json=as_json, text=text)
    if follow:
        _follow_file(path)


def _follow_file(path: Path) -> None:
    """Print what is appended to `path` until interrupted (a rotated file is reopened)."""
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        handle.seek(0, 2)
        try:
            while True:
                line = handle.readline()
                if line:
                    typer.echo(line.rstrip("\n"))
                    continue
                if path.stat().st_size < handle.tell():
                    handle.seek(0)
                time.sleep(POLL_S)
        except KeyboardInterrupt:
            return


def _format(line: RunLogLine) -> str:
    return f"{line.timestamp:%H:%M:%S} {line.level:<8} {line.logger}: {line.message}"


def _job_log(settings: Settings, ref: str, *, follow: bool, as_json: bool) -> None:
    with handle_errors(as_json):
        with connect(database_ready()) as conn:
            job_id = resolve_job(conn, ref, as_json=as_json)
            job = get_job(conn, job_id)
        run_id = job.flow_run_id if job else None
        if run_id is None:
            fail(
                f"job {job_id} has no flow run yet (its run has not started)",
                code=ExitCode.REFUSED,
                as_json=as_json,
                kind="no_flow_run",
            )
        server = start_prefect(settings)
        with RunLogReader(server.api_url, auth_string=server.auth_string) as reader:
            found = reader.lines(run_id)
            state = reader.state(run_id)
            document = {
                "job_id": job_id,
                "flow_run_id": run_id,
                "state": state,
                "logs": [
                    {
                        "timestamp": x.timestamp,
                        "level": x.level,
                        "logger": x.logger,
                        "message": x.message,
                        "task_run_id": x.task_run_id,
                    }
                    for x in found
                ],
            }
            emit(document, as_json=as_json, text=lambda: _print_run(found, state, job_id))
            if follow:
                _follow_run(reader, run_id, found[-1].timestamp if found else None, state)


def _print_run(found: list[RunLogLine], state: str | None, job_id: uuid.UUID) -> None:
    if not found:
        typer.echo(f"no log lines yet for job {job_id} (flow run {state or 'unknown'})")
    for line in found:
        typer.echo(_format(line))


def _follow_run(
    reader: RunLogReader, run_id: uuid.UUID, after: datetime | None, state: str | None
) -> None:
    """Print new lines every second until the run ends (then once more) or Ctrl-C."""
    try:
        while state not in TERMINAL_STATES:
            time.sleep(1.0)
            state = reader.state(run_id)
            for line in reader.lines(run_id, after=after):
                typer.echo(_format(line))
                after = line.timestamp
        typer.echo(f"flow run {run_id} {str(state).lower()}", err=True)
    except KeyboardInterrupt:
        return
