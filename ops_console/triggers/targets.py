"""What a console action targets and reports: deployments, eligible statuses, typed results."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from catalog_lib.adapters.prefect_rest import (
    FlowRunRef,
)
from catalog_lib.adapters.storage import (
    ObjectVersion,
)
from catalog_lib.core.errors import ConfigurationError

CHANNEL = "console"
INGEST = "ingest-catalog"
ACTION_DEPLOYMENTS: dict[str, str] = {
    "retry": "retry-job",
    "repair": "repair-job",
    "reconcile": "reconcile-job",
}
CONSOLE_DEPLOYMENTS = (*ACTION_DEPLOYMENTS.values(), INGEST)
RETRY_STATUSES = ("failed", "cancelled")
REPAIR_STATUSES = ("completed", "failed")
RECONCILE_STATUSES = ("completed", "failed", "cancelled")
DEFAULT_SCRAPER_REVISION = "console"


@dataclass(frozen=True)
class JobTarget:
    """The fields of a job an action needs (from a dict row or a model object)."""

    id: uuid.UUID
    status: str
    source: str
    object_key: str
    source_etag: str | None
    source_size: int | None

    @classmethod
    def of(cls, job: Any) -> JobTarget:
        """Read the fields from a mapping (read API rows) or an object with attributes."""

        def get(name: str) -> Any:
            if isinstance(job, Mapping):
                return job.get(name)
            return getattr(job, name, None)

        size = get("source_size")
        return cls(
            id=uuid.UUID(str(get("id"))),
            status=str(get("status")),
            source=str(get("source")),
            object_key=str(get("object_key")),
            source_etag=get("source_etag"),
            source_size=int(size) if size is not None else None,
        )


@dataclass(frozen=True)
class SourceCheck:
    """The job's stored object version against the live one (HEAD through the storage adapter)."""

    stored_etag: str | None
    stored_size: int | None
    live: ObjectVersion | None  # None: the object is missing

    @property
    def missing(self) -> bool:
        """Whether the object no longer exists."""
        return self.live is None

    @property
    def changed(self) -> bool:
        """Whether acting needs `force`: another ETag or size, or no stored ETag at all."""
        if self.live is None:
            return False
        if self.stored_etag is None or self.stored_etag != self.live.etag:
            return True
        return self.stored_size is not None and self.stored_size != self.live.size


@dataclass(frozen=True)
class Submitted:
    """A flow run started for an action; `mark` is the newest action id before it started."""

    kind: str
    job_id: uuid.UUID
    deployment: str
    run: FlowRunRef
    mark: int
    actor: str


@dataclass(frozen=True)
class IngestStarted:
    """An ingest the console triggered: its job, run (None when not started) and action row."""

    job_id: uuid.UUID
    duplicate_of: uuid.UUID | None
    run: FlowRunRef | None
    action_id: int
    status: str


class ActionBlockedError(ConfigurationError):
    """An action cannot start: its deployment is not served (nothing would run it)."""

    kind = "action_blocked"
