"""`catalog-etl serve`: every deployment (prefect.serve) and the scraper webhook, one process.

The webhook (`flows.webhook.app.create_app`) runs on uvicorn in a daemon thread of this process,
on a loopback port; Prefect's runner owns the main thread (it handles SIGTERM). Deployments
are served with `pause_on_shutdown=False`, so stopping `serve` never pauses their schedules.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.cli.output import JSON_OPTION, handle_errors, load_settings
from flows.stack.serve_process import (
    HEARTBEAT_FREQUENCY_S,
    ServeProcess,
    log_path,
    remove_record,
    write_record,
)

AUTOMATION_FILE = (
    Path(__file__).resolve().parents[2]
    / "deploy"
    / "automations"
    / "crashed-on-missed-heartbeat.yaml"
)


def serve(
    webhook: Annotated[
        bool, typer.Option("--webhook/--no-webhook", help="Also run the scraper webhook.")
    ] = True,
    host: Annotated[str, typer.Option(help="Webhook address (keep it on loopback locally).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Webhook port; 0 picks a free one.")] = 0,
    pool: Annotated[
        str | None,
        typer.Option(help="Register the deployments on this process work pool and run a worker."),
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Serve all deployments (schedules included) and the webhook until stopped (SIGTERM).

    With `--pool NAME` the deployments run on a process work pool (created if missing) that a
    process worker in this process polls, instead of being served by this process itself.
    """
    settings = load_settings(as_json)
    # Flow runs started by this process (child processes) inherit it: heartbeats let the
    # crash automation find runs whose process died without reporting.
    os.environ.setdefault("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", HEARTBEAT_FREQUENCY_S)
    from flows.stack.prefect_server import use_prefect_server

    with handle_errors(as_json):
        state_dir = settings.state_dir.resolve()
        server = use_prefect_server(state_dir)
        webhook_server = _start_webhook(host, port, server.api_url) if webhook else None
    record = ServeProcess(
        pid=os.getpid(),
        webhook=webhook_server[1] if webhook_server else None,
        prefect_api=server.api_url,
        log_file=str(log_path(state_dir)),
        pool=pool,
    )
    try:
        if pool:
            _run_pool_worker(state_dir, record, pool)
        else:
            _serve_deployments(state_dir, record)
    finally:
        if webhook_server is not None:
            webhook_server[0].should_exit = True
        remove_record(state_dir, record.pid)


def _serve_deployments(state_dir: Path, record: ServeProcess) -> None:
    from prefect import serve as prefect_serve

    from flows.stack.deployments import build_runner_deployments
    from flows.stack.work_pool import release_pool_deployments

    ensure_crash_automation()
    release_pool_deployments()  # left on a pool by an earlier `serve --pool`
    deployments = build_runner_deployments()
    # Registered before the record is written, so a recorded serve always has its deployments
    # (`serve` registers them again, unchanged, before it polls for runs).
    for deployment in deployments:
        deployment.apply()
    write_record(state_dir, record)
    prefect_serve(*deployments, pause_on_shutdown=False, print_starting_message=False)


def _run_pool_worker(state_dir: Path, record: ServeProcess, pool: str) -> None:
    from flows.stack.work_pool import apply_pool_deployments, run_worker

    ensure_crash_automation()
    apply_pool_deployments(pool)
    write_record(state_dir, record)
    run_worker(pool)


def load_crash_automation() -> Any:
    """The heartbeat automation of deploy/automations as Prefect's `AutomationCore`."""
    import yaml
    from prefect.events.schemas.automations import AutomationCore

    return AutomationCore.model_validate(yaml.safe_load(AUTOMATION_FILE.read_text()))


def ensure_crash_automation() -> bool:
    """Create the crash-on-missed-heartbeat automation on the Prefect API unless it exists."""
    from prefect.client.orchestration import get_client

    automation = load_crash_automation()
    with get_client(sync_client=True) as client:
        if client.read_automations_by_name(automation.name):
            return False
        client.create_automation(automation)
    return True


def _start_webhook(host: str, port: int, prefect_api_url: str) -> tuple[Any, str]:
    """Run the webhook app on uvicorn in a daemon thread; returns the server and its URL."""
    import uvicorn

    from flows.webhook.app import create_app

    app = create_app(prefect_api_url=prefect_api_url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = int(sock.getsockname()[1])
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="webhook", daemon=True
    )
    thread.start()
    return server, f"http://{host}:{bound_port}"
