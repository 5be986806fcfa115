"""`catalog-etl console`: bind address, environment, and a real Streamlit process."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from catalog_lib.core.settings import Settings
from flows.cli.console import actions_mode, bind_address
from flows.stack.console_process import (
    app_path,
    console_env,
    console_url,
    free_port,
    read_console,
    start_console,
    stop_console,
    streamlit_command,
)

CLI = "from flows.cli.app import main; main()"


def test_bind_address_defaults_to_loopback_and_options_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CATALOG_CONSOLE_HOST", raising=False)
    monkeypatch.delenv("CATALOG_CONSOLE_PORT", raising=False)
    settings = Settings()
    assert bind_address(settings, None, None) == ("127.0.0.1", 8501)
    assert bind_address(settings, "0.0.0.0", 9000) == ("0.0.0.0", 9000)
    host, port = bind_address(Settings(console_port=0), None, None)
    assert host == "127.0.0.1"
    assert 1024 <= port <= 65535


def test_console_url_is_reachable_from_this_machine() -> None:
    assert console_url("127.0.0.1", 8501) == "http://127.0.0.1:8501"
    assert console_url("0.0.0.0", 8501) == "http://127.0.0.1:8501"
    assert console_url("::", 8501) == "http://[::1]:8501"
    assert console_url("::1", 8501) == "http://[::1]:8501"
    assert console_url("console.internal", 80) == "http://console.internal:80"


def test_actions_mode_says_read_only_off_loopback() -> None:
    assert actions_mode("127.0.0.1").startswith("local operator")
    assert actions_mode("localhost").startswith("local operator")
    assert "read-only unless [auth]" in actions_mode("0.0.0.0")


def test_streamlit_command_runs_the_console_entrypoint_headless() -> None:
    command = streamlit_command("127.0.0.1", 8600)
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert command[4] == str(app_path())
    assert app_path().name == "app.py"
    options = dict(zip(command[5::2], command[6::2], strict=True))
    assert options["--server.address"] == "127.0.0.1"
    assert options["--server.port"] == "8600"
    assert options["--server.headless"] == "true"
    assert options["--browser.gatherUsageStats"] == "false"


def test_console_env_passes_settings_home_and_prefect_api(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CATALOG_LANDING_URL", "s3://bucket/landing")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    env = console_env(tmp_path, "http://127.0.0.1:4200/api")
    assert env["CATALOG_HOME"] == str(tmp_path)
    assert env["CATALOG_LANDING_URL"] == "s3://bucket/landing"
    assert env["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"
    assert "PREFECT_API_URL" not in console_env(tmp_path, None)


def _console_ready(url: str, timeout_s: float = 60) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        # Not listening yet: poll again.
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                return True
        time.sleep(0.5)
    return False


@pytest.mark.postgres
@pytest.mark.slow
def test_console_command_prints_its_url_and_serves(db_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}
    env |= {
        "CATALOG_DATABASE_URL": db_url,
        "CATALOG_HOME": str(tmp_path / "home"),
        "CATALOG_LANDING_URL": str(tmp_path),
        # An external API is used as is: no local Prefect server is started for this test.
        "PREFECT_API_URL": "http://127.0.0.1:9/api",
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CLI, "console", "--port", "0", "--json"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert child.stdout is not None
        document = json.loads(child.stdout.readline())
        assert document["console"].startswith("http://127.0.0.1:")
        assert document["host"] == "127.0.0.1"
        assert document["prefect_api"] == "http://127.0.0.1:9/api"
        assert document["actions"].startswith("local operator")
        assert _console_ready(document["console"])
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait(timeout=30)
    # Only the document went to stdout; Streamlit's own lines went to stderr.
    assert child.stdout.read() == ""


@pytest.mark.postgres
@pytest.mark.slow
def test_console_command_refuses_an_unmigrated_database(empty_db_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}
    env |= {
        "CATALOG_DATABASE_URL": empty_db_url,
        "CATALOG_HOME": str(tmp_path / "home"),
        "PREFECT_API_URL": "http://127.0.0.1:9/api",
    }
    result = subprocess.run(
        [sys.executable, "-c", CLI, "console", "--port", "0", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "catalog-etl db upgrade" in json.loads(result.stdout)["message"]


@pytest.mark.slow
def test_managed_console_is_recorded_privately_and_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "home"
    monkeypatch.setenv("CATALOG_DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none")
    process = start_console(state, host="127.0.0.1", port=free_port(), prefect_api=None)
    try:
        assert read_console(state) == process
        assert (state / "run" / "console.json").stat().st_mode & 0o777 == 0o600
        assert (state / "logs" / "console.log").stat().st_mode & 0o777 == 0o600
        assert httpx.get(f"{process.url}/_stcore/health", timeout=5).status_code == 200
    finally:
        assert stop_console(state)
    assert read_console(state) is None
    assert not stop_console(state)
