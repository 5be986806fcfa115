"""`config`, `env`, `prefect …`, `logs` of a service, and `status` paths (no DB, no Prefect)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from catalog_lib.adapters.embedded_postgres import write_private_file
from catalog_lib.core.settings import get_settings
from flows.cli.app import app
from flows.stack.prefect_server import auth_string_path
from flows.stack.serve_process import ensure_local_secret

ROOT = Path(__file__).resolve().parents[3]


def _cli(*args: str) -> tuple[int, Any, str]:
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        get_settings.cache_clear()
    try:
        document = json.loads(result.stdout)
    except json.JSONDecodeError:
        document = result.stdout
    return result.exit_code, document, result.stderr


def _fake_prefect_server(home: Path) -> str:
    """Record a 'running' local Prefect server (this test process's pid) with an auth file."""
    api = "http://127.0.0.1:4321/api"
    (home / "run").mkdir(parents=True, exist_ok=True)
    write_private_file(
        home / "run" / "prefect-server.json",
        json.dumps({"pid": os.getpid(), "api_url": api, "ui_url": api[:-4], "auth": True}),
    )
    write_private_file(auth_string_path(home), "catalog-etl:not-a-real-secret")
    return api


def test_config_shows_each_value_and_where_it_came_from(
    catalog_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path(".env").write_text(
        "# comment\nexport CATALOG_CHUNK_SIZE='4MiB'\n"
        "CATALOG_S3_SECRET_ACCESS_KEY=from-dotenv-secret\n"
    )
    monkeypatch.setenv("CATALOG_DATABASE_URL", "postgresql://etl:hunter2@db.internal:5432/catalog")
    monkeypatch.setenv("CATALOG_LOG_LEVEL", "DEBUG")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    ensure_local_secret(catalog_env)
    api = _fake_prefect_server(catalog_env)
    code, doc, _ = _cli("config", "--json")
    assert code == 0, doc
    entries = {e["variable"]: e for e in doc["settings"]}
    assert entries["CATALOG_LOG_LEVEL"] == {
        "variable": "CATALOG_LOG_LEVEL",
        "value": "DEBUG",
        "source": "env",
    }
    assert (entries["CATALOG_CHUNK_SIZE"]["value"], entries["CATALOG_CHUNK_SIZE"]["source"]) == (
        4 * 1024 * 1024,
        ".env",
    )
    assert entries["CATALOG_S3_SECRET_ACCESS_KEY"]["value"] == "***"
    assert (
        entries["CATALOG_DATABASE_URL"]["value"] == "postgresql://etl:***@db.internal:5432/catalog"
    )
    assert entries["CATALOG_RETENTION_DAYS"]["source"] == "default"
    assert entries["CATALOG_WEBHOOK_SECRET"]["value"] == "***"
    assert entries["CATALOG_WEBHOOK_SECRET"]["source"].startswith("stack file ")
    assert (entries["PREFECT_API_URL"]["value"], entries["PREFECT_API_URL"]["source"][:10]) == (
        api,
        "stack file",
    )
    serialised = json.dumps(doc)
    for secret in ("hunter2", "from-dotenv-secret", "not-a-real-secret"):
        assert secret not in serialised
    code, text, _ = _cli("config")
    assert code == 0
    assert "hunter2" not in text
    assert "CATALOG_LOG_LEVEL" in text


def test_env_prints_exports_for_the_local_server_without_the_secret(
    catalog_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    code, doc, _ = _cli("env", "--json")
    assert (code, doc["error"]) == (2, "not_running")
    api = _fake_prefect_server(catalog_env)
    code, text, _ = _cli("env")
    assert code == 0
    assert "not-a-real-secret" not in text
    script = f'{text}\nprintf \'%s|%s\' "$PREFECT_API_URL" "$PREFECT_API_AUTH_STRING"'
    evaluated = subprocess.run(
        ["sh", "-c", script], capture_output=True, text=True, check=True, timeout=30
    )
    assert evaluated.stdout == f"{api}|catalog-etl:not-a-real-secret"


def test_prefect_runs_prefects_cli_against_the_products_server(
    catalog_env: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CATALOG_", "PREFECT_"))}
    env.update(
        CATALOG_HOME=str(catalog_env),
        PREFECT_API_URL="http://127.0.0.1:4322/api",
        PREFECT_HOME=str(catalog_env / "prefect-home"),
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from flows.cli.app import main; main()",
            "prefect",
            "config",
            "view",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "PREFECT_API_URL='http://127.0.0.1:4322/api'" in result.stdout


def test_logs_of_a_service_show_its_last_lines(catalog_env: Path) -> None:
    code, doc, _ = _cli("logs", "serve", "--json")
    assert (code, doc["error"]) == (2, "not_found")
    log = catalog_env / "logs" / "serve.log"
    log.parent.mkdir(parents=True)
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    code, doc, _ = _cli("logs", "serve", "--lines", "3", "--json")
    assert (code, doc["lines"], doc["file"]) == (0, ["line 97", "line 98", "line 99"], str(log))
    code, text, _ = _cli("logs", "-n", "2")
    assert text.splitlines() == ["line 98", "line 99"]
    code, doc, _ = _cli("logs", "serve", "--follow", "--json")
    assert (code, doc["error"]) == (2, "usage")


def test_status_names_the_log_files_and_the_webhook_secret_file(catalog_env: Path) -> None:
    code, doc, _ = _cli("status", "--json")
    assert code == 0
    assert doc["logs"]["serve"] == str(catalog_env.resolve() / "logs" / "serve.log")
    assert doc["webhook_secret_file"] is None
    secret = ensure_local_secret(catalog_env.resolve())
    code, doc, _ = _cli("status", "--json")
    assert (doc["webhook_secret_file"], doc["webhook_secret_source"]) == (
        str(secret),
        "generated by up",
    )
    code, text, _ = _cli("status")
    assert f"webhook secret: {secret}" in text
    assert "prefect.log" in text
