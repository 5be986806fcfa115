"""What a seeded history is made of: its spec, its summary, the sources and failure kinds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from catalog_lib.core.errors import InvalidArgumentError
from catalog_lib.ingest.jobs import compute_ingest_key
from catalog_lib.rules import validation

HISTORY_PREFIX: Final = "s3://seeded-history/"
SOURCE_POOL: Final = (
    "trailco",
    "northline",
    "tiworks",
    "summitworks",
    "fjellgear",
    "cascadia",
    "pinecrest",
    "ridgeline",
    "bluewater",
    "kestrel",
    "altamira",
    "boreal",
)
CHUNK_BYTES: Final = 16 * 1024 * 1024
APPLY_PARTITIONS: Final = 4
ACTORS: Final = ("ana@example.com", "sam@example.com", "ops-oncall@example.com")
# error kind → (weight, message); messages name the failure, never row content.
FAILURES: Final[dict[str, tuple[int, str]]] = {
    "source_missing": (3, "the object is gone from the landing area"),
    "malformed_csv": (3, "unterminated quoted field at byte offset 81231"),
    "etag_mismatch": (2, "the object changed while it was being read (ETag differs)"),
    "database_unavailable": (2, "could not connect to PostgreSQL"),
    "storage_unavailable": (2, "the object store did not answer (timeout)"),
    "embedding_failed": (1, "the embedding provider failed for every batch"),
    "crashed": (2, "the flow run crashed (worker lost); closed by the sweeper"),
}
REASONS: Final = (
    ("price", validation.PRICE_INVALID),
    ("name", validation.NAME_REQUIRED),
    ("sku", validation.SKU_CHARSET),
    ("productUrl", validation.URL_REQUIRED),
    ("description", validation.DESCRIPTION_TOO_LONG),
)
NULL_FIELDS: Final = ("description", "brand", "images", "weight", "categories")


@dataclass(frozen=True)
class HistorySpec:
    """How much history to seed: jobs, days, sources, items and rejected-row samples."""

    jobs: int = 1200
    days: int = 30
    sources: int = 10
    items: int = 2000
    invalid_logs_per_job: int = 12
    stale_days: int = 30
    seed: int = 20261204

    def __post_init__(self) -> None:
        """Refuse values the generator or the queries cannot honour."""
        if self.jobs < 10 or self.days < 2 or self.items < 0 or self.invalid_logs_per_job < 0:
            raise InvalidArgumentError("history needs at least 10 jobs over 2 days")
        if not 4 <= self.sources <= len(SOURCE_POOL):
            raise InvalidArgumentError(f"sources must be between 4 and {len(SOURCE_POOL)}")


@dataclass(frozen=True)
class HistorySummary:
    """What was seeded, with the numbers the console must show for it (relative to `now`)."""

    now: datetime
    skipped: bool
    jobs: int = 0
    sources: tuple[str, ...] = ()
    jobs_by_status: dict[str, int] = field(default_factory=dict)
    jobs_by_source: dict[str, int] = field(default_factory=dict)
    running_now: int = 0
    failed_24h: int = 0
    rejected_rows_24h: int = 0
    stale_sources: tuple[str, ...] = ()
    open_flags: int = 0
    retries: int = 0
    repairs: int = 0
    audit_snapshots: int = 0
    audit_flags: int = 0
    maintenance_runs: int = 0
    operator_actions: int = 0
    invalid_logs: int = 0
    catalog_items: int = 0
    items_by_source: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The summary as a JSON document (CLI output)."""
        document = {k: getattr(self, k) for k in self.__dataclass_fields__}
        document["now"] = self.now.isoformat()
        document["sources"] = list(self.sources)
        document["stale_sources"] = list(self.stale_sources)
        return document


@dataclass
class _Job:
    id: uuid.UUID
    status: str
    source: str
    filename: str
    object_key: str
    scraper_revision: str
    mode: str
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    chunks_total: int
    source_size: int
    source_etag: str
    processed: int = 0
    valid: int = 0
    invalid: int = 0
    items_upserted: int = 0
    verified_row_count: int | None = None
    reconcile_delta: int | None = None
    error_kind: str | None = None
    error_message: str | None = None
    supersedes: uuid.UUID | None = None
    flow_run_id: uuid.UUID | None = None
    chunks: list[tuple[Any, ...]] = field(default_factory=list)

    def ingest_key(self) -> str:
        return compute_ingest_key(self.source, self.object_key, self.source_etag)


@dataclass
class _Generated:
    jobs: list[_Job]
    actions: list[tuple[Any, ...]]
    invalid_logs: list[tuple[Any, ...]]
    snapshots: list[tuple[Any, ...]]
    flags: list[tuple[Any, ...]]
    runs: list[tuple[Any, ...]]
    items: list[tuple[uuid.UUID, str, int]]
