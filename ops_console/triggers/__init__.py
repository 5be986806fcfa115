"""What the console's actions do, free of Streamlit: check, start deployment runs, record.

Runs are started through Prefect's REST API (`catalog_lib.adapters.prefect_rest`, httpx; the
console never imports prefect). The operator-action flows (`retry-job`, `repair-job`,
`reconcile-job`) record their own `operator_actions` row with channel `console`; an ingest
(of a landing object, or again of a cancelled job) is a job the console creates and hands to
`ingest-catalog`, so the console records that action itself.

`targets` holds what an action aims at and returns; `backend` does the work (`Backend`).
"""

from __future__ import annotations

from ops_console.triggers.backend import Backend, ui_base
from ops_console.triggers.targets import (
    ACTION_DEPLOYMENTS,
    CHANNEL,
    CONSOLE_DEPLOYMENTS,
    DEFAULT_SCRAPER_REVISION,
    INGEST,
    RECONCILE_STATUSES,
    REPAIR_STATUSES,
    RETRY_STATUSES,
    ActionBlockedError,
    IngestStarted,
    JobTarget,
    SourceCheck,
    Submitted,
)

__all__ = [
    "ACTION_DEPLOYMENTS",
    "CHANNEL",
    "CONSOLE_DEPLOYMENTS",
    "DEFAULT_SCRAPER_REVISION",
    "INGEST",
    "RECONCILE_STATUSES",
    "REPAIR_STATUSES",
    "RETRY_STATUSES",
    "ActionBlockedError",
    "Backend",
    "IngestStarted",
    "JobTarget",
    "SourceCheck",
    "Submitted",
    "ui_base",
]
