"""The local Prefect server the product starts once and reuses (never Prefect's ephemeral mode).

Its state lives under `$CATALOG_HOME/prefect`; its PID, port and log under `$CATALOG_HOME`.
It requires a generated API auth string (Prefect's `PREFECT_SERVER_API_AUTH_STRING`, kept in
`$CATALOG_HOME/run/prefect-auth`, mode 0600) from every caller; the product's own clients send
it (`PREFECT_API_AUTH_STRING`, basic auth). Only `GET /api/health` answers without it.
This module does not import prefect: starting the server is a subprocess and an HTTP probe.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from filelock import FileLock

from catalog_lib.adapters.embedded_postgres import write_private_file
from catalog_lib.adapters.home import PRIVATE_UMASK, ensure_secret_file, secure_home
from catalog_lib.core.errors import ConfigurationError

STARTUP_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class PrefectServer:
    """A reachable Prefect API: ours (with a PID) or an external one from PREFECT_API_URL."""

    api_url: str
    ui_url: str | None
    pid: int | None
    managed: bool
    auth_string: str | None = field(default=None, repr=False)


def auth_string_path(state_dir: Path) -> Path:
    """Where the local server's API auth string is kept (mode 0600)."""
    return state_dir / "run" / "prefect-auth"


def _paths(state_dir: Path) -> tuple[Path, Path, Path]:
    home = state_dir / "prefect"
    return home, state_dir / "run" / "prefect-server.json", state_dir / "logs" / "prefect.log"


def is_process_alive(pid: int) -> bool:
    """Whether process `pid` runs (an exited child of ours is reaped, not counted)."""
    # Reap it if it is our own exited child, so a zombie does not count as running.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_healthy(api_url: str) -> bool:
    """Whether the Prefect API answers its health check."""
    try:
        return httpx.get(f"{api_url}/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_managed_server(state_dir: Path) -> PrefectServer | None:
    """The server recorded under `state_dir` if its process still runs."""
    _, record, _ = _paths(state_dir)
    try:
        info = json.loads(record.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    pid = int(info["pid"])
    if not is_process_alive(pid):
        return None
    auth: str | None = None
    if info.get("auth"):
        try:
            auth = auth_string_path(state_dir).read_text().strip() or None
        except (FileNotFoundError, PermissionError):
            auth = None
    return PrefectServer(
        api_url=info["api_url"], ui_url=info["ui_url"], pid=pid, managed=True, auth_string=auth
    )


def ensure_prefect_server(
    state_dir: Path, *, timeout_s: float = STARTUP_TIMEOUT_S
) -> PrefectServer:
    """The Prefect API to use: PREFECT_API_URL if set, else our local server (started once)."""
    external = os.environ.get("PREFECT_API_URL")
    if external:
        return PrefectServer(
            api_url=external.rstrip("/"),
            ui_url=None,
            pid=None,
            managed=False,
            auth_string=os.environ.get("PREFECT_API_AUTH_STRING") or None,
        )
    home, record, log_file = _paths(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    secure_home(state_dir)
    with FileLock(str(state_dir / ".prefect-server.lock"), mode=0o600):
        running = read_managed_server(state_dir)
        if running is not None and running.auth_string is None:
            # Started by an older version without an auth string: replace it.
            stop_prefect_server(state_dir)
            running = None
        if running is not None and is_healthy(running.api_url):
            return running
        for folder in (home, record.parent, log_file.parent):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        auth_string = ensure_secret_file(auth_string_path(state_dir), prefix="catalog-etl:")
        port = _free_port()
        api_url = f"http://127.0.0.1:{port}/api"
        env = {
            **os.environ,
            "PREFECT_HOME": str(home),
            "PREFECT_API_URL": api_url,
            "PREFECT_UI_API_URL": api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(port),
            "PREFECT_SERVER_API_AUTH_STRING": auth_string,
            "PREFECT_API_AUTH_STRING": auth_string,
        }
        descriptor = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "prefect",
                    "server",
                    "start",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
                umask=PRIVATE_UMASK,
            )
        server = PrefectServer(
            api_url=api_url,
            ui_url=f"http://127.0.0.1:{port}",
            pid=process.pid,
            managed=True,
            auth_string=auth_string,
        )
        write_private_file(
            record,
            json.dumps(
                {"pid": process.pid, "api_url": api_url, "ui_url": server.ui_url, "auth": True}
            ),
        )
        _wait_until_healthy(process, api_url, log_file, timeout_s)
        return server


def _wait_until_healthy(
    process: subprocess.Popen[bytes], api_url: str, log_file: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigurationError(f"the local Prefect server exited; see {log_file}")
        if is_healthy(api_url):
            return
        time.sleep(0.5)
    process.terminate()
    raise ConfigurationError(
        f"the local Prefect server did not answer within {timeout_s:.0f}s; see {log_file}"
    )


def stop_prefect_server(state_dir: Path, *, timeout_s: float = 20.0) -> bool:
    """Stop our local Prefect server; False when none was running."""
    _, record, _ = _paths(state_dir)
    server = read_managed_server(state_dir)
    if server is None or server.pid is None:
        record.unlink(missing_ok=True)
        return False
    # The server was started in its own session: stop the whole group (uvicorn workers too).
    os.killpg(server.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while is_process_alive(server.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if is_process_alive(server.pid):
        os.killpg(server.pid, signal.SIGKILL)
    record.unlink(missing_ok=True)
    return True


def use_prefect_server(state_dir: Path) -> PrefectServer:
    """Ensure a server and point this process's Prefect client at it (before importing prefect)."""
    server = ensure_prefect_server(state_dir)
    os.environ["PREFECT_API_URL"] = server.api_url
    if server.auth_string:
        os.environ["PREFECT_API_AUTH_STRING"] = server.auth_string
    # Task results (the chunk cache) are ours too: keep them under $CATALOG_HOME, not in ~.
    os.environ.setdefault("PREFECT_LOCAL_STORAGE_PATH", str(state_dir / "prefect" / "storage"))
    return server
