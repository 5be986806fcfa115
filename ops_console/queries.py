"""The console's one read module: cached wrappers over catalog_lib's read functions.

Pages call only these. Every function takes the database URL first, so a cache entry never
outlives a change of database, and is cached for a short time (`st.cache_data(ttl=…)`). The
connection is a `st.cache_resource`. Nothing here is keyed by the signed-in user.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import streamlit as st

from catalog_lib.adapters.postgres import Connection, connect, resolve_database
from catalog_lib.adapters.prefect_deployments import (
    DeploymentSchedule,
    list_deployment_schedules,
)
from catalog_lib.adapters.storage import (
    ObjectStore,
    StorageConfig,
    open_store,
    storage_config_from_settings,
)
from catalog_lib.core.errors import CatalogError, DatabaseError
from catalog_lib.core.settings import Settings
from catalog_lib.ops import overview, reports
from catalog_lib.ops.documents import job_detail_document

TTL_S = 15
LIVE_TTL_S = 2
T = TypeVar("T")


def settings() -> Settings:
    """The settings of this console process (read from the environment each run)."""
    return Settings()


def database_url() -> str:
    """The database the console reads: `CATALOG_DATABASE_URL`, else the running embedded one.

    Raises:
        ConfigurationError: no URL is configured and the embedded server is not running.
    """
    cfg = settings()
    configured = cfg.database_url.get_secret_value() if cfg.database_url else None
    return _resolved_url(configured, str(cfg.state_dir))


@st.cache_resource(show_spinner=False)
def _resolved_url(configured: str | None, state_dir: str) -> str:
    from pathlib import Path

    return resolve_database(configured, Path(state_dir), start=False).url


class _Connection:
    """One autocommit connection shared by the sessions of this process, used one at a time."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._lock = threading.Lock()
        self._conn: Connection | None = None

    @contextmanager
    def use(self) -> Iterator[Connection]:
        with self._lock:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = connect(self._url, autocommit=True)
            try:
                yield self._conn
            except DatabaseError:
                # Lost or conflicting: the next read opens a fresh connection.
                self._conn.close()
                self._conn = None
                raise

    def close(self) -> None:
        """Close the shared connection (the cache releases it); the next use reopens one."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


# Released (cache cleared or entry evicted): close the connection instead of leaving it to GC.
@st.cache_resource(show_spinner=False, on_release=_Connection.close)
def _connection(url: str) -> _Connection:
    return _Connection(url)


def _run(url: str, read: Callable[[Connection], T]) -> T:
    with _connection(url).use() as conn:
        return read(conn)


# --- time windows ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    """A time window ending now (to the minute, so cache keys hold for a minute)."""

    label: str
    span: timedelta
    bucket: timedelta

    @property
    def until(self) -> datetime:
        """The end of the window: the next whole minute."""
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        return now + timedelta(minutes=1)

    @property
    def since(self) -> datetime:
        """The start of the window."""
        return self.until - self.span


WINDOWS = {
    "24 hours": Window("24 hours", timedelta(hours=24), timedelta(hours=1)),
    "7 days": Window("7 days", timedelta(days=7), timedelta(hours=6)),
    "30 days": Window("30 days", timedelta(days=30), timedelta(days=1)),
}
DEFAULT_WINDOW = "7 days"


# --- Health ---------------------------------------------------------------------------------
@st.cache_data(ttl=TTL_S, show_spinner=False)
def health_strip(url: str, stale_days: int) -> overview.HealthStrip:
    """The status strip."""
    return _run(url, lambda c: overview.health_strip(c, stale_days=stale_days))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def job_series(
    url: str, since: datetime, until: datetime, bucket: timedelta
) -> list[overview.SeriesPoint]:
    """Jobs per bucket and state."""
    return _run(url, lambda c: overview.job_series(c, since=since, until=until, bucket=bucket))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def latest_failures(url: str, since: datetime, limit: int = 15) -> list[overview.FailureRow]:
    """The newest failed jobs."""
    return _run(url, lambda c: overview.latest_failures(c, since=since, limit=limit))


# --- Jobs -----------------------------------------------------------------------------------
@st.cache_data(ttl=TTL_S, show_spinner=False)
def find_jobs(url: str, flt: overview.JobFilter, limit: int, offset: int) -> overview.JobPage:
    """One page of jobs with state counts."""
    return _run(url, lambda c: overview.find_jobs(c, flt, limit=limit, offset=offset))


@st.cache_data(ttl=60, show_spinner=False)
def job_filter_options(url: str) -> overview.FilterOptions:
    """Sources and scraper revisions for the filters."""
    return _run(url, overview.job_filter_options)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def resolve_job_ref(url: str, ref: str) -> tuple[uuid.UUID | None, str | None]:
    """(job id, None) for a full id or unique prefix, else (None, why not)."""
    try:
        return _run(url, lambda c: overview.resolve_job_ref(c, ref)), None
    except overview.JobReferenceError as exc:
        return None, exc.message


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def job_detail(url: str, job_id: uuid.UUID) -> dict[str, Any] | None:
    """A job with ledger, reasons, chain and operator actions (the shared read API).

    As the same JSON-ready document the CLI's `job show --json` prints (one shape everywhere).
    """
    detail = _run(url, lambda c: reports.get_job_detail(c, job_id))
    return job_detail_document(detail) if detail is not None else None


@st.cache_data(ttl=TTL_S, show_spinner=False)
def rejected_sample(url: str, job_id: uuid.UUID, limit: int = 20) -> list[overview.RejectedRow]:
    """A sample of a job's rejected rows (mapped item fields only)."""
    return _run(url, lambda c: overview.rejected_sample(c, job_id, limit=limit))


def flow_run_url(flow_run_id: uuid.UUID | None) -> str | None:
    """The Prefect UI page of a flow run, when a Prefect API is configured."""
    api = os.environ.get("PREFECT_API_URL")
    if flow_run_id is None or not api:
        return None
    base = os.environ.get("PREFECT_UI_URL") or api.rstrip("/").removesuffix("/api")
    return f"{base.rstrip('/')}/runs/flow-run/{flow_run_id}"


# --- Sources & audit ------------------------------------------------------------------------
@st.cache_data(ttl=TTL_S, show_spinner=False)
def sources(url: str, stale_days: int) -> list[overview.SourceRow]:
    """One row per source."""
    return _run(url, lambda c: overview.sources_overview(c, stale_days=stale_days))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def source_job_trend(url: str, source: str, since: datetime) -> list[overview.SourceJobPoint]:
    """A source's jobs since `since`."""
    return _run(url, lambda c: overview.source_job_trend(c, source, since=since))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def source_snapshot_trend(url: str, source: str, since: datetime) -> list[overview.SnapshotPoint]:
    """A source's audit snapshots since `since`."""
    return _run(url, lambda c: overview.source_snapshot_trend(c, source, since=since))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def current_flags(url: str, source: str | None = None) -> list[overview.FlagRow]:
    """The flags of the latest snapshots."""
    return _run(url, lambda c: overview.current_flags(c, source=source))


# --- Landing --------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _store(config: StorageConfig) -> ObjectStore:
    return open_store(config)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def landing(url: str, landing_url: str) -> tuple[str, list[overview.LandingRow]]:
    """(landing root, its objects newest first with their ingest state)."""
    cfg = settings()
    if cfg.landing_url != landing_url:  # the cache key names the landing URL it read
        raise CatalogError("the landing URL changed while reading")
    store = _store(storage_config_from_settings(cfg))
    objects = overview.list_landing(store)
    return store.root_uri, _run(url, lambda c: overview.landing_states(c, objects))


# --- Maintenance ----------------------------------------------------------------------------
@st.cache_data(ttl=TTL_S, show_spinner=False)
def maintenance_runs(
    url: str, kind: str | None = None, limit: int = 60
) -> list[overview.MaintenanceRunRow]:
    """Retention and audit runs, newest first."""
    return _run(url, lambda c: overview.maintenance_runs(c, kind=kind, limit=limit))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def deployment_schedules(api_url: str) -> list[DeploymentSchedule]:
    """The deployments and their schedules as Prefect reports them."""
    return list_deployment_schedules(api_url)


def prefect_api_url() -> str | None:
    """The Prefect API the console talks to (`PREFECT_API_URL`), if any."""
    return os.environ.get("PREFECT_API_URL") or None
