"""The signed scraper webhook (FastAPI): `POST /v1/ingest` → one `ingest-catalog` run per file.

Order of checks, so that nothing is triggered by a request that fails any of them: the raw
body is read up to the size limit (413), its HMAC signature is verified before any parsing
(401), the JSON is validated (422), every key is resolved under the landing root and HEADed
(422 when missing), and the Prefect deployment is looked up (503). Only then is a job created
per key (deduplicated by the ingest identity in the database) and a flow run requested with
an idempotency key made of deployment + job id + attempt. This module never imports prefect.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import uvicorn
from fastapi import FastAPI, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from catalog_lib.adapters.postgres import connect, database_errors
from catalog_lib.adapters.prefect_rest import (
    DeploymentNotFoundError,
    DeploymentRunner,
    PrefectUnavailableError,
    idempotency_key,
)
from catalog_lib.core.errors import (
    CatalogError,
    ConfigurationError,
    DatabaseError,
    InvalidObjectKeyError,
    InvalidRequestError,
    ObjectNotFoundError,
    SignatureError,
    StorageError,
)
from catalog_lib.core.logs import describe_error
from catalog_lib.core.settings import Settings, get_settings
from catalog_lib.ingest import jobs, steps
from catalog_lib.rules import intake
from catalog_lib.rules.signing import (
    MIN_SECRET_LENGTH,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify,
)
from flows.runtime import build_runtime

log = logging.getLogger(__name__)

INGEST_PATH = "/v1/ingest"
DESCRIPTION = f"""
Scrapers (and S3 / R2 event notifications) ask Catalog ETL to ingest files they dropped into
the landing area. See docs/webhook.md.

**Authentication.** Every request carries two headers:

- `{TIMESTAMP_HEADER}`: the Unix time in seconds when the request was signed;
- `{SIGNATURE_HEADER}`: `sha256=` + hex HMAC-SHA256 of `timestamp + "." + raw body` under the
  shared secret (`CATALOG_WEBHOOK_SECRET`).

Requests older or newer than 5 minutes are refused (401). Nothing is triggered by a request
that gets any 4xx or 5xx answer.
"""


class JobAccepted(BaseModel):
    """The job a file resolved to and the flow run that ingests it."""

    job_id: uuid.UUID
    flow_run_id: uuid.UUID | None
    duplicate_of: uuid.UUID | None
    status: str
    source: str
    object_key: str


class JobsAccepted(BaseModel):
    """Several files (or storage events): one entry per object, in request order."""

    jobs: list[JobAccepted]
    ignored: int


class ErrorBody(BaseModel):
    """Why a request was refused; nothing was triggered."""

    error: str
    message: str
    details: list[dict[str, Any]] | None = None


class WebhookRejectionError(Exception):
    """A request refused with an HTTP status and a stable error code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        super().__init__(f"{status} {code}: {message}")

    def to_response(self) -> JSONResponse:
        """The JSON error response."""
        body = ErrorBody(error=self.code, message=self.message, details=self.details)
        return JSONResponse(body.model_dump(exclude_none=True), status_code=self.status)


@dataclass
class WebhookService:
    """The receiver's logic, free of HTTP: authenticate, validate, trigger."""

    secrets: list[str]
    runtime: steps.Runtime
    runner: DeploymentRunner
    max_body_bytes: int
    window_s: int = 300
    clock: Callable[[], float] = time.time

    @property
    def landing(self) -> intake.LandingRoot:
        """The landing root as the intake sees it."""
        return intake.LandingRoot.from_uri(self.runtime.store.root_uri)

    def authenticate(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Verify the signature headers of the raw body (401 on any problem)."""
        try:
            verify(body, headers, self.secrets, int(self.clock()), window_s=self.window_s)
        except SignatureError as exc:
            raise WebhookRejectionError(401, exc.reason, exc.message) from exc

    def ingest(self, body: bytes) -> dict[str, Any]:
        """Validate a signed body and trigger one job + flow run per object."""
        plan = self._plan(body)
        canonical = [self._check_object(t.key) for t in plan.targets]
        if not plan.targets:
            return JobsAccepted(jobs=[], ignored=plan.ignored).model_dump(mode="json")
        # Reach Prefect before any job row exists: an unreachable server then leaves nothing.
        self.runner.deployment_id()
        accepted = [
            self._trigger(target, uri) for target, uri in zip(plan.targets, canonical, strict=True)
        ]
        if len(accepted) == 1 and plan.ignored == 0:
            return accepted[0].model_dump(mode="json")
        return JobsAccepted(jobs=accepted, ignored=plan.ignored).model_dump(mode="json")

    def _plan(self, body: bytes) -> intake.Intake:
        try:
            data = json.loads(body)
        except RecursionError as exc:
            raise WebhookRejectionError(
                422, "invalid_json", "the body is nested too deeply to be a request"
            ) from exc
        except ValueError as exc:
            # JSONDecodeError, UnicodeDecodeError, and an integer over Python's 4,300-digit cap.
            raise WebhookRejectionError(422, "invalid_json", "the body is not valid JSON") from exc
        try:
            return intake.plan_intake(intake.parse_body(data), self.landing)
        except ValidationError as exc:
            details = [
                {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()
            ]
            raise WebhookRejectionError(
                422, "invalid_body", "the body does not match an accepted shape", details
            ) from exc

    def _check_object(self, key: str) -> str:
        store = self.runtime.store
        uri = store.resolve(key)
        if not uri.startswith(store.root_uri + "/"):
            raise InvalidObjectKeyError("the key escapes the landing root", object_key=key)
        return store.head(uri).uri

    def _trigger(self, target: intake.IngestTarget, uri: str) -> JobAccepted:
        result = steps.request_ingest(
            self.runtime,
            source=target.source,
            uri_or_key=uri,
            scraper_revision=target.scraper_revision,
        )
        if result.status == jobs.JobStatus.PENDING:
            # Also for a duplicate pending job: the key makes this idempotent, and it starts a
            # job whose first delivery died between creating the job and creating its run.
            run = self.runner.create_run(
                parameters={"job_id": str(result.job_id), "label": target.key},
                key=idempotency_key(self.runner.deployment_name, result.job_id),
            )
            flow_run_id: uuid.UUID | None = run.id
        else:
            flow_run_id = self._recorded_run(result.job_id)
        return JobAccepted(
            job_id=result.job_id,
            flow_run_id=flow_run_id,
            duplicate_of=result.duplicate_of,
            status=str(result.status),
            source=target.source,
            object_key=uri,
        )

    def _recorded_run(self, job_id: uuid.UUID) -> uuid.UUID | None:
        with database_errors(), connect(self.runtime.database_url) as conn:
            job = jobs.get_job(conn, job_id)
        return job["flow_run_id"] if job is not None else None


def rejection_for(exc: Exception) -> WebhookRejectionError:
    """The HTTP answer for an error raised while handling a signed request."""
    if isinstance(exc, WebhookRejectionError):
        return exc
    if isinstance(exc, InvalidRequestError):
        return WebhookRejectionError(422, exc.code, exc.message)
    if isinstance(exc, InvalidObjectKeyError):
        return WebhookRejectionError(422, "invalid_object_key", str(exc))
    if isinstance(exc, ObjectNotFoundError):
        return WebhookRejectionError(422, "object_not_found", str(exc))
    table: list[tuple[type[CatalogError], int, str]] = [
        (PrefectUnavailableError, 503, "prefect_unavailable"),
        (DeploymentNotFoundError, 503, "deployment_not_found"),
        (StorageError, 503, "storage_unavailable"),
        (DatabaseError, 503, "database_unavailable"),
    ]
    for kind, status, code in table:
        if isinstance(exc, kind):
            return WebhookRejectionError(status, code, exc.message + "; retry later")
    if isinstance(exc, CatalogError):
        return WebhookRejectionError(500, exc.kind, exc.message)
    return WebhookRejectionError(500, "internal", "unexpected error; see the receiver's logs")


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (413) as soon as it is known to exceed `limit` bytes."""
    too_large = WebhookRejectionError(
        413, "body_too_large", f"the body exceeds {limit} bytes", [{"limit": limit}]
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise too_large
    return bytes(received)


def require_secrets(settings: Settings) -> list[str]:
    """The active webhook secrets; refuses to run without a usable one.

    Raises:
        ConfigurationError: `CATALOG_WEBHOOK_SECRET` is unset or a secret is too short.
    """
    secrets = settings.webhook_secrets()
    if not secrets:
        raise ConfigurationError(
            "the webhook needs a shared secret: set CATALOG_WEBHOOK_SECRET "
            "(comma-separate several during a rotation)"
        )
    if any(len(s) < MIN_SECRET_LENGTH for s in secrets):
        raise ConfigurationError(
            f"every CATALOG_WEBHOOK_SECRET must have at least {MIN_SECRET_LENGTH} characters"
        )
    return secrets


def create_app(
    *,
    settings: Settings | None = None,
    prefect_api_url: str | None = None,
    runtime: steps.Runtime | None = None,
) -> FastAPI:
    """Build the webhook application.

    Args:
        settings: defaults to the process settings.
        prefect_api_url: the Prefect API (default: `PREFECT_API_URL`).
        runtime: the pipeline runtime (default: built from `settings`).

    Raises:
        ConfigurationError: no (or a too short) `CATALOG_WEBHOOK_SECRET`, or no Prefect API.
    """
    settings = settings or get_settings()
    secrets = require_secrets(settings)
    api_url = prefect_api_url or os.environ.get("PREFECT_API_URL")
    if not api_url:
        raise ConfigurationError("the webhook needs a Prefect API: set PREFECT_API_URL")
    service = WebhookService(
        secrets=secrets,
        runtime=runtime or build_runtime(settings),
        runner=DeploymentRunner(api_url),
        max_body_bytes=settings.webhook_max_body_bytes,
    )
    app = FastAPI(title="Catalog ETL webhook", version="1", description=DESCRIPTION)
    app.state.service = service
    _add_routes(app, service)
    _document_request_body(app)
    return app


TimestampHeader = Annotated[
    str | None,
    Header(alias=TIMESTAMP_HEADER, description="Unix seconds when the request was signed."),
]
SignatureHeaderValue = Annotated[
    str | None,
    Header(
        alias=SIGNATURE_HEADER,
        description='`sha256=` + hex HMAC-SHA256 of `timestamp + "." + body`.',
    ),
]


def _add_routes(app: FastAPI, service: WebhookService) -> None:
    error_responses: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorBody, "description": text}
        for status, text in (
            (401, "missing, malformed, wrong or stale signature"),
            (413, "body larger than CATALOG_WEBHOOK_MAX_BODY_BYTES"),
            (422, "invalid JSON, body, key or source; object missing; wrong bucket"),
            (503, "Prefect, storage or the database is unavailable; retry later"),
        )
    }

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers (dependencies are checked per request)."""
        return {"status": "ok"}

    @app.post(
        INGEST_PATH,
        status_code=202,
        tags=["ingest"],
        response_model=JobAccepted | JobsAccepted,
        responses={
            202: {"description": "accepted: one object, or `jobs` for several"},
            **error_responses,
        },
    )
    async def ingest(
        request: Request,
        x_catalog_timestamp: TimestampHeader = None,
        x_catalog_signature: SignatureHeaderValue = None,
    ) -> JSONResponse:
        """Ingest the named objects: one job and one `ingest-catalog` flow run per file.

        A file already known by its identity (source, key, ETag) returns its job with
        `duplicate_of` set, so re-deliveries are safe.
        """
        started = time.monotonic()
        try:
            body = await read_limited_body(request, service.max_body_bytes)
            service.authenticate(body, request.headers)
            document = await run_in_threadpool(service.ingest, body)
        except Exception as exc:  # noqa: BLE001 - the HTTP boundary answers every error
            rejection = rejection_for(exc)
            _log_rejection(rejection, exc, started)
            return rejection.to_response()
        _log_acceptance(document, started)
        return JSONResponse(document, status_code=202)


def _log_rejection(rejection: WebhookRejectionError, exc: Exception, started: float) -> None:
    level = logging.ERROR if rejection.status >= 500 else logging.WARNING
    fields: dict[str, Any] = {
        "event": "webhook.rejected",
        "status": rejection.status,
        "code": rejection.code,
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
    }
    if not isinstance(exc, WebhookRejectionError):
        fields.update(describe_error(exc))
    log.log(level, "webhook request rejected", extra=fields)


def _log_acceptance(document: dict[str, Any], started: float) -> None:
    entries = document.get("jobs", [document] if "job_id" in document else [])
    log.info(
        "webhook request accepted",
        extra={
            "event": "webhook.accepted",
            "status": 202,
            "job_ids": [e["job_id"] for e in entries],
            "duplicates": sum(1 for e in entries if e["duplicate_of"]),
            "ignored": document.get("ignored", 0),
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
        },
    )


def _document_request_body(app: FastAPI) -> None:
    """Describe the raw-body endpoint's accepted JSON shapes in the OpenAPI document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        shapes: list[type[BaseModel]] = [intake.IngestBody, intake.S3Event, intake.R2Event]
        models: list[tuple[type[BaseModel], Literal["validation"]]] = [
            (m, "validation") for m in shapes
        ]
        _, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")
        schema.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
        refs = [{"$ref": f"#/components/schemas/{m.__name__}"} for m, _ in models]
        schema["paths"][INGEST_PATH]["post"]["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"oneOf": refs}}},
        }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def serve_webhook(app: FastAPI, *, host: str, port: int) -> None:
    """Serve the app with uvicorn until interrupted (logs go through the root logger)."""
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)


@dataclass
class RunningWebhook:
    """A webhook served by uvicorn in a background thread (for `serve`/`up` and tests)."""

    server: uvicorn.Server
    thread: threading.Thread
    url: str

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(timeout=timeout_s)


def start_webhook_thread(
    app: FastAPI, *, host: str = "127.0.0.1", port: int = 0, timeout_s: float = 10.0
) -> RunningWebhook:
    """Start uvicorn in a daemon thread and return once it listens (port 0: a free port)."""
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="catalog-etl-webhook", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ConfigurationError("the webhook server did not start", host=host, port=port)
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()
    return RunningWebhook(server=server, thread=thread, url=f"http://{bound[0]}:{bound[1]}")
