"""Atomic publish: a job that does not complete leaves `catalog_items` exactly as it was.

Apply partitions only prepare (`etl_prepared_items`); one publish transaction upserts, drops
the job's staged and prepared rows and completes the job. These tests break the job at the
places where it used to be half-published: after one of two partitions committed, and inside
the publish transaction itself.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.core.errors import DatabaseError, JobNotRunnableError, LedgerIncompleteError
from catalog_lib.ingest import applying, liveness, reconciling, steps
from catalog_lib.ingest.jobs import JobStatus
from tests.factories import (
    catalog_row,
    catalog_snapshot,
    ingest_file,
    job_row,
    local_runtime,
    provenance_skus,
    run_steps,
    to_csv,
)

pytestmark = pytest.mark.postgres

PARTITIONS = 2


def _older_rows() -> bytes:
    return to_csv([catalog_row(i, description=f"Old {i}") for i in range(0, 30, 2)])


def _rows() -> bytes:
    rows = [catalog_row(i) for i in range(30)]
    rows[4] = catalog_row(4, price="free")  # a rejected row
    rows.append(catalog_row(3, name="Trail Tent 3 (newer row)"))  # a merged SKU
    return to_csv(rows)


def _table(db_url: str, table: str) -> list[dict[str, Any]]:
    """Every column of every row (ids and timestamps included): 'untouched' means untouched."""
    order = {"catalog_items": "sku", "catalog_item_etl_jobs": "catalog_item_id, etl_job_id"}
    with connect(db_url) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY {order[table]}").fetchall()


def _count(db_url: str, table: str, job_id: uuid.UUID | None = None) -> int:
    with connect(db_url) as conn:
        if job_id is None:
            row = conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()
        else:
            row = conn.execute(
                f"SELECT count(*) AS n FROM {table} WHERE job_id = %s", (job_id,)
            ).fetchone()
    assert row is not None
    return int(row["n"])


def _apply_ledger(db_url: str, job_id: uuid.UUID) -> list[tuple[str, str | None]]:
    with connect(db_url) as conn:
        rows = conn.execute(
            "SELECT status, error_kind FROM etl_job_chunks WHERE job_id = %s AND phase = 'apply' "
            "ORDER BY chunk_index",
            (job_id,),
        ).fetchall()
    return [(str(r["status"]), r["error_kind"]) for r in rows]


def _raise_at(name: str, hit: int = 1) -> Callable[[str], None]:
    """A failpoint that raises a transient database error at the `hit`-th reach of `name`."""
    hits = {"n": 0}

    def point(reached: str) -> None:
        if reached == name:
            hits["n"] += 1
            if hits["n"] == hit:
                raise DatabaseError("injected: the database went away")

    return point


def _staged_job(rt: steps.Runtime) -> tuple[uuid.UUID, steps.PlannedJob]:
    """A job of `_rows()` run up to publish (chunks, aggregate, reconcile), and its plan."""
    rt.store.write("a.csv", _rows())
    job_id = steps.request_ingest(
        rt, source="trailco", uri_or_key="a.csv", scraper_revision="t"
    ).job_id
    return job_id, _run_until_publish(rt, job_id)


def _run_until_publish(rt: steps.Runtime, job_id: uuid.UUID) -> steps.PlannedJob:
    """Start, plan, load, aggregate and reconcile, as the flow does before apply."""
    steps.start_job(rt, job_id, None)
    planned = steps.plan_job(rt, job_id)
    for spec in planned.chunks:
        steps.run_chunk(rt, job_id, planned.version, planned.header, spec)
    steps.aggregate_job(
        rt, job_id, expected_records=planned.record_count, expected_chunks=len(planned.chunks)
    )
    reconciling.reconcile_job(rt, job_id)
    return planned


def _clean_run(db_url: str, tmp_path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The catalog and provenance one clean ingest of older-then-current gives, then reset."""
    rt = local_runtime(db_url, tmp_path / "clean", chunk_size=600, apply_partitions=PARTITIONS)
    ingest_file(rt, "old.csv", _older_rows())
    job = ingest_file(rt, "a.csv", _rows())
    assert job["status"] == "completed"
    result = catalog_snapshot(db_url), provenance_skus(db_url, job["id"])
    with connect(db_url) as conn:
        conn.execute(
            "TRUNCATE catalog_item_etl_jobs, catalog_items, invalid_item_logs, etl_staged_items, "
            "etl_prepared_items, etl_job_chunks, etl_jobs CASCADE"
        )
        conn.commit()
    return result


def _retry_and_check(
    rt: steps.Runtime, failed: uuid.UUID, reference: tuple[list[dict[str, Any]], list[str]]
) -> None:
    retry = steps.request_ingest(rt, source="trailco", uri_or_key="a.csv", scraper_revision="t")
    assert (retry.created, retry.supersedes_job_id) == (True, failed)
    job = run_steps(rt, retry.job_id)
    assert (job["status"], job["total_processed"], job["reconcile_delta"]) == ("completed", 31, 0)
    assert (catalog_snapshot(rt.database_url), provenance_skus(rt.database_url, retry.job_id)) == (
        reference
    )
    assert provenance_skus(rt.database_url, failed) == []  # the failed job published nothing
    # Nothing is left behind by either job: staged rows were moved to the retry and dropped.
    assert _count(rt.database_url, "etl_staged_items") == 0
    assert _count(rt.database_url, "etl_prepared_items") == 0


def test_a_job_failing_after_one_of_two_partitions_leaves_the_catalog_untouched(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = _clean_run(db_url, tmp_path)
    rt = local_runtime(db_url, tmp_path / "l", chunk_size=600, apply_partitions=PARTITIONS)
    ingest_file(rt, "old.csv", _older_rows())
    items_before = _table(db_url, "catalog_items")
    provenance_before = _table(db_url, "catalog_item_etl_jobs")
    job_id, planned = _staged_job(rt)

    monkeypatch.setattr(applying, "failpoint", _raise_at("apply.after_commit", hit=1))
    with pytest.raises(DatabaseError):
        steps.run_apply_partition(rt, job_id, 0, PARTITIONS, planned.source_version)
    # Partition 0 committed (it is prepared, exactly once) before the failure ...
    assert _apply_ledger(db_url, job_id) == [("completed", None)]
    assert _count(db_url, "etl_prepared_items", job_id) > 0
    # ... the second partition never runs: the job fails (retries exhausted, as the flow would).
    steps.end_job(
        rt, job_id, JobStatus.FAILED, error_kind="database_unavailable", error_message="x"
    )

    assert _table(db_url, "catalog_items") == items_before
    assert _table(db_url, "catalog_item_etl_jobs") == provenance_before
    assert _count(db_url, "etl_prepared_items") == 0
    assert _apply_ledger(db_url, job_id) == [("failed", "discarded")]
    job = job_row(db_url, job_id)
    assert (job["status"], job["items_upserted"], job["completed_at"] is not None) == (
        "failed",
        0,
        True,
    )
    # Its staged rows are held only for its retry, which moves (adopts) them.
    assert _count(db_url, "etl_staged_items", job_id) == job["total_valid"]

    monkeypatch.setattr(applying, "failpoint", lambda _name: None)
    _retry_and_check(rt, job_id, reference)
    assert _count(db_url, "etl_staged_items", job_id) == 0


def test_a_failure_inside_publish_publishes_nothing_and_a_retry_publishes_it_all(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = _clean_run(db_url, tmp_path)
    rt = local_runtime(db_url, tmp_path / "l", chunk_size=600, apply_partitions=PARTITIONS)
    ingest_file(rt, "old.csv", _older_rows())
    items_before = _table(db_url, "catalog_items")
    job_id, planned = _staged_job(rt)
    for partition in range(PARTITIONS):
        steps.run_apply_partition(rt, job_id, partition, PARTITIONS, planned.source_version)

    monkeypatch.setattr(applying, "failpoint", _raise_at("publish.in_tx"))
    with pytest.raises(DatabaseError):
        steps.finalize_job(rt, job_id)
    # The upsert ran inside the transaction, and was rolled back with everything else.
    assert _table(db_url, "catalog_items") == items_before
    assert job_row(db_url, job_id)["status"] == "running"
    assert _count(db_url, "etl_prepared_items", job_id) > 0
    assert _count(db_url, "etl_staged_items", job_id) > 0

    # The job fails (the flow's publish retries were used up): nothing published, nothing kept
    # half-done; then a retry publishes exactly what a clean run does.
    steps.end_job(
        rt, job_id, JobStatus.FAILED, error_kind="database_unavailable", error_message="x"
    )
    assert _table(db_url, "catalog_items") == items_before
    assert _count(db_url, "etl_prepared_items") == 0
    assert _apply_ledger(db_url, job_id) == [("failed", "discarded")] * PARTITIONS
    monkeypatch.setattr(applying, "failpoint", lambda _name: None)
    _retry_and_check(rt, job_id, reference)


def test_a_retried_publish_completes_exactly(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = _clean_run(db_url, tmp_path)
    rt = local_runtime(db_url, tmp_path / "l", chunk_size=600, apply_partitions=PARTITIONS)
    ingest_file(rt, "old.csv", _older_rows())
    job_id, planned = _staged_job(rt)
    for partition in range(PARTITIONS):
        steps.run_apply_partition(rt, job_id, partition, PARTITIONS, planned.source_version)
    monkeypatch.setattr(applying, "failpoint", _raise_at("publish.in_tx"))
    with pytest.raises(DatabaseError):
        steps.finalize_job(rt, job_id)
    totals = steps.finalize_job(rt, job_id)  # the publish task's retry
    assert totals is not None
    # 29 SKUs in the file (30 valid rows, one repeated); the catalog also holds SKU 4 from old.
    assert (totals.items_upserted, len(reference[0])) == (29, 30)
    assert (catalog_snapshot(db_url), provenance_skus(db_url, job_id)) == reference
    job = job_row(db_url, job_id)
    assert (job["status"], job["items_upserted"]) == ("completed", 29)
    with connect(db_url) as conn:
        per_partition = conn.execute(
            "SELECT sum(items_upserted) AS n FROM etl_job_chunks "
            "WHERE job_id = %s AND phase = 'apply'",
            (job_id,),
        ).fetchone()
    assert per_partition is not None
    assert per_partition["n"] == 29  # each partition's ledger row says what it published
    assert _count(db_url, "etl_prepared_items") == _count(db_url, "etl_staged_items") == 0
    assert steps.finalize_job(rt, job_id) is None  # a second publish changes nothing


def test_publish_refuses_a_job_with_an_unprepared_partition(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "l", chunk_size=600, apply_partitions=PARTITIONS)
    job_id, planned = _staged_job(rt)
    steps.run_apply_partition(rt, job_id, 1, PARTITIONS, planned.source_version)
    with pytest.raises(LedgerIncompleteError):
        steps.finalize_job(rt, job_id)
    assert _count(db_url, "catalog_items") == 0
    assert job_row(db_url, job_id)["status"] == "running"


def test_a_runner_lost_job_drops_what_it_prepared(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "l", chunk_size=600, apply_partitions=PARTITIONS)
    job_id, planned = _staged_job(rt)
    steps.run_apply_partition(rt, job_id, 0, PARTITIONS, planned.source_version)
    assert _count(db_url, "etl_prepared_items", job_id) > 0
    with connect(db_url) as conn:  # nobody holds the job's lease: its runner is gone
        assert liveness.close_if_runner_lost(conn, job_id, "closed by the test")
    job = job_row(db_url, job_id)
    assert (job["status"], job["error_kind"]) == ("failed", "runner_lost")
    assert _count(db_url, "etl_prepared_items") == 0
    assert _count(db_url, "catalog_items") == 0
    assert _apply_ledger(db_url, job_id) == [("failed", "discarded")]


def test_a_partition_of_an_ended_job_is_not_prepared(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "l", chunk_size=600, apply_partitions=PARTITIONS)
    job_id, planned = _staged_job(rt)
    steps.end_job(rt, job_id, JobStatus.CANCELLED, error_kind="cancelled", error_message="x")
    with pytest.raises(JobNotRunnableError):  # a late task of a cancelled run
        steps.run_apply_partition(rt, job_id, 0, PARTITIONS, planned.source_version)
    assert _count(db_url, "etl_prepared_items") == 0
    assert _apply_ledger(db_url, job_id) == [("failed", "job_not_runnable")]


def test_a_retry_adopts_only_chunks_whose_staged_rows_are_all_there(
    db_url: str, tmp_path: Path
) -> None:
    rt = local_runtime(db_url, tmp_path / "l", chunk_size=600, apply_partitions=PARTITIONS)
    rt.store.write("a.csv", _rows())
    first = steps.request_ingest(rt, source="trailco", uri_or_key="a.csv", scraper_revision="t")
    _run_until_publish(rt, first.job_id)
    steps.end_job(rt, first.job_id, JobStatus.FAILED, error_kind="x", error_message="x")
    with connect(db_url) as conn:  # one staged row of chunk 0 is lost (e.g. pruned)
        conn.execute(
            "DELETE FROM etl_staged_items WHERE ctid IN (SELECT ctid FROM etl_staged_items "
            "WHERE job_id = %s AND chunk_index = 0 LIMIT 1)",
            (first.job_id,),
        )
        conn.commit()
    retry = steps.request_ingest(rt, source="trailco", uri_or_key="a.csv", scraper_revision="t")
    job = run_steps(rt, retry.job_id)
    with connect(db_url) as conn:
        attempts = conn.execute(
            "SELECT attempts FROM etl_job_chunks WHERE job_id = %s AND phase = 'chunk' "
            "ORDER BY chunk_index",
            (retry.job_id,),
        ).fetchall()
    assert attempts[0]["attempts"] == 1  # read again: its staged rows were incomplete
    assert {a["attempts"] for a in attempts[1:]} == {0}  # adopted (moved)
    assert (job["status"], job["total_processed"], job["total_valid"]) == ("completed", 31, 30)
    assert len(catalog_snapshot(db_url)) == 29
    # The failed job's leftover staged rows were released when the retry took over.
    assert _count(db_url, "etl_staged_items") == 0


def _publish_prepared(rt: steps.Runtime) -> uuid.UUID:
    """A job of `_rows()` with every apply partition prepared, not yet published."""
    job_id, planned = _staged_job(rt)
    for partition in range(PARTITIONS):
        steps.run_apply_partition(rt, job_id, partition, PARTITIONS, planned.source_version)
    return job_id


def test_a_job_with_provenance_already_recorded_gets_the_rest_once(
    db_url: str, tmp_path: Path
) -> None:
    # Jobs applied before prepared items existed recorded provenance per partition; their
    # publish adds the missing rows only (the conflict-checked insert), never a second one.
    reference = _clean_run(db_url, tmp_path)
    rt = local_runtime(db_url, tmp_path / "l", chunk_size=600, apply_partitions=PARTITIONS)
    ingest_file(rt, "old.csv", _older_rows())
    job_id = _publish_prepared(rt)
    with connect(db_url) as conn:
        conn.execute(
            "INSERT INTO catalog_item_etl_jobs (catalog_item_id, etl_job_id) "
            "SELECT id, %s FROM catalog_items WHERE sku = %s",
            (job_id, catalog_row(0)["sku"]),
        )
    totals = steps.finalize_job(rt, job_id)
    assert totals is not None
    assert totals.items_upserted == 29
    assert (catalog_snapshot(db_url), provenance_skus(db_url, job_id)) == reference


def test_publish_puts_the_sort_setting_back_inside_a_longer_transaction(
    db_url: str, tmp_path: Path
) -> None:
    rt = local_runtime(db_url, tmp_path / "l", chunk_size=600, apply_partitions=PARTITIONS)
    job_id = _publish_prepared(rt)
    with connect(db_url) as conn:
        conn.execute("SET LOCAL enable_sort = on")
        totals = applying.publish_job(conn, job_id)  # a savepoint inside this transaction
        setting = conn.execute("SELECT current_setting('enable_sort') AS value").fetchone()
    assert totals is not None
    assert totals.items_upserted == 29
    assert setting == {"value": "on"}
    assert len(provenance_skus(db_url, job_id)) == 29


def test_an_older_file_upserts_new_skus_and_fills_the_weight_of_newer_rows(
    db_url: str, tmp_path: Path
) -> None:
    # Only part of the older file's items are upserted: the weight rule still runs for the rest.
    landing = tmp_path / "landing"
    rt = local_runtime(db_url, landing, apply_partitions=PARTITIONS)
    files = {
        "new.csv": (b"name,sku,productUrl,weight\nNew,S-1,https://x.example.com/1,\n", 1),
        "old.csv": (
            b"name,sku,productUrl,weight\nOld,S-1,https://x.example.com/1,100\n"
            b"Other,S-2,https://x.example.com/2,5\n",
            2,
        ),
    }
    for name, (data, hours_old) in files.items():
        (landing / name).write_bytes(data)
        stamp = 1_790_000_000 - 3600 * hours_old
        os.utime(landing / name, (stamp, stamp))
    jobs = {}
    for name in files:
        trigger = steps.request_ingest(rt, source="s", uri_or_key=name, scraper_revision="r")
        jobs[name] = run_steps(rt, trigger.job_id)
    assert jobs["old.csv"]["items_upserted"] == 1  # S-2 only: the stored S-1 is newer
    items = {item["sku"]: item for item in catalog_snapshot(db_url)}
    assert (items["S-1"]["name"], items["S-1"]["weight"]) == ("New", 100.0)
    assert (items["S-2"]["name"], items["S-2"]["weight"]) == ("Other", 5.0)
    assert provenance_skus(db_url, jobs["old.csv"]["id"]) == ["S-2"]
