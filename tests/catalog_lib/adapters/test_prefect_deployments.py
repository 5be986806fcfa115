"""Reading the deployments' schedules from a (local, minimal) Prefect-shaped REST API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from catalog_lib.adapters.prefect_deployments import describe_schedule, list_deployment_schedules
from catalog_lib.adapters.prefect_rest import PrefectUnavailableError
from catalog_lib.core.errors import ConfigurationError

DEPLOYMENTS = [
    {
        "id": "d2",
        "name": "retention-sweep",
        "paused": False,
        "status": "READY",
        "last_polled": "2026-12-04T10:00:00+00:00",
        "schedules": [{"active": True, "schedule": {"cron": "0 9 * * *", "timezone": "UTC"}}],
    },
    {
        "id": "d1",
        "name": "job-state-sweeper",
        "paused": True,
        "status": "NOT_READY",
        "last_polled": None,
        "schedules": [{"active": False, "schedule": {"interval": 300.0}}],
    },
    {"id": "d3", "name": "retry-job", "paused": False, "status": "READY", "schedules": []},
]


@pytest.fixture
def api() -> Iterator[tuple[str, dict[str, Any]]]:
    seen: dict[str, Any] = {"status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            seen["body"] = json.loads(self.rfile.read(length))
            seen["path"] = self.path
            seen["auth"] = self.headers.get("Authorization")
            payload = json.dumps(DEPLOYMENTS).encode()
            self.send_response(seen["status"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api", seen
    finally:
        server.shutdown()
        server.server_close()


def test_lists_deployments_with_their_schedules_by_name(api: tuple[str, dict[str, Any]]) -> None:
    url, seen = api
    found = list_deployment_schedules(url, api_key="k")
    assert seen["path"] == "/api/deployments/filter"
    assert seen["auth"] == "Bearer k"
    assert [d.name for d in found] == ["job-state-sweeper", "retention-sweep", "retry-job"]
    sweeper, retention, retry = found
    assert retention.schedules == ("cron 0 9 * * * (UTC)",)
    assert retention.status == "READY"
    assert retention.last_polled is not None
    assert retention.last_polled.hour == 10
    assert sweeper.schedules == ("every 300 s (off)",)
    assert sweeper.paused
    assert sweeper.last_polled is None
    assert retry.schedules == ()


@pytest.mark.parametrize(
    ("status", "error"), [(500, PrefectUnavailableError), (401, ConfigurationError)]
)
def test_api_errors_are_translated(
    api: tuple[str, dict[str, Any]], status: int, error: type[Exception]
) -> None:
    url, seen = api
    seen["status"] = status
    with pytest.raises(error):
        list_deployment_schedules(url)


def test_an_unreachable_api_is_unavailable() -> None:
    with pytest.raises(PrefectUnavailableError):
        list_deployment_schedules("http://127.0.0.1:9/api", timeout_s=1)


def test_describe_schedule_kinds() -> None:
    assert describe_schedule({"rrule": "FREQ=DAILY"}) == "rrule FREQ=DAILY"
    assert describe_schedule({}) == "unknown schedule"
