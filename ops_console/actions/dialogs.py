"""What every action dialog shares: back end, links, dialog state, source and deployment checks."""

from __future__ import annotations

import os
import uuid
from typing import Any

import streamlit as st

from catalog_lib.core.errors import CatalogError
from catalog_lib.core.settings import Settings
from ops_console.triggers import (
    Backend,
    SourceCheck,
)

# The jobs page's URL path and its deep-link parameter (`?job=<id>`), shared with the pages.
JOBS_PAGE_PATH = "jobs"
BLOCK, WARN, DONE = ":material/block:", ":material/warning:", ":material/check_circle:"


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


# Released (cache cleared or entry evicted): close its HTTP clients instead of leaving them to GC.
@st.cache_resource(show_spinner=False, max_entries=4, on_release=Backend.close)
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
