"""Health: is anything broken now? Status strip, charts over the window, latest failures."""

from __future__ import annotations

import streamlit as st

from catalog_lib.ops import overview
from ops_console import charts, queries
from ops_console.app_pages import common

st.title("Health")
url = common.database_or_stop()
win = common.window()
cfg = queries.settings()
strip = queries.health_strip(url, cfg.audit_stale_days)

cols = st.columns(5)
cols[0].metric(
    "Running now", strip.running_now, help=f"{strip.pending_now} more waiting for a worker"
)
cols[1].metric("Failed (24 h)", strip.failed_24h)
cols[2].metric(
    "Stale sources",
    strip.stale_sources,
    help=f"No successful ingest for more than {cfg.audit_stale_days} days",
)
cols[3].metric("Open audit flags", strip.open_flags)
cols[4].metric("Rejected rows (24 h)", f"{strip.rejected_rows_24h:,}")

points = queries.job_series(url, win.since, win.until, win.bucket)
bucket = common.duration(win.bucket.total_seconds()).replace(".0", "")
st.caption(
    f"Jobs created in the last {win.label} (change the window in the sidebar), "
    f"in buckets of {bucket}. Times are UTC."
)
if not points:
    st.info(
        f"No jobs in the last {win.label}. Ingest a file with `uv run catalog-etl ingest "
        "SOURCE URI`, or fill a development database with `uv run catalog-etl demo`.",
        icon="ℹ️",
    )
else:
    left, right = st.columns(2)
    left.altair_chart(charts.jobs_by_state(points), width="stretch")
    right.altair_chart(charts.rows_ingested(points), width="stretch")
    left, right = st.columns(2)
    left.altair_chart(charts.failure_rate(overview.failure_rates(points)), width="stretch")
    right.altair_chart(charts.durations(points), width="stretch")

st.subheader("Latest failures")
failures = queries.latest_failures(url, win.since)
if not failures:
    st.success(f"No job failed in the last {win.label}.", icon="✅")
else:
    st.dataframe(
        [
            {
                "job": common.job_href(f.job_id),
                "failed": common.utc(f.completed_at or f.created_at),
                "source": f.source,
                "file": f.filename,
                "error kind": f.error_kind,
                "error": f.error_message,
                "replaced by": (
                    f"{common.short(f.successor_id)} ({f.successor_status})"
                    if f.successor_id
                    else "—"
                ),
            }
            for f in failures
        ],
        column_config={
            "job": st.column_config.LinkColumn(
                "job", display_text=r"jobs\?job=(.{8}).*", help="Open the job's drill-down"
            )
        },
        hide_index=True,
        width="stretch",
    )
