"""Layout helpers shared by the pages: the database or a clear stop, the window, formats."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import streamlit as st

from catalog_lib.core.errors import CatalogError
from ops_console import queries

JOBS_PAGE = "app_pages/jobs.py"


def database_or_stop() -> str:
    """The database URL; when there is none, say what to do and stop the page."""
    try:
        return queries.database_url()
    except CatalogError as exc:
        st.error(
            f"**No database to read.** {exc.message}. Start the local stack with "
            "`uv run catalog-etl up`, or set `CATALOG_DATABASE_URL`.",
            icon="🛑",
        )
        st.stop()
        raise  # st.stop() raises; this line is for type checkers


def window() -> queries.Window:
    """The time window chosen in the sidebar."""
    label = st.session_state.get("window", queries.DEFAULT_WINDOW)
    return queries.WINDOWS.get(label, queries.WINDOWS[queries.DEFAULT_WINDOW])


def job_href(job_id: uuid.UUID | str) -> str:
    """The deep link of a job's drill-down (relative to the console's base URL)."""
    return f"jobs?job={job_id}"


def short(job_id: uuid.UUID | str | None) -> str:
    """The first 8 characters of an id (enough to find it again)."""
    return "—" if job_id is None else str(job_id)[:8]


def ago(when: datetime | None, now: datetime | None = None) -> str:
    """`3 h ago`, `2 d ago`; `never` for None."""
    if when is None:
        return "never"
    delta = (now or datetime.now(UTC)) - when
    if delta < timedelta(minutes=1):
        return "just now"
    if delta < timedelta(hours=1):
        return f"{int(delta.total_seconds() // 60)} min ago"
    if delta < timedelta(days=2):
        return f"{delta.total_seconds() / 3600:.0f} h ago"
    return f"{delta.days} d ago"


def utc(when: datetime | None) -> str:
    """A timestamp as `2026-12-04 10:00 UTC`."""
    return "—" if when is None else when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: float | None) -> str:
    """`42 s`, `3.5 min`, `1.2 h`."""
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
