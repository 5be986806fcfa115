"""The signed scraper webhook (FastAPI): `POST /v1/ingest` → one `ingest-catalog` run per file.

This module is the HTTP side: the raw body is read up to the size limit (413), then handed to
`WebhookService` (`service.py`), which authenticates, validates, HEADs each object once and
triggers; every error becomes a JSON answer (`rejection_for`). Serving lives in `server.py`.
This package never imports prefect.
"""

from __future__ import annotations

import logging
import os
import time
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from catalog_lib.adapters.prefect_rest import DeploymentRunner
from catalog_lib.core.errors import ConfigurationError
from catalog_lib.core.logs import describe_error
from catalog_lib.core.settings import Settings, get_settings
from catalog_lib.ingest import steps
from catalog_lib.ops import replay_cache
from catalog_lib.rules import intake
from catalog_lib.rules.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER
from flows.runtime import build_runtime
from flows.webhook.service import (
    ErrorBody,
    JobAccepted,
    JobsAccepted,
    WebhookRejectionError,
    WebhookService,
    rejection_for,
    require_secrets,
)

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
            # A signature is acted on once; a replay inside its window gets the first receipt.
            delivery = await run_in_threadpool(
                replay_cache.deliver_once,
                service.runtime.database_url,
                replay_cache.signature_hash(x_catalog_timestamp or "", x_catalog_signature or ""),
                partial(service.ingest, body),
                window_s=service.window_s,
            )
            document = delivery.receipt
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
