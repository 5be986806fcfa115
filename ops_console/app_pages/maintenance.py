"""Maintenance: retention and audit runs, and the deployments' schedules as Prefect has them."""

from __future__ import annotations

import streamlit as st

from catalog_lib.core.errors import CatalogError
from ops_console import queries
from ops_console.app_pages import common

STATUS_BADGES = {
    "succeeded": ":green[succeeded]",
    "failed": ":red[failed]",
    "running": ":blue[running]",
}

st.title("Maintenance")
url = common.database_or_stop()

st.subheader("Retention and audit runs")
kind = st.segmented_control("Kind", ["all", "retention", "audit"], default="all", key="maint_kind")
runs = queries.maintenance_runs(url, None if kind in (None, "all") else kind)
if not runs:
    st.info(
        "No maintenance run yet. `catalog-etl serve` (or `up`) schedules the retention sweep "
        "and the audit daily; run them now with `uv run catalog-etl retention` and "
        "`uv run catalog-etl audit`.",
        icon="ℹ️",
    )
else:
    last_capped = next((r for r in runs if r.capped), None)
    if last_capped is not None and last_capped is runs[0]:
        st.warning(
            "The last retention run was **capped**: expired rejected rows remain. Raise "
            "`CATALOG_RETENTION_MAX_BATCHES` or run `catalog-etl retention` again.",
            icon="⚠️",
        )
    st.dataframe(
        [
            {
                "run": r.run_id,
                "kind": r.kind,
                "started (UTC)": common.utc(r.started_at),
                "took": common.duration(r.duration_ms / 1000 if r.duration_ms else None),
                "status": r.status,
                "capped": "capped" if r.capped else "",
                "what it did": r.summary,
            }
            for r in runs
        ],
        column_config={
            "run": st.column_config.NumberColumn("run", width="small"),
            "took": st.column_config.TextColumn("took", width="small"),
            "capped": st.column_config.TextColumn("capped", width="small"),
            "what it did": st.column_config.TextColumn("what it did", width="large"),
        },
        hide_index=True,
        width="stretch",
    )

st.subheader("Deployment schedules")
api = queries.prefect_api_url()
if api is None:
    st.info(
        "No Prefect API configured (`PREFECT_API_URL`), so the schedules cannot be read. "
        "Start the console with `uv run catalog-etl console` or `uv run catalog-etl up`.",
        icon="ℹ️",
    )
else:
    try:
        deployments = queries.deployment_schedules(api)
    except CatalogError as exc:
        st.error(f"**Cannot read the deployments from Prefect:** {exc.message}", icon="🛑")
        deployments = None
    if deployments == []:
        st.warning(
            "Prefect has no deployments registered. Start `uv run catalog-etl serve` "
            "(or `up`) to register and serve them.",
            icon="⚠️",
        )
    elif deployments:
        st.dataframe(
            [
                {
                    "deployment": d.name,
                    "schedule": ", ".join(d.schedules) or "on demand",
                    "paused": "paused" if d.paused else "",
                    "status": d.status or "—",
                    "last polled": common.ago(d.last_polled),
                }
                for d in deployments
            ],
            hide_index=True,
            width="stretch",
        )
        st.caption("As the Prefect server reports them; `NOT_READY` means no runner polls it.")
