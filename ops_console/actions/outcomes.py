"""Following a started action until its outcome is final: what the flow recorded, shown live."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import streamlit as st

from catalog_lib.core.errors import CatalogError
from ops_console.actions.dialogs import _fail, _run_link, backend, job_link
from ops_console.triggers import (
    INGEST,
    Backend,
    IngestStarted,
    Submitted,
)

# How long a dialog waits for the flow run to record its action before saying "pending".
RECORD_WAIT_S = float(os.environ.get("CATALOG_CONSOLE_RECORD_WAIT_S", "30"))
FINAL_STATUSES = ("completed", "failed", "cancelled")
VERBS = {"retry": "Retry", "repair": "Repair", "reconcile": "Reconcile", "ingest": "Ingest"}
LIVE_EVERY = timedelta(seconds=3)


@dataclass
class Tracked:
    """One started action the session follows until its outcome is final."""

    kind: str
    job_id: uuid.UUID  # the target job (for an ingest: the job it created)
    run_id: uuid.UUID | None
    deployment: str
    created: bool = True
    submitted: Submitted | None = None
    row: dict[str, Any] | None = None  # the operator action the flow recorded
    new_job_id: uuid.UUID | None = None
    action_id: int | None = None
    refused: str | None = None  # why it did not start (decided by the console)

    @classmethod
    def of_submitted(cls, submitted: Submitted) -> Tracked:
        """Follow an action flow run."""
        return cls(
            kind=submitted.kind,
            job_id=submitted.job_id,
            run_id=submitted.run.id,
            deployment=submitted.deployment,
            created=submitted.run.created,
            submitted=submitted,
        )

    @classmethod
    def of_ingest(cls, kind: str, target: uuid.UUID, started: IngestStarted) -> Tracked:
        """Follow an ingest the console triggered itself."""
        return cls(
            kind=kind,
            job_id=target,
            run_id=started.run.id if started.run else None,
            deployment=INGEST,
            created=bool(started.run and started.run.created),
            new_job_id=started.job_id if started.duplicate_of is None else None,
            action_id=started.action_id,
            refused=None
            if started.duplicate_of is None
            else f"the object is already ingested or being ingested by job "
            f"{job_link(started.duplicate_of)} ({started.status})",
        )


@dataclass(frozen=True)
class _View:
    level: str  # success | info | warning | error
    text: str
    caption: str | None
    final: bool


def _view(be: Backend, t: Tracked) -> _View:
    """Where one tracked action stands now (re-reads its action row and new job)."""
    verb = VERBS.get(t.kind, t.kind)
    if t.refused is not None:
        caption = f"Recorded as operator action #{t.action_id}." if t.action_id else None
        return _View(
            "error", f"**{verb} refused** for job {job_link(t.job_id)}: {t.refused}", caption, True
        )
    run = _run_link(be, t.run_id)
    if t.submitted is not None and (t.row is None or t.row["outcome"] == "started"):
        t.row = be.recorded(t.submitted) or t.row
    row = t.row
    if row is not None and row.get("result_job_id") is not None:
        t.new_job_id = row["result_job_id"]
    if t.submitted is not None and row is None:
        state = _safe_state(be, t.run_id, t.deployment) if t.run_id else None
        return _View(
            "info",
            f"**{verb}** of job {job_link(t.job_id)}: {run} is {state or 'scheduled'}; "
            "waiting for it to record the action.",
            None,
            False,
        )
    caption = None
    if row is not None:
        caption = f"Recorded as operator action #{row['id']} by {row['actor']}."
    elif t.action_id is not None:
        caption = f"Recorded as operator action #{t.action_id}."
    if row is not None and row["outcome"] in ("refused", "failed"):
        return _View(
            "error",
            f"**{verb} {row['outcome']}** ({row.get('code')}): {row.get('message')} · {run}",
            caption,
            True,
        )
    if t.new_job_id is None:
        message = row.get("message") if row else None
        final = row is not None and row["outcome"] == "succeeded"
        return _View(
            "success" if final else "info",
            f"**{verb}** of job {job_link(t.job_id)}: {message or 'running'} · {run}",
            caption,
            final,
        )
    job = be.job(t.new_job_id)
    status = str(job.status) if job else "unknown"
    final = status in FINAL_STATUSES or (row is not None and row["outcome"] == "succeeded")
    level = "success" if status == "completed" else "error" if final else "info"
    source = "" if t.kind == "ingest" else f" of job {job_link(t.job_id)}"
    return _View(
        level,
        f"**{verb}**{source}: new job {job_link(t.new_job_id)} is **{status}** · {run}",
        caption,
        final,
    )


def _show(view: _View) -> None:
    box = {"success": st.success, "info": st.info, "warning": st.warning, "error": st.error}
    icons = {
        "success": ":material/check_circle:",
        "info": ":material/hourglass_top:",
        "warning": ":material/warning:",
        "error": ":material/block:",
    }
    box[view.level](view.text, icon=icons[view.level])
    if view.caption:
        st.caption(view.caption)


def _tracked_key(scope: str) -> str:
    return f"console_tracked_{scope}"


def _track(scope: str, items: list[Tracked]) -> None:
    st.session_state[_tracked_key(scope)] = items


def _last_outcome(scope: str) -> None:
    """The outcome of this scope's latest action; refreshed every few seconds until final."""
    items: list[Tracked] | None = st.session_state.get(_tracked_key(scope))
    if not items:
        return
    try:
        be = backend()
        views = [_view(be, t) for t in items]
    except CatalogError as exc:
        _fail(exc)
        return
    if all(v.final for v in views):
        for view in views:
            _show(view)
        return
    _live_outcome(scope)


@st.fragment(run_every=LIVE_EVERY)
def _live_outcome(scope: str) -> None:
    items: list[Tracked] = st.session_state.get(_tracked_key(scope)) or []
    try:
        be = backend()
        views = [_view(be, t) for t in items]
    except CatalogError as exc:
        _fail(exc)
        return
    if views and all(v.final for v in views):
        # Stop polling: the full rerun renders the final outcome, without this fragment. Not
        # shown here first: until the rerun replaces this fragment's output the page would
        # show the final outcome twice (the browser test caught both copies at once).
        st.rerun()
    for view in views:
        _show(view)


def _safe_state(be: Backend, run_id: uuid.UUID | None, deployment: str) -> str | None:
    if run_id is None:
        return None
    try:
        state = be.run_state(run_id, deployment)
    except CatalogError:
        return None
    return state.lower() if state else None


def _wait_and_show(be: Backend, scope: str, items: list[Tracked]) -> None:
    """Right after submitting: wait a little for the flows to record, then show the outcome."""
    _track(scope, items)
    with st.spinner("Waiting for the flow run to record the action…"):
        for t in items:
            if t.submitted is not None:
                t.row = be.wait_recorded(t.submitted, timeout_s=RECORD_WAIT_S / len(items))
    for t in items:
        if t.run_id is not None:
            again = "" if t.created else " (already submitted: the same run)"
            st.markdown(f"Started {_run_link(be, t.run_id)} of `{t.deployment}`{again}.")
    _last_outcome(scope)
