"""Altair chart specs of the console: explicit encodings, UTC time axes, fixed state colours."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import altair as alt
import pandas as pd

from catalog_lib.ops import overview

# One colour per job state on every page.
STATE_COLORS: dict[str, str] = {
    "completed": "#2e7d32",
    "failed": "#c62828",
    "cancelled": "#8d8d8d",
    "running": "#1565c0",
    "pending": "#f9a825",
}
TIME_TITLE = "time (UTC)"
HEIGHT = 220


def state_scale() -> alt.Scale:
    """The colour scale of job states (same domain and order everywhere)."""
    return alt.Scale(domain=list(STATE_COLORS), range=list(STATE_COLORS.values()))


def _utc(value: datetime) -> str:
    return pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _time_x(field: str = "bucket") -> alt.X:
    return alt.X(
        f"{field}:T",
        title=TIME_TITLE,
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(format="%b %d %H:%M", labelAngle=0),
    )


def _time_tooltip(field: str = "bucket", title: str = "bucket start (UTC)") -> alt.Tooltip:
    return alt.Tooltip(
        f"{field}:T", title=title, format="%Y-%m-%d %H:%M", timeUnit="utcyearmonthdatehoursminutes"
    )


def jobs_by_state(points: Sequence[overview.SeriesPoint]) -> alt.Chart:
    """Stacked bars: jobs per bucket by final state."""
    frame = pd.DataFrame(
        [{"bucket": _utc(p.bucket), "status": p.status, "jobs": p.jobs} for p in points],
        columns=["bucket", "status", "jobs"],
    )
    return (
        alt.Chart(frame, title="Jobs by state", height=HEIGHT)
        .mark_bar()
        .encode(
            x=_time_x(),
            y=alt.Y("sum(jobs):Q", title="jobs"),
            color=alt.Color("status:N", title="state", scale=state_scale()),
            tooltip=[_time_tooltip(), alt.Tooltip("status:N", title="state"), "jobs:Q"],
        )
    )


def rows_ingested(points: Sequence[overview.SeriesPoint]) -> alt.Chart:
    """Area: rows accepted (loaded) and rejected per bucket, completed jobs only."""
    records: list[dict[str, Any]] = []
    for p in points:
        if p.status == "completed":
            records.append({"bucket": _utc(p.bucket), "kind": "accepted", "rows": p.rows_valid})
            records.append({"bucket": _utc(p.bucket), "kind": "rejected", "rows": p.rows_invalid})
    frame = pd.DataFrame(records, columns=["bucket", "kind", "rows"])
    return (
        alt.Chart(frame, title="Rows ingested", height=HEIGHT)
        .mark_area(opacity=0.8)
        .encode(
            x=_time_x(),
            y=alt.Y("sum(rows):Q", title="rows", stack=True),
            color=alt.Color(
                "kind:N",
                title="rows",
                scale=alt.Scale(domain=["accepted", "rejected"], range=["#2e7d32", "#ef6c00"]),
            ),
            tooltip=[_time_tooltip(), alt.Tooltip("kind:N", title="rows"), "rows:Q"],
        )
    )


def failure_rate(rates: Sequence[overview.RatePoint]) -> alt.Chart:
    """Line: share of finished jobs that failed or were cancelled, per bucket."""
    frame = pd.DataFrame(
        [
            {
                "bucket": _utc(r.bucket),
                "failure_rate": r.failure_rate,
                "failed": r.failed,
                "finished": r.finished,
            }
            for r in rates
        ],
        columns=["bucket", "failure_rate", "failed", "finished"],
    )
    return (
        alt.Chart(frame, title="Failure rate", height=HEIGHT)
        .mark_line(point=True, color=STATE_COLORS["failed"])
        .encode(
            x=_time_x(),
            y=alt.Y("failure_rate:Q", title="failed / finished", axis=alt.Axis(format="%")),
            tooltip=[
                _time_tooltip(),
                alt.Tooltip("failure_rate:Q", title="failure rate", format=".1%"),
                "failed:Q",
                "finished:Q",
            ],
        )
    )


def durations(points: Sequence[overview.SeriesPoint]) -> alt.Chart:
    """Lines: p50 and p95 run time of completed jobs per bucket, in minutes."""
    records: list[dict[str, Any]] = []
    for p in points:
        if p.status != "completed":
            continue
        for name, value in (("p50", p.p50_s), ("p95", p.p95_s)):
            if value is not None:
                records.append({"bucket": _utc(p.bucket), "quantile": name, "minutes": value / 60})
    frame = pd.DataFrame(records, columns=["bucket", "quantile", "minutes"])
    return (
        alt.Chart(frame, title="Job duration (completed jobs)", height=HEIGHT)
        .mark_line(point=True)
        .encode(
            x=_time_x(),
            y=alt.Y("minutes:Q", title="minutes"),
            color=alt.Color(
                "quantile:N",
                title="quantile",
                scale=alt.Scale(domain=["p50", "p95"], range=["#1565c0", "#6a1b9a"]),
            ),
            tooltip=[
                _time_tooltip(),
                "quantile:N",
                alt.Tooltip("minutes:Q", title="minutes", format=".1f"),
            ],
        )
    )


def source_rows_trend(points: Sequence[overview.SourceJobPoint]) -> alt.Chart:
    """Points per job of one source: rows accepted, coloured by the job's state."""
    frame = pd.DataFrame(
        [
            {
                "created_at": _utc(p.created_at),
                "rows_valid": p.rows_valid,
                "status": p.status,
                "job": str(p.job_id)[:8],
            }
            for p in points
        ],
        columns=["created_at", "rows_valid", "status", "job"],
    )
    return (
        alt.Chart(frame, title="Rows accepted per job", height=HEIGHT)
        .mark_circle(size=45)
        .encode(
            x=_time_x("created_at"),
            y=alt.Y("rows_valid:Q", title="rows accepted"),
            color=alt.Color("status:N", title="state", scale=state_scale()),
            tooltip=[
                _time_tooltip("created_at", "created (UTC)"),
                "job:N",
                "status:N",
                "rows_valid:Q",
            ],
        )
    )


def source_invalid_trend(points: Sequence[overview.SourceJobPoint]) -> alt.Chart:
    """Line: share of rejected rows per job of one source."""
    frame = pd.DataFrame(
        [
            {
                "created_at": _utc(p.created_at),
                "invalid_share": p.invalid_share,
                "job": str(p.job_id)[:8],
            }
            for p in points
            if p.invalid_share is not None
        ],
        columns=["created_at", "invalid_share", "job"],
    )
    return (
        alt.Chart(frame, title="Rejected share per job", height=HEIGHT)
        .mark_line(point=True, color="#ef6c00")
        .encode(
            x=_time_x("created_at"),
            y=alt.Y("invalid_share:Q", title="rejected / read", axis=alt.Axis(format="%")),
            tooltip=[
                _time_tooltip("created_at", "created (UTC)"),
                "job:N",
                alt.Tooltip("invalid_share:Q", title="rejected share", format=".2%"),
            ],
        )
    )


def source_items_trend(points: Sequence[overview.SnapshotPoint]) -> alt.Chart:
    """Line: catalog items of one source at each audit snapshot."""
    frame = pd.DataFrame(
        [{"generated_at": _utc(p.generated_at), "total_items": p.total_items} for p in points],
        columns=["generated_at", "total_items"],
    )
    return (
        alt.Chart(frame, title="Items at each audit", height=HEIGHT)
        .mark_line(point=True, color="#00695c")
        .encode(
            x=_time_x("generated_at"),
            y=alt.Y("total_items:Q", title="catalog items"),
            tooltip=[_time_tooltip("generated_at", "audit (UTC)"), "total_items:Q"],
        )
    )


def invalid_reasons(reasons: Sequence[dict[str, Any]]) -> alt.Chart:
    """Horizontal bars: rejected rows per (field, reason)."""
    frame = pd.DataFrame(
        [{"reason": f"{r['field']}: {r['reason']}", "rows": int(r["rows"])} for r in reasons],
        columns=["reason", "rows"],
    )
    return (
        alt.Chart(frame, title="Why rows were rejected", height=max(60, 28 * len(frame)))
        .mark_bar(color="#ef6c00")
        .encode(
            x=alt.X("rows:Q", title="rejected rows (logged)"),
            y=alt.Y("reason:N", title=None, sort="-x", axis=alt.Axis(labelLimit=420)),
            tooltip=["reason:N", "rows:Q"],
        )
    )
