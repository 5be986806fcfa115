"""The console's read functions against a database filled with seeded history."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.adapters.storage import StorageConfig, open_store
from catalog_lib.core.errors import InvalidArgumentError
from catalog_lib.demo.history import HistorySpec, HistorySummary, seed_history
from catalog_lib.ingest.jobs import compute_ingest_key
from catalog_lib.ops import overview

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def seeded(db_url: str) -> Iterator[tuple[psycopg.Connection[Any], HistorySummary]]:
    with connect(db_url, autocommit=True) as conn:
        summary = seed_history(conn, HistorySpec(), now=NOW)
        yield conn, summary


def test_health_strip_shows_the_seeded_numbers(seeded: Any) -> None:
    conn, summary = seeded
    strip = overview.health_strip(conn, stale_days=30, now=NOW)
    assert strip.running_now == summary.running_now == 3
    assert strip.pending_now == 1
    assert strip.failed_24h == summary.failed_24h
    assert strip.rejected_rows_24h == summary.rejected_rows_24h
    assert strip.stale_sources == len(summary.stale_sources) == 1
    assert strip.open_flags == summary.open_flags


def test_health_strip_counts_an_expired_mute_as_open(seeded: Any) -> None:
    conn, summary = seeded
    later = overview.health_strip(conn, stale_days=30, now=NOW + timedelta(days=8))
    assert later.open_flags == summary.open_flags + 1  # the decimal_bug mute ran out


def test_job_series_adds_up_to_the_jobs_in_the_window(seeded: Any) -> None:
    conn, _ = seeded
    since = NOW - timedelta(days=7)
    points = overview.job_series(conn, since=since, until=NOW, bucket=timedelta(hours=6))
    expected = conn.execute(
        "SELECT count(*) AS n, sum(total_valid) AS valid FROM etl_jobs"
        " WHERE created_at >= %s AND created_at < %s",
        (since, NOW),
    ).fetchone()
    assert sum(p.jobs for p in points) == expected["n"]
    assert sum(p.rows_valid for p in points) == expected["valid"]
    completed = [p for p in points if p.status == "completed"]
    assert all(p.p50_s is not None and p.p95_s >= p.p50_s for p in completed)
    assert {p.bucket.hour % 6 for p in points} == {0}


def test_failure_rates_count_failed_and_cancelled_among_finished() -> None:
    b = datetime(2026, 12, 1, tzinfo=UTC)
    points = [
        overview.SeriesPoint(b, "completed", 6, 0, 0, 0, None, None),
        overview.SeriesPoint(b, "failed", 1, 0, 0, 0, None, None),
        overview.SeriesPoint(b, "cancelled", 1, 0, 0, 0, None, None),
        overview.SeriesPoint(b, "running", 5, 0, 0, 0, None, None),
    ]
    (rate,) = overview.failure_rates(points)
    assert (rate.finished, rate.failed, rate.failure_rate) == (8, 2, 0.25)


def test_job_series_refuses_an_empty_window(seeded: Any) -> None:
    conn, _ = seeded
    with pytest.raises(InvalidArgumentError, match="positive"):
        overview.job_series(conn, since=NOW, until=NOW)


def test_latest_failures_are_failed_newest_first_with_their_successor(seeded: Any) -> None:
    conn, _ = seeded
    failures = overview.latest_failures(conn, since=NOW - timedelta(days=30), limit=200)
    assert failures
    assert [f.created_at for f in failures] == sorted(
        (f.created_at for f in failures), reverse=True
    )
    kinds = {f.error_kind for f in failures}
    assert len(kinds) >= 4
    replaced = [f for f in failures if f.successor_id is not None]
    assert replaced
    row = conn.execute(
        "SELECT supersedes_job_id FROM etl_jobs WHERE id = %s", (replaced[0].successor_id,)
    ).fetchone()
    assert row["supersedes_job_id"] == replaced[0].job_id


def test_find_jobs_filters_and_counts(seeded: Any) -> None:
    conn, summary = seeded
    everything = overview.find_jobs(conn, overview.JobFilter(), limit=25)
    assert everything.total == summary.jobs
    assert everything.counts == {s: summary.jobs_by_status.get(s, 0) for s in overview.JOB_STATES}
    assert len(everything.rows) == 25
    assert everything.pages == -(-summary.jobs // 25)

    not_completed = overview.find_jobs(
        conn, overview.JobFilter(statuses=overview.NOT_COMPLETED), limit=500
    )
    assert not_completed.total == summary.jobs - summary.jobs_by_status["completed"]
    assert all(r.status != "completed" for r in not_completed.rows)

    source = summary.sources[0]
    one = overview.find_jobs(conn, overview.JobFilter(sources=(source,)), limit=1000)
    assert one.total == summary.jobs_by_source[source] == len(one.rows)
    assert {r.source for r in one.rows} == {source}


def test_find_jobs_by_time_range_revision_and_page(seeded: Any) -> None:
    conn, _ = seeded
    since, until = NOW - timedelta(days=3), NOW - timedelta(days=1)
    page = overview.find_jobs(conn, overview.JobFilter(since=since, until=until), limit=1000)
    assert page.rows
    assert all(since <= r.created_at < until for r in page.rows)
    revision = overview.job_filter_options(conn).revisions[0]
    by_revision = overview.find_jobs(conn, overview.JobFilter(scraper_revision=revision))
    assert by_revision.rows
    assert {r.scraper_revision for r in by_revision.rows} == {revision}
    first = overview.find_jobs(conn, overview.JobFilter(), limit=10)
    second = overview.find_jobs(conn, overview.JobFilter(), limit=10, offset=10)
    assert not {r.job_id for r in first.rows} & {r.job_id for r in second.rows}
    assert first.rows[-1].created_at >= second.rows[0].created_at


def test_job_filter_refuses_unknown_states_and_bad_pages(seeded: Any) -> None:
    conn, _ = seeded
    with pytest.raises(InvalidArgumentError, match="unknown job states"):
        overview.JobFilter(statuses=("done",))
    with pytest.raises(InvalidArgumentError, match="limit"):
        overview.find_jobs(conn, overview.JobFilter(), limit=0)


def test_filter_options_list_every_source(seeded: Any) -> None:
    conn, summary = seeded
    options = overview.job_filter_options(conn)
    assert options.sources == tuple(sorted(summary.sources))
    assert len(options.revisions) >= 2


def test_resolve_job_ref_accepts_full_ids_and_unique_prefixes(seeded: Any) -> None:
    conn, _ = seeded
    job_id = conn.execute("SELECT id FROM etl_jobs ORDER BY id LIMIT 1").fetchone()["id"]
    assert overview.resolve_job_ref(conn, str(job_id)) == job_id
    assert overview.resolve_job_ref(conn, str(job_id)[:13]) == job_id
    assert overview.resolve_job_ref(conn, str(job_id).upper()[:13]) == job_id


@pytest.mark.parametrize(
    ("ref", "match"),
    [("zz", "at least 4"), ("abc", "at least 4"), ("not-a-job-id", "at least 4")],
)
def test_resolve_job_ref_refuses_malformed_refs(seeded: Any, ref: str, match: str) -> None:
    conn, _ = seeded
    with pytest.raises(overview.JobReferenceError, match=match):
        overview.resolve_job_ref(conn, ref)


def test_resolve_job_ref_refuses_unknown_and_ambiguous_prefixes(seeded: Any) -> None:
    conn, _ = seeded
    with pytest.raises(overview.JobReferenceError, match="no job"):
        overview.resolve_job_ref(conn, str(uuid.UUID(int=0)))
    # 1,200 random ids over 65,536 four-digit prefixes: some prefix is shared (birthday bound).
    ids = sorted(str(r["id"]) for r in conn.execute("SELECT id FROM etl_jobs").fetchall())
    shared = next(a[:4] for a, b in itertools.pairwise(ids) if a[:4] == b[:4])
    with pytest.raises(overview.JobReferenceError, match="several"):
        overview.resolve_job_ref(conn, shared)


def test_rejected_sample_shows_mapped_item_fields_only(seeded: Any) -> None:
    conn, _ = seeded
    job = conn.execute(
        "SELECT job_id, count(*) AS n FROM invalid_item_logs GROUP BY job_id ORDER BY n DESC"
        " LIMIT 1"
    ).fetchone()
    conn.execute(
        'UPDATE invalid_item_logs SET raw_data = raw_data || \'{"api_token": "s3cr3t"}\''
        " WHERE job_id = %s",
        (job["job_id"],),
    )
    sample = overview.rejected_sample(conn, job["job_id"], limit=5)
    assert len(sample) == min(5, job["n"])
    assert all(r.errors and "reason" in r.errors[0] for r in sample)
    assert all("api_token" not in r.values and "sku" in r.values for r in sample)
    assert [r.record_ordinal for r in sample] == sorted(r.record_ordinal for r in sample)


def test_sources_overview_has_one_row_per_source(seeded: Any) -> None:
    conn, summary = seeded
    rows = overview.sources_overview(conn, stale_days=30, now=NOW)
    assert [r.source for r in rows] == sorted(summary.sources)
    by_source = {r.source: r for r in rows}
    assert {r.source for r in rows if r.stale} == set(summary.stale_sources)
    assert sum(r.open_flags for r in rows) == summary.open_flags
    latest = conn.execute(
        "SELECT DISTINCT ON (source) source, total_items FROM audit_snapshots"
        " ORDER BY source, generated_at DESC"
    ).fetchall()
    assert {r["source"]: r["total_items"] for r in latest} == {
        s: r.items for s, r in by_source.items()
    }
    assert sum(r.jobs for r in rows) == summary.jobs
    fresh = by_source[summary.sources[0]]
    assert fresh.freshness_hours is not None
    assert fresh.freshness_hours < 48
    assert fresh.invalid_share is not None
    assert 0 <= fresh.invalid_share < 1


def test_source_trends_follow_the_source(seeded: Any) -> None:
    conn, summary = seeded
    source = summary.sources[1]
    jobs = overview.source_job_trend(conn, source, since=NOW - timedelta(days=30))
    assert jobs
    assert {p.job_id for p in jobs}
    assert [p.created_at for p in jobs] == sorted(p.created_at for p in jobs)
    assert all(p.rows_valid + p.rows_invalid == p.rows_processed for p in jobs)
    snaps = overview.source_snapshot_trend(conn, source, since=NOW - timedelta(days=30))
    assert len(snaps) >= 25
    assert snaps[-1].total_items >= snaps[0].total_items


def test_current_flags_are_the_latest_snapshot_open_first(seeded: Any) -> None:
    conn, summary = seeded
    flags = overview.current_flags(conn)
    states = [f.state for f in flags]
    assert states.count("open") == summary.open_flags
    assert states == sorted(states, key=lambda s: s != "open")
    assert {"acknowledged", "muted"} <= set(states)
    acked = next(f for f in flags if f.state == "acknowledged")
    assert acked.state_actor
    assert acked.state_reason
    assert acked.first_seen_at < NOW
    one = overview.current_flags(conn, source=summary.sources[1])
    assert one
    assert {f.source for f in one} == {summary.sources[1]}


def test_landing_states_by_source_key_and_etag(db_url: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    store = open_store(StorageConfig(landing_url=str(landing)))
    store.write("trailco/a.csv", b"sku,name\n1,a\n")
    store.write("trailco/b.csv", b"sku,name\n2,b\n")
    store.write("northline/c.csv", b"sku,name\n3,c\n")
    store.write("loose.csv", b"sku,name\n4,d\n")
    objects = overview.list_landing(store)
    assert len(objects) == 4
    by_key = {o.key: o for o in objects}
    assert by_key["trailco/a.csv"].source == "trailco"
    assert by_key["loose.csv"].source is None
    with connect(db_url, autocommit=True) as conn:
        for key, status in (("trailco/a.csv", "completed"), ("northline/c.csv", "failed")):
            obj = by_key[key]
            conn.execute(
                "INSERT INTO etl_jobs (id, status, source, filename, object_key,"
                " scraper_revision, ingest_key, source_etag) VALUES (%s, %s, %s, %s, %s,"
                " 'r1', %s, %s)",
                (
                    uuid.uuid4(),
                    status,
                    obj.source,
                    key,
                    obj.version.uri,
                    compute_ingest_key(obj.source or "", obj.version.uri, obj.version.etag),
                    obj.version.etag,
                ),
            )
        rows = overview.landing_states(conn, objects)
    states = {r.obj.key: r.state for r in rows}
    assert states == {
        "trailco/a.csv": "completed",
        "trailco/b.csv": "never ingested",
        "northline/c.csv": "failed",
        "loose.csv": "no source folder",
    }
    ingestable = {r.obj.key for r in rows if r.can_ingest}
    assert ingestable == {"trailco/b.csv", "northline/c.csv"}


def test_maintenance_runs_say_what_they_did(seeded: Any) -> None:
    conn, _ = seeded
    runs = overview.maintenance_runs(conn, limit=500)
    assert {r.kind for r in runs} == {"retention", "audit"}
    assert [r.started_at for r in runs] == sorted((r.started_at for r in runs), reverse=True)
    capped = [r for r in runs if r.capped]
    assert len(capped) == 1
    assert "capped" in capped[0].summary
    failed = [r for r in runs if r.status == "failed"]
    assert failed
    assert failed[0].summary.startswith("failed: ")
    audits = overview.maintenance_runs(conn, kind="audit", limit=3)
    assert len(audits) == 3
    assert all(r.kind == "audit" for r in audits)
    assert "sources" in next(r for r in audits if r.status == "succeeded").summary
