"""Acknowledge or mute one audit flag."""

from __future__ import annotations

import streamlit as st

from catalog_lib.core.errors import CatalogError, FlagNotFoundError
from ops_console.actions.dialogs import (
    BLOCK,
    DONE,
    _close,
    _close_button,
    _fail,
    _open,
    _opened,
    backend,
)
from ops_console.auth import Operator

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
