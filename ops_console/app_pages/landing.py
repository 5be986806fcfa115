"""Landing: the objects scrapers dropped, newest first, and whether each one was ingested."""

from __future__ import annotations

import streamlit as st

from catalog_lib.core.errors import CatalogError
from ops_console import actions, auth, queries
from ops_console.app_pages import common

STATE_BADGES = {
    "never ingested": ":orange[never ingested]",
    "running": ":blue[running]",
    "completed": ":green[completed]",
    "failed": ":red[failed]",
    "no source folder": ":gray[no source folder]",
}

st.title("Landing")
url = common.database_or_stop()
cfg = queries.settings()
operator = auth.current_operator()
try:
    root, rows = queries.landing(url, cfg.landing_url)
except CatalogError as exc:
    st.error(f"**Cannot list the landing area** (`CATALOG_LANDING_URL`): {exc.message}", icon="🛑")
    st.stop()
st.caption(f"`{root}` — objects newest first; state by source + key + ETag.")
if not rows:
    st.info(
        "The landing area is empty. Scrapers drop CSV files under `{source}/{file}.csv`; "
        "`uv run catalog-etl demo` writes sample files there.",
        icon="ℹ️",
    )
    st.stop()

counts: dict[str, int] = {}
for row in rows:
    counts[row.state] = counts.get(row.state, 0) + 1
cols = st.columns(len(STATE_BADGES))
for col, state in zip(cols, STATE_BADGES, strict=True):
    col.metric(state, counts.get(state, 0))

only_new = st.toggle("Only objects not ingested yet", key="landing_only_new")
shown = [r for r in rows if r.can_ingest] if only_new else rows
header = st.columns([4, 2, 2, 2, 2, 2])
for col, title in zip(
    header, ["object", "source", "size", "modified (UTC)", "state", ""], strict=True
):
    col.markdown(f"**{title}**")
for row in shown:
    cols = st.columns([4, 2, 2, 2, 2, 2])
    cols[0].markdown(f"`{row.obj.key}`")
    cols[1].write(row.obj.source or "—")
    cols[2].write(f"{row.obj.version.size:,} B")
    cols[3].write(common.utc(row.obj.version.last_modified))
    state = STATE_BADGES.get(row.state, row.state)
    if row.job_id is not None:
        cols[4].markdown(f"{state} · [{common.short(row.job_id)}]({common.job_href(row.job_id)})")
    else:
        cols[4].markdown(state)
    if row.can_ingest and row.obj.source is not None:
        with cols[5]:
            actions.ingest_action(row.obj.source, row.obj.key, operator)
