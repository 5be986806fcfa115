"""Audits, maintenance runs and catalog items of a seeded history, after its jobs."""

from __future__ import annotations

import bisect
import itertools
import json
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from catalog_lib.demo.history.job_rows import _JobRows
from catalog_lib.demo.history.spec import ACTORS, NULL_FIELDS, HistorySpec, _Generated, _Job


class _Generator(_JobRows):
    """Builds every row from one RNG; nothing here touches the database."""

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


def generate_history(spec: HistorySpec, now: datetime) -> _Generated:
    """Every row of the history (ids of snapshots and flags numbered from 1)."""
    gen = _Generator(spec, now)
    gen.first_ingests()
    gen.follow_ups()
    gen.jobs.sort(key=lambda j: j.created_at)
    count = itertools.count(1)  # placeholder ids, replaced by the database's in _renumber
    snapshots, flags, runs = gen.audits(count, count)
    return _Generated(gen.jobs, gen.actions, gen.invalid_logs, snapshots, flags, runs, gen.items())
