"""The retention sweep on real PostgreSQL: exact counts, bounded batches, an honest `capped`."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.core.errors import DatabaseQueryError, InvalidArgumentError
from catalog_lib.ops.retention import RetentionPolicy, sweep_invalid_logs

pytestmark = pytest.mark.postgres


def _seed(db_url: str, *, old: int, fresh: int, old_days: int = 100) -> uuid.UUID:
    """A job with `old` rejected rows created `old_days` ago and `fresh` ones created now."""
    job_id = uuid.uuid4()
    with connect(db_url) as conn:
        conn.execute(
            "INSERT INTO etl_jobs (id, status, source, filename, object_key, scraper_revision, "
            "ingest_key) VALUES (%s, 'failed', 'trailco', 'a.csv', 'a.csv', 't', %s)",
            (job_id, str(job_id)),
        )
        conn.execute(
            "INSERT INTO invalid_item_logs (job_id, chunk_index, record_ordinal, errors, raw_data, "
            "created_at) SELECT %s, 0, g, '[]', '{}', now() - make_interval(days => %s::int) "
            "- make_interval(secs => g) FROM generate_series(1, %s::int) g",
            (job_id, old_days, old),
        )
        conn.execute(
            "INSERT INTO invalid_item_logs (job_id, chunk_index, record_ordinal, errors, raw_data) "
            "SELECT %s, 0, g, '[]', '{}' FROM generate_series(%s::int, %s::int) g",
            (job_id, old + 1, old + fresh),
        )
        conn.commit()
    return job_id


def _count(db_url: str) -> tuple[int, int]:
    with connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE created_at < now() - interval '90 days') AS old, "
            "count(*) FILTER (WHERE created_at >= now() - interval '90 days') AS fresh "
            "FROM invalid_item_logs"
        ).fetchone()
    assert row is not None
    return int(row["old"]), int(row["fresh"])


def _runs(db_url: str) -> list[dict[str, Any]]:
    with connect(db_url) as conn:
        return conn.execute("SELECT * FROM maintenance_runs ORDER BY id").fetchall()


@pytest.mark.parametrize(
    ("old", "batch", "max_batches", "deleted", "batches", "capped", "left"),
    [
        pytest.param(25, 10, 5, 25, 3, False, 0, id="emptied-early"),
        pytest.param(30, 10, 3, 30, 3, False, 0, id="emptied-exactly-on-last-batch"),
        pytest.param(31, 10, 3, 30, 3, True, 1, id="rows-remain"),
        pytest.param(20, 10, 5, 20, 3, False, 0, id="full-batches-then-empty-batch"),
        pytest.param(0, 10, 5, 0, 1, False, 0, id="nothing-to-delete"),
    ],
)
def test_sweep_counts_exactly_across_batches(
    db_url: str,
    old: int,
    batch: int,
    max_batches: int,
    deleted: int,
    batches: int,
    capped: bool,
    left: int,
) -> None:
    _seed(db_url, old=old, fresh=7)
    policy = RetentionPolicy(retention_days=90, batch_size=batch, max_batches=max_batches)

    result = sweep_invalid_logs(db_url, policy)

    assert (result.deleted, result.batches, result.capped) == (deleted, batches, capped)
    assert (result.retention_days, result.dry_run) == (90, False)
    assert _count(db_url) == (left, 7)  # fresh rows are never touched
    run = _runs(db_url)[-1]
    assert (run["kind"], run["status"]) == ("retention", "succeeded")
    assert run["result"]["deleted"] == deleted
    assert run["result"]["capped"] is capped
    assert run["parameters"] == {
        "retention_days": 90,
        "batch_size": batch,
        "max_batches": max_batches,
        "dry_run": False,
    }
    assert run["duration_ms"] is not None
    assert run["finished_at"] is not None


def test_capped_run_is_finished_by_the_next_run(db_url: str) -> None:
    _seed(db_url, old=35, fresh=0)
    policy = RetentionPolicy(batch_size=10, max_batches=3)
    first = sweep_invalid_logs(db_url, policy)
    second = sweep_invalid_logs(db_url, policy)
    assert (first.deleted, first.capped) == (30, True)
    assert (second.deleted, second.batches, second.capped) == (5, 1, False)


@pytest.mark.parametrize(
    ("old", "deleted", "batches", "capped"),
    [
        pytest.param(25, 25, 3, False, id="fits"),
        pytest.param(30, 30, 3, False, id="fits-exactly"),
        pytest.param(31, 30, 3, True, id="capped"),
    ],
)
def test_dry_run_counts_without_deleting(
    db_url: str, old: int, deleted: int, batches: int, capped: bool
) -> None:
    _seed(db_url, old=old, fresh=4)
    result = sweep_invalid_logs(db_url, RetentionPolicy(batch_size=10, max_batches=3), dry_run=True)
    assert (result.deleted, result.batches, result.capped, result.dry_run) == (
        deleted,
        batches,
        capped,
        True,
    )
    assert _count(db_url) == (old, 4)
    assert _runs(db_url)[-1]["parameters"]["dry_run"] is True


def test_rows_just_inside_the_retention_period_stay(db_url: str) -> None:
    _seed(db_url, old=3, fresh=0, old_days=89)
    result = sweep_invalid_logs(db_url, RetentionPolicy(retention_days=90))
    assert result.deleted == 0
    _seed(db_url, old=2, fresh=0, old_days=90)  # 90 days and a few seconds: expired
    assert sweep_invalid_logs(db_url, RetentionPolicy(retention_days=90)).deleted == 2


def test_capped_sweep_logs_a_warning(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    _seed(db_url, old=5, fresh=0)
    with caplog.at_level("INFO", logger="catalog_lib.ops.retention"):
        sweep_invalid_logs(db_url, RetentionPolicy(batch_size=2, max_batches=2))
    events = [(r.levelname, getattr(r, "event", None)) for r in caplog.records]
    assert ("INFO", "retention.completed") in events
    assert ("WARNING", "retention.capped") in events


def test_a_failed_sweep_is_recorded(db_url: str) -> None:
    with connect(db_url) as conn:
        conn.execute("ALTER TABLE invalid_item_logs RENAME TO invalid_item_logs_moved")
        conn.commit()
    with pytest.raises(DatabaseQueryError) as caught:
        sweep_invalid_logs(db_url, RetentionPolicy())
    # Translated at the connection: the error class and SQLSTATE, never the server's text.
    assert caught.value.fields == {"error_name": "UndefinedTable", "sqlstate": "42P01"}
    run = _runs(db_url)[-1]
    assert run["status"] == "failed"
    assert run["error_message"] == str(caught.value)
    assert "invalid_item_logs" not in run["error_message"]


def test_policy_rejects_non_positive_values() -> None:
    with pytest.raises(InvalidArgumentError, match="positive"):
        RetentionPolicy(batch_size=0)


def _staged_job(db_url: str, *, status: str, ended_days_ago: int | None, rows: int) -> uuid.UUID:
    """A job in `status` that ended `ended_days_ago` (None: still open) holding staged rows."""
    job_id = uuid.uuid4()
    with connect(db_url) as conn:
        conn.execute(
            "INSERT INTO etl_jobs (id, status, source, filename, object_key, scraper_revision, "
            "ingest_key, completed_at) VALUES (%s, %s, 'trailco', 'a.csv', 'a.csv', 't', %s, "
            "CASE WHEN %s::int IS NULL THEN NULL "
            "ELSE now() - make_interval(days => %s::int) END)",
            (job_id, status, str(job_id), ended_days_ago, ended_days_ago),
        )
        conn.execute(
            "INSERT INTO etl_staged_items (job_id, record_ordinal, chunk_index, sku) "
            "SELECT %s, g, 0, 'SKU-' || g FROM generate_series(1, %s::int) g",
            (job_id, rows),
        )
        conn.commit()
    return job_id


def _staged(db_url: str) -> dict[uuid.UUID, int]:
    with connect(db_url) as conn:
        rows = conn.execute(
            "SELECT job_id, count(*) AS n FROM etl_staged_items GROUP BY job_id"
        ).fetchall()
    return {r["job_id"]: int(r["n"]) for r in rows}


def test_staged_rows_of_long_ended_failed_jobs_are_pruned_and_nothing_else(db_url: str) -> None:
    old_failed = _staged_job(db_url, status="failed", ended_days_ago=100, rows=25)
    old_cancelled = _staged_job(db_url, status="cancelled", ended_days_ago=120, rows=3)
    recent_failed = _staged_job(db_url, status="failed", ended_days_ago=10, rows=4)
    running = _staged_job(db_url, status="running", ended_days_ago=None, rows=5)
    policy = RetentionPolicy(batch_size=10, max_batches=2)

    dry = sweep_invalid_logs(db_url, policy, dry_run=True)
    assert (dry.staged_deleted, dry.staged_capped) == (20, True)
    assert _staged(db_url)[old_failed] == 25

    first = sweep_invalid_logs(db_url, policy)
    assert (first.staged_deleted, first.staged_capped) == (20, True)
    second = sweep_invalid_logs(db_url, policy)
    assert (second.staged_deleted, second.staged_capped) == (8, False)
    assert _staged(db_url) == {recent_failed: 4, running: 5}
    assert old_cancelled not in _staged(db_url)
    assert _runs(db_url)[-1]["result"]["staged_deleted"] == 8
