"""Job states the overview filters by, and the conversion its rows share."""

from __future__ import annotations

from typing import Any, Final

JOB_STATES: Final = ("pending", "running", "completed", "failed", "cancelled")
FINAL_STATES: Final = ("completed", "failed", "cancelled")
NOT_COMPLETED: Final = tuple(s for s in JOB_STATES if s != "completed")


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
