"""The webhook's logic, free of HTTP: authenticate, validate, HEAD each object, trigger.

Order of checks, so that nothing is triggered by a request that fails any of them: the
signature is verified before any parsing (401), the JSON is validated (422), every key is
resolved under the landing root and HEADed once (422 when missing), and the Prefect
deployment is looked up (503). Only then is a job created per object version (the HEAD result
is handed on, deduplicated by the ingest identity in the database) and a flow run requested
with an idempotency key made of deployment + job id + attempt. Errors map to HTTP answers in
`rejection_for`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from catalog_lib.adapters.postgres import connect
from catalog_lib.adapters.prefect_rest import (
    DeploymentNotFoundError,
    DeploymentRunner,
    PrefectUnavailableError,
    idempotency_key,
)
from catalog_lib.adapters.storage import ObjectVersion
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
from catalog_lib.core.settings import Settings
from catalog_lib.ingest import jobs, steps
from catalog_lib.rules import intake
from catalog_lib.rules.signing import MIN_SECRET_LENGTH, verify


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
        versions = [self._check_object(t.key) for t in plan.targets]
        if not plan.targets:
            return JobsAccepted(jobs=[], ignored=plan.ignored).model_dump(mode="json")
        # Reach Prefect before any job row exists: an unreachable server then leaves nothing.
        self.runner.deployment_id()
        accepted = [
            self._trigger(target, version)
            for target, version in zip(plan.targets, versions, strict=True)
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

    def _check_object(self, key: str) -> ObjectVersion:
        """Resolve the key under the landing root and HEAD it: the only storage request."""
        store = self.runtime.store
        uri = store.resolve(key)
        if not uri.startswith(store.root_uri + "/"):
            raise InvalidObjectKeyError("the key escapes the landing root", object_key=key)
        return store.head(uri)

    def _trigger(self, target: intake.IngestTarget, version: ObjectVersion) -> JobAccepted:
        result = steps.request_ingest_version(
            self.runtime,
            source=target.source,
            version=version,
            scraper_revision=target.scraper_revision,
        )
        if result.status == jobs.JobStatus.PENDING:
            # Also for a duplicate pending job: the key makes this idempotent, and it starts a
            # job whose first delivery died between creating the job and creating its run.
            run = self.runner.create_run(
                parameters={"job_id": str(result.job_id), "label": target.key},
                key=idempotency_key(self.runner.deployment_name, result.job_id),
                tags=(f"source:{target.source}", "trigger:webhook"),
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
            object_key=version.uri,
        )

    def _recorded_run(self, job_id: uuid.UUID) -> uuid.UUID | None:
        with connect(self.runtime.database_url) as conn:
            job = jobs.get_job(conn, job_id)
        return job.flow_run_id if job is not None else None


def rejection_for(exc: Exception) -> WebhookRejectionError:
    """The HTTP answer for an error raised while handling a signed request."""
    if isinstance(exc, WebhookRejectionError):
        return exc
    if isinstance(exc, InvalidRequestError):
        return WebhookRejectionError(422, exc.code, exc.message)
    if isinstance(exc, InvalidObjectKeyError):
        # exc.kind: `invalid_object_key`, or `object_outside_landing` for a jail escape.
        return WebhookRejectionError(422, exc.kind, str(exc))
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
