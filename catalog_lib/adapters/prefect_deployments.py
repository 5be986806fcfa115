"""Read the deployments and their schedules from Prefect's REST API (httpx, no prefect import).

The console's Maintenance page shows the schedules as Prefect reports them (not as the code
declares them), so a paused or never-served deployment is visible.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from catalog_lib.adapters.prefect_rest import PrefectUnavailableError
from catalog_lib.core.errors import ConfigurationError

DEFAULT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class DeploymentSchedule:
    """One deployment as Prefect reports it: schedules in words, paused, status, last poll."""

    name: str
    schedules: tuple[str, ...]
    paused: bool
    status: str | None
    last_polled: datetime | None
    deployment_id: str


def describe_schedule(schedule: dict[str, Any]) -> str:
    """A schedule object of the API in words: `cron 0 9 * * * (UTC)`, `every 300 s`."""
    if schedule.get("cron"):
        timezone = schedule.get("timezone") or "UTC"
        return f"cron {schedule['cron']} ({timezone})"
    if schedule.get("interval") is not None:
        return f"every {float(schedule['interval']):g} s"
    if schedule.get("rrule"):
        return f"rrule {schedule['rrule']}"
    return "unknown schedule"


def list_deployment_schedules(
    api_url: str, *, api_key: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> list[DeploymentSchedule]:
    """Every deployment registered on the Prefect server, by name.

    Raises:
        PrefectUnavailableError: the API cannot be reached or failed.
        ConfigurationError: the API refused the credentials or the request.
    """
    key = api_key if api_key is not None else os.environ.get("PREFECT_API_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = httpx.post(
            api_url.rstrip("/") + "/deployments/filter",
            json={"limit": 200},
            headers=headers,
            timeout=timeout_s,
        )
    except httpx.HTTPError as exc:
        raise PrefectUnavailableError(
            "the Prefect API cannot be reached", error_name=type(exc).__name__
        ) from None
    if response.status_code >= 500:
        raise PrefectUnavailableError("the Prefect API failed", http_status=response.status_code)
    if response.status_code >= 400:
        raise ConfigurationError(
            "the Prefect API refused the request", http_status=response.status_code
        )
    found = []
    for item in response.json():
        schedules = tuple(
            describe_schedule(s.get("schedule") or {}) + ("" if s.get("active", True) else " (off)")
            for s in item.get("schedules") or []
        )
        polled = item.get("last_polled")
        found.append(
            DeploymentSchedule(
                name=str(item.get("name")),
                schedules=schedules,
                paused=bool(item.get("paused")),
                status=item.get("status"),
                last_polled=datetime.fromisoformat(polled) if polled else None,
                deployment_id=str(item.get("id")),
            )
        )
    return sorted(found, key=lambda d: d.name)
