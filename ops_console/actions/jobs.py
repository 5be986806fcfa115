"""Retry / Repair / Reconcile for one job, and bulk retry of selected jobs."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from catalog_lib.core.errors import CatalogError, SourceChangedError
from ops_console.actions.dialogs import (
    BLOCK,
    WARN,
    _close,
    _close_button,
    _deployment_problem,
    _fail,
    _open,
    _opened,
    _source_panel,
    backend,
    job_link,
)
from ops_console.actions.outcomes import Tracked, _last_outcome, _wait_and_show
from ops_console.auth import Operator
from ops_console.triggers import (
    ACTION_DEPLOYMENTS,
    INGEST,
    RECONCILE_STATUSES,
    REPAIR_STATUSES,
    RETRY_STATUSES,
    Backend,
    JobTarget,
)

JobLike = Any  # a read-API row (mapping) or a model with id/status/source/object_key/etag/size


@dataclass(frozen=True)
class _Kind:
    verb: str
    statuses: tuple[str, ...]
    explains: str


KINDS: dict[str, _Kind] = {
    "retry": _Kind(
        "Retry",
        RETRY_STATUSES,
        "A new **retry** job supersedes this one and resumes from its chunk ledger: chunks it "
        "completed are kept, the rest are read again (`retry-job` deployment).",
    ),
    "repair": _Kind(
        "Repair",
        REPAIR_STATUSES,
        "A new **repair** job supersedes this one and re-plans and re-reads every chunk of the "
        "file from scratch (`repair-job` deployment).",
    ),
    "reconcile": _Kind(
        "Reconcile",
        RECONCILE_STATUSES,
        "DuckDB counts the file's records independently; the verified count and the delta "
        "against this job's processed rows are stored on the job (`reconcile-job` deployment).",
    ),
}
RETRY_CANCELLED = (
    "The job was cancelled: its file is **ingested again** as a new job that supersedes it "
    "(`ingest-catalog` deployment)."
)

# --------------------------------------------------------------------------- one job


def job_actions(job: JobLike, operator: Operator | None) -> None:
    """Retry / Repair / Reconcile buttons for one job (nothing when `operator` is None)."""
    if operator is None:
        return
    target = JobTarget.of(job)
    kinds = [kind for kind, spec in KINDS.items() if target.status in spec.statuses]
    if not kinds:
        st.caption(f"No action for a {target.status} job.")
        return
    columns = st.columns(len(kinds))
    for column, kind in zip(columns, kinds, strict=True):
        if column.button(KINDS[kind].verb, key=f"action_{kind}_{target.id}"):
            _open(f"{kind}_{target.id}")
    for kind in kinds:
        state = _opened(f"{kind}_{target.id}")
        if state is not None:
            _JOB_DIALOGS[kind](target, operator, state["token"])
    _last_outcome(str(target.id))


def _job_dialog(kind: str, target: JobTarget, operator: Operator, token: str) -> None:
    spec = KINDS[kind]
    via_ingest = kind == "retry" and target.status == "cancelled"
    st.markdown(
        f"**{spec.verb}** job {job_link(target.id)} · status **{target.status}** · "
        f"source **{target.source}**"
    )
    st.caption(f"Object: `{target.object_key}`")
    st.markdown(RETRY_CANCELLED if via_ingest else spec.explains)
    if st.session_state.get(f"action_done_{token}"):
        _last_outcome(str(target.id))
        _close_button(token)
        return
    try:
        be = backend()
        deployment = INGEST if via_ingest else ACTION_DEPLOYMENTS[kind]
        blocked = _deployment_problem(be, deployment)
        check = be.check_source(target)
    except CatalogError as exc:
        _fail(exc)
        return
    force = _source_panel(check, key=f"force_{token}")
    if check.missing:
        blocked = blocked or "the source object is missing"
    elif check.changed and not force:
        blocked = blocked or "the source changed: tick Force to act on the current object"
    reason = st.text_area("Reason (required)", key=f"reason_{token}", max_chars=500)
    if blocked:
        st.caption(f"Confirm is disabled: {blocked}.")
    confirm = st.button(
        f"Confirm {spec.verb.lower()}",
        key=f"confirm_{token}",
        type="primary",
        disabled=bool(blocked) or not reason.strip(),
    )
    if not confirm or blocked or not reason.strip():
        return
    try:
        with st.spinner("Starting the flow run…"):
            if via_ingest:
                started = be.retry_cancelled(
                    target, actor=operator.actor, reason=reason, force=force
                )
                tracked = Tracked.of_ingest("retry", target.id, started)
            else:
                submitted = be.start_action(
                    kind, target.id, actor=operator.actor, reason=reason, force=force, token=token
                )
                tracked = Tracked.of_submitted(submitted)
    except SourceChangedError as exc:
        st.error(f"**Refused.** {exc.message}", icon=BLOCK)
        return
    except CatalogError as exc:
        _fail(exc)
        return
    st.session_state[f"action_done_{token}"] = True
    _wait_and_show(be, str(target.id), [tracked])
    _close_button(token)


def _make_job_dialog(kind: str) -> Callable[[JobTarget, Operator, str], None]:
    @st.dialog(f"{KINDS[kind].verb} job", width="large", on_dismiss=_close)
    def show(target: JobTarget, operator: Operator, token: str) -> None:
        _job_dialog(kind, target, operator, token)

    return show


_JOB_DIALOGS = {kind: _make_job_dialog(kind) for kind in KINDS}


# --------------------------------------------------------------------------- bulk retry


def bulk_retry(job_ids: Sequence[uuid.UUID], operator: Operator | None) -> None:
    """A "Retry N selected" button for failed jobs (the runbook's batch recovery)."""
    if operator is None:
        return
    ids = [uuid.UUID(str(job_id)) for job_id in job_ids]
    label = f"Retry {len(ids)} selected" if ids else "Retry selected"
    if st.button(label, key="action_bulk_retry", disabled=not ids):
        _open("bulk", job_ids=[str(job_id) for job_id in ids])
    state = _opened("bulk")
    if state is not None:
        chosen = [uuid.UUID(job_id) for job_id in state["job_ids"]]
        _bulk_dialog(chosen, operator, state["token"])
    _last_outcome("bulk")


@st.dialog("Retry selected jobs", width="large", on_dismiss=_close)
def _bulk_dialog(job_ids: list[uuid.UUID], operator: Operator, token: str) -> None:
    st.markdown(KINDS["retry"].explains)
    try:
        be = backend()
        if st.session_state.get(f"action_done_{token}"):
            _last_outcome("bulk")
            _close_button(token)
            return
        blocked = _deployment_problem(be, ACTION_DEPLOYMENTS["retry"])
        rows = _bulk_rows(be, job_ids)
    except CatalogError as exc:
        _fail(exc)
        return
    st.dataframe(
        [{k: v for k, v in row.items() if k != "target"} for row in rows],
        hide_index=True,
        use_container_width=True,
    )
    changed = [row for row in rows if row["check"] == "changed"]
    force = False
    if changed:
        st.warning(
            f"{len(changed)} source(s) changed since their job ran (stored vs live ETag above). "
            "Without Force those retries are refused.",
            icon=WARN,
        )
        force = st.checkbox("Force: retry changed sources on their current object", key=f"f{token}")
    eligible = [
        row["target"]
        for row in rows
        if row["check"] == "ok" or (force and row["check"] == "changed")
    ]
    reason = st.text_area("Reason (required)", key=f"reason_{token}", max_chars=500)
    st.caption(f"{len(eligible)} of {len(rows)} job(s) will be retried.")
    confirm = st.button(
        f"Confirm retry of {len(eligible)}",
        key=f"confirm_{token}",
        type="primary",
        disabled=bool(blocked) or not eligible or not reason.strip(),
    )
    if not confirm or blocked or not eligible or not reason.strip():
        return
    changed_ids = {row["target"].id for row in changed}
    tracked: list[Tracked] = []
    with st.spinner("Starting the flow runs…"):
        for target in eligible:
            try:
                submitted = be.start_action(
                    "retry",
                    target.id,
                    actor=operator.actor,
                    reason=reason,
                    force=force and target.id in changed_ids,
                    token=token,
                )
            except CatalogError as exc:
                tracked.append(
                    Tracked(
                        "retry", target.id, None, ACTION_DEPLOYMENTS["retry"], refused=exc.message
                    )
                )
            else:
                tracked.append(Tracked.of_submitted(submitted))
    st.session_state[f"action_done_{token}"] = True
    _wait_and_show(be, "bulk", tracked)
    _close_button(token)


def _bulk_rows(be: Backend, job_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for job_id in job_ids:
        job = be.job(job_id)
        if job is None:
            rows.append({"job": str(job_id)[:8], "check": "not found", "target": None})
            continue
        target = JobTarget.of(job)
        if target.status != "failed":
            check_label, live_etag = f"skipped ({target.status})", "—"
        else:
            check = be.check_source(target)
            live_etag = check.live.etag if check.live else "missing"
            check_label = "missing" if check.missing else "changed" if check.changed else "ok"
        rows.append(
            {
                "job": str(target.id)[:8],
                "source": target.source,
                "status": target.status,
                "stored ETag": target.source_etag or "—",
                "live ETag": live_etag,
                "check": check_label,
                "target": target,
            }
        )
    return rows
