"""Jobs: filters, counts by state, a paginated table, and the drill-down of one job.

`?job=<id or unique prefix>` opens the drill-down, so alerts and chat messages can link to it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pandas as pd
import streamlit as st

from catalog_lib.ops import overview
from ops_console import actions, auth, charts, queries
from ops_console.app_pages import common

PAGE_SIZE = 50
ANY = "any"
BUT_COMPLETED = "everything but completed"
STATE_CHOICES = [ANY, BUT_COMPLETED, *overview.JOB_STATES]
CREATED_CHOICES = {
    "sidebar window": None,
    "last hour": timedelta(hours=1),
    "last 24 hours": timedelta(hours=24),
    "last 7 days": timedelta(days=7),
    "last 30 days": timedelta(days=30),
    "any time": timedelta(0),
}
LEDGER_REFRESH_S = 3

url = common.database_or_stop()
operator = auth.current_operator()


def _states(choice: str) -> tuple[str, ...]:
    if choice == ANY:
        return ()
    if choice == BUT_COMPLETED:
        return overview.NOT_COMPLETED
    return (choice,)


def job_list() -> None:
    """The filtered, paginated jobs table with counts by state and bulk retry."""
    st.title("Jobs")
    options = queries.job_filter_options(url)
    if not options.sources:
        st.info(
            "No jobs yet — run `uv run catalog-etl demo` for sample data, or ingest a file "
            "with `uv run catalog-etl ingest SOURCE URI`.",
            icon="ℹ️",
        )
        return
    with st.container(border=True):
        c1, c2, c3, c4, c5 = st.columns([3, 2, 2, 2, 2])
        picked_sources = c1.multiselect("Source", options.sources, key="jobs_sources")
        state = c2.selectbox("State", STATE_CHOICES, key="jobs_state")
        created = c3.selectbox("Created", list(CREATED_CHOICES), key="jobs_created")
        revision = c4.selectbox("Scraper revision", [ANY, *options.revisions], key="jobs_rev")
        ref = c5.text_input("Open job", placeholder="id or prefix", key="jobs_ref")
    if ref.strip():
        st.query_params["job"] = ref.strip()
        st.rerun()
    span = CREATED_CHOICES[created]
    win = common.window()
    since = win.since if span is None else (None if span == timedelta(0) else win.until - span)
    flt = overview.JobFilter(
        sources=tuple(picked_sources),
        statuses=_states(state),
        since=since,
        scraper_revision=None if revision == ANY else revision,
    )
    first = queries.find_jobs(url, flt, PAGE_SIZE, 0)
    counts = st.columns(len(overview.JOB_STATES) + 1)
    counts[0].metric("Matching", f"{first.total:,}")
    for col, name in zip(counts[1:], overview.JOB_STATES, strict=True):
        col.metric(name, f"{first.counts.get(name, 0):,}")
    if first.total == 0:
        st.info("No job matches these filters — widen the time range or clear a filter.")
        return
    pager, _ = st.columns([1, 4])
    page_no = pager.number_input(
        f"Page (of {first.pages})", min_value=1, max_value=first.pages, value=1, key="jobs_page"
    )
    offset = (page_no - 1) * PAGE_SIZE
    page = first if page_no == 1 else queries.find_jobs(url, flt, PAGE_SIZE, offset)
    frame = pd.DataFrame(
        [
            {
                "job": common.job_href(r.job_id),
                "state": r.status,
                "mode": r.mode,
                "source": r.source,
                "file": r.filename,
                "revision": r.scraper_revision,
                "created (UTC)": r.created_at.strftime("%Y-%m-%d %H:%M"),
                "duration": common.duration(r.duration_s),
                "rows": r.rows_processed,
                "rejected": r.rows_invalid,
                "Δ reconcile": r.reconcile_delta,
                "error kind": r.error_kind,
            }
            for r in page.rows
        ]
    )
    event = st.dataframe(
        frame,
        column_config={
            "job": st.column_config.LinkColumn(
                "job", display_text=r"jobs\?job=(.{8}).*", help="Open the job's drill-down"
            ),
            "rows": st.column_config.NumberColumn("rows", format="localized"),
            "rejected": st.column_config.NumberColumn("rejected", format="localized"),
            "file": st.column_config.TextColumn("file", width="medium"),
        },
        hide_index=True,
        width="stretch",
        key="jobs_table",
        on_select="rerun" if operator is not None else "ignore",
        selection_mode="multi-row",
    )
    st.caption(
        f"Jobs {page.offset + 1}–{page.offset + len(page.rows)} of {page.total:,}, newest first."
    )
    if operator is not None:
        selected = [page.rows[i] for i in getattr(event, "selection", {}).get("rows", [])]
        retryable = [r.job_id for r in selected if r.status in ("failed", "cancelled")]
        if selected and not retryable:
            st.caption("Select failed or cancelled jobs to retry them together.")
        if retryable:
            actions.bulk_retry(retryable, operator)


STATE_BADGES = {
    "completed": ":green-badge[completed]",
    "failed": ":red-badge[failed]",
    "cancelled": ":gray-badge[cancelled]",
    "running": ":blue-badge[running]",
    "pending": ":orange-badge[pending]",
}


def _metric_row(job: dict[str, Any]) -> None:
    cols = st.columns(5)
    cols[0].metric("Rows read", f"{job['total_processed']:,}")
    cols[1].metric("Accepted", f"{job['total_valid']:,}")
    cols[2].metric("Rejected", f"{job['total_invalid']:,}")
    cols[3].metric("Items upserted", f"{job['items_upserted']:,}")
    cols[4].metric("Chunks", job["chunks"])


def _reconcile_card(job: dict[str, Any]) -> None:
    with st.container(border=True):
        st.markdown("**Reconcile** — rows counted in the file (DuckDB) vs rows the job read")
        if job["verified_at"] is None:
            st.caption("Not reconciled yet (it runs when a job completes, or on demand).")
            return
        cols = st.columns(3)
        cols[0].metric("Expected (file)", f"{job['verified_row_count']:,}")
        cols[1].metric("Actual (job)", f"{job['total_processed']:,}")
        delta = job["reconcile_delta"] or 0
        cols[2].metric("Delta", delta)
        st.caption(
            f"Verified at {common.utc(job['verified_at'])}"
            + (" — the counts agree." if delta == 0 else " — **the counts differ**: repair it.")
        )


def _ledger_table(job: dict[str, Any]) -> None:
    rows = [
        {
            "chunk": r["chunk_index"],
            "state": r["status"],
            "attempts": r["attempts"],
            "rows": r["rows_processed"],
            "rejected": r["rows_invalid"],
            "bytes": f"{r['byte_start']:,}–{r['byte_end']:,}"
            if r["byte_start"] is not None
            else "",
            "duration": common.duration(
                (r["finished_at"] - r["started_at"]).total_seconds()
                if r["finished_at"] and r["started_at"]
                else None
            ),
            "error": r["error_kind"] or "",
        }
        for r in job["ledger"]
    ]
    planned = job["chunks"] or 0
    done = sum(1 for r in job["ledger"] if r["status"] == "completed")
    st.progress(done / planned if planned else 0.0, text=f"{done} of {planned} chunks completed")
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    else:
        st.caption("No chunk has started yet.")
    if job["apply_partitions"]:
        st.caption(
            "Apply partitions: "
            + ", ".join(f"#{p['chunk_index']} {p['status']}" for p in job["apply_partitions"])
        )


@st.fragment(run_every=LEDGER_REFRESH_S)
def _live_ledger(job_id: uuid.UUID) -> None:
    job = queries.job_detail(url, job_id)
    if job is None:
        return
    st.caption(f"Live — refreshed every {LEDGER_REFRESH_S} s while the job runs.")
    _ledger_table(job)
    if job["status"] not in ("pending", "running"):
        st.rerun()  # the job finished: redraw the whole page once, without the live ledger


def _chain(job: dict[str, Any]) -> None:
    chain = job["supersession_chain"]
    if len(chain) <= 1:
        st.caption("No other job replaces this one or is replaced by it.")
        return
    st.dataframe(
        [
            {
                "job": common.job_href(c["id"]),
                "relation": {
                    "self": "this job",
                    "replaces": "replaced by this job",
                    "replaced_by": "replaces this job",
                }[c["relation"]],
                "state": c["status"],
                "mode": c["mode"],
                "created (UTC)": common.utc(c["created_at"]),
            }
            for c in chain
        ],
        column_config={
            "job": st.column_config.LinkColumn("job", display_text=r"jobs\?job=(.{8}).*")
        },
        hide_index=True,
        width="stretch",
    )


def job_drilldown(ref: str) -> None:
    """Everything about one job, with its actions."""
    if st.button("← All jobs", key="jobs_back"):
        del st.query_params["job"]
        st.session_state.pop("jobs_ref", None)
        st.rerun()
    job_id, problem = queries.resolve_job_ref(url, ref)
    if job_id is None:
        st.title("Job not found")
        st.error(f"`{ref[:40]}`: {problem}.", icon="🔎")
        return
    job = queries.job_detail(url, job_id)
    if job is None:
        st.error("The job disappeared (deleted?).")
        return
    st.title(f"Job {common.short(job_id)}")
    st.markdown(
        f"{STATE_BADGES.get(job['status'], job['status'])} &nbsp; {job['mode']} of "
        f"**{job['source']}**"
    )
    st.caption(
        f"`{job_id}` · `{job['filename']}` · "
        f"revision `{job['scraper_revision']}` · created {common.utc(job['created_at'])}"
        + (f" · ended {common.utc(job['completed_at'])}" if job["completed_at"] else "")
    )
    run_url = queries.flow_run_url(job["flow_run_id"])
    if run_url:
        st.markdown(f"[Open the Prefect flow run ↗]({run_url})")
    elif job["flow_run_id"]:
        st.caption(f"Prefect flow run `{job['flow_run_id']}` (no Prefect API configured)")
    if job["error_kind"]:
        st.error(f"**{job['error_kind']}** — {job['error_message'] or 'no message'}", icon="❌")
    _metric_row(job)
    with st.container(border=operator is not None):
        actions.job_actions({**job, "id": job["job_id"]}, operator)
    _reconcile_card(job)

    st.subheader("Chunk ledger")
    if job["status"] in ("pending", "running"):
        _live_ledger(job_id)
    else:
        _ledger_table(job)

    st.subheader("Rejected rows")
    reasons = job["invalid_reasons"]
    if not reasons:
        st.caption("No rejected rows are logged for this job.")
    else:
        logged = sum(int(r["rows"]) for r in reasons)
        st.caption(
            f"{logged:,} logged rejected rows of {job['total_invalid']:,} "
            "(rows older than the retention period are deleted)."
        )
        st.altair_chart(charts.invalid_reasons(reasons), width="stretch")
        sample = queries.rejected_sample(url, job_id)
        st.dataframe(
            [
                {
                    "chunk": r.chunk_index,
                    "row": r.record_ordinal,
                    "why": "; ".join(f"{e.get('field')}: {e.get('reason')}" for e in r.errors),
                    **{k: str(v) for k, v in r.values.items()},
                }
                for r in sample
            ],
            hide_index=True,
            width="stretch",
        )

    st.subheader("Supersession chain")
    _chain(job)

    st.subheader("Operator actions")
    if not job["operator_actions"]:
        st.caption("No operator action targeted or created this job.")
    else:
        st.dataframe(
            [
                {
                    "when (UTC)": common.utc(a["created_at"]),
                    "who": a["actor"],
                    "action": a["action"],
                    "outcome": a["outcome"],
                    "reason": a["reason"],
                    "new job": common.short(a["result_job_id"]),
                }
                for a in job["operator_actions"]
            ],
            hide_index=True,
            width="stretch",
        )


requested = st.query_params.get("job")
if requested:
    job_drilldown(requested)
else:
    job_list()
