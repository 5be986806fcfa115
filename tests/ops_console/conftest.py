"""Fixtures of the console's page tests: a seeded database, the app, the sign-in modes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit import config
from streamlit.testing.v1 import AppTest

from catalog_lib.adapters.postgres import connect
from catalog_lib.demo.history import HistorySpec, HistorySummary, seed_history

# AppTest needs ~30 s on an idle 2-core machine; these machines are shared, so allow more.
TIMEOUT_S = 90
APP = Path(__file__).resolve().parents[2] / "ops_console" / "app.py"
# The brief's minimum: 1,000 jobs over 30 days across 8 sources.
PAGE_SPEC = HistorySpec(jobs=1000, days=30, sources=8, items=1000)
OIDC = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret",
    "client_id": "console",
    "client_secret": "test-client-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ACTION_LABELS = {"Retry", "Repair", "Reconcile", "Ingest", "Acknowledge", "Mute…"}


@dataclass(frozen=True)
class Console:
    """The environment of one page test: database, landing folder, seeded numbers."""

    db_url: str
    landing: Path
    summary: HistorySummary | None


def _clear_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def console_env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Console]:
    """The console pointed at the test database and an empty landing folder, read-only."""
    for key in list(os.environ):
        if key.startswith(("CATALOG_", "PREFECT_API")):
            monkeypatch.delenv(key)
    landing = tmp_path / "landing"
    landing.mkdir()
    monkeypatch.setenv("CATALOG_DATABASE_URL", db_url)
    monkeypatch.setenv("CATALOG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CATALOG_LANDING_URL", str(landing))
    before = config.get_option("server.address")
    config.set_option("server.address", None)  # all interfaces, no OIDC: read-only
    _clear_caches()
    yield Console(db_url=db_url, landing=landing, summary=None)
    _clear_caches()
    config.set_option("server.address", before)


@pytest.fixture
def seeded(console_env: Console) -> Console:
    """`console_env` with the seeded history (ending now)."""
    with connect(console_env.db_url) as conn:
        summary = seed_history(conn, PAGE_SPEC)
    return Console(console_env.db_url, console_env.landing, summary)


@pytest.fixture
def local_operator(console_env: Console) -> Iterator[Console]:
    """Listen on loopback without OIDC: the local-operator mode (actions allowed).

    Depends on `console_env`, which sets the read-only default first.
    """
    before = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield console_env
    config.set_option("server.address", before)


OpenPage = Callable[..., AppTest]


@pytest.fixture
def open_page() -> OpenPage:
    """Run the app and switch to one page: `open_page("jobs", query={"job": "ab12"})`."""

    def run(
        page: str,
        *,
        query: dict[str, str] | None = None,
        user: dict[str, Any] | None = None,
        secrets: dict[str, Any] | None = None,
        window: str | None = None,
    ) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
        if secrets:
            at.secrets["auth"] = secrets
        if user is not None:
            at.user = user
        if window:
            at.session_state["window"] = window
        for key, value in (query or {}).items():
            at.query_params[key] = value
        at.run()
        if page != "health":
            at.switch_page(f"app_pages/{page}.py")
            at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return run


def labels(at: AppTest) -> set[str]:
    """The labels of every button on the page."""
    return {b.label for b in at.button}


def metrics(at: AppTest) -> dict[str, str]:
    """Metric label → shown value."""
    return {m.label: m.value for m in at.metric}


def chart_specs(at: AppTest) -> list[dict[str, Any]]:
    """The Vega-Lite specs of the page's Altair charts."""
    import json

    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
