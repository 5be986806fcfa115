"""The jobs of a seeded history: first ingests, failures, retries and repairs, ledgers."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from catalog_lib.demo.history.spec import (
    ACTORS,
    APPLY_PARTITIONS,
    CHUNK_BYTES,
    FAILURES,
    HISTORY_PREFIX,
    REASONS,
    SOURCE_POOL,
    HistorySpec,
    _Job,
)


class _JobRows:
    """Builds the job rows (with ledgers, rejected rows, operator actions) from one RNG."""

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
