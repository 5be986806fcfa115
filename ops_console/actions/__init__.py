"""The console's action UI: buttons, `st.dialog` confirmations with a required reason, outcomes.

Every function renders nothing actionable when `operator` is None (signed out or read-only).
A dialog shows what will happen (target job, source, stored vs live ETag and size, whether
the deployment is served), keeps its confirm button disabled until a reason is given, offers
a deliberate Force when the source changed, then shows the outcome with links: the new job
and the flow run, or the refusal and why. The work itself is in `ops_console.triggers`.

One module per concept: `dialogs` (what every dialog shares), `outcomes` (following a started
action), `jobs` (one job, bulk retry), `landing` (ingest an object), `flags` (audit flags),
`health` (the deployments banner). The pages use the names re-exported here.
"""

from __future__ import annotations

from ops_console.actions.dialogs import JOBS_PAGE_PATH, backend, job_link
from ops_console.actions.flags import flag_actions
from ops_console.actions.health import deployments_banner
from ops_console.actions.jobs import bulk_retry, job_actions
from ops_console.actions.landing import ingest_action
from ops_console.actions.outcomes import Tracked

__all__ = [
    "JOBS_PAGE_PATH",
    "Tracked",
    "backend",
    "bulk_retry",
    "deployments_banner",
    "flag_actions",
    "ingest_action",
    "job_actions",
    "job_link",
]
