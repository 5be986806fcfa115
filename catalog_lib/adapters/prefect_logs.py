"""Read a flow run's logs (and its state) from Prefect's REST API with httpx (no prefect import).

`catalog-etl logs JOB_ID` shows what the run of a job logged: Prefect's own lines and the
product's events routed into the run logs.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from catalog_lib.adapters.prefect_rest import PrefectUnavailableError, api_headers
from catalog_lib.core.errors import ConfigurationError

PAGE_SIZE = 200
TERMINAL_STATES = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})


@dataclass(frozen=True)
class RunLogLine:
    """One log line of a flow run (or of one of its task runs)."""

    timestamp: datetime
    level: str
    logger: str
    message: str
    task_run_id: uuid.UUID | None


def _line(raw: dict[str, Any]) -> RunLogLine:
    stamp = datetime.fromisoformat(str(raw["timestamp"]).replace("Z", "+00:00"))
    task = raw.get("task_run_id")
    return RunLogLine(
        timestamp=stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC),
        level=logging.getLevelName(int(raw.get("level", logging.INFO))),
        logger=str(raw.get("name", "")),
        message=str(raw.get("message", "")),
        task_run_id=uuid.UUID(task) if task else None,
    )


class RunLogReader:
    """Pages through one Prefect API's logs; `after` lets a follower ask only for new lines."""

    def __init__(self, api_url: str, *, auth_string: str | None = None) -> None:
        self._client = httpx.Client(
            base_url=api_url.rstrip("/"), timeout=10.0, headers=api_headers(auth_string)
        )

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    def __enter__(self) -> RunLogReader:
        """Use as a context manager."""
        return self

    def __exit__(self, *_: object) -> None:
        """Close on exit."""
        self.close()

    def lines(self, flow_run_id: uuid.UUID, *, after: datetime | None = None) -> list[RunLogLine]:
        """Every log line of the run, oldest first (only those later than `after`)."""
        found: list[RunLogLine] = []
        log_filter: dict[str, Any] = {"flow_run_id": {"any_": [str(flow_run_id)]}}
        if after is not None:
            log_filter["timestamp"] = {"after_": after.isoformat()}
        while True:
            body = {
                "logs": log_filter,
                "sort": "TIMESTAMP_ASC",
                "limit": PAGE_SIZE,
                "offset": len(found),
            }
            page = self._post("/logs/filter", body)
            found.extend(_line(r) for r in page)
            if len(page) < PAGE_SIZE:
                break
        # `after_` is inclusive: drop the line the follower has already shown.
        return [x for x in found if after is None or x.timestamp > after]

    def state(self, flow_run_id: uuid.UUID) -> str | None:
        """The run's state type (`RUNNING`, `COMPLETED`, …), or None when it is unknown."""
        response = self._send("GET", f"/flow_runs/{flow_run_id}")
        if response.status_code == 404:
            return None
        self._check(response)
        state = response.json().get("state") or {}
        return str(state.get("type")) if state.get("type") else None

    def _post(self, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        response = self._send("POST", path, json=body)
        self._check(response)
        payload = response.json()
        return payload if isinstance(payload, list) else []

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise PrefectUnavailableError(
                "the Prefect API cannot be reached", error_name=type(exc).__name__
            ) from exc

    @staticmethod
    def _check(response: httpx.Response) -> None:
        status = response.status_code
        if status in (401, 403):
            raise ConfigurationError(
                "the Prefect API refused the credentials "
                "(PREFECT_API_AUTH_STRING or PREFECT_API_KEY)",
                http_status=status,
            )
        if status >= 400:
            raise PrefectUnavailableError("the Prefect API failed", http_status=status)
