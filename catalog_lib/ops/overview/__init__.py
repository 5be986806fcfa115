"""Read functions of the ops console: health, job lists, sources, landing, maintenance.

Each function runs named queries (`sql/queries/console_*.sql`) and returns frozen dataclasses,
so the console's pages lay out typed values and never see SQL. Job detail, ledger and the
supersession chain come from `catalog_lib.ops.reports` (shared with the CLI).

One module per console page (`health`, `jobs`, `sources`, `landing`, `maintenance`) and the
job states they share (`states`); callers use the names re-exported here (`overview.X`).
"""

from __future__ import annotations

from catalog_lib.ops.overview.health import (
    FailureRow,
    HealthStrip,
    RatePoint,
    SeriesPoint,
    failure_rates,
    health_strip,
    job_series,
    latest_failures,
)
from catalog_lib.ops.overview.jobs import (
    FilterOptions,
    JobFilter,
    JobPage,
    JobReferenceError,
    JobRow,
    find_jobs,
    job_filter_options,
    job_state_counts,
    rejected_sample,
    resolve_job_ref,
)
from catalog_lib.ops.overview.landing import LandingObject, LandingRow, landing_states, list_landing
from catalog_lib.ops.overview.maintenance import MaintenanceRunRow, maintenance_runs
from catalog_lib.ops.overview.sources import (
    FlagRow,
    SnapshotPoint,
    SourceJobPoint,
    SourceRow,
    current_flags,
    source_job_trend,
    source_snapshot_trend,
    sources_overview,
)
from catalog_lib.ops.overview.states import FINAL_STATES, JOB_STATES, NOT_COMPLETED
from catalog_lib.ops.reports import RejectedRow

__all__ = [
    "FINAL_STATES",
    "JOB_STATES",
    "NOT_COMPLETED",
    "FailureRow",
    "FilterOptions",
    "FlagRow",
    "HealthStrip",
    "JobFilter",
    "JobPage",
    "JobReferenceError",
    "JobRow",
    "LandingObject",
    "LandingRow",
    "MaintenanceRunRow",
    "RatePoint",
    "RejectedRow",
    "SeriesPoint",
    "SnapshotPoint",
    "SourceJobPoint",
    "SourceRow",
    "current_flags",
    "failure_rates",
    "find_jobs",
    "health_strip",
    "job_filter_options",
    "job_series",
    "job_state_counts",
    "landing_states",
    "latest_failures",
    "list_landing",
    "maintenance_runs",
    "rejected_sample",
    "resolve_job_ref",
    "source_job_trend",
    "source_snapshot_trend",
    "sources_overview",
]
