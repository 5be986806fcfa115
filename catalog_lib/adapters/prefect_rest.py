"""Start deployment runs through Prefect's REST API with httpx (never imports prefect).

`import prefect` costs seconds; the webhook (and anything else that only needs to start a
run) talks to `POST /api/deployments/{id}/create_flow_run` directly. Runs are created with an
idempotency key: Prefect returns the existing run for a key it has seen (for the same flow),
even when that run has finished or was created with other parameters, so keys must name the
deployment, the job and the attempt.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from catalog_lib.core.errors import (
    ConfigurationError,
    InvalidArgumentError,
    TerminalError,
    TransientError,
)

INGEST_FLOW = "ingest-catalog"
INGEST_DEPLOYMENT = "ingest-catalog"
DEFAULT_TIMEOUT_S = 10.0
_KEY_LOCK_STRIPES = 64
_RUN_CACHE_SIZE = 4096
# A served deployment is polled every ~10 s; Prefect itself marks it NOT_READY after 60 s.
SERVED_WITHIN = timedelta(seconds=90)


class PrefectUnavailableError(TransientError):
    """The Prefect API could not be reached, timed out or answered with a server error."""

    kind = "prefect_unavailable"


class DeploymentNotFoundError(TerminalError):
    """The deployment is not registered on the Prefect server (yet)."""

    kind = "deployment_not_found"


@dataclass(frozen=True)
class FlowRunRef:
    """A flow run created (or found again by its idempotency key) from a deployment."""

    id: uuid.UUID
    created: bool
    state: str | None


def api_headers(auth_string: str | None = None, api_key: str | None = None) -> dict[str, str]:
    """The Authorization header for the Prefect API, as Prefect's own client builds it.

    An auth string (`PREFECT_API_AUTH_STRING`, the local server's basic auth) wins over an API
    key (`PREFECT_API_KEY`, Prefect Cloud, sent as a bearer token); neither gives no header.
    """
    auth = auth_string if auth_string is not None else os.environ.get("PREFECT_API_AUTH_STRING")
    if auth:
        token = base64.b64encode(auth.encode("utf-8")).decode("ascii")
        return {"Authorization": f"Basic {token}"}
    key = api_key if api_key is not None else os.environ.get("PREFECT_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}


@dataclass(frozen=True)
class DeploymentHealth:
    """Whether anything would pick up a run of a deployment, as the Prefect API reports it.

    `exists` False: not registered. A registered deployment is served when it is not paused
    and a runner (`serve`, a worker) polled it recently (`status` READY, `last_polled`).
    """

    name: str
    exists: bool
    status: str | None = None
    paused: bool = False
    last_polled: datetime | None = None
    checked_at: datetime | None = None

    @property
    def served(self) -> bool:
        """Whether a run created now would be picked up."""
        if not self.exists or self.paused or self.status == "NOT_READY":
            return False
        if self.last_polled is None:
            return False
        now = self.checked_at or datetime.now(UTC)
        return now - self.last_polled <= SERVED_WITHIN

    @property
    def problem(self) -> str | None:
        """Why a run would not be picked up (None when served)."""
        if self.served:
            return None
        if not self.exists:
            return f"the deployment {self.name} is not registered on the Prefect server"
        if self.paused:
            return f"the deployment {self.name} is paused"
        if self.last_polled is None:
            return f"the deployment {self.name} has never been served (no runner polled it)"
        return (
            f"the deployment {self.name} is not being served: last polled "
            f"{self.last_polled:%Y-%m-%d %H:%M:%S} UTC (run `catalog-etl serve` or `up`)"
        )


def action_key(deployment: str, target: uuid.UUID | str, token: str, *parts: object) -> str:
    """The run key of one operator request made in a UI (one dialog, one set of choices).

    Submitting the same request twice (a double click) finds the same run; a new request on
    the same job (another dialog, or the same one with `force` now set) makes a new run.
    """
    if not token:
        raise InvalidArgumentError("an action key needs a request token")
    digest = hashlib.sha256("\x1f".join([token, *map(str, parts)]).encode()).hexdigest()[:16]
    return f"{deployment}:{target}:ui-{digest}"


def idempotency_key(deployment: str, job_id: uuid.UUID | str, attempt: int = 1) -> str:
    """The run key of one attempt of one job under one deployment.

    A retry is a new job (new id), so its key differs even though `attempt` stays 1.
    """
    if attempt < 1:
        raise InvalidArgumentError("attempt counts from 1")
    return f"{deployment}:{job_id}:{attempt}"


class DeploymentRunner:
    """Creates flow runs of one deployment by name; the deployment id is looked up once."""

    def __init__(
        self,
        api_url: str,
        *,
        flow_name: str = INGEST_FLOW,
        deployment_name: str = INGEST_DEPLOYMENT,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        api_key: str | None = None,
        auth_string: str | None = None,
        attempts: int = 5,
        backoff_s: float = 0.25,
    ) -> None:
        """Prepare an HTTP client for `api_url` (e.g. `http://127.0.0.1:4200/api`).

        `auth_string` (default: `PREFECT_API_AUTH_STRING`) is sent as basic auth (a server
        started with `PREFECT_SERVER_API_AUTH_STRING`, like the local one); otherwise `api_key`
        (default: `PREFECT_API_KEY`) is sent as a bearer token (Prefect Cloud).
        Failed calls are tried `attempts` times in all, backing off from `backoff_s`.
        """
        self.api_url = api_url.rstrip("/")
        self.flow_name = flow_name
        self.deployment_name = deployment_name
        headers = api_headers(auth_string, api_key)
        self._client = httpx.Client(base_url=self.api_url, timeout=timeout_s, headers=headers)
        self._deployment_id: uuid.UUID | None = None
        self._lock = threading.Lock()
        self._attempts = max(1, attempts)
        self._backoff_s = backoff_s
        # A key always names the same run, so concurrent deliveries of one job share one call.
        self._key_locks = [threading.Lock() for _ in range(_KEY_LOCK_STRIPES)]
        self._runs: OrderedDict[str, FlowRunRef] = OrderedDict()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def deployment_id(self) -> uuid.UUID:
        """The deployment's id (cached after the first successful lookup).

        Raises:
            DeploymentNotFoundError: no deployment of that name is registered.
            PrefectUnavailableError: the API cannot be reached or failed.
        """
        with self._lock:
            if self._deployment_id is None:
                path = f"/deployments/name/{self.flow_name}/{self.deployment_name}"
                response = self._request("GET", path)
                if response.status_code == 404:
                    raise DeploymentNotFoundError(
                        "the deployment is not registered on the Prefect server; "
                        "run `catalog-etl serve` or `prefect deploy`",
                        deployment=f"{self.flow_name}/{self.deployment_name}",
                    )
                self._check(response)
                self._deployment_id = uuid.UUID(str(response.json()["id"]))
            return self._deployment_id

    def health(self) -> DeploymentHealth:
        """Whether the deployment exists and is being served (never cached).

        Raises:
            PrefectUnavailableError: the API cannot be reached or failed.
        """
        name = f"{self.flow_name}/{self.deployment_name}"
        response = self._request("GET", f"/deployments/name/{name}")
        checked_at = datetime.now(UTC)
        if response.status_code == 404:
            return DeploymentHealth(name=name, exists=False, checked_at=checked_at)
        self._check(response)
        body = response.json()
        with self._lock:
            self._deployment_id = uuid.UUID(str(body["id"]))
        return DeploymentHealth(
            name=name,
            exists=True,
            status=body.get("status"),
            paused=bool(body.get("paused")),
            last_polled=_parse_time(body.get("last_polled")),
            checked_at=checked_at,
        )

    def flow_run_state(self, run_id: uuid.UUID) -> str | None:
        """The state type of a flow run (`SCHEDULED`, `RUNNING`, `COMPLETED`, ...)."""
        response = self._request("GET", f"/flow_runs/{run_id}")
        if response.status_code == 404:
            return None
        self._check(response)
        state = response.json().get("state") or {}
        value = state.get("type")
        return str(value) if value else None

    def create_run(
        self, *, parameters: dict[str, Any], key: str, tags: Sequence[str] = ()
    ) -> FlowRunRef:
        """Create a run of the deployment, or return the run this idempotency key made before.

        `tags` are added to the deployment's own tags (`source:…`, `trigger:…` for ingests).

        Runs already seen by this process are answered from a bounded cache, and concurrent
        calls with the same key wait for one request: a burst of re-deliveries costs Prefect
        one write instead of one per delivery.
        """
        with self._key_locks[hash(key) % _KEY_LOCK_STRIPES]:
            with self._lock:
                cached = self._runs.get(key)
            if cached is not None:
                return FlowRunRef(id=cached.id, created=False, state=cached.state)
            run = self._create_run(parameters, key, tags)
            with self._lock:
                self._runs[key] = run
                while len(self._runs) > _RUN_CACHE_SIZE:
                    self._runs.popitem(last=False)
            return run

    def _create_run(self, parameters: dict[str, Any], key: str, tags: Sequence[str]) -> FlowRunRef:
        body: dict[str, Any] = {"parameters": parameters, "idempotency_key": key}
        for attempt in range(2):
            deployment_id = self.deployment_id()
            if tags:
                body["tags"] = list(tags)  # the server adds the deployment's own tags
            response = self._request(
                "POST", f"/deployments/{deployment_id}/create_flow_run", json=body
            )
            if response.status_code == 404 and attempt == 0:
                # The deployment was deleted and registered again under a new id.
                with self._lock:
                    self._deployment_id = None
                continue
            self._check(response)
            body = response.json()
            state = body.get("state") or {}
            return FlowRunRef(
                id=uuid.UUID(str(body["id"])),
                created=response.status_code == 201,
                state=state.get("type"),
            )
        raise DeploymentNotFoundError(
            "the deployment disappeared from the Prefect server",
            deployment=f"{self.flow_name}/{self.deployment_name}",
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One API call, retried on transport errors, 429 and 5xx with jittered backoff.

        Retrying is safe: lookups are reads and run creation carries an idempotency key.
        A server on SQLite answers 5xx ("database is locked") under concurrent writes.
        """
        for attempt in range(self._attempts):
            last = attempt == self._attempts - 1
            try:
                response = self._client.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                if last:
                    raise PrefectUnavailableError(
                        "the Prefect API cannot be reached", error_name=type(exc).__name__
                    ) from exc
            else:
                if last or not (response.status_code >= 500 or response.status_code == 429):
                    return response
            time.sleep(self._backoff_s * 2**attempt * (0.5 + random.random()))
        raise AssertionError("unreachable")

    def _check(self, response: httpx.Response) -> None:
        # The response text is left out on purpose: it may echo parameters.
        status = response.status_code
        if status in (401, 403):
            raise ConfigurationError(
                "the Prefect API refused the credentials "
                "(PREFECT_API_AUTH_STRING or PREFECT_API_KEY)",
                http_status=status,
            )
        if status >= 500 or status == 429:
            raise PrefectUnavailableError("the Prefect API failed", http_status=status)
        if status >= 400:
            raise ConfigurationError("the Prefect API rejected the request", http_status=status)


def _parse_time(value: object) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
