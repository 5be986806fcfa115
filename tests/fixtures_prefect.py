"""Prefect fixtures (a plugin of the root conftest, so flow and console tests share one server).

One Prefect test server per session; settings pointed at the test database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog_lib.core.settings import get_settings
from flows.runtime import get_runtime


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A session-scoped Prefect test server; results persist to a session temp folder."""
    storage = tmp_path_factory.mktemp("prefect-results")
    os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(storage)
    # Loopback only: the test server must not try to send telemetry.
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    # 300 s: the server also registers the prefect-aws block types, and CI machines are shared.
    with prefect_test_harness(server_startup_timeout=300):
        yield str(PREFECT_API_URL.value())


@pytest.fixture
def flow_env(
    prefect_api: str, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """CATALOG_* settings for a flow run against the test database and a local landing folder."""
    for key in list(os.environ):
        if key.startswith("CATALOG_"):
            monkeypatch.delenv(key)
    landing = tmp_path / "landing"
    landing.mkdir()
    monkeypatch.setenv("CATALOG_DATABASE_URL", db_url)
    monkeypatch.setenv("CATALOG_LANDING_URL", str(landing))
    monkeypatch.setenv("CATALOG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CATALOG_TASK_RETRY_DELAY_S", "0")
    monkeypatch.setenv("PREFECT_API_URL", prefect_api)
    get_settings.cache_clear()
    get_runtime.cache_clear()
    yield landing
    get_settings.cache_clear()
    get_runtime.cache_clear()
