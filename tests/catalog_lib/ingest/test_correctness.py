"""Regression tests of issue 14, one small file each under tests/cases/correctness.

No job ends `failed` with published effects; reconcile agrees with the parser's grammar on
every file the parser accepts; one bad cell never sinks a file; prices are never guessed from
notes; a weight does not depend on the order files are ingested in.
"""

from __future__ import annotations

import os
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.core.errors import MalformedCsvError, StorageError
from catalog_lib.ingest import reconciling, steps
from tests.factories import catalog_snapshot, ingest_file, job_row, local_runtime, run_steps

pytestmark = pytest.mark.postgres

CASES = Path(__file__).parents[2] / "cases" / "correctness"
CHUNK_SIZES = [pytest.param(1024, id="1KiB"), pytest.param(16 * 1024 * 1024, id="16MiB")]


def _case(name: str) -> bytes:
    return (CASES / name).read_bytes()


def _assert_verified(job: dict[str, Any], counter: str) -> None:
    assert job["status"] == "completed"
    assert job["verified_row_count"] == job["total_processed"]
    assert job["total_processed"] == job["total_valid"] + job["total_invalid"]
    assert (job["reconcile_delta"], job["reconcile_counter"]) == (0, counter)


def _published(db_url: str, job_id: uuid.UUID) -> int:
    with connect(db_url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM catalog_items WHERE last_job_id = %(j)s) "
            "+ (SELECT count(*) FROM catalog_item_etl_jobs WHERE etl_job_id = %(j)s) AS n",
            {"j": job_id},
        ).fetchone()
    assert row is not None
    return int(row["n"])


# Defect 2: each file is accepted by the parser; DuckDB could not count it the same way.
@pytest.mark.parametrize(
    ("name", "records"),
    [
        ("mixed_line_endings.csv", 4),
        ("windows_1252_byte.csv", 2),
        ("literal_quote.csv", 2),
        ("blank_before_header.csv", 2),
    ],
)
@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
def test_grammar_counter_verifies_files_duckdb_cannot_read(
    db_url: str, tmp_path: Path, name: str, records: int, chunk_size: int
) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    job = ingest_file(rt, name, _case(name), chunk_size=chunk_size)
    _assert_verified(job, "grammar")
    assert job["total_processed"] == records
    assert job["reconcile_note"].startswith("DuckDB not used: ")


def test_wide_row_is_verified_by_duckdb(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    job = ingest_file(rt, "wide.csv", _case("wide_row.csv"), chunk_size=1024)
    _assert_verified(job, "duckdb")
    assert job["total_valid"] == 2


def test_record_longer_than_duckdb_default_line_size(db_url: str, tmp_path: Path) -> None:
    long_description = "x" * (3 * 1024 * 1024)
    data = (
        b"name,sku,productUrl,description\n"
        + f"Tent,SKU-1,https://shop.example.com/p/1,{long_description[:40_000]}\n".encode()
        + f'Tarp,SKU-2,https://shop.example.com/p/2,"{long_description}"\n'.encode()
    )
    rt = local_runtime(db_url, tmp_path / "landing")
    job = ingest_file(rt, "long.csv", data, chunk_size=1024)
    _assert_verified(job, "duckdb")
    assert (job["total_valid"], job["total_invalid"]) == (1, 1)  # description > 50000 chars


# Defect 1: whatever happens while counting, nothing is published by a job that then fails,
# and a count that cannot be made is recorded, not a failure.
def test_a_transient_counting_failure_fails_the_job_before_anything_is_published(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(*_: object) -> None:
        raise StorageError("storage unavailable while counting")

    monkeypatch.setattr(reconciling, "count_records", unavailable)
    rt = local_runtime(db_url, tmp_path / "landing")
    rt.store.write("a.csv", _case("literal_quote.csv"))
    trigger = steps.request_ingest(rt, source="s", uri_or_key="a.csv", scraper_revision="r")
    with pytest.raises(StorageError):
        run_steps(rt, trigger.job_id)
    steps.end_job(
        rt, trigger.job_id, steps.jobs.JobStatus.FAILED, error_kind="x", error_message="y"
    )
    assert job_row(db_url, trigger.job_id)["status"] == "failed"
    assert _published(db_url, trigger.job_id) == 0
    assert catalog_snapshot(db_url) == []


def test_an_uncountable_file_completes_unverified_and_flagged(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def uncountable(*_: object) -> None:
        raise MalformedCsvError("the counter gave up")

    monkeypatch.setattr(reconciling, "count_records", uncountable)
    rt = local_runtime(db_url, tmp_path / "landing")
    job = ingest_file(rt, "a.csv", _case("literal_quote.csv"))
    assert job["status"] == "completed"
    assert (job["verified_row_count"], job["reconcile_delta"]) == (None, None)
    assert job["reconcile_note"] == "unverified: malformed_csv: the counter gave up"
    assert _published(db_url, job["id"]) == 2 * 2  # two items, two provenance rows


def test_a_source_removed_before_reconcile_is_unverified_not_failed(
    db_url: str, tmp_path: Path
) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    rt.store.write("a.csv", _case("literal_quote.csv"))
    trigger = steps.request_ingest(rt, source="s", uri_or_key="a.csv", scraper_revision="r")
    steps.start_job(rt, trigger.job_id, None)
    planned = steps.plan_job(rt, trigger.job_id)
    for spec in planned.chunks:
        steps.run_chunk(rt, trigger.job_id, planned.version, planned.header, spec)
    steps.aggregate_job(
        rt,
        trigger.job_id,
        expected_records=planned.record_count,
        expected_chunks=len(planned.chunks),
    )
    (tmp_path / "landing" / "a.csv").write_bytes(b"name\nchanged\n")
    report = reconciling.reconcile_job(rt, trigger.job_id)
    assert report.expected is None
    assert report.note is not None
    assert report.note.startswith("unverified: etag_mismatch")


# Defect 3: NUL bytes and lone surrogates are dropped/replaced by the documented rule.
@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
def test_nul_and_surrogates_never_sink_the_file(
    db_url: str, tmp_path: Path, chunk_size: int
) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    job = ingest_file(rt, "n.csv", _case("nul_and_surrogates.csv"), chunk_size=chunk_size)
    _assert_verified(job, "grammar")
    assert (job["total_valid"], job["total_invalid"]) == (3, 1)  # `SKU\0-2` is rejected
    items = {r["sku"]: r for r in catalog_snapshot(db_url)}
    assert items["SKU-1"]["name"] == "Tent one"
    assert items["SKU-3"]["techs"] == {"Color": "red", "Icon": "\ufffd"}
    assert items["SKU-4"]["techs"] == {"Note": "ab", "\ufffd": 1}
    with connect(db_url) as conn:
        logged = conn.execute(
            "SELECT errors, raw_data FROM invalid_item_logs WHERE job_id = %s", (job["id"],)
        ).fetchone()
    assert logged is not None
    assert logged["raw_data"]["sku"] == "SKU-2"
    assert logged["errors"][0]["field"] == "sku"


# Defect 4: a price is read by the documented rule or the row is rejected; never guessed.
def test_prices_are_never_guessed_from_notes(db_url: str, tmp_path: Path) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    job = ingest_file(rt, "p.csv", _case("prices_with_notes.csv"), chunk_size=1024)
    _assert_verified(job, "duckdb")
    prices = {r["sku"]: r["price"] for r in catalog_snapshot(db_url)}
    assert prices == {
        "SKU-1": Decimal("39.99"),
        "SKU-2": Decimal("49.95"),
        "SKU-3": Decimal("10"),
        "SKU-6": None,  # a whitespace-only price is an empty cell: the row stays valid
        "SKU-7": Decimal("20"),
    }
    with connect(db_url) as conn:
        rejected = conn.execute(
            "SELECT record_ordinal, errors FROM invalid_item_logs WHERE job_id = %s "
            "ORDER BY record_ordinal",
            (job["id"],),
        ).fetchall()
    assert [r["record_ordinal"] for r in rejected] == [4, 5]  # `1e3`, `19.99 29.99`
    reason = {"field": "price", "reason": "Price must be a non-negative number", "value": None}
    assert [r["errors"] for r in rejected] == [[reason], [reason]]


# Defect 5: the stored weight is the newest file's that had one, in either order.
@pytest.mark.parametrize("older_first", [True, False], ids=["old-then-new", "new-then-old"])
def test_weight_does_not_depend_on_ingest_order(
    db_url: str, tmp_path: Path, older_first: bool
) -> None:
    rt = local_runtime(db_url, tmp_path / "landing")
    landing = tmp_path / "landing"
    names = ["weight_older_with_weight.csv", "weight_newer_without_weight.csv"]
    for age, name in zip((7200, 3600), names, strict=True):
        (landing / name).write_bytes(_case(name))
        stamp = 1_790_000_000 - age
        os.utime(landing / name, (stamp, stamp))
    for name in names if older_first else reversed(names):
        trigger = steps.request_ingest(rt, source="s", uri_or_key=name, scraper_revision="r")
        assert run_steps(rt, trigger.job_id)["status"] == "completed"
    (item,) = catalog_snapshot(db_url)
    assert item["name"] == "New name"  # the newer file wins every other column
    assert (item["weight"], item["weight_unit"]) == (2100.0, "kg")


def test_a_newer_weight_beats_an_older_one_in_either_order(db_url: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    rt = local_runtime(db_url, landing)
    files = {
        "a.csv": (b"name,sku,productUrl,weight\nA,S-1,https://x.example.com/1,100\n", 3),
        "b.csv": (b"name,sku,productUrl,weight\nB,S-1,https://x.example.com/1,200\n", 2),
        "c.csv": (b"name,sku,productUrl,weight\nC,S-1,https://x.example.com/1,\n", 1),
    }
    for name, (data, hours_old) in files.items():
        (landing / name).write_bytes(data)
        stamp = 1_790_000_000 - 3600 * hours_old
        os.utime(landing / name, (stamp, stamp))
    for name in ("c.csv", "a.csv", "b.csv"):
        trigger = steps.request_ingest(rt, source="s", uri_or_key=name, scraper_revision="r")
        run_steps(rt, trigger.job_id)
    (item,) = catalog_snapshot(db_url)
    assert (item["name"], item["weight"]) == ("C", 200.0)
