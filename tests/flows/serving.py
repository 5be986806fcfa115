"""A real `catalog-etl serve` for tests: started on the test Prefect server, killed afterwards."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CLI = "from flows.cli import main; main()"


def processes_with_env(marker: str) -> list[int]:
    """PIDs (other than ours) whose environment contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and marker.encode() in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


@contextlib.contextmanager
def serve_process(
    log_path: Path, *, args: tuple[str, ...] = (), **extra_env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """`catalog-etl serve --no-webhook [args]` with this process's environment plus `extra_env`.

    Every process it started (runner and flow-run processes, found by a marker in their
    environment) is SIGKILLed on exit, and the test fails if one survives.
    """
    marker = ("CATALOG_SERVE_TEST", str(uuid.uuid4()))
    env = {**os.environ, "PREFECT_RUNNER_POLL_FREQUENCY": "1", **extra_env, marker[0]: marker[1]}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", CLI, "serve", "--no-webhook", *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            for pid in [process.pid, *processes_with_env("=".join(marker))]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.wait(timeout=30)
    assert processes_with_env("=".join(marker)) == []


def wait_for(predicate: Any, timeout_s: float, what: str, log: Path | None = None) -> Any:
    """Poll `predicate` until it returns something truthy; fail with the log's tail if not."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}:\n{tail}")
