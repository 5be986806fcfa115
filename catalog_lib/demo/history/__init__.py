"""Seeded operating history for the console: jobs, ledgers, rejected rows, audits, maintenance.

`seed_history` fills a migrated database with a deterministic, realistic past: first ingests
over `days` days across several sources, failures of several kinds, retries and repairs that
supersede them (with the operator actions that started them), jobs running right now, daily
audit snapshots with flags (open, acknowledged, muted), daily retention and audit runs, and
catalog items. The rows are generated in Python from one seeded RNG and written with COPY
(items with one set-based INSERT), so 100k jobs take seconds, not minutes.

Every seeded job's object key starts with `HISTORY_PREFIX`; seeding a database that already
holds them does nothing (the demo can call it on every run).

Modules: `spec` (what a history is made of), `job_rows` (the jobs and their ledgers),
`audit_rows` (audits, maintenance runs, items; `generate_history`), `seeding` (the writes).
"""

from __future__ import annotations

from catalog_lib.demo.history.audit_rows import generate_history
from catalog_lib.demo.history.seeding import seed_history
from catalog_lib.demo.history.spec import HISTORY_PREFIX, HistorySpec, HistorySummary

__all__ = ["HISTORY_PREFIX", "HistorySpec", "HistorySummary", "generate_history", "seed_history"]
