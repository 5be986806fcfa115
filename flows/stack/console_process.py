"""The ops console (`streamlit run ops_console/app.py`) as a process: foreground or managed.

`catalog-etl console` runs it in the foreground; `catalog-etl up` starts it detached (its own
session, output in `$CATALOG_HOME/logs/console.log`, record in `$CATALOG_HOME/run/console.json`,
both 0600) and `catalog-etl down` stops its process group. This module does not import prefect
or streamlit: the console is a subprocess and an HTTP probe.
"""

from __future__ import annotations

import contextlib
import importlib.util
import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from catalog_lib.core.errors import ConfigurationError
from flows.stack.prefect_server import is_process_alive
from flows.stack.serve_process import stop_process_group

STARTUP_TIMEOUT_S = 60.0


def app_path() -> Path:
    """The console's entrypoint file (found without importing the package)."""
    spec = importlib.util.find_spec("ops_console")
    if spec is None or spec.origin is None:
        raise ConfigurationError("the ops_console package is not installed")
    return Path(spec.origin).resolve().parent / "app.py"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (for `--port 0`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class ConsoleProcess:
    """A running console: its pid, URL, bound address, Prefect API and log."""

    pid: int
    url: str
    host: str
    port: int
    prefect_api: str | None
    log_file: str | None


def record_path(state_dir: Path) -> Path:
    """Where a console started by `up` is recorded."""
    return state_dir / "run" / "console.json"


def log_path(state_dir: Path) -> Path:
    """The log of a console started by `up`."""
    return state_dir / "logs" / "console.log"


def console_url(host: str, port: int) -> str:
    """The URL a browser on this machine opens (a wildcard address is reached on loopback)."""
    shown = host
    with contextlib.suppress(ValueError):
        address = ipaddress.ip_address(host)
        if address.is_unspecified:
            shown = "::1" if address.version == 6 else "127.0.0.1"
    if not host:
        shown = "127.0.0.1"
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def streamlit_command(host: str, port: int) -> list[str]:
    """The `streamlit run` command line of the console bound to `host:port`."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_path()),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]


def console_env(
    state_dir: Path, prefect_api: str | None, prefect_auth: str | None = None, **extra: str
) -> dict[str, str]:
    """The console's environment: this process's (CATALOG_*), absolute home, the Prefect API.

    `prefect_auth` is the local Prefect server's API auth string: the console's REST client
    sends it (as `PREFECT_API_AUTH_STRING`) with every request.
    """
    env = {**os.environ, "CATALOG_HOME": str(state_dir), **extra}
    if prefect_api:
        env["PREFECT_API_URL"] = prefect_api
    if prefect_auth:
        env["PREFECT_API_AUTH_STRING"] = prefect_auth
    env.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    return env


def is_console_healthy(url: str) -> bool:
    """Whether the console answers Streamlit's health check."""
    try:
        return httpx.get(f"{url}/_stcore/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _write_private(path: Path, text: str) -> None:
    """Write `text` atomically into a 0600 file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    tmp.replace(path)


def write_record(state_dir: Path, process: ConsoleProcess) -> None:
    """Record a managed console (0600)."""
    _write_private(
        record_path(state_dir),
        json.dumps(
            {
                "pid": process.pid,
                "url": process.url,
                "host": process.host,
                "port": process.port,
                "prefect_api": process.prefect_api,
                "log_file": process.log_file,
            }
        ),
    )


def read_console(state_dir: Path) -> ConsoleProcess | None:
    """The recorded console if its process still runs."""
    try:
        info = json.loads(record_path(state_dir).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    process = ConsoleProcess(
        pid=int(info["pid"]),
        url=str(info["url"]),
        host=str(info["host"]),
        port=int(info["port"]),
        prefect_api=info.get("prefect_api"),
        log_file=info.get("log_file"),
    )
    return process if is_process_alive(process.pid) else None


def start_console(
    state_dir: Path,
    *,
    host: str,
    port: int,
    prefect_api: str | None,
    prefect_auth: str | None = None,
    timeout_s: float = STARTUP_TIMEOUT_S,
) -> ConsoleProcess:
    """Start the console detached, record it and wait until it answers."""
    log_file = log_path(state_dir)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    if not log_file.exists():
        os.close(os.open(log_file, os.O_WRONLY | os.O_CREAT, 0o600))
    url = console_url(host, port)
    with log_file.open("ab") as log:
        child = subprocess.Popen(
            streamlit_command(host, port),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=console_env(state_dir, prefect_api, prefect_auth),
            start_new_session=True,
        )
    process = ConsoleProcess(
        pid=child.pid,
        url=url,
        host=host,
        port=port,
        prefect_api=prefect_api,
        log_file=str(log_file),
    )
    write_record(state_dir, process)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if child.poll() is not None:
            record_path(state_dir).unlink(missing_ok=True)
            raise ConfigurationError(
                f"the console exited with code {child.returncode}; see {log_file}"
            )
        if is_console_healthy(url):
            return process
        time.sleep(0.5)
    stop_process_group(child.pid)
    record_path(state_dir).unlink(missing_ok=True)
    raise ConfigurationError(f"the console was not ready within {timeout_s:.0f}s; see {log_file}")


def stop_console(state_dir: Path) -> bool:
    """Stop the recorded console; False when none was running."""
    process = read_console(state_dir)
    record_path(state_dir).unlink(missing_ok=True)
    if process is None:
        return False
    stop_process_group(process.pid, timeout_s=10.0)
    return True
