"""Seeded history: volume, variety, consistency with the schema's rules, idempotence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.core.errors import InvalidArgumentError
from catalog_lib.demo.history import HistorySpec, generate_history, seed_history

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_generation_is_deterministic() -> None:
    spec = HistorySpec(jobs=200, days=10, sources=5, items=100)
    first = generate_history(spec, NOW)
    second = generate_history(spec, NOW)
    assert [j.id for j in first.jobs] == [j.id for j in second.jobs]
    assert first.invalid_logs == second.invalid_logs


@pytest.mark.parametrize(
    "kwargs", [{"jobs": 5}, {"days": 1}, {"sources": 3}, {"sources": 99}, {"items": -1}]
)
def test_spec_refuses_too_little_history(kwargs: dict[str, int]) -> None:
    with pytest.raises(InvalidArgumentError, match=r"history|sources"):
        HistorySpec(**kwargs)


def test_seeded_history_meets_the_brief(db_url: str) -> None:
    with connect(db_url) as conn:
        summary = seed_history(conn, HistorySpec(), now=NOW)
        stats = conn.execute(
            "SELECT count(*) AS jobs, count(DISTINCT source) AS sources,"
            " min(created_at) AS first, max(created_at) AS last,"
            " count(DISTINCT error_kind) FILTER (WHERE status = 'failed') AS kinds,"
            " count(*) FILTER (WHERE mode = 'retry') AS retries,"
            " count(*) FILTER (WHERE mode = 'repair') AS repairs,"
            " count(*) FILTER (WHERE status = 'running') AS running"
            " FROM etl_jobs"
        ).fetchone()
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM audit_snapshots) AS snapshots,"
            " (SELECT count(*) FROM audit_flags) AS flags,"
            " (SELECT count(*) FROM maintenance_runs WHERE kind = 'retention') AS retention,"
            " (SELECT count(*) FROM operator_actions) AS actions,"
            " (SELECT count(*) FROM invalid_item_logs) AS logs,"
            " (SELECT count(*) FROM catalog_items) AS items,"
            " (SELECT count(DISTINCT state) FROM audit_flags) AS flag_states"
        ).fetchone()
    assert stats is not None
    assert counts is not None
    assert stats["jobs"] == summary.jobs >= 1000
    assert stats["sources"] == len(summary.sources) >= 8
    assert stats["last"] - stats["first"] >= timedelta(days=29)
    assert stats["kinds"] >= 5
    assert stats["retries"] == summary.retries > 20
    assert stats["repairs"] == summary.repairs > 0
    assert stats["running"] == summary.running_now == 3
    assert counts["snapshots"] == summary.audit_snapshots > 200
    assert counts["flags"] == summary.audit_flags > 0
    assert counts["flag_states"] == 3  # open, acknowledged, muted
    assert counts["retention"] >= 29
    assert counts["actions"] == summary.operator_actions
    assert counts["logs"] == summary.invalid_logs > 0
    assert counts["items"] == summary.catalog_items == sum(summary.items_by_source.values())
    assert summary.stale_sources == (summary.sources[-1],)
    assert summary.failed_24h >= 1
    assert summary.open_flags >= 2


def test_every_retry_and_repair_has_its_operator_action(db_url: str) -> None:
    with connect(db_url) as conn:
        seed_history(conn, HistorySpec(jobs=300, days=10, sources=6, items=0), now=NOW)
        orphans = conn.execute(
            "SELECT count(*) AS n FROM etl_jobs j WHERE j.supersedes_job_id IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM operator_actions a WHERE a.result_job_id = j.id"
            " AND a.target_job_id = j.supersedes_job_id AND a.action = j.mode)"
        ).fetchone()
        ledger = conn.execute(
            "SELECT count(*) AS n FROM etl_jobs j WHERE status = 'completed' AND"
            " total_processed <> (SELECT coalesce(sum(rows_processed), 0) FROM etl_job_chunks c"
            " WHERE c.job_id = j.id AND c.phase = 'chunk')"
        ).fetchone()
    assert orphans is not None
    assert orphans["n"] == 0
    assert ledger is not None
    assert ledger["n"] == 0


def test_seeding_twice_does_nothing_the_second_time(db_url: str) -> None:
    spec = HistorySpec(jobs=100, days=5, sources=4, items=10)
    with connect(db_url) as conn:
        first = seed_history(conn, spec, now=NOW)
        second = seed_history(conn, spec, now=NOW)
        row = conn.execute("SELECT count(*) AS n FROM etl_jobs").fetchone()
    assert not first.skipped
    assert second.skipped
    assert row is not None
    assert row["n"] == first.jobs


def test_seeded_ids_do_not_collide_with_later_inserts(db_url: str) -> None:
    with connect(db_url) as conn:
        seed_history(conn, HistorySpec(jobs=100, days=5, sources=4, items=0), now=NOW)
        row = conn.execute(
            "INSERT INTO audit_snapshots (source) VALUES ('later') RETURNING id"
        ).fetchone()
        top = conn.execute("SELECT max(id) AS m FROM audit_snapshots WHERE source <> 'later'")
        top_row = top.fetchone()
    assert row is not None
    assert top_row is not None
    assert row["id"] > top_row["m"]
