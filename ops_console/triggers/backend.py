"""The console's action back end: checks a source, starts deployment runs, records actions."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

from catalog_lib.adapters.postgres import connect, resolve_database
from catalog_lib.adapters.prefect_rest import (
    DeploymentHealth,
    DeploymentRunner,
    FlowRunRef,
    action_key,
    idempotency_key,
)
from catalog_lib.adapters.storage import (
    ObjectStore,
    ObjectVersion,
    open_store,
    storage_config_from_settings,
)
from catalog_lib.core.errors import (
    InvalidArgumentError,
    ObjectNotFoundError,
    SourceChangedError,
)
from catalog_lib.core.settings import Settings
from catalog_lib.ingest import jobs
from catalog_lib.models.jobs import EtlJob
from catalog_lib.ops import actions, audit
from ops_console.triggers.targets import (
    ACTION_DEPLOYMENTS,
    CHANNEL,
    CONSOLE_DEPLOYMENTS,
    DEFAULT_SCRAPER_REVISION,
    INGEST,
    ActionBlockedError,
    IngestStarted,
    JobTarget,
    SourceCheck,
    Submitted,
)


def ui_base(api_url: str) -> str:
    """The Prefect UI's base URL: `PREFECT_UI_URL`, else the API URL without `/api`."""
    configured = os.environ.get("PREFECT_UI_URL")
    if configured:
        return configured.rstrip("/")
    return api_url.rstrip("/").removesuffix("/api")


class Backend:
    """The console's action back end: database, object store and Prefect API."""

    def __init__(
        self,
        *,
        database_url: str,
        store: ObjectStore,
        prefect_api: str | None,
        chunk_size: int,
    ) -> None:
        """Wire the adapters; `prefect_api` None means runs cannot be started (and says so)."""
        self.database_url = database_url
        self.store = store
        self.prefect_api = prefect_api
        self.chunk_size = chunk_size
        self._runners: dict[str, DeploymentRunner] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, prefect_api: str | None = None) -> Backend:
        """Build from the settings and `PREFECT_API_URL` (never starts a database server)."""
        secret = settings.database_url.get_secret_value() if settings.database_url else None
        target = resolve_database(secret, settings.state_dir, settings.pg_bin_dir, start=False)
        return cls(
            database_url=target.url,
            store=open_store(storage_config_from_settings(settings)),
            prefect_api=prefect_api or os.environ.get("PREFECT_API_URL") or None,
            chunk_size=settings.chunk_size,
        )

    def close(self) -> None:
        """Close the HTTP clients."""
        with self._lock:
            for runner in self._runners.values():
                runner.close()
            self._runners.clear()

    def runner(self, deployment: str) -> DeploymentRunner:
        """The REST client of one deployment (flow name = deployment name here)."""
        if self.prefect_api is None:
            raise ActionBlockedError(
                "no Prefect API is configured (PREFECT_API_URL): actions cannot start runs"
            )
        with self._lock:
            runner = self._runners.get(deployment)
            if runner is None:
                runner = DeploymentRunner(
                    self.prefect_api,
                    flow_name=deployment,
                    deployment_name=deployment,
                    timeout_s=5.0,
                    attempts=2,
                )
                self._runners[deployment] = runner
            return runner

    def health(self, deployments: Sequence[str] = CONSOLE_DEPLOYMENTS) -> list[DeploymentHealth]:
        """Whether each deployment is served (raises PrefectUnavailableError when unreachable)."""
        return [self.runner(name).health() for name in deployments]

    def require_served(self, deployment: str) -> None:
        """Refuse to create a run nothing would pick up."""
        health = self.runner(deployment).health()
        if not health.served:
            raise ActionBlockedError(
                f"{health.problem}; nothing would pick the run up. Start the deployments with "
                "`catalog-etl serve` (or `catalog-etl up`) and try again"
            )

    def run_url(self, run_id: uuid.UUID) -> str | None:
        """The Prefect UI page of a flow run."""
        if self.prefect_api is None:
            return None
        return f"{ui_base(self.prefect_api)}/runs/flow-run/{run_id}"

    def check_source(self, job: JobTarget) -> SourceCheck:
        """HEAD the job's object and compare it with the stored version."""
        try:
            live: ObjectVersion | None = self.store.head(job.object_key)
        except ObjectNotFoundError:
            live = None
        return SourceCheck(stored_etag=job.source_etag, stored_size=job.source_size, live=live)

    def head(self, object_key: str) -> ObjectVersion | None:
        """The live version of a landing object (None when it does not exist)."""
        try:
            return self.store.head(self.store.resolve(object_key))
        except ObjectNotFoundError:
            return None

    def start_action(
        self,
        kind: str,
        job_id: uuid.UUID,
        *,
        actor: str,
        reason: str,
        force: bool,
        token: str,
    ) -> Submitted:
        """Start the `retry-job` / `repair-job` / `reconcile-job` flow for one job.

        The flow checks eligibility and the ETag again and records the action (channel
        `console`) itself. The idempotency key names this request (`token`) and its choices,
        so a double submit finds the same run.
        """
        deployment = ACTION_DEPLOYMENTS[kind]
        if not reason.strip():
            raise InvalidArgumentError("a reason is required")
        self.require_served(deployment)
        mark = actions.last_action_id(self.database_url)
        run = self.runner(deployment).create_run(
            parameters={
                "job_id": str(job_id),
                "actor": actor,
                "reason": reason.strip(),
                "force": force,
                "channel": CHANNEL,
            },
            key=action_key(deployment, job_id, token, force, reason.strip()),
            tags=(f"trigger:{CHANNEL}",),
        )
        return Submitted(kind, job_id, deployment, run, mark, actor)

    def recorded(self, submitted: Submitted) -> dict[str, Any] | None:
        """The operator action the flow run recorded for `submitted`, once it has."""
        return actions.find_action_after(
            self.database_url, submitted.job_id, submitted.actor, submitted.mark
        )

    def wait_recorded(
        self, submitted: Submitted, *, timeout_s: float, interval_s: float = 1.0
    ) -> dict[str, Any] | None:
        """Poll for the recorded action for up to `timeout_s` (None when not recorded yet)."""
        deadline = time.monotonic() + timeout_s
        while True:
            row = self.recorded(submitted)
            if row is not None or time.monotonic() >= deadline:
                return row
            time.sleep(interval_s)

    def run_state(self, run_id: uuid.UUID, deployment: str = INGEST) -> str | None:
        """The state type of a flow run."""
        return self.runner(deployment).flow_run_state(run_id)

    def job(self, job_id: uuid.UUID) -> EtlJob | None:
        """The job row (for status and results after an action)."""
        with connect(self.database_url) as conn:
            return jobs.get_job(conn, job_id)

    def ingest(
        self,
        *,
        source: str,
        object_key: str,
        actor: str,
        reason: str,
        scraper_revision: str = DEFAULT_SCRAPER_REVISION,
        action: str = "ingest",
        target_job_id: uuid.UUID | None = None,
        expected: tuple[str, int] | None = None,
        force: bool = False,
    ) -> IngestStarted:
        """Create the object's job (or find its live one) and start `ingest-catalog` for it.

        `expected` is the (ETag, size) the operator saw; a different live version is refused
        unless `force`. The action row is recorded by the console (channel `console`).
        """
        if not reason.strip():
            raise InvalidArgumentError("a reason is required")
        self.require_served(INGEST)
        live = self.store.head(self.store.resolve(object_key))
        parameters: dict[str, Any] = {
            "source": source,
            "object_key": live.uri,
            "etag": live.etag,
            "force": force,
            "channel": CHANNEL,
        }
        if expected is not None and not force and (live.etag, live.size) != expected:
            why = (
                f"the object changed (stored ETag {expected[0]}, size {expected[1]}; live ETag "
                f"{live.etag}, size {live.size}); force to ingest the current object"
            )
            action_id = self._record(
                action, actor, reason, target_job_id, None, None, parameters, refused=why
            )
            raise SourceChangedError(why, action_id=action_id)
        request = jobs.IngestRequest(
            source=source,
            filename=PurePosixPath(live.uri).name,
            version=live,
            scraper_revision=scraper_revision,
            chunk_size=self.chunk_size,
        )
        with connect(self.database_url) as conn:
            result = jobs.trigger_ingest(conn, request)
        run: FlowRunRef | None = None
        if result.status == jobs.JobStatus.PENDING:
            # One run per job whoever triggers it (the webhook uses the same key): a pending
            # duplicate whose first run was never created gets it now, never a second one.
            run = self.runner(INGEST).create_run(
                parameters={"job_id": str(result.job_id), "label": PurePosixPath(live.uri).name},
                key=idempotency_key(INGEST, result.job_id),
                tags=(f"source:{source}", f"trigger:{CHANNEL}"),
            )
        duplicate = (
            f"the object is already ingested or being ingested by job {result.duplicate_of} "
            f"({result.status})"
            if result.duplicate_of is not None
            else None
        )
        action_id = self._record(
            action,
            actor,
            reason,
            target_job_id or result.job_id,
            None if duplicate else result.job_id,
            run.id if run else None,
            parameters,
            refused=duplicate,
        )
        return IngestStarted(
            job_id=result.job_id,
            duplicate_of=result.duplicate_of,
            run=run,
            action_id=action_id,
            status=str(result.status),
        )

    def retry_cancelled(
        self, job: JobTarget, *, actor: str, reason: str, force: bool
    ) -> IngestStarted:
        """Retry a cancelled job: ingest its object again (a new job superseding it)."""
        if job.status != "cancelled":
            raise InvalidArgumentError("only a cancelled job is retried through a new ingest")
        row = self.job(job.id)
        revision = str(row["scraper_revision"]) if row else DEFAULT_SCRAPER_REVISION
        expected = None
        if job.source_etag is not None and job.source_size is not None:
            expected = (job.source_etag, job.source_size)
        return self.ingest(
            source=job.source,
            object_key=job.object_key,
            actor=actor,
            reason=reason,
            scraper_revision=revision,
            action="retry",
            target_job_id=job.id,
            expected=expected,
            force=force or expected is None,
        )

    def set_flag(
        self, flag_id: int, *, actor: str, reason: str, mute_days: int | None
    ) -> audit.FlagStateChange:
        """Acknowledge (or mute for `mute_days`) an audit flag; records its operator action."""
        return audit.set_flag_state(
            self.database_url, flag_id, reason=reason, actor=actor, mute_days=mute_days
        )

    def _record(
        self,
        action: str,
        actor: str,
        reason: str,
        target: uuid.UUID | None,
        result_job: uuid.UUID | None,
        run_id: uuid.UUID | None,
        parameters: dict[str, Any],
        *,
        refused: str | None = None,
    ) -> int:
        return actions.record_triggered(
            self.database_url,
            action=action,
            actor=actor,
            reason=reason.strip(),
            target_job_id=target,
            result_job_id=result_job,
            flow_run_id=run_id,
            parameters=parameters,
            refused_because=refused,
        )
