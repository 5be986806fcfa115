"""The `catalog-etl serve` process as a managed background service under $CATALOG_HOME.

`serve` records itself in `$CATALOG_HOME/run/serve.json` (pid, webhook URL, Prefect API);
`catalog-etl up` starts it detached (its own session, output in `$CATALOG_HOME/logs/serve.log`)
and `catalog-etl down` stops its process group. This module does not import prefect.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from catalog_lib.adapters.embedded_postgres import write_private_file
from catalog_lib.adapters.home import PRIVATE_UMASK, ensure_secret_file
from catalog_lib.adapters.prefect_rest import api_headers
from catalog_lib.core.errors import ConfigurationError
from flows.stack.deployments import DEPLOYMENTS
from flows.stack.prefect_server import is_process_alive

STARTUP_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 30.0
HEARTBEAT_FREQUENCY_S = "30"
# The command line of a detached serve (the console script may not be on PATH).
SERVE_COMMAND = ("-c", "from flows.cli.app import main; main()", "serve")


@dataclass(frozen=True)
class ServeProcess:
    """A running `catalog-etl serve`: its pid, webhook URL (None without webhook) and API."""

    pid: int
    webhook: str | None
    prefect_api: str
    log_file: str | None
    pool: str | None = None  # a work pool its process worker polls (`serve --pool`)


def record_path(state_dir: Path) -> Path:
    """Where a running serve records itself."""
    return state_dir / "run" / "serve.json"


def log_path(state_dir: Path) -> Path:
    """The log of a serve started by `up`."""
    return state_dir / "logs" / "serve.log"


def write_record(state_dir: Path, process: ServeProcess) -> None:
    """Record this serve process (atomically: readers never see half a file)."""
    path = record_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private_file(
        path,
        json.dumps(
            {
                "pid": process.pid,
                "webhook": process.webhook,
                "prefect_api": process.prefect_api,
                "log_file": process.log_file,
                "pool": process.pool,
            }
        ),
    )


def remove_record(state_dir: Path, pid: int) -> None:
    """Remove the record if it is this process's."""
    current = _read_raw(state_dir)
    if current is not None and current.pid == pid:
        record_path(state_dir).unlink(missing_ok=True)


def _read_raw(state_dir: Path) -> ServeProcess | None:
    try:
        info = json.loads(record_path(state_dir).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return ServeProcess(
        pid=int(info["pid"]),
        webhook=info.get("webhook"),
        prefect_api=str(info["prefect_api"]),
        log_file=info.get("log_file"),
        pool=info.get("pool"),
    )


def read_serve(state_dir: Path) -> ServeProcess | None:
    """The recorded serve process if it still runs."""
    process = _read_raw(state_dir)
    if process is None or not is_process_alive(process.pid):
        return None
    return process


def is_webhook_healthy(webhook: str | None) -> bool:
    """Whether the webhook answers `GET /healthz` with 200."""
    if webhook is None:
        return False
    try:
        return httpx.get(f"{webhook}/healthz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def has_deployments(api_url: str, auth_string: str | None = None) -> bool:
    """Whether every deployment of `flows.stack.deployments` exists on the Prefect API."""
    try:
        with httpx.Client(
            base_url=api_url, timeout=5.0, headers=api_headers(auth_string)
        ) as client:
            return all(
                client.get(f"/deployments/name/{spec.full_name}").status_code == 200
                for spec in DEPLOYMENTS
            )
    except httpx.HTTPError:
        return False


def is_ready(process: ServeProcess, auth_string: str | None = None) -> bool:
    """Serving: the webhook (if it runs one) answers and every deployment is registered."""
    webhook_ok = process.webhook is None or is_webhook_healthy(process.webhook)
    return webhook_ok and has_deployments(process.prefect_api, auth_string)


def secret_path(state_dir: Path) -> Path:
    """The webhook secret `up` generates when CATALOG_WEBHOOK_SECRET is not configured."""
    return state_dir / "run" / "webhook-secret"


def ensure_local_secret(state_dir: Path) -> Path:
    """Create (once, mode 0600) a random webhook secret for the local stack; returns its path."""
    path = secret_path(state_dir)
    ensure_secret_file(path)
    return path


def start_serve(
    state_dir: Path,
    prefect_api: str,
    *,
    auth_string: str | None = None,
    extra_env: dict[str, str] | None = None,
    timeout_s: float = STARTUP_TIMEOUT_S,
    pool: str | None = None,
) -> ServeProcess:
    """Start `catalog-etl serve` detached and wait until it is ready.

    `auth_string` is the Prefect API's auth string (given to serve as PREFECT_API_AUTH_STRING).
    `pool`: run a process worker on that work pool instead of serving (`serve --pool`).
    """
    log_file = log_path(state_dir)
    log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = {
        **os.environ,
        "CATALOG_HOME": str(state_dir),
        "PREFECT_API_URL": prefect_api,
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": os.environ.get(
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY", HEARTBEAT_FREQUENCY_S
        ),
        **(extra_env or {}),
    }
    if auth_string:
        env["PREFECT_API_AUTH_STRING"] = auth_string
    env.setdefault("PREFECT_LOCAL_STORAGE_PATH", str(state_dir / "prefect" / "storage"))
    descriptor = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "ab") as log:
        child = subprocess.Popen(
            [sys.executable, *SERVE_COMMAND, *(("--pool", pool) if pool else ())],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            umask=PRIVATE_UMASK,
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise ConfigurationError(
                f"catalog-etl serve exited with code {child.returncode}; see {log_file}"
            )
        process = read_serve(state_dir)
        if process is not None and process.pid == child.pid and is_ready(process, auth_string):
            return process
        time.sleep(0.5)
    stop_process_group(child.pid)
    raise ConfigurationError(
        f"catalog-etl serve was not ready within {timeout_s:.0f}s; see {log_file}"
    )


def stop_process_group(pid: int, *, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the process group led by `pid`, then SIGKILL what is left after the timeout."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while is_process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    try:
        # Also the group's other members (flow-run processes) that outlived the leader.
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def stop_serve(state_dir: Path, *, timeout_s: float = STOP_TIMEOUT_S) -> bool:
    """Stop the recorded serve process (and its flow runs); False when none was running."""
    process = read_serve(state_dir)
    if process is None:
        record_path(state_dir).unlink(missing_ok=True)
        return False
    stop_process_group(process.pid, timeout_s=timeout_s)
    record_path(state_dir).unlink(missing_ok=True)
    return True
