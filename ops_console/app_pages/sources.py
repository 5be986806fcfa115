"""Sources & audit: one row per source, its trends, and the audit flags to ack or mute."""

from __future__ import annotations

import streamlit as st

from ops_console import actions, auth, charts, queries
from ops_console.app_pages import common

st.title("Sources & audit")
url = common.database_or_stop()
cfg = queries.settings()
operator = auth.current_operator()
win = common.window()
rows = queries.sources(url, cfg.audit_stale_days)
if not rows:
    st.info(
        "No sources yet — a source appears with its first job. Run `uv run catalog-etl demo`.",
        icon="ℹ️",
    )
    st.stop()

st.dataframe(
    [
        {
            "source": r.source,
            "fresh": "stale" if r.stale else "fresh",
            "last success": common.ago(r.last_success_at),
            "last file": r.last_file,
            "seen": common.ago(r.last_seen_at),
            "last state": r.last_status,
            "items": r.items,
            "rejected share": r.invalid_share,
            "failed (7 d)": r.failed_7d,
            "open flags": r.open_flags,
            "flagged since": r.open_since.strftime("%Y-%m-%d") if r.open_since else "—",
        }
        for r in rows
    ],
    column_config={
        "items": st.column_config.NumberColumn(
            "items", format="localized", help="Catalog items at the latest audit"
        ),
        "last file": st.column_config.TextColumn("last file", width="medium"),
        "rejected share": st.column_config.ProgressColumn(
            "rejected share",
            help="Of the last successful job",
            format="percent",
            min_value=0.0,
            max_value=1.0,
        ),
    },
    hide_index=True,
    width="stretch",
)
st.caption(
    f"Stale: no successful ingest for more than {cfg.audit_stale_days} days "
    "(`CATALOG_AUDIT_STALE_DAYS`). Items: as the latest audit counted them."
)

names = [r.source for r in rows]
# Start with a source that needs a look: open flags and still delivering files.
flagged = next((r.source for r in rows if r.open_flags and not r.stale), names[0])
source = st.selectbox("Source", names, index=names.index(flagged), key="sources_pick")
st.subheader(f"{source}: trend over the last {win.label}")
jobs = queries.source_job_trend(url, source, win.since)
snapshots = queries.source_snapshot_trend(url, source, win.since)
left, mid, right = st.columns(3)
if jobs:
    left.altair_chart(charts.source_rows_trend(jobs), width="stretch")
    mid.altair_chart(charts.source_invalid_trend(jobs), width="stretch")
else:
    last = next(r for r in rows if r.source == source)
    left.info(
        f"No job of {source} in the last {win.label}; its newest file arrived "
        f"{common.ago(last.last_seen_at)}. Widen the window in the sidebar.",
        icon="ℹ️",
    )
if snapshots:
    right.altair_chart(charts.source_items_trend(snapshots), width="stretch")
else:
    right.info(f"No audit of {source} in the last {win.label}.", icon="ℹ️")

st.subheader("Audit flags")
flags = queries.current_flags(url)
if not flags:
    st.success(
        "No audit flags. The audit runs daily (`catalog-audit` deployment) or with "
        "`uv run catalog-etl audit`.",
        icon="✅",
    )
for flag in flags:
    with st.container(border=True):
        head, state_col, buttons = st.columns([5, 3, 3])
        head.markdown(f"**{flag.source}** · `{flag.label}`")
        head.caption(
            f"first seen {common.utc(flag.first_seen_at)} ({common.ago(flag.first_seen_at)}); "
            f"last audit {common.utc(flag.generated_at)}"
        )
        if flag.state == "open":
            state_col.markdown(":red[**open**]")
        else:
            until = f" until {common.utc(flag.muted_until)}" if flag.muted_until else ""
            state_col.markdown(f"**{flag.state}**{until}")
            state_col.caption(f"{flag.state_actor}: {flag.state_reason}")
        with buttons:
            actions.flag_actions(flag.flag_id, operator)
