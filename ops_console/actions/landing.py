"""Ingest a landed object that no job has read yet."""

from __future__ import annotations

import streamlit as st

from catalog_lib.core.errors import CatalogError, SourceChangedError
from ops_console.actions.dialogs import (
    BLOCK,
    _close,
    _close_button,
    _deployment_problem,
    _fail,
    _number,
    _open,
    _opened,
    backend,
)
from ops_console.actions.outcomes import Tracked, _last_outcome, _wait_and_show
from ops_console.auth import Operator
from ops_console.triggers import (
    DEFAULT_SCRAPER_REVISION,
    INGEST,
)

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
