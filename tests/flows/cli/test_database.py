"""`catalog-etl db start | stop | status | url | upgrade`, run as real subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from catalog_lib.adapters.embedded_postgres import EmbeddedPostgres, default_bin_dir
from catalog_lib.adapters.postgres import MIGRATIONS_DIR
from catalog_lib.core.settings import get_settings
from flows.cli.app import app

pytestmark = pytest.mark.postgres

CLI = "from flows.cli.app import main; main()"
HEAD = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


@dataclass(frozen=True)
class Home:
    """A CATALOG_HOME under a folder the root service user can traverse, and its environment."""

    base: Path
    env: dict[str, str]

    @property
    def server(self) -> EmbeddedPostgres:
        return EmbeddedPostgres(Path(self.env["CATALOG_HOME"]) / "pg")


def _make_home(prefix: str) -> Home:
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    base.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}
    env["CATALOG_HOME"] = str(base / "home")
    return Home(base=base, env=env)


def _remove_home(home: Home) -> None:
    try:
        if home.server.root.is_dir():
            home.server.stop()
    finally:
        shutil.rmtree(home.base, ignore_errors=True)


def run_cli(
    home: Home, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `catalog-etl ARGS` in a fresh interpreter with `home`'s environment and cwd."""
    return subprocess.run(
        [sys.executable, "-c", CLI, *args],
        env={**home.env, **(extra_env or {})},
        cwd=home.base,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def run_json(
    home: Home, *args: str, extra_env: dict[str, str] | None = None, expect_code: int = 0
) -> dict[str, Any]:
    """Run a `--json` command and return its single JSON document (asserting there is one)."""
    result = run_cli(home, *args, "--json", extra_env=extra_env)
    assert result.returncode == expect_code, (result.stdout, result.stderr)
    # json.loads rejects trailing data, so this also proves there is exactly one document.
    assert result.stdout.endswith("\n"), result.stdout
    assert result.stdout.count("\n") == 1, result.stdout
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    return document


@dataclass(frozen=True)
class Outcome:
    """What an in-process command run printed and returned."""

    exit_code: int
    stdout: str
    stderr: str

    def document(self) -> dict[str, Any]:
        assert self.stdout.count("\n") == 1, self.stdout
        parsed = json.loads(self.stdout)
        assert isinstance(parsed, dict)
        return parsed


def invoke(
    home: Home,
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    extra_env: dict[str, str] | None = None,
) -> Outcome:
    """Run a command in this process (faster than a subprocess) with `home`'s settings."""
    monkeypatch.chdir(home.base)
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("CATALOG_")}
    env.update({k: v for k, v in home.env.items() if k.startswith("CATALOG_")})
    env.update(extra_env or {})
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
    finally:
        get_settings.cache_clear()
    return Outcome(result.exit_code, result.stdout, result.stderr)


def _psql(url: str, sql: str) -> str:
    result = subprocess.run(
        [str(default_bin_dir() / "psql"), url, "-tAc", sql],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def upgraded() -> Iterator[tuple[Home, dict[str, Any], dict[str, Any]]]:
    """A fresh home after `db upgrade` twice: (home, first result, second result)."""
    home = _make_home("catalog-etl-test-cli-")
    try:
        first = run_json(home, "db", "upgrade")
        second = run_json(home, "db", "upgrade")
        yield home, first, second
    finally:
        _remove_home(home)


@pytest.fixture
def home() -> Iterator[Home]:
    """A fresh home of its own; any server started under it is stopped afterwards."""
    fresh = _make_home("catalog-etl-test-cli-")
    try:
        yield fresh
    finally:
        _remove_home(fresh)


@pytest.mark.slow
def test_upgrade_on_fresh_home_starts_server_and_migrates(upgraded) -> None:
    home, first, _ = upgraded

    assert first["changed"] is True
    assert first["previous_revision"] is None
    assert first["revision"] == HEAD
    assert first["embedding_type"].startswith("vector")
    assert home.server.status().running is True


def test_second_upgrade_is_a_noop(upgraded) -> None:
    _, first, second = upgraded

    assert second["changed"] is False
    assert second["revision"] == second["previous_revision"] == first["revision"] == HEAD


def test_upgrade_text_output_says_already_current(upgraded, monkeypatch) -> None:
    home, _, _ = upgraded

    result = invoke(home, monkeypatch, "db", "upgrade")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"schema already at {HEAD}"


def test_url_is_usable_by_packaged_psql(upgraded) -> None:
    home, _, _ = upgraded

    result = run_cli(home, "db", "url")

    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert "\n" not in url
    assert url == home.server.url()
    assert _psql(url, "select count(*) from etl_jobs") == "0"


def test_url_json_names_the_embedded_server(upgraded, monkeypatch) -> None:
    home, _, _ = upgraded

    document = invoke(home, monkeypatch, "db", "url", "--json").document()

    assert document == {"url": home.server.url(), "embedded": True}


def test_status_reports_running_current_schema_and_pgvector(upgraded) -> None:
    home, _, _ = upgraded
    server = home.server.status()

    document = run_json(home, "db", "status")

    assert document["embedded"] is True
    assert document["running"] is True
    assert document["pid"] == server.pid
    assert document["port"] == server.port
    assert document["revision"] == document["head"] == HEAD
    assert document["current"] is True
    assert document["pgvector"] == "pgvector"
    assert document["server_version"].startswith("18")


def test_start_when_running_reuses_the_server(upgraded, monkeypatch) -> None:
    home, _, _ = upgraded
    pid = home.server.status().pid

    document = invoke(home, monkeypatch, "db", "start", "--json").document()

    assert document["running"] is True
    assert document["embedded"] is True
    assert document["pid"] == pid


def test_db_commands_do_not_import_prefect(upgraded) -> None:
    home, _, _ = upgraded
    code = (
        "import sys\n"
        "from flows.cli.app import app\n"
        "for args in (['db', '--help'], ['db', 'status', '--json'], ['db', 'upgrade', '--json']):\n"
        "    code = app(args, standalone_mode=False)\n"
        "    assert not code, (args, code)\n"
        "print('PREFECT_IMPORTED=' + str('prefect' in sys.modules), file=sys.stderr)\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code],
        env=home.env,
        cwd=home.base,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert '"current": true' in result.stdout
    assert "PREFECT_IMPORTED=False" in result.stderr, result.stderr


def test_importing_the_cli_does_not_import_prefect(home: Home) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import sys, flows.cli.app; print('prefect' in sys.modules)"],
        env=home.env,
        cwd=home.base,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.slow
def test_start_stop_status_lifecycle(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    started = run_json(home, "db", "start")
    assert started["running"] is True
    assert started["pid"] == home.server.status().pid

    assert run_json(home, "db", "stop") == {"stopped": True}

    status = invoke(home, monkeypatch, "db", "status", "--json")
    assert status.exit_code == 0, status.stderr
    document = status.document()
    assert document["embedded"] is True
    assert document["running"] is False
    assert document["pid"] is None
    assert "revision" not in document
    assert home.server.status().running is False
    again = invoke(home, monkeypatch, "db", "stop", "--json")
    assert again.exit_code == 0
    assert again.document() == {"stopped": False}

    # A command that needs the database after `down`/`db stop` restarts it, and says so.
    url = invoke(home, monkeypatch, "db", "url")
    assert url.exit_code == 0, url.stderr
    assert url.stdout.startswith("postgresql://")
    assert "PostgreSQL was stopped" in url.stderr
    assert "PostgreSQL was stopped" not in url.stdout
    quiet = invoke(home, monkeypatch, "db", "url")
    assert "PostgreSQL was stopped" not in quiet.stderr


def test_status_of_a_fresh_home_does_not_start_a_server(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = invoke(home, monkeypatch, "db", "status", "--json")

    assert result.exit_code == 0, result.stderr
    document = result.document()
    assert document["embedded"] is True
    assert document["running"] is False
    assert not home.server.data_dir.exists()


def test_stop_text_output_when_not_running(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    result = invoke(home, monkeypatch, "db", "stop")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "not running"


@pytest.mark.slow
def test_configured_database_url_is_used_instead_of_the_embedded_server(
    home: Home, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = {"CATALOG_DATABASE_URL": db_url}

    url = run_cli(home, "db", "url", extra_env=configured)
    assert url.returncode == 0, url.stderr
    assert url.stdout.strip() == db_url

    start = run_cli(home, "db", "start", extra_env=configured)
    assert start.returncode == 0, start.stderr
    assert "nothing to start" in start.stdout

    start_json = invoke(home, monkeypatch, "db", "start", "--json", extra_env=configured)
    assert start_json.document() == {"embedded": False, "running": None}

    status = invoke(home, monkeypatch, "db", "status", "--json", extra_env=configured)
    assert status.exit_code == 0, status.stderr
    assert status.document()["embedded"] is False
    assert status.document()["current"] is True
    assert "running" not in status.document()

    upgrade = invoke(home, monkeypatch, "db", "upgrade", "--json", extra_env=configured)
    assert upgrade.exit_code == 0, upgrade.stderr
    assert upgrade.document()["changed"] is False
    assert upgrade.document()["revision"] == HEAD

    assert not home.server.root.exists()


def test_sqlalchemy_style_database_url_is_printed_for_psql(
    home: Home, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = {"CATALOG_DATABASE_URL": db_url.replace("postgresql://", "postgresql+psycopg://")}

    result = invoke(home, monkeypatch, "db", "url", extra_env=configured)

    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == db_url
    assert _psql(result.stdout.strip(), "select count(*) from etl_jobs") == "0"


def test_invalid_setting_exits_2_naming_the_variable(home: Home) -> None:
    result = run_cli(home, "db", "status", extra_env={"CATALOG_CHUNK_SIZE": "lots"})

    assert result.returncode == 2
    assert "CATALOG_CHUNK_SIZE" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["status", "url", "upgrade", "start", "stop"])
def test_invalid_setting_json_is_one_error_document(
    home: Home, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    invalid = {"CATALOG_CHUNK_SIZE": "lots"}

    result = invoke(home, monkeypatch, "db", command, "--json", extra_env=invalid)

    assert result.exit_code == 2
    document = result.document()
    assert document["error"] == "configuration"
    assert "CATALOG_CHUNK_SIZE" in document["message"]
    assert not home.server.root.exists()


def _postmaster_count(data_dir: Path) -> int:
    needle = str(data_dir).encode()
    count = 0
    for entry in Path("/proc").iterdir():
        try:
            argv0, *rest = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        count += argv0.endswith(b"/postgres") and needle in b"\0".join(rest)
    return count


def _spawn(home: Home, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CLI, *args],
        env=home.env,
        cwd=home.base,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_concurrent_starts_share_one_server(home: Home) -> None:
    procs = [_spawn(home, "db", "start", "--json") for _ in range(3)]
    documents = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        documents.append(json.loads(out))

    assert len({d["pid"] for d in documents}) == 1
    assert documents[0]["pid"] == home.server.status().pid
    assert _postmaster_count(home.server.data_dir) == 1


@pytest.mark.slow
def test_concurrent_upgrades_share_one_server_and_schema(home: Home) -> None:
    procs = [_spawn(home, "db", "upgrade", "--json") for _ in range(4)]
    documents = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        documents.append(json.loads(out))

    assert {d["revision"] for d in documents} == {HEAD}
    assert _postmaster_count(home.server.data_dir) == 1
    assert _psql(home.server.url(), "select count(*) from alembic_version") == "1"


def test_failing_migration_is_reported_without_traceback(
    home: Home, empty_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE etl_jobs (squatter int)")

    result = invoke(
        home,
        monkeypatch,
        "db",
        "upgrade",
        "--json",
        extra_env={"CATALOG_DATABASE_URL": empty_db_url},
    )

    assert result.exit_code == 1
    assert result.document()["error"] == "database_error"


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_pg_bin_dir_without_binaries_is_a_usage_error(
    home: Home, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    bin_dir = home.base / "no-binaries"
    if kind == "empty":
        bin_dir.mkdir()

    result = invoke(
        home, monkeypatch, "db", "start", "--json", extra_env={"CATALOG_PG_BIN_DIR": str(bin_dir)}
    )

    assert result.exit_code == 2
    assert result.document()["error"] == "configuration"
    assert str(bin_dir) in result.document()["message"]
