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
from typing import Any

import streamlit as st

from catalog_lib.adapters.prefect_rest import DeploymentHealth
from catalog_lib.core.errors import CatalogError, SourceChangedError
from catalog_lib.core.settings import Settings
from catalog_lib.ops.audit import FlagNotFoundError
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
_LAST = "console_last_action"


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
    st.error(f"**Cannot do this now.** {message}", icon="⛔")


def _token(scope: str) -> str:
    """A fresh request token each time a dialog is opened from its button."""
    token = uuid.uuid4().hex
    st.session_state[f"action_token_{scope}"] = token
    return token


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
            token = _token(f"{kind}_{target.id}")
            _JOB_DIALOGS[kind](target, operator, token)
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
    done = st.session_state.get(f"action_done_{token}")
    try:
        be = backend()
        if done is not None:
            _render_done(be, done)
            return
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
    if not confirm:
        return
    try:
        with st.spinner("Starting the flow run…"):
            if via_ingest:
                outcome: Any = be.retry_cancelled(
                    target, actor=operator.actor, reason=reason, token=token, force=force
                )
            else:
                outcome = be.start_action(
                    kind, target.id, actor=operator.actor, reason=reason, force=force, token=token
                )
    except SourceChangedError as exc:
        st.error(f"**Refused.** {exc.message}", icon="⛔")
        return
    except CatalogError as exc:
        _fail(exc)
        return
    st.session_state[f"action_done_{token}"] = outcome
    _render_done(be, outcome, scope=str(target.id))


def _deployment_problem(be: Backend, deployment: str) -> str | None:
    health = be.runner(deployment).health()
    if health.served:
        return None
    st.error(
        f"**Nothing would run this.** {health.problem}. Start the deployments with "
        "`catalog-etl serve` (or `catalog-etl up`), then try again.",
        icon="⛔",
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
        st.error("The source object no longer exists: nothing can be re-read.", icon="⛔")
        return False
    if not check.changed:
        st.caption("The source is unchanged since the job ran.")
        return False
    assert live is not None
    st.warning(
        f"**The source changed since the job ran** (stored ETag `{check.stored_etag}`, live "
        f"ETag `{live.etag}`). Without Force the action is refused; with Force it reads the "
        "current object and the job chain records that it was forced.",
        icon="⚠️",
    )
    return st.checkbox("Force: act on the current object", key=key)


def _number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _render_done(be: Backend, outcome: Any, *, scope: str | None = None) -> None:
    if isinstance(outcome, Submitted):
        _render_submitted(be, outcome, scope=scope)
    elif isinstance(outcome, IngestStarted):
        _render_ingest(be, outcome, scope=scope)


def _render_submitted(be: Backend, submitted: Submitted, *, scope: str | None) -> None:
    run = submitted.run
    again = "" if run.created else " (already submitted: the same run)"
    st.markdown(f"Started {_run_link(be, run.id)} of `{submitted.deployment}`{again}.")
    row = st.session_state.get(f"action_row_{run.id}")
    if row is None:
        with st.spinner("Waiting for the flow run to record the action…"):
            row = be.wait_recorded(submitted, timeout_s=RECORD_WAIT_S)
        if row is not None:
            st.session_state[f"action_row_{run.id}"] = row
    if row is None:
        state = _safe_state(be, run.id, submitted.deployment)
        summary = (
            f"{KINDS[submitted.kind].verb}: {_run_link(be, run.id)} is {state or 'scheduled'}; "
            "the outcome will appear in the job's operator actions."
        )
        st.info(summary, icon="⏳")
    else:
        summary = _render_row(be, submitted.kind, row, run.id)
    if scope is not None:
        st.session_state[_LAST] = {"scope": scope, "summary": summary}


def _render_row(be: Backend, kind: str, row: dict[str, Any], run_id: uuid.UUID) -> str:
    verb = KINDS[kind].verb
    outcome, code, message = row["outcome"], row.get("code"), row.get("message") or ""
    new_job = row.get("result_job_id")
    if outcome == "refused":
        summary = f"{verb} refused ({code}): {message}"
        st.error(f"**Refused** ({code}): {message}", icon="⛔")
    elif outcome == "failed":
        summary = f"{verb} failed ({code}): {message}"
        st.error(f"**Failed** ({code}): {message}", icon="⛔")
    else:
        links = [_run_link(be, run_id)]
        if new_job is not None:
            links.insert(0, f"new job {job_link(new_job)}")
        summary = f"{verb} {outcome}: {message} — " + ", ".join(links)
        st.success(summary, icon="✅")
    st.caption(f"Recorded as operator action #{row['id']} by {row['actor']}.")
    return summary


def _render_ingest(be: Backend, started: IngestStarted, *, scope: str | None) -> None:
    if started.run is None:
        summary = (
            f"Refused: the object is already ingested or being ingested by job "
            f"{job_link(started.duplicate_of or started.job_id)} ({started.status})."
        )
        st.error(summary, icon="⛔")
    else:
        summary = (
            f"Job {job_link(started.job_id)} created and {_run_link(be, started.run.id)} of "
            f"`{INGEST}` started."
        )
        st.success(summary, icon="✅")
    st.caption(f"Recorded as operator action #{started.action_id}.")
    if scope is not None:
        st.session_state[_LAST] = {"scope": scope, "summary": summary}


def _safe_state(be: Backend, run_id: uuid.UUID, deployment: str) -> str | None:
    try:
        state = be.run_state(run_id, deployment)
    except CatalogError:
        return None
    return state.lower() if state else None


def _last_outcome(scope: str) -> None:
    last = st.session_state.get(_LAST)
    if last is not None and last.get("scope") == scope:
        st.caption(f"Last action: {last['summary']}")


def _make_job_dialog(kind: str) -> Callable[[JobTarget, Operator, str], None]:
    @st.dialog(f"{KINDS[kind].verb} job", width="large")
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
        _bulk_dialog(ids, operator, _token("bulk"))
    _last_outcome("bulk")


@st.dialog("Retry selected jobs", width="large")
def _bulk_dialog(job_ids: list[uuid.UUID], operator: Operator, token: str) -> None:
    st.markdown(KINDS["retry"].explains)
    try:
        be = backend()
        done = st.session_state.get(f"action_done_{token}")
        if done is not None:
            _render_bulk(be, done)
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
            icon="⚠️",
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
    if not confirm:
        return
    submitted: list[Submitted | str] = []
    with st.spinner("Starting the flow runs…"):
        for target in eligible:
            try:
                submitted.append(
                    be.start_action(
                        "retry",
                        target.id,
                        actor=operator.actor,
                        reason=reason,
                        force=force and target.id in {r["target"].id for r in changed},
                        token=token,
                    )
                )
            except CatalogError as exc:
                submitted.append(f"{target.id}: {exc.message}")
    st.session_state[f"action_done_{token}"] = submitted
    _render_bulk(be, submitted)


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


def _render_bulk(be: Backend, submitted: list[Submitted | str]) -> None:
    started = [s for s in submitted if isinstance(s, Submitted)]
    errors = [s for s in submitted if isinstance(s, str)]
    lines = []
    with st.spinner("Waiting for the flow runs to record their actions…"):
        for item in started:
            row = be.wait_recorded(item, timeout_s=RECORD_WAIT_S / max(1, len(started)))
            outcome = row["outcome"] if row else "pending"
            new_job = row.get("result_job_id") if row else None
            lines.append(
                f"- job {job_link(item.job_id)}: {outcome}"
                + (f" → new job {job_link(new_job)}" if new_job else "")
                + f" · {_run_link(be, item.run.id)}"
                + (f" · {row['code']}: {row['message']}" if row and row.get("code") else "")
            )
    lines.extend(f"- ⛔ {error}" for error in errors)
    summary = f"Bulk retry: {len(started)} run(s) started, {len(errors)} could not start."
    (st.success if not errors else st.warning)(summary)
    st.markdown("\n".join(lines))
    st.session_state[_LAST] = {"scope": "bulk", "summary": summary}


# --------------------------------------------------------------------------- ingest


def ingest_action(source: str, object_key: str, operator: Operator | None) -> None:
    """An "Ingest" button for one landing object (nothing when `operator` is None)."""
    if operator is None:
        return
    scope = f"ingest_{source}_{object_key}"
    if st.button("Ingest", key=f"action_{scope}"):
        _ingest_dialog(source, object_key, operator, _token(scope))
    _last_outcome(scope)


@st.dialog("Ingest object", width="large")
def _ingest_dialog(source: str, object_key: str, operator: Operator, token: str) -> None:
    st.markdown(f"Ingest `{object_key}` for source **{source}** as a new job (`{INGEST}`).")
    try:
        be = backend()
        done = st.session_state.get(f"action_done_{token}")
        if done is not None:
            _render_ingest(be, done, scope=None)
            return
        blocked = _deployment_problem(be, INGEST)
        live = be.head(object_key)
    except CatalogError as exc:
        _fail(exc)
        return
    if live is None:
        st.error("The object no longer exists.", icon="⛔")
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
    if not confirm or live is None:
        return
    try:
        with st.spinner("Creating the job and its flow run…"):
            started = be.ingest(
                source=source,
                object_key=object_key,
                actor=operator.actor,
                reason=reason,
                token=token,
                scraper_revision=revision.strip(),
                expected=(live.etag, live.size),
            )
    except SourceChangedError as exc:
        st.error(f"**Refused.** {exc.message}", icon="⛔")
        return
    except CatalogError as exc:
        _fail(exc)
        return
    st.session_state[f"action_done_{token}"] = started
    _render_ingest(be, started, scope=f"ingest_{source}_{object_key}")


# --------------------------------------------------------------------------- audit flags


def flag_actions(flag_id: int, operator: Operator | None) -> None:
    """Acknowledge / Mute buttons for one audit flag (nothing when `operator` is None)."""
    if operator is None:
        return
    left, right = st.columns(2)
    if left.button("Acknowledge", key=f"action_ack_{flag_id}"):
        _flag_dialog(flag_id, operator, _token(f"ack_{flag_id}"), mute=False)
    if right.button("Mute…", key=f"action_mute_{flag_id}"):
        _flag_dialog(flag_id, operator, _token(f"mute_{flag_id}"), mute=True)
    _last_outcome(f"flag_{flag_id}")


@st.dialog("Audit flag", width="large")
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
        st.success(done, icon="✅")
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
        st.error(f"**Refused.** There is no audit flag #{flag_id} (refusal recorded).", icon="⛔")
        return
    except CatalogError as exc:
        _fail(exc)
        return
    summary = (
        f"Flag #{flag_id} {change.flag.get('state', verb.lower())} by {operator.actor} "
        f"(operator action #{change.action_id})."
    )
    st.session_state[f"action_done_{token}"] = summary
    st.session_state[_LAST] = {"scope": f"flag_{flag_id}", "summary": summary}
    st.success(summary, icon="✅")


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
            icon="⚠️",
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
            icon="⚠️",
        )
