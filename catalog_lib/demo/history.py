"""Seeded operating history for the console: jobs, ledgers, rejected rows, audits, maintenance.

`seed_history` fills a migrated database with a deterministic, realistic past: first ingests
over `days` days across several sources, failures of several kinds, retries and repairs that
supersede them (with the operator actions that started them), jobs running right now, daily
audit snapshots with flags (open, acknowledged, muted), daily retention and audit runs, and
catalog items. The rows are generated in Python from one seeded RNG and written with COPY
(items with one set-based INSERT), so 100k jobs take seconds, not minutes.

Every seeded job's object key starts with `HISTORY_PREFIX`; seeding a database that already
holds them does nothing (the demo can call it on every run).
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import psycopg

from catalog_lib.adapters.postgres import load_query
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
            raise ValueError("history needs at least 10 jobs over 2 days")
        if not 4 <= self.sources <= len(SOURCE_POOL):
            raise ValueError(f"sources must be between 4 and {len(SOURCE_POOL)}")


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


class _Generator:
    """Builds every row from one RNG; nothing here touches the database."""

    def __init__(self, spec: HistorySpec, now: datetime) -> None:
        self.spec = spec
        self.now = now
        self.rng = random.Random(spec.seed)
        self.sources = SOURCE_POOL[: spec.sources]
        self.stale_source = self.sources[-1]
        self.spike_source = self.sources[2]
        # Per-source scale of a file and usual share of rejected rows.
        self.scale = {s: self.rng.choice((800, 2500, 6000, 15000, 40000)) for s in self.sources}
        self.invalid_share = {s: self.rng.uniform(0.002, 0.05) for s in self.sources}
        self.reason_of = {s: self.rng.randrange(len(REASONS)) for s in self.sources}
        self.jobs: list[_Job] = []
        self.actions: list[tuple[Any, ...]] = []
        self.invalid_logs: list[tuple[Any, ...]] = []

    # --- jobs -------------------------------------------------------------------------------
    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def created_time(self, source: str) -> datetime:
        days = self.spec.days
        if source == self.stale_source:
            # A retired scraper: its newest file is clearly older than the staleness threshold.
            age = timedelta(days=self.spec.stale_days + 5 + self.rng.uniform(0, days / 3))
        else:
            age = timedelta(seconds=self.rng.uniform(3600, days * 86400))
        # Keep clear of the 24 h boundary so "in the last 24 h" cannot flip while a test runs.
        boundary = timedelta(hours=24)
        if abs(age - boundary) < timedelta(minutes=20):
            age = boundary + timedelta(minutes=40)
        return self.now - age

    def new_job(self, source: str, created: datetime, mode: str = "ingest") -> _Job:
        chunks = self.rng.randint(1, 8)
        stamp = created.strftime("%Y-%m-%dT%H-%M-%S")
        filename = f"{source}_{stamp}.csv"
        job = _Job(
            id=self.new_id(),
            status="completed",
            source=source,
            filename=filename,
            object_key=f"{HISTORY_PREFIX}{source}/{filename}",
            scraper_revision=f"v1.{self.rng.choice((3, 4, 4, 5, 5, 5))}.0",
            mode=mode,
            created_at=created,
            started_at=created + timedelta(seconds=self.rng.uniform(1, 20)),
            completed_at=None,
            chunks_total=chunks,
            source_size=chunks * CHUNK_BYTES - self.rng.randrange(CHUNK_BYTES // 2),
            source_etag=f"{self.rng.getrandbits(128):032x}",
            flow_run_id=self.new_id(),
        )
        self.jobs.append(job)
        return job

    def rows_of(self, job: _Job) -> tuple[int, int]:
        processed = max(10, int(self.rng.gauss(self.scale[job.source], self.scale[job.source] / 8)))
        share = self.invalid_share[job.source]
        if job.source == self.spike_source and self.now - job.created_at < timedelta(days=3):
            share = 0.22
        invalid = min(processed, int(processed * share * self.rng.uniform(0.6, 1.4)))
        return processed, invalid

    def finish(self, job: _Job, status: str, kind: str | None = None) -> None:
        """Give a job its outcome, counters and ledger."""
        assert job.started_at is not None
        processed, invalid = self.rows_of(job)
        duration = timedelta(seconds=min(3600.0, self.rng.lognormvariate(5.0, 0.8)))
        job.status = status
        if status == "completed":
            job.completed_at = job.started_at + duration
            done = job.chunks_total
        elif status in ("failed", "cancelled"):
            job.completed_at = job.started_at + duration / 3
            done = self.rng.randrange(job.chunks_total)
            job.error_kind = kind or "cancelled"
            job.error_message = FAILURES[kind][1] if kind else "cancelled by an operator"
        else:  # running / pending
            done = self.rng.randrange(job.chunks_total) if status == "running" else 0
        share = done / job.chunks_total
        job.processed = int(processed * share) if status != "completed" else processed
        job.invalid = min(job.processed, int(invalid * share) if status != "completed" else invalid)
        job.valid = job.processed - job.invalid
        if status == "completed":
            job.items_upserted = job.valid
            delta = self.rng.choice((0,) * 30 + (-3, 7))
            job.reconcile_delta = delta
            job.verified_row_count = job.processed + delta
        if status == "pending":
            job.started_at = None
        self.ledger(job, done)

    def ledger(self, job: _Job, done: int) -> None:
        start = job.started_at
        if start is None:
            return
        end = job.completed_at or self.now
        step = (end - start) / max(1, job.chunks_total + 1)
        processed = _split(job.processed, done, self.rng)
        invalid = _split_bounded(job.invalid, processed, self.rng)
        first_record = logged = 0
        for index in range(job.chunks_total):
            begin = start + step * index
            byte_start = index * CHUNK_BYTES
            byte_end = min(job.source_size, byte_start + CHUNK_BYTES) - 1
            if index < done:
                rows, bad = processed[index], invalid[index]
                status, finished, attempts = "completed", begin + step, 1
                kind = message = None
                if self.rng.random() < 0.05:
                    attempts = 2
            elif index == done and job.status == "failed":
                rows = bad = 0
                status, finished, attempts = "failed", begin + step / 2, 3
                kind, message = job.error_kind, job.error_message
            elif index <= done + 1 and job.status == "running":
                rows = bad = 0
                status, finished, attempts, kind, message = "running", None, 1, None, None
            else:
                continue
            job.chunks.append(
                (
                    job.id,
                    "chunk",
                    index,
                    byte_start,
                    byte_end,
                    first_record if status == "completed" else None,
                    rows if status == "completed" else None,
                    status,
                    attempts,
                    rows,
                    rows - bad,
                    bad,
                    0,
                    0,
                    begin,
                    finished,
                    kind,
                    message,
                )
            )
            first_record += rows
            if status == "completed" and bad and logged < self.spec.invalid_logs_per_job:
                take = min(bad, self.spec.invalid_logs_per_job - logged)
                self.rejected_rows(job, index, first_record - rows, bad, take, finished or begin)
                logged += take
        if job.status == "completed":
            parts = _split(job.items_upserted, APPLY_PARTITIONS, self.rng)
            for index, upserted in enumerate(parts):
                job.chunks.append(
                    (
                        job.id,
                        "apply",
                        index,
                        None,
                        None,
                        None,
                        None,
                        "completed",
                        1,
                        0,
                        0,
                        0,
                        upserted,
                        0,
                        end - step,
                        end,
                        None,
                        None,
                    )
                )

    def rejected_rows(
        self, job: _Job, chunk: int, first: int, count: int, take: int, at: datetime
    ) -> None:
        """`take` of a chunk's `count` rejected rows, spread over the chunk's ordinals."""
        for n in range(take):
            main = self.reason_of[job.source]
            pick = main if self.rng.random() < 0.7 else self.rng.randrange(len(REASONS))
            field_name, reason = REASONS[pick]
            ordinal = first + n * max(1, count // take)
            sku = f"{job.source[:3].upper()}-{self.rng.randrange(10**6):06d}"
            item: dict[str, Any] = {
                "name": f"Trail item {ordinal}",
                "sku": sku,
                "product_url": f"https://{job.source}.example/p/{sku.lower()}",
                "price": round(self.rng.uniform(10, 400), 2),
                "currency": "USD",
            }
            error: dict[str, Any] = {"field": field_name, "reason": reason}
            if field_name == "price":
                item["price"] = "N/A"
                error["value"] = "N/A"
            elif field_name == "name":
                item["name"] = ""
                error["value"] = ""
            elif field_name == "sku":
                item["sku"] = sku.replace("-", " ")
                error["value"] = item["sku"]
            elif field_name == "productUrl":
                del item["product_url"]
            self.invalid_logs.append(
                (job.id, chunk, ordinal, json.dumps([error]), json.dumps(item), at)
            )

    def first_ingests(self) -> None:
        firsts = self.spec.jobs - 4 - max(1, self.spec.jobs // 12)  # room for retries/repairs
        kinds = list(FAILURES)
        weights = [FAILURES[k][0] for k in kinds]
        for _ in range(max(firsts, 6)):
            source = self.rng.choice(self.sources)
            job = self.new_job(source, self.created_time(source))
            roll = self.rng.random()
            if roll < 0.12:
                self.finish(job, "failed", self.rng.choices(kinds, weights)[0])
            elif roll < 0.15:
                self.finish(job, "cancelled")
            else:
                self.finish(job, "completed")
        # Jobs running right now (and one waiting for a worker), on fresh sources.
        for minutes in (3, 9, 17):
            source = self.rng.choice(self.sources[:-1])
            job = self.new_job(source, self.now - timedelta(minutes=minutes))
            job.chunks_total = max(job.chunks_total, 4)
            job.source_size = job.chunks_total * CHUNK_BYTES - 1000
            self.finish(job, "running")
        self.finish(self.new_job(self.sources[0], self.now - timedelta(seconds=40)), "pending")

    def follow_ups(self) -> None:
        """Retries of failed jobs and repairs of mismatched ones, each started by an operator."""
        budget = self.spec.jobs - len(self.jobs)
        parents = sorted(
            (j for j in self.jobs if j.status in ("failed", "cancelled", "completed")),
            key=lambda j: j.created_at,
        )
        queue = [j for j in parents if j.status != "completed" or j.reconcile_delta]
        self.rng.shuffle(queue)
        while queue and budget > 0:
            parent = queue.pop()
            assert parent.completed_at is not None
            created = parent.completed_at + timedelta(minutes=self.rng.uniform(10, 180))
            if created > self.now - timedelta(minutes=30) or (
                abs(self.now - created - timedelta(hours=24)) < timedelta(minutes=20)
            ):
                continue
            mode = "repair" if parent.status == "completed" else "retry"
            job = self.new_job(parent.source, created, mode)
            job.filename, job.object_key = parent.filename, parent.object_key
            job.source_etag, job.source_size = parent.source_etag, parent.source_size
            job.chunks_total, job.scraper_revision = parent.chunks_total, parent.scraper_revision
            job.supersedes = parent.id
            if self.rng.random() < 0.85:
                self.finish(job, "completed")
                job.reconcile_delta, job.verified_row_count = 0, job.processed
            else:
                kind = parent.error_kind if parent.error_kind in FAILURES else "malformed_csv"
                self.finish(job, "failed", kind)
            budget -= 1
            if job.status == "failed" and self.rng.random() < 0.6:
                queue.append(job)
            self.operator_action(mode, parent, job)
        # Fill any remaining budget with ordinary completed ingests.
        while budget > 0:
            source = self.rng.choice(self.sources[:-1])
            self.finish(self.new_job(source, self.created_time(source)), "completed")
            budget -= 1

    def operator_action(self, action: str, parent: _Job, job: _Job) -> None:
        channel = self.rng.choice(("console", "console", "cli"))
        finished = job.completed_at or job.created_at
        outcome = "succeeded" if job.status == "completed" else "failed"
        reason = {
            "retry": "transient failure, source file is back",
            "repair": "reconcile delta after the scraper fix",
        }[action]
        self.actions.append(
            (
                self.rng.choice(ACTORS),
                action,
                parent.id,
                None,
                reason,
                json.dumps({"force": False, "job_id": str(parent.id), "channel": channel}),
                job.id,
                job.flow_run_id,
                outcome,
                None if outcome == "succeeded" else "JOB_FAILED",
                f"{action} job {outcome}",
                job.created_at - timedelta(seconds=2),
                finished,
            )
        )

    # --- audits, maintenance, items ----------------------------------------------------------
    def audits(
        self, snapshot_ids: Iterable[int], flag_ids: Iterable[int]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        snapshot_id_iter, flag_id_iter = iter(snapshot_ids), iter(flag_ids)
        snapshots: list[tuple[Any, ...]] = []
        flags: list[tuple[Any, ...]] = []
        runs: list[tuple[Any, ...]] = []
        finished: dict[str, list[tuple[datetime, _Job]]] = {s: [] for s in self.sources}
        for job in self.jobs:
            if job.status == "completed" and job.completed_at is not None:
                finished[job.source].append((job.completed_at, job))
        for entries in finished.values():
            entries.sort(key=lambda e: e[0])
        times = {s: [e[0] for e in entries] for s, entries in finished.items()}
        today = self.now.replace(hour=0, minute=0, second=0, microsecond=0)
        streaks: dict[tuple[str, str, str | None], datetime] = {}
        ack_done: set[tuple[str, str]] = set()
        for day in range(self.spec.days - 1, -1, -1):
            at = today - timedelta(days=day) + timedelta(hours=10)
            if at > self.now - timedelta(minutes=5):
                continue
            runs.append(self.retention_run(at - timedelta(hours=1), day))
            if day == 6:
                runs.append(self.failed_run("audit", at, "database connection failed"))
                continue
            open_count = flag_count = 0
            for position, source in enumerate(self.sources):
                position_at = bisect.bisect_right(times[source], at)
                last_at, last = finished[source][position_at - 1] if position_at else (at, None)
                stale = None if last is None else (at - last_at).days
                total = int(self.spec.items * (1 + position) / (self.spec.sources * 2)) + (
                    (self.spec.days - day) * 3 if source != self.stale_source else 0
                )
                snapshot_id = next(snapshot_id_iter)
                null_rates = {f: round(self.rng.uniform(0, 0.25), 3) for f in NULL_FIELDS}
                raised: list[tuple[str, str | None, str, float | None, str, str | None]] = []
                if position == 1 and day < 12:
                    null_rates["description"] = 0.46
                    raised.append(
                        (
                            "high_null",
                            "description",
                            "high_null:description (46%)",
                            46.0,
                            "open",
                            None,
                        )
                    )
                if source == self.spike_source and day < 3:
                    raised.append(
                        ("invalid_spike", None, "invalid_spike (+18 pts)", 18.0, "open", None)
                    )
                if stale is not None and stale > self.spec.stale_days:
                    raised.append(("stale", None, f"stale ({stale}d)", float(stale), "open", None))
                if position == 3 and day < 20:
                    state = "acknowledged" if day < 19 else "open"
                    raised.append(
                        (
                            "low_median",
                            None,
                            "low_median ($14.50)",
                            14.5,
                            state,
                            "clearance brand, prices are right",
                        )
                    )
                if position == 4 and day < 9:
                    state = "muted" if day < 8 else "open"
                    raised.append(
                        (
                            "decimal_bug",
                            None,
                            "decimal_bug (3)",
                            3.0,
                            state,
                            "known scraper bug, fix ships next week",
                        )
                    )
                if position == 5 and 10 <= day < 15:
                    raised.append(
                        ("reconcile_mismatch", None, "reconcile_mismatch (7)", 7.0, "open", None)
                    )
                live = {(source, code, fld) for code, fld, *_ in raised}
                for key in [k for k in streaks if k[0] == source and k not in live]:
                    del streaks[key]
                for code, fld, label, value, state, reason in raised:
                    first_seen = streaks.setdefault((source, code, fld), at)
                    flag_id = next(flag_id_iter)
                    changed = first_seen + timedelta(hours=3) if state != "open" else None
                    flags.append(
                        (
                            flag_id,
                            snapshot_id,
                            source,
                            code,
                            fld,
                            label,
                            value,
                            first_seen,
                            state,
                            reason if state != "open" else None,
                            ACTORS[0] if state != "open" else None,
                            changed,
                            self.now + timedelta(days=7) if state == "muted" else None,
                        )
                    )
                    flag_count += 1
                    open_count += state == "open"
                    if state != "open" and (source, code) not in ack_done:
                        ack_done.add((source, code))
                        self.flag_action(flag_id, state, reason or "", changed or at)
                report = {"source": source, "flags": [r[2] for r in raised]}
                snapshots.append(
                    (
                        snapshot_id,
                        at,
                        source,
                        total,
                        39.5 + position * 7,
                        4.99,
                        899.0,
                        json.dumps(null_rates),
                        last.id if last else None,
                        last_at if last else None,
                        stale,
                        json.dumps({"stale_days_threshold": self.spec.stale_days}),
                        json.dumps(report),
                    )
                )
            runs.append(
                (
                    "audit",
                    at,
                    at + timedelta(seconds=4),
                    4000,
                    "succeeded",
                    json.dumps({"source": None}),
                    json.dumps(
                        {
                            "sources": len(self.sources),
                            "flags": flag_count,
                            "open_flags": open_count,
                        }
                    ),
                    None,
                )
            )
        return snapshots, flags, runs

    def flag_action(self, flag_id: int, state: str, reason: str, at: datetime) -> None:
        action = "audit.ack" if state == "acknowledged" else "audit.mute"
        parameters = {"mute_days": 7} if state == "muted" else {}
        self.actions.append(
            (
                ACTORS[0],
                action,
                None,
                flag_id,
                reason,
                json.dumps(parameters),
                None,
                None,
                "succeeded",
                None,
                None,
                at,
                at,
            )
        )

    def retention_run(self, at: datetime, day: int) -> tuple[Any, ...]:
        capped = day == 4
        batches = 100 if capped else self.rng.randint(0, 3)
        deleted = batches * 10_000 if capped else self.rng.randint(0, max(0, batches * 9_000))
        cutoff = at - timedelta(days=90)
        result = {
            "deleted": deleted,
            "batches": batches,
            "capped": capped,
            "retention_days": 90,
            "dry_run": False,
            "cutoff": cutoff.isoformat(),
        }
        parameters = {"retention_days": 90, "batch_size": 10_000, "max_batches": 100}
        duration = 1500 + batches * 120
        return (
            "retention",
            at,
            at + timedelta(milliseconds=duration),
            duration,
            "succeeded",
            json.dumps({**parameters, "dry_run": False}),
            json.dumps(result),
            None,
        )

    def failed_run(self, kind: str, at: datetime, message: str) -> tuple[Any, ...]:
        return (
            kind,
            at,
            at + timedelta(seconds=10),
            10_000,
            "failed",
            json.dumps({"source": None}),
            None,
            message,
        )

    def items(self) -> list[tuple[uuid.UUID, str, int]]:
        """(last job, source, item count) per source, newest completed job of each source."""
        latest: dict[str, _Job] = {}
        for job in self.jobs:
            if job.status == "completed" and (
                job.source not in latest or job.created_at > latest[job.source].created_at
            ):
                latest[job.source] = job
        weights = {s: 1 + i for i, s in enumerate(self.sources)}
        total_weight = sum(weights[s] for s in latest)
        plan = []
        for source, job in latest.items():
            plan.append((job.id, source, self.spec.items * weights[source] // total_weight))
        return plan


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` split into `parts` non-negative integers that add up to it."""
    if parts <= 0:
        return []
    weights = [rng.uniform(0.8, 1.2) for _ in range(parts)]
    scale = sum(weights)
    out = [int(total * w / scale) for w in weights]
    out[-1] += total - sum(out)
    return out


def _split_bounded(total: int, caps: Sequence[int], rng: random.Random) -> list[int]:
    """`total` split like the caps (each part at most its cap); `total <= sum(caps)`."""
    out = [min(cap, int(total * cap / max(1, sum(caps)))) for cap in caps]
    rest = total - sum(out)
    for i, cap in enumerate(caps):
        take = min(rest, cap - out[i])
        out[i] += take
        rest -= take
    del rng
    return out


def generate_history(spec: HistorySpec, now: datetime) -> _Generated:
    """Every row of the history (ids of snapshots and flags numbered from 1)."""
    gen = _Generator(spec, now)
    gen.first_ingests()
    gen.follow_ups()
    gen.jobs.sort(key=lambda j: j.created_at)
    count = itertools.count(1)  # placeholder ids, replaced by the database's in _renumber
    snapshots, flags, runs = gen.audits(count, count)
    return _Generated(gen.jobs, gen.actions, gen.invalid_logs, snapshots, flags, runs, gen.items())


def seed_history(
    conn: psycopg.Connection[Any], spec: HistorySpec | None = None, *, now: datetime | None = None
) -> HistorySummary:
    """Write the history into the database in one transaction; no-op if it is already there."""
    spec = spec or HistorySpec()
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    with conn.transaction():
        found = conn.execute(load_query("seed_history_exists"), {"prefix": HISTORY_PREFIX + "%"})
        row = found.fetchone()
        if row is not None and row["seeded"]:
            return HistorySummary(now=now, skipped=True)
        data = generate_history(spec, now)
        _renumber(conn, data)
        _copy(conn, load_query("seed_history_copy_jobs"), (_job_row(j) for j in data.jobs))
        _copy(
            conn, load_query("seed_history_copy_chunks"), (c for j in data.jobs for c in j.chunks)
        )
        _copy(conn, load_query("seed_history_copy_invalid_logs"), data.invalid_logs)
        _copy(conn, load_query("seed_history_copy_snapshots"), data.snapshots)
        _copy(conn, load_query("seed_history_copy_flags"), data.flags)
        _copy(conn, load_query("seed_history_copy_runs"), data.runs)
        _copy(conn, load_query("seed_history_copy_actions"), data.actions)
        if data.items:
            conn.execute(
                load_query("seed_history_items"),
                {
                    "job_ids": [i[0] for i in data.items],
                    "counts": [i[2] for i in data.items],
                    "sources": [i[1] for i in data.items],
                },
            )
    return _summary(spec, now, data)


def _renumber(conn: psycopg.Connection[Any], data: _Generated) -> None:
    """Give snapshots and flags ids from their identity sequences (flags point at both)."""
    snapshot_ids = _reserve(conn, "audit_snapshots", len(data.snapshots))
    flag_ids = _reserve(conn, "audit_flags", len(data.flags))
    # Snapshot and flag placeholders share one counter; map each through its own table.
    placeholder_snap = {s[0]: snapshot_ids[i] for i, s in enumerate(data.snapshots)}
    placeholder_flag = {f[0]: flag_ids[i] for i, f in enumerate(data.flags)}
    data.snapshots[:] = [(placeholder_snap[s[0]], *s[1:]) for s in data.snapshots]
    data.flags[:] = [(placeholder_flag[f[0]], placeholder_snap[f[1]], *f[2:]) for f in data.flags]
    data.actions[:] = [
        a if a[3] is None else (*a[:3], placeholder_flag[a[3]], *a[4:]) for a in data.actions
    ]


def _reserve(conn: psycopg.Connection[Any], table: str, n: int) -> list[int]:
    rows = conn.execute(load_query("seed_history_reserve_ids"), {"table": table, "n": n})
    return [int(r["id"]) for r in rows.fetchall()]


def _copy(conn: psycopg.Connection[Any], statement: str, rows: Iterable[Sequence[Any]]) -> None:
    with conn.cursor().copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _job_row(job: _Job) -> tuple[Any, ...]:
    return (
        job.id,
        job.status,
        job.source,
        job.filename,
        job.object_key,
        job.scraper_revision,
        job.ingest_key(),
        job.mode,
        job.created_at,
        job.started_at,
        job.completed_at,
        CHUNK_BYTES,
        job.chunks_total,
        APPLY_PARTITIONS if job.status == "completed" else None,
        job.processed,
        job.valid,
        job.invalid,
        job.items_upserted,
        job.flow_run_id,
        job.source_etag,
        job.created_at - timedelta(minutes=5),
        job.source_size,
        job.completed_at if job.verified_row_count is not None else None,
        job.verified_row_count,
        job.reconcile_delta,
        job.error_kind,
        job.error_message,
        job.supersedes,
    )


def _summary(spec: HistorySpec, now: datetime, data: _Generated) -> HistorySummary:
    day_ago = now - timedelta(hours=24)
    jobs = data.jobs
    last_success: dict[str, datetime] = {}
    for job in jobs:
        if job.status == "completed" and job.completed_at is not None:
            previous = last_success.get(job.source)
            if previous is None or job.completed_at > previous:
                last_success[job.source] = job.completed_at
    stale = tuple(
        s
        for s in SOURCE_POOL[: spec.sources]
        if s not in last_success or now - last_success[s] > timedelta(days=spec.stale_days)
    )
    latest_snapshot: dict[str, int] = {}
    for snap in data.snapshots:
        latest_snapshot[snap[2]] = snap[0]  # snapshots are in time order
    open_flags = sum(1 for f in data.flags if f[8] == "open" and latest_snapshot.get(f[2]) == f[1])
    return HistorySummary(
        now=now,
        skipped=False,
        jobs=len(jobs),
        sources=SOURCE_POOL[: spec.sources],
        jobs_by_status=dict(Counter(j.status for j in jobs)),
        jobs_by_source=dict(Counter(j.source for j in jobs)),
        running_now=sum(j.status == "running" for j in jobs),
        failed_24h=sum(j.status == "failed" and j.created_at >= day_ago for j in jobs),
        rejected_rows_24h=sum(j.invalid for j in jobs if j.created_at >= day_ago),
        stale_sources=stale,
        open_flags=open_flags,
        retries=sum(j.mode == "retry" for j in jobs),
        repairs=sum(j.mode == "repair" for j in jobs),
        audit_snapshots=len(data.snapshots),
        audit_flags=len(data.flags),
        maintenance_runs=len(data.runs),
        operator_actions=len(data.actions),
        invalid_logs=len(data.invalid_logs),
        catalog_items=sum(i[2] for i in data.items),
        items_by_source={i[1]: i[2] for i in data.items},
    )
