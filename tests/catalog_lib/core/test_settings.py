"""Settings precedence (env > .env > default), size parsing, secrets and lazy reading."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from catalog_lib.core.settings import DEFAULT_CHUNK_SIZE, Settings, get_settings

SECRET = "hunter2-very-secret"


@pytest.fixture
def fresh_settings_cache() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_defaults_apply_without_any_configuration(catalog_env: Path, monkeypatch) -> None:
    monkeypatch.delenv("CATALOG_HOME")

    settings = Settings()

    assert settings.home == Path(".catalog-etl")
    assert settings.state_dir == (Path.cwd() / ".catalog-etl").resolve()
    assert settings.landing_url == "landing"
    assert settings.chunk_size == 16 * 1024 * 1024 == DEFAULT_CHUNK_SIZE
    assert settings.database_url is None
    assert settings.embedding_provider == "none"


def test_environment_variables_override_defaults(catalog_env: Path, monkeypatch) -> None:
    monkeypatch.setenv("CATALOG_LANDING_URL", "s3://bucket/drops")
    monkeypatch.setenv("CATALOG_CHUNK_CONCURRENCY", "9")
    monkeypatch.setenv("CATALOG_DATABASE_URL", "postgresql://u@db.example:5432/catalog")

    settings = Settings()

    assert settings.home == catalog_env
    assert settings.landing_url == "s3://bucket/drops"
    assert settings.chunk_concurrency == 9
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == "postgresql://u@db.example:5432/catalog"


def test_dotenv_in_cwd_is_read_and_environment_wins(catalog_env: Path, monkeypatch) -> None:
    Path(".env").write_text(
        "CATALOG_LANDING_URL=from-dotenv\nCATALOG_CHUNK_SIZE=1MiB\nCATALOG_S3_REGION=auto\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CATALOG_LANDING_URL", "from-env")

    settings = Settings()

    assert settings.landing_url == "from-env"  # env beats .env
    assert settings.chunk_size == 1024 * 1024  # .env beats the default
    assert settings.s3_region == "auto"
    assert settings.chunk_concurrency == 4  # neither: the default


def test_dotenv_outside_cwd_is_ignored(catalog_env: Path, tmp_path: Path, monkeypatch) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / ".env").write_text("CATALOG_LANDING_URL=from-other-dotenv\n", encoding="utf-8")

    assert Settings().landing_url == "landing"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4KiB", 4096), ("16MiB", 16 * 1024 * 1024), ("2MB", 2_000_000), ("12345", 12345)],
    ids=["kib", "mib", "mb-decimal", "bare-bytes"],
)
def test_chunk_size_accepts_human_sizes(
    catalog_env: Path, monkeypatch, text: str, expected: int
) -> None:
    monkeypatch.setenv("CATALOG_CHUNK_SIZE", text)

    assert Settings().chunk_size == expected


@pytest.mark.parametrize("text", ["lots", "0", "-4KiB", "4 parsecs"], ids=str)
def test_invalid_chunk_size_is_a_validation_error(
    catalog_env: Path, monkeypatch, text: str
) -> None:
    monkeypatch.setenv("CATALOG_CHUNK_SIZE", text)

    with pytest.raises(ValidationError) as excinfo:
        Settings()

    assert [e["loc"] for e in excinfo.value.errors()] == [("chunk_size",)]


@pytest.mark.parametrize(
    "field",
    [
        "database_url",
        "s3_access_key_id",
        "s3_secret_access_key",
        "embedding_api_key",
        "sentry_dsn",
    ],
)
def test_secrets_are_secretstr_and_hidden_from_repr(
    catalog_env: Path, monkeypatch, field: str
) -> None:
    monkeypatch.setenv(f"CATALOG_{field.upper()}", f"postgresql://admin:{SECRET}@host/db")

    settings = Settings()
    value = getattr(settings, field)

    assert isinstance(value, SecretStr)
    assert value.get_secret_value() == f"postgresql://admin:{SECRET}@host/db"
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)


def test_get_settings_is_cached(catalog_env: Path, monkeypatch, fresh_settings_cache) -> None:
    monkeypatch.setenv("CATALOG_LANDING_URL", "first")
    first = get_settings()
    monkeypatch.setenv("CATALOG_LANDING_URL", "second")

    assert get_settings() is first
    assert get_settings().landing_url == "first"

    get_settings.cache_clear()
    assert get_settings().landing_url == "second"


def test_get_settings_raises_on_invalid_environment(
    catalog_env: Path, monkeypatch, fresh_settings_cache
) -> None:
    monkeypatch.setenv("CATALOG_CHUNK_SIZE", "bad")

    with pytest.raises(ValidationError):
        get_settings()


@pytest.mark.parametrize(
    "module", ["catalog_lib.core.settings", "catalog_lib.adapters.postgres", "flows.cli.app"]
)
def test_importing_does_not_read_settings(catalog_env: Path, module: str) -> None:
    # A fresh interpreter: the module must import fine even though Settings() would fail.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}
    env["CATALOG_CHUNK_SIZE"] = "bad"
    code = (
        f"import {module}\n"
        "from catalog_lib.core.settings import Settings\n"
        "try:\n"
        "    Settings()\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__)\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=Path.cwd(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ValidationError"


def test_header_limits_have_defaults_and_accept_sizes(catalog_env: Path, monkeypatch) -> None:
    defaults = Settings()
    assert (defaults.max_header_columns, defaults.max_header_bytes) == (1024, 1024 * 1024)
    monkeypatch.setenv("CATALOG_MAX_HEADER_BYTES", "2MiB")
    monkeypatch.setenv("CATALOG_MAX_HEADER_COLUMNS", "4096")
    settings = Settings()
    assert (settings.max_header_columns, settings.max_header_bytes) == (4096, 2 * 1024 * 1024)
