"""The console's action UI: buttons, `st.dialog` confirmations with a required reason, outcomes.

Every function renders nothing actionable when `operator` is None (signed out or read-only).
A dialog shows what will happen (target job, source, stored vs live ETag and size, whether
the deployment is served), keeps its confirm button disabled until a reason is given, offers
a deliberate Force when the source changed, then shows the outcome with links: the new job
and the flow run, or the refusal and why. The work itself is in `ops_console.triggers`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import streamlit as st

from catalog_lib.adapters.prefect_rest import DeploymentHealth
from catalog_lib.core.errors import CatalogError, FlagNotFoundError, SourceChangedError
from catalog_lib.core.settings import Settings
from ops_console.auth import Operator
from ops_console.triggers import (
    ACTION_DEPLOYMENTS,
    CONSOLE_DEPLOYMENTS,
    DEFAULT_SCRAPER_REVISION,
    INGEST,
    RECONCILE_STATUSES,
    REPAIR_STATUSES,
    RETRY_STATUSES,
    Backend,
    IngestStarted,
    JobTarget,
    SourceCheck,
    Submitted,
)

JobLike = Any  # a read-API row (mapping) or a model with id/status/source/object_key/etag/size
# The jobs page's URL path and its deep-link parameter (`?job=<id>`), shared with the pages.
JOBS_PAGE_PATH = "jobs"
# How long a dialog waits for the flow run to record its action before saying "pending".
RECORD_WAIT_S = float(os.environ.get("CATALOG_CONSOLE_RECORD_WAIT_S", "30"))
HEALTH_TTL_S = 10
BLOCK, WARN, DONE = ":material/block:", ":material/warning:", ":material/check_circle:"


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


def job_link(job_id: uuid.UUID | str) -> str:
    """A markdown link to a job's drill-down page."""
    return f"[`{str(job_id)[:8]}`]({JOBS_PAGE_PATH}?job={job_id})"


def _run_link(backend: Backend, run_id: uuid.UUID | None) -> str:
    if run_id is None:
        return "no flow run"
    url = backend.run_url(run_id)
    return f"[flow run `{str(run_id)[:8]}`]({url})" if url else f"flow run `{run_id}`"


def _backend_key() -> tuple[str | None, str, str | None, str, int]:
    settings = Settings()
    secret = settings.database_url.get_secret_value() if settings.database_url else None
    return (
        secret,
        settings.landing_url,
        os.environ.get("PREFECT_API_URL") or None,
        str(settings.state_dir),
        settings.chunk_size,
    )


@st.cache_resource(show_spinner=False, max_entries=4)
def _build_backend(key: tuple[str | None, str, str | None, str, int]) -> Backend:
    # The key carries the configuration, so a changed environment builds a new back end.
    return Backend.from_settings(Settings(), prefect_api=key[2])


def backend() -> Backend:
    """The action back end of this console process (cached per configuration)."""
    return _build_backend(_backend_key())


def _fail(exc: Exception) -> None:
    message = exc.message if isinstance(exc, CatalogError) else str(exc)
    st.error(f"**Cannot do this now.** {message}", icon=BLOCK)


_DIALOG = "console_dialog"


def _open(scope: str, **extra: Any) -> None:
    """Remember that this scope's dialog is open, with a fresh request token.

    The dialog stays open across full reruns (a widget in it, the live outcome) until the
    operator dismisses or closes it.
    """
    st.session_state[_DIALOG] = {"scope": scope, "token": uuid.uuid4().hex, **extra}


def _opened(scope: str) -> dict[str, Any] | None:
    state: dict[str, Any] | None = st.session_state.get(_DIALOG)
    return state if state is not None and state.get("scope") == scope else None


def _close() -> None:
    st.session_state.pop(_DIALOG, None)


def _close_button(token: str) -> None:
    if st.button("Close", key=f"close_{token}"):
        _close()
        st.rerun()


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


def _deployment_problem(be: Backend, deployment: str) -> str | None:
    health = be.runner(deployment).health()
    if health.served:
        return None
    st.error(
        f"**Nothing would run this.** {health.problem}. Start the deployments with "
        "`catalog-etl serve` (or `catalog-etl up`), then try again.",
        icon=BLOCK,
    )
    return "the deployment is not being served"


def _source_panel(check: SourceCheck, *, key: str) -> bool:
    """Stored vs live ETag and size; returns whether Force is ticked (only offered on change)."""
    live = check.live
    st.table(
        {
            "": ["stored (job)", "live (HEAD now)"],
            "ETag": [check.stored_etag or "—", live.etag if live else "missing"],
            "size (bytes)": [
                _number(check.stored_size),
                _number(live.size) if live else "missing",
            ],
        }
    )
    if check.missing:
        st.error("The source object no longer exists: nothing can be re-read.", icon=BLOCK)
        return False
    if not check.changed:
        st.caption("The source is unchanged since the job ran.")
        return False
    assert live is not None
    st.warning(
        f"**The source changed since the job ran** (stored ETag `{check.stored_etag}`, live "
        f"ETag `{live.etag}`). Without Force the action is refused; with Force it reads the "
        "current object and the job chain records that it was forced.",
        icon=WARN,
    )
    return st.checkbox("Force: act on the current object", key=key)


def _number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


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
    for view in views:
        _show(view)
    if views and all(v.final for v in views):
        # Stop polling: a full rerun renders the final outcome without this fragment.
        st.rerun()


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


# --------------------------------------------------------------------------- ingest


def ingest_action(source: str, object_key: str, operator: Operator | None) -> None:
    """An "Ingest" button for one landing object (nothing when `operator` is None)."""
    if operator is None:
        return
    scope = f"ingest_{source}_{object_key}"
    if st.button("Ingest", key=f"action_{scope}"):
        _open(scope)
    state = _opened(scope)
    if state is not None:
        _ingest_dialog(source, object_key, operator, state["token"])
    _last_outcome(scope)


@st.dialog("Ingest object", width="large", on_dismiss=_close)
def _ingest_dialog(source: str, object_key: str, operator: Operator, token: str) -> None:
    st.markdown(f"Ingest `{object_key}` for source **{source}** as a new job (`{INGEST}`).")
    try:
        be = backend()
        if st.session_state.get(f"action_done_{token}"):
            _last_outcome(f"ingest_{source}_{object_key}")
            _close_button(token)
            return
        blocked = _deployment_problem(be, INGEST)
        live = be.head(object_key)
    except CatalogError as exc:
        _fail(exc)
        return
    if live is None:
        st.error("The object no longer exists.", icon=BLOCK)
        blocked = blocked or "the object is missing"
    else:
        st.table({"ETag": [live.etag], "size (bytes)": [_number(live.size)]})
    revision = st.text_input(
        "Scraper revision", value=DEFAULT_SCRAPER_REVISION, key=f"revision_{token}"
    )
    reason = st.text_area("Reason (required)", key=f"reason_{token}", max_chars=500)
    if blocked:
        st.caption(f"Confirm is disabled: {blocked}.")
    confirm = st.button(
        "Confirm ingest",
        key=f"confirm_{token}",
        type="primary",
        disabled=bool(blocked) or not reason.strip() or not revision.strip(),
    )
    if not confirm or blocked or live is None or not reason.strip():
        return
    try:
        with st.spinner("Creating the job and its flow run…"):
            started = be.ingest(
                source=source,
                object_key=object_key,
                actor=operator.actor,
                reason=reason,
                scraper_revision=revision.strip(),
                expected=(live.etag, live.size),
            )
    except SourceChangedError as exc:
        st.error(f"**Refused.** {exc.message}", icon=BLOCK)
        return
    except CatalogError as exc:
        _fail(exc)
        return
    st.session_state[f"action_done_{token}"] = True
    target = started.duplicate_of or started.job_id
    _wait_and_show(
        be, f"ingest_{source}_{object_key}", [Tracked.of_ingest("ingest", target, started)]
    )
    _close_button(token)


# --------------------------------------------------------------------------- audit flags


def flag_actions(flag_id: int, operator: Operator | None) -> None:
    """Acknowledge / Mute buttons for one audit flag (nothing when `operator` is None)."""
    if operator is None:
        return
    left, right = st.columns(2)
    if left.button("Acknowledge", key=f"action_ack_{flag_id}"):
        _open(f"flag_{flag_id}", mute=False)
    if right.button("Mute…", key=f"action_mute_{flag_id}"):
        _open(f"flag_{flag_id}", mute=True)
    state = _opened(f"flag_{flag_id}")
    if state is not None:
        _flag_dialog(flag_id, operator, state["token"], mute=bool(state["mute"]))
    summary = st.session_state.get(f"console_flag_{flag_id}")
    if summary:
        st.caption(f"Last action: {summary}")


@st.dialog("Audit flag", width="large", on_dismiss=_close)
def _flag_dialog(flag_id: int, operator: Operator, token: str, *, mute: bool) -> None:
    verb = "Mute" if mute else "Acknowledge"
    st.markdown(
        f"**{verb}** audit flag #{flag_id}"
        + (
            ": it stays hidden from open flags until the mute ends."
            if mute
            else ": it is marked as seen; it opens again if the audit finds it anew."
        )
    )
    done = st.session_state.get(f"action_done_{token}")
    if done is not None:
        st.success(done, icon=DONE)
        _close_button(token)
        return
    days = st.number_input("Mute for days", 1, 365, 7, key=f"days_{token}") if mute else None
    reason = st.text_area("Reason (required)", key=f"reason_{token}", max_chars=500)
    if not st.button(
        f"Confirm {verb.lower()}",
        key=f"confirm_{token}",
        type="primary",
        disabled=not reason.strip(),
    ):
        return
    try:
        change = backend().set_flag(
            flag_id,
            actor=operator.actor,
            reason=reason.strip(),
            mute_days=int(days) if days is not None else None,
        )
    except FlagNotFoundError:
        st.error(f"**Refused.** There is no audit flag #{flag_id} (refusal recorded).", icon=BLOCK)
        return
    except CatalogError as exc:
        _fail(exc)
        return
    summary = (
        f"Flag #{flag_id} {change.flag.state or verb.lower()} by {operator.actor} "
        f"(operator action #{change.action_id})."
    )
    st.session_state[f"action_done_{token}"] = summary
    st.session_state[f"console_flag_{flag_id}"] = summary
    st.success(summary, icon=DONE)
    _close_button(token)


# --------------------------------------------------------------------------- banner


@st.cache_data(ttl=HEALTH_TTL_S, show_spinner=False)
def _health(key: tuple[str | None, str, str | None, str, int]) -> list[DeploymentHealth] | str:
    try:
        return _build_backend(key).health(CONSOLE_DEPLOYMENTS)
    except CatalogError as exc:
        return exc.message


def deployments_banner() -> None:
    """Warn when the action deployments are not served (runs would wait forever)."""
    key = _backend_key()
    if key[2] is None:
        st.warning(
            "**Actions cannot start runs:** no Prefect API is configured (`PREFECT_API_URL`). "
            "Start the console with `catalog-etl console` or `catalog-etl up`.",
            icon=WARN,
        )
        return
    try:
        health = _health(key)
    except CatalogError as exc:
        health = exc.message
    if isinstance(health, str):
        st.error(f"**The Prefect API cannot be reached:** {health}. Actions cannot start.")
        return
    problems = [h.problem for h in health if h.problem]
    if problems:
        st.warning(
            "**The deployments are not being served — an action's run would wait forever.** "
            + "; ".join(problems)
            + ". Start them with `catalog-etl serve` (or `catalog-etl up`).",
            icon=WARN,
        )
