"""The banner that says when the console's deployments are not being served."""

from __future__ import annotations

import streamlit as st

from catalog_lib.adapters.prefect_rest import DeploymentHealth
from catalog_lib.core.errors import CatalogError
from ops_console.actions.dialogs import WARN, _backend_key, _build_backend
from ops_console.triggers import (
    CONSOLE_DEPLOYMENTS,
)

HEALTH_TTL_S = 10
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
