"""The ingest steps on real PostgreSQL: stage exactly once, apply set-based, reconcile."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog_lib.adapters.postgres import connect
from catalog_lib.core.errors import EmptyObjectError, JobNotRunnableError, SourceChangedError
from catalog_lib.ingest import steps
from catalog_lib.ingest.staging import stage_chunk
from catalog_lib.rules.rows import parse_chunk
from tests.factories import (
    catalog_row,
    catalog_snapshot,
    ingest_file,
    invalid_snapshot,
    job_row,
    local_runtime,
    provenance_skus,
    run_steps,
    to_csv,
)

pytestmark = pytest.mark.postgres


def _mixed_rows(n: int) -> list[dict[str, str]]:
    rows = [catalog_row(i) for i in range(n)]
    rows[3] = catalog_row(3, productUrl="http://127.0.0.1/admin")
    rows[7] = catalog_row(7, sku="BAD SKU")
    rows[11] = catalog_row(2, name="Trail Tent 2 (2027)", description="", price="")
    return rows


def test_ingest_completes_with_exact_totals_and_reconcile(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    job = ingest_file(rt, "trailco/a.csv", to_csv(_mixed_rows(20)), chunk_size=512)
    assert job["status"] == "completed"
    assert job["chunks_total"] > 3
    assert (job["total_processed"], job["total_valid"], job["total_invalid"]) == (20, 18, 2)
    assert job["verified_row_count"] == job["total_processed"]
    assert job["reconcile_delta"] == 0
    with connect(db_url) as conn:
        staged = conn.execute("SELECT count(*) AS n FROM etl_staged_items").fetchone()
    assert staged is not None
    assert staged["n"] == 0


def test_invalid_rows_keep_file_level_ordinals_and_reasons(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    job = ingest_file(rt, "trailco/a.csv", to_csv(_mixed_rows(20)), chunk_size=400)
    rejected = invalid_snapshot(db_url, job["id"])
    assert [r[0] for r in rejected] == [4, 8]
    reasons = [[e["reason"] for e in r[1]] for r in rejected]
    assert reasons == [
        ["Product URL hostname must not be a private/loopback/link-local address"],
        ["SKU contains invalid characters (allowed: A-Z a-z 0-9 _ . / -)"],
    ]


def test_merge_takes_later_non_empty_values_across_chunks(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    ingest_file(rt, "trailco/a.csv", to_csv(_mixed_rows(20)), chunk_size=256)
    items = {r["sku"]: r for r in catalog_snapshot(db_url)}
    merged = items["SKU-00002"]
    assert merged["name"] == "Trail Tent 2 (2027)"  # later row wins
    assert merged["description"] == "Two-person tent number 2. Light and dry."  # '' ignored
    assert merged["price"] == Decimal("102.95")  # an empty later price does not erase it
    assert len(items) == 18 - 1  # 18 valid rows, one SKU repeated


def test_result_is_independent_of_chunk_size_and_order(db_url: str, tmp_path: Path) -> None:
    data = to_csv(_mixed_rows(30))
    rt = local_runtime(db_url, tmp_path / "one")
    whole = ingest_file(rt, "trailco/a.csv", data)
    expected = (catalog_snapshot(db_url), invalid_snapshot(db_url, whole["id"]))
    with connect(db_url) as conn:
        conn.execute("TRUNCATE catalog_items, etl_jobs CASCADE")
        conn.commit()
    tiny = local_runtime(db_url, tmp_path / "tiny", chunk_size=128)
    job = ingest_file(tiny, "trailco/a.csv", data, reverse_chunks=True)
    assert job["chunks_total"] > 10
    assert (catalog_snapshot(db_url), invalid_snapshot(db_url, job["id"])) == expected


def test_a_completed_chunk_is_never_applied_twice(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", chunk_size=300)
    rt.store.write("a.csv", to_csv(_mixed_rows(12)))
    trigger = steps.request_ingest(rt, source="s", uri_or_key="a.csv", scraper_revision="r")
    steps.start_job(rt, trigger.job_id, None)
    planned = steps.plan_job(rt, trigger.job_id)
    spec = planned.chunks[0]
    body = rt.store.read_range(planned.version.uri, spec.byte_start, spec.byte_end)
    parsed = parse_chunk(body, header=planned.header, spec=spec)
    with connect(db_url) as conn:
        first = stage_chunk(conn, trigger.job_id, spec, parsed)
        # The task "failed after its transaction committed" and runs again:
        second = stage_chunk(conn, trigger.job_id, spec, parsed)
        staged = conn.execute("SELECT count(*) AS n FROM etl_staged_items").fetchone()
        ledger = conn.execute("SELECT attempts FROM etl_job_chunks").fetchone()
    assert not first.skipped
    assert second.skipped
    assert second.rows_processed == first.rows_processed
    assert staged is not None
    assert staged["n"] == first.rows_valid
    assert ledger is not None
    assert ledger["attempts"] == 1


def test_racing_attempts_of_one_chunk_stage_it_once(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    rt.store.write("a.csv", to_csv(_mixed_rows(12)))
    trigger = steps.request_ingest(rt, source="s", uri_or_key="a.csv", scraper_revision="r")
    steps.start_job(rt, trigger.job_id, None)
    planned = steps.plan_job(rt, trigger.job_id)
    results = []

    def attempt() -> None:
        results.append(
            steps.run_chunk(rt, trigger.job_id, planned.version, planned.header, planned.chunks[0])
        )

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.skipped for r in results) == [False, True, True, True]
    with connect(db_url) as conn:
        staged = conn.execute("SELECT count(*) AS n FROM etl_staged_items").fetchone()
    assert staged is not None
    assert staged["n"] == 10


def test_apply_is_idempotent_and_provenance_unique(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    job = ingest_file(rt, "a.csv", to_csv(_mixed_rows(12)))
    before = catalog_snapshot(db_url)
    with connect(db_url) as conn:
        conn.execute("UPDATE etl_job_chunks SET status = 'failed' WHERE phase = 'apply'")
        conn.execute("UPDATE etl_jobs SET status = 'running'")
        conn.commit()
    # Re-applying the same file version (staged rows are gone after completion: nothing new).
    for partition in range(rt.apply_partitions):
        steps.run_apply_partition(
            rt, job["id"], partition, rt.apply_partitions, job["source_last_modified"]
        )
    assert catalog_snapshot(db_url) == before
    assert len(provenance_skus(db_url, job["id"])) == len(set(provenance_skus(db_url, job["id"])))


def test_older_file_never_overwrites_newer_row(db_url: str, tmp_path: Path) -> None:
    import os

    rt = local_runtime(db_url, tmp_path / "landing")
    new = ingest_file(rt, "new.csv", to_csv([catalog_row(1, name="Newest name")]))
    old_path = tmp_path / "landing" / "old.csv"
    old_path.write_bytes(to_csv([catalog_row(1, name="Stale name")]))
    stamp = new["source_last_modified"].timestamp() - 3600
    os.utime(old_path, (stamp, stamp))
    trigger = steps.request_ingest(rt, source="trailco", uri_or_key="old.csv", scraper_revision="t")
    old = run_steps(rt, trigger.job_id)
    assert old["status"] == "completed"
    assert catalog_snapshot(db_url)[0]["name"] == "Newest name"
    assert provenance_skus(db_url, old["id"]) == []


def test_duplicate_trigger_returns_the_existing_job(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    job = ingest_file(rt, "a.csv", to_csv(_mixed_rows(12)))
    again = steps.request_ingest(rt, source="trailco", uri_or_key="a.csv", scraper_revision="t")
    assert not again.created
    assert again.duplicate_of == job["id"]


def test_concurrent_triggers_create_one_job(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    rt.store.write("a.csv", to_csv(_mixed_rows(12)))
    results = []
    barrier = threading.Barrier(8)

    def trigger() -> None:
        barrier.wait()
        results.append(
            steps.request_ingest(rt, source="s", uri_or_key="a.csv", scraper_revision="r")
        )

    threads = [threading.Thread(target=trigger) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.created for r in results) == 1
    assert len({r.job_id for r in results}) == 1


def test_trigger_after_failure_resumes_from_the_ledger(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", chunk_size=300)
    rt.store.write("a.csv", to_csv(_mixed_rows(20)))
    first = steps.request_ingest(rt, source="s", uri_or_key="a.csv", scraper_revision="r")
    steps.start_job(rt, first.job_id, None)
    planned = steps.plan_job(rt, first.job_id)
    for spec in planned.chunks[:2]:
        steps.run_chunk(rt, first.job_id, planned.version, planned.header, spec)
    steps.end_job(
        rt,
        first.job_id,
        steps.jobs.JobStatus.FAILED,
        error_kind="transient",
        error_message="connection lost",
    )
    retry = steps.request_ingest(rt, source="s", uri_or_key="a.csv", scraper_revision="r")
    assert retry.created
    assert retry.supersedes_job_id == first.job_id
    job = run_steps(rt, retry.job_id)
    with connect(db_url) as conn:
        attempts = conn.execute(
            "SELECT chunk_index, attempts FROM etl_job_chunks WHERE job_id = %s "
            "AND phase = 'chunk' ORDER BY chunk_index",
            (retry.job_id,),
        ).fetchall()
    assert [a["attempts"] for a in attempts[:2]] == [0, 0]  # adopted, not redone
    assert all(a["attempts"] == 1 for a in attempts[2:])
    assert (job["status"], job["total_processed"], job["reconcile_delta"]) == ("completed", 20, 0)
    assert job_row(db_url, first.job_id)["status"] == "failed"


def test_source_overwritten_after_trigger_fails_planning(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    rt.store.write("a.csv", to_csv(_mixed_rows(12)))
    trigger = steps.request_ingest(rt, source="s", uri_or_key="a.csv", scraper_revision="r")
    rt.store.write("a.csv", to_csv(_mixed_rows(13)))
    steps.start_job(rt, trigger.job_id, None)
    with pytest.raises(SourceChangedError):
        steps.plan_job(rt, trigger.job_id)


def test_empty_object_is_terminal(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    rt.store.write("empty.csv", b"")
    trigger = steps.request_ingest(rt, source="s", uri_or_key="empty.csv", scraper_revision="r")
    steps.start_job(rt, trigger.job_id, None)
    with pytest.raises(EmptyObjectError):
        steps.plan_job(rt, trigger.job_id)


def test_header_only_file_completes_with_zero_rows(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    job = ingest_file(rt, "h.csv", to_csv([]))
    assert (job["status"], job["total_processed"], job["chunks_total"]) == ("completed", 0, 0)
    assert job["verified_row_count"] == 0


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 6),
            st.sampled_from(["", "Nouveau nom", "名前"]),
            st.sampled_from(["", "Ligne 1\r\nLigne 2", 'desc, "quoted"']),
        ),
        min_size=1,
        max_size=25,
    ),
    chunk_size=st.integers(64, 700),
)
def test_tiny_chunks_give_the_same_catalog_as_one_chunk(
    db_url: str, tmp_path: Path, rows: list[tuple[int, str, str]], chunk_size: int
) -> None:
    data = to_csv(
        [catalog_row(i, name=name or f"Tent {i}", description=desc) for i, name, desc in rows]
    )
    results = []
    for size in (1 << 30, chunk_size):
        with connect(db_url) as conn:
            conn.execute("TRUNCATE catalog_items, etl_jobs CASCADE")
            conn.commit()
        rt = local_runtime(db_url, tmp_path / f"l{uuid.uuid4().hex}", chunk_size=size)
        job = ingest_file(rt, "f.csv", data)
        assert job["reconcile_delta"] == 0
        results.append(
            (
                catalog_snapshot(db_url),
                invalid_snapshot(db_url, job["id"]),
                provenance_skus(db_url, job["id"]),
            )
        )
    assert results[0] == results[1]


def test_apply_partition_count_is_fixed_at_the_first_plan(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", apply_partitions=3)
    rt.store.write("a.csv", to_csv(_mixed_rows(12)))
    trigger = steps.request_ingest(rt, source="s", uri_or_key="a.csv", scraper_revision="r")
    steps.start_job(rt, trigger.job_id, None)
    assert steps.plan_job(rt, trigger.job_id).apply_partitions == 3
    # A re-run under another setting keeps the count its apply ledger is keyed by.
    replanned = steps.plan_job(dataclasses.replace(rt, apply_partitions=5), trigger.job_id)
    assert replanned.apply_partitions == 3


def test_ledger_records_when_each_attempt_ran(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing", chunk_size=300)
    job = ingest_file(rt, "a.csv", to_csv(_mixed_rows(12)))
    with connect(db_url) as conn:
        rows = conn.execute(
            "SELECT started_at, finished_at FROM etl_job_chunks WHERE job_id = %s",
            (job["id"],),
        ).fetchall()
    assert rows
    assert all(r["started_at"] < r["finished_at"] for r in rows)


def test_a_refused_second_run_cannot_fail_the_job_of_another_run(
    db_url: str, tmp_path: Path
) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    rt.store.write("a.csv", to_csv(_mixed_rows(12)))
    trigger = steps.request_ingest(rt, source="s", uri_or_key="a.csv", scraper_revision="r")
    owner, intruder = uuid.uuid4(), uuid.uuid4()
    steps.start_job(rt, trigger.job_id, owner)
    with pytest.raises(JobNotRunnableError):
        steps.start_job(rt, trigger.job_id, intruder)
    ended = steps.end_job(
        rt,
        trigger.job_id,
        steps.jobs.JobStatus.FAILED,
        error_kind="job_not_runnable",
        error_message="refused",
        flow_run_id=intruder,
    )
    assert not ended
    assert job_row(db_url, trigger.job_id)["status"] == "running"
    assert steps.end_job(
        rt,
        trigger.job_id,
        steps.jobs.JobStatus.FAILED,
        error_kind="internal",
        error_message="boom",
        flow_run_id=owner,
    )
    assert job_row(db_url, trigger.job_id)["status"] == "failed"
